"""``python -m pulso``: the ``pulso`` command."""

from pulso.cli import main

raise SystemExit(main())
