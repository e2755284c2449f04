"""``pulso demo``: the command line of :mod:`pulso.demo`.

The demo itself (the Bot API emulator, the simulated people, the progress bars) is imported
only when the command runs: every ``pulso`` command builds this parser, and a running bot
should not carry the emulator in its memory.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.settings import Settings


def demo(settings: Settings, args: argparse.Namespace) -> int:
    from pulso.demo import run_demo

    return asyncio.run(run_demo(Path(args.out), args.people, args.seed, settings))


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "demo",
        help="a whole round against a local Telegram stand-in, with simulated people (no token)",
    )
    parser.add_argument(
        "--out", default="pulso-demo", help="folder for the demo's database and charts"
    )
    parser.add_argument(
        "--people", type=int, default=5, help="people per commitment and role (default 5)"
    )
    parser.add_argument("--seed", type=int, default=2016, help="seed of the simulated answers")
    parser.set_defaults(handler=demo)
