"""``pulso invite COMMITMENT ROLE [--uses N] [--days D] [--bot-username NAME]``.

Creates an invitation link, exactly as ``/invite`` does in Telegram, and prints
only the link (``https://t.me/<bot>?start=<token>``) on standard output, so
``LINK=$(pulso invite JAL0004 beneficiary --uses 40)`` works; what it did goes
to standard error.

The link names the bot, so the command needs its username: ``--bot-username``
gives it (no network needed); otherwise it is asked from Telegram with
``getMe``, using ``TELEGRAM_BOT_TOKEN`` (and ``TELEGRAM_API_BASE_URL`` when
set). The username is settled before anything is written, so a failure
leaves no invite behind.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.i18n import local_datetime
from bot.journey import IssuedInvite, issue_invite
from bot.settings import Settings, SettingsError
from bot.storage.engine import Database
from pulso.cli.common import clock, say, with_database
from surveys.errors import InviteArgumentError, UnknownCommitment
from surveys.invites import (
    DEFAULT_INVITE_DAYS,
    DEFAULT_INVITE_USES,
    MAX_INVITE_DAYS,
    MAX_INVITE_USES,
    invite_link,
    parse_invite_request,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


async def bot_username(settings: Settings) -> str:
    """The bot's @username from Telegram's ``getMe`` (through the configured Bot API)."""
    from telegram import Bot

    token = settings.require_token()
    bot = (
        Bot(token, base_url=settings.telegram_api_base_url)
        if settings.telegram_api_base_url
        else Bot(token)
    )
    async with bot:  # initialize() calls getMe
        return bot.username


def create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        request = parse_invite_request(args.commitment, args.role, args.uses, args.days)
    except InviteArgumentError as error:
        say(f"pulso invite: {error}")
        return EXIT_USAGE
    username: str | None = args.bot_username
    if username is None:
        try:
            username = asyncio.run(bot_username(settings))
        except SettingsError as error:
            say(f"pulso invite: {error}; or pass --bot-username")
            return EXIT_USAGE
        except Exception as error:  # the network, Telegram, a wrong token: all say the same
            say(
                f"pulso invite: could not ask Telegram for the bot's username "
                f"({type(error).__name__}); pass --bot-username"
            )
            return EXIT_FAILED

    async def work(db: Database) -> IssuedInvite:
        return await issue_invite(db, request, actor=None, now=clock.now())

    try:
        issued = with_database(settings, work)
    except UnknownCommitment as error:
        say(f"pulso invite: {error} (see `pulso plan show`)")
        return EXIT_FAILED
    expires = local_datetime(issued.invite.expires_at, "en", settings.tz)
    say(
        f"invitation {issued.invite.id} to {issued.commitment.id} as {request.role.value}: "
        f"{request.uses} use(s), expires {expires}; revoke with /revokeinvite {issued.token}"
    )
    print(invite_link(username, issued.token))
    return EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "invite",
        help="create an invitation link for a commitment and role",
        description="Print a deep link that lets people join COMMITMENT in ROLE.",
    )
    parser.add_argument("commitment", metavar="COMMITMENT", help="a commitment id, like JAL0004")
    parser.add_argument("role", metavar="ROLE", help="beneficiary or implementer")
    parser.add_argument(
        "--uses",
        default=DEFAULT_INVITE_USES,
        help=f"how many people may join with it, 1 to {MAX_INVITE_USES} "
        f"(default {DEFAULT_INVITE_USES})",
    )
    parser.add_argument(
        "--days",
        default=DEFAULT_INVITE_DAYS,
        help=f"how many days it works, 1 to {MAX_INVITE_DAYS} (default {DEFAULT_INVITE_DAYS})",
    )
    parser.add_argument(
        "--bot-username",
        metavar="NAME",
        help="the bot's username for the link; without it Telegram is asked (getMe)",
    )
    parser.set_defaults(handler=create)
