"""``python -m bot`` is the ``pulso`` command."""

from pulso.cli import main

raise SystemExit(main())
