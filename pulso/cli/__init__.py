"""The ``pulso`` command line (also ``python -m bot``).

Every command loads the settings once, here, and reports a bad setting as one
line on standard error (exit 2). Commands that print data write only the data
to standard output; progress and messages go to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from bot.settings import Settings, SettingsError, load_settings
from pulso.cli import demo, insights, invites, plan, rounds, site

log = logging.getLogger("pulso")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")


def run_served(main: Coroutine[Any, Any, T]) -> T:
    """Run the long-lived bot on uvloop where it is installed (a dependency on Linux and
    macOS), else on asyncio's own loop. The event loop itself was a fifth of the answer
    path's CPU (docs/benchmarks.md); uvloop does the same work in native code. Short
    commands keep ``asyncio.run``: there is nothing to gain."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, or a platform without the wheel
        return asyncio.run(main)
    return uvloop.run(main)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Run until SIGTERM or Ctrl-C; the updates in flight finish first (exit 0)."""
    from bot.logs import configure_logging
    from pulso.app import build_application
    from pulso.serve import serve

    token = settings.require_token()
    if args.workers is not None:
        refusal = _workers_refusal(settings, args)
        if refusal is not None:
            print(f"pulso: {refusal}", file=sys.stderr)
            return EXIT_USAGE
    webhook = settings.require_webhook() if args.webhook else None
    configure_logging(args.log_level, secrets=[token, *(webhook[1:] if webhook else ())])
    if args.workers is not None and args.workers > 1:
        from pulso.serve import supervise

        base = args.port if args.port is not None else settings.webhook_port
        child = ["--env-file", args.env_file, "--log-level", args.log_level]
        return run_served(supervise(args.workers, base, child))
    application = build_application(settings)
    run_served(serve(application, settings, webhook=webhook, port=args.port))
    return EXIT_OK


def _workers_refusal(settings: Settings, args: argparse.Namespace) -> str | None:
    """Why ``--workers`` cannot be used here, or None."""
    if args.workers < 1:
        return "--workers needs a number of workers of 1 or more"
    if not args.webhook:
        return (
            "--workers needs --webhook: Telegram lets only one process poll a bot, so "
            "several workers receive updates on a webhook behind a reverse proxy "
            "(see docs/deployment.md)"
        )
    if not settings.database_url.startswith("postgresql"):
        return (
            "--workers needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://…): SQLite "
            "serves one process; run `pulso run --webhook` without --workers, or move to "
            "PostgreSQL (see docs/deployment.md)"
        )
    if (args.port or settings.webhook_port) + args.workers - 1 > 65535:
        return "--workers: the ports WEBHOOK_PORT … WEBHOOK_PORT + N - 1 must be below 65536"
    return None


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.engine import Database
    from bot.storage.migrate import upgrade

    async def main() -> tuple[str | None, str]:
        db = Database.from_url(settings.database_url)
        try:
            return await upgrade(db)
        finally:
            await db.close()

    before, after = asyncio.run(main())
    if before == after:
        print(f"database already at revision {after}", file=sys.stderr)
    else:
        print(f"database upgraded from {before or 'empty'} to {after}", file=sys.stderr)
    return EXIT_OK


Command = Callable[[Settings, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pulso",
        description="Pulso: participatory feedback for open-government action plans.",
        epilog="Settings come from the environment and .env; see .env.example.",
    )
    parser.add_argument("--env-file", default=".env", help="settings file to read (default: .env)")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log on standard error (default: INFO)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run the bot (long polling, or --webhook)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates on WEBHOOK_URL (behind a reverse proxy) instead of polling",
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --webhook on PostgreSQL: run N worker processes, listening on "
        "WEBHOOK_PORT, WEBHOOK_PORT+1 … WEBHOOK_PORT+N-1 (see docs/deployment.md)",
    )
    run.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="with --webhook: listen on PORT instead of WEBHOOK_PORT (one worker per port)",
    )
    run.set_defaults(handler=_run)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="bring the database to the newest schema").set_defaults(
        handler=_db_upgrade
    )
    plan.add_commands(commands)
    demo.add_commands(commands)
    insights.add_commands(commands)
    rounds.add_commands(commands)
    invites.add_commands(commands)
    site.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command = args.handler
    try:
        settings = load_settings(args.env_file)
        return handler(settings, args)
    except SettingsError as exc:
        print(f"pulso: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
