"""``python -m bot`` is the ``pulso`` command."""

from bot.cli import main

raise SystemExit(main())
