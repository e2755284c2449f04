"""The command menus Telegram shows, per language and per audience (``setMyCommands``).

Participants and strangers see the everyday commands in every private chat;
each admin's chat gets those plus the staff commands. Descriptions come from
the catalogs (``cmd.<name>``), so menus follow the person's Telegram language.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import LOCALES, Locale
from bot.logs import describe_exception
from bot.services import Services

log = logging.getLogger(__name__)

EVERYONE = ("start", "help", "language")
STAFF: tuple[str, ...] = ()


def commands_for(services: Services, names: tuple[str, ...], locale: Locale) -> list[BotCommand]:
    return [BotCommand(name, services.t(f"cmd.{name}", locale)) for name in names]


async def publish_commands(bot: Bot, services: Services) -> None:
    """Best effort: a menu that fails to publish must not keep the bot from starting."""
    try:
        for locale in LOCALES:
            # Spanish is also the menu for clients in any language we do not speak.
            languages = [locale] + ([""] if locale == services.settings.default_language else [])
            for language_code in languages:
                await bot.set_my_commands(
                    commands_for(services, EVERYONE, locale),
                    scope=BotCommandScopeAllPrivateChats(),
                    language_code=language_code or None,
                )
        staff_menu = commands_for(services, EVERYONE + STAFF, services.settings.default_language)
        for admin_id in sorted(services.admin_ids):
            await bot.set_my_commands(staff_menu, scope=BotCommandScopeChat(admin_id))
    except TelegramError as exc:
        log.warning("could not publish menus: %s", describe_exception(exc))
