"""The command menus Telegram shows, per language and per audience (``setMyCommands``).

Every private chat gets the everyday and participant commands; each staff
member's chat, and each commitment's responsible person's (``/respond``), gets
theirs on top, and the Secretariat's group chats get the results commands.
Descriptions come from the catalogs (``cmd.<name>``), and each menu exists in
Spanish and English, following the person's Telegram language (Spanish for any
other). The menus are published at start-up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from bot.i18n import LOCALES, Locale
from bot.logs import describe_exception
from bot.storage.repositories.staff import StaffRole

log = logging.getLogger(__name__)

EVERYONE = ("start", "help", "language", "privacy")
PARTICIPANT = ("survey", "feedback", "mydata", "forget", "stop", "resume")
RESPONSIBLE = ("respond",)
SECRETARIAT = ("summary", "gap", "trend", "export", "responses")
ADMIN = (
    "newround",
    "rounds",
    "closeround",
    "cancelround",
    "schedule",
    "schedules",
    "unschedule",
    "invite",
    "revokeinvite",
    "grant",
    "revoke",
    "official",
)

if TYPE_CHECKING:
    from bot.services import Services


def menu_for(
    staff: set[StaffRole] | frozenset[StaffRole], *, responsible: bool = False
) -> tuple[str, ...]:
    names: tuple[str, ...] = EVERYONE + PARTICIPANT
    if responsible:
        names += RESPONSIBLE
    if staff:
        names += SECRETARIAT
    if "admin" in staff:
        names += ADMIN
    return names


def commands_for(services: Services, names: tuple[str, ...], locale: Locale) -> list[BotCommand]:
    return [BotCommand(name, services.t(f"cmd.{name}", locale)) for name in names]


async def _publish(
    bot: Bot, services: Services, names: tuple[str, ...], scope: BotCommandScope
) -> None:
    for locale in LOCALES:
        # The default language's menu also serves clients in languages we do not speak.
        codes = [locale, ""] if locale == services.settings.default_language else [locale]
        for code in codes:
            await bot.set_my_commands(
                commands_for(services, names, locale), scope=scope, language_code=code or None
            )


async def publish_staff_menu(
    bot: Bot,
    services: Services,
    user_id: int,
    staff: set[StaffRole] | frozenset[StaffRole],
    *,
    responsible: bool = False,
) -> None:
    """One person's menu after their roles changed (best effort)."""
    try:
        names = menu_for(staff, responsible=responsible)
        await _publish(bot, services, names, BotCommandScopeChat(user_id))
    except TelegramError as exc:
        log.warning("could not publish a staff menu: %s", describe_exception(exc))


async def refresh_menu(bot: Bot, services: Services, user_id: int) -> None:
    """A person's menu after ``/grant`` or ``/revoke`` changed what they may do: the
    commands of the roles they hold now (best effort, like every menu)."""
    async with services.db.read() as repos:
        roles, commitments = await repos.staff.roles_and_commitments(user_id)
    if user_id in services.admin_ids:
        roles.add("admin")
    await publish_staff_menu(bot, services, user_id, roles, responsible=bool(commitments))


async def publish_commands(bot: Bot, services: Services) -> None:
    """Best effort at start-up: a menu that fails must not keep the bot from starting."""
    try:
        await _publish(bot, services, menu_for(frozenset()), BotCommandScopeAllPrivateChats())
        async with services.db.read() as repos:
            grants = await repos.staff.all()
            answering = await repos.accountability.responsible()
        staff: dict[int, set[StaffRole]] = {}
        for grant in grants:
            staff.setdefault(grant.telegram_user_id, set()).add(grant.role)
        for admin_id in services.admin_ids:
            staff.setdefault(admin_id, set()).add("admin")
        responsible = {user_id for ids in answering.values() for user_id in ids}
        for user_id in responsible:
            staff.setdefault(user_id, set())
        for user_id, roles in sorted(staff.items()):
            names = menu_for(roles, responsible=user_id in responsible)
            await _publish(bot, services, names, BotCommandScopeChat(user_id))
        for chat_id in services.settings.secretariat_chat_ids:
            await _publish(bot, services, SECRETARIAT, BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("could not publish menus: %s", describe_exception(exc))
