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
from collections.abc import Callable, Sequence

from bot.settings import Settings, SettingsError, load_settings
from pulso.cli import demo, insights, invites, plan, rounds

log = logging.getLogger("pulso")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Run until SIGTERM or Ctrl-C; the updates in flight finish first (exit 0)."""
    from bot.logs import configure_logging
    from pulso.app import build_application
    from pulso.serve import serve

    token = settings.require_token()
    webhook = settings.require_webhook() if args.webhook else None
    configure_logging(args.log_level, secrets=[token, *(webhook[1:] if webhook else ())])
    application = build_application(settings)
    asyncio.run(serve(application, settings, webhook=webhook))
    return EXIT_OK


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
