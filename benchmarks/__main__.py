"""Run benchmarks: ``python -m benchmarks`` (all) or ``python -m benchmarks NAME [ARGS…]``.

Each benchmark is a module here with ``main(argv) -> int`` that prints a
plain-text table; record results in ``docs/benchmarks.md`` with the machine,
the command and the date.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(here)])
        if not module.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    names = available()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("available:", ", ".join(names))
        return 0
    if argv:
        name, rest = argv[0], argv[1:]
        if name not in names:
            print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
            return 2
        return int(importlib.import_module(f"benchmarks.{name}").main(rest))
    status = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        status |= int(importlib.import_module(f"benchmarks.{name}").main([]))
    return status


raise SystemExit(main(sys.argv[1:]))
