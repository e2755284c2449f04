"""Commands for everyone: /start without an invite, /help and /language.

/start with an invite token, /privacy and the data-rights commands belong to
:mod:`handlers.participant`.
"""

from __future__ import annotations

import logging
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.access import Caller
from bot.i18n import LOCALES, Locale
from bot.logs import describe_exception
from handlers.callback_data import ChooseLanguage, encode, matches
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import guarded, pressed, reply

#: A person's own words in a private chat: a text message that is no command (a survey's
#: text answer, feedback, a reply being written).
PRIVATE_TEXT: Final = (
    filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
)

log = logging.getLogger(__name__)

LANGUAGE_NAMES: dict[Locale, str] = {"es": "🇲🇽 Español", "en": "🇬🇧 English"}


@guarded()
async def start_without_invite(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A bilingual welcome that says how to join."""
    await reply(update, context.services.t("start.welcome", caller.locale))


@guarded()
async def help_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """What this person may do, section by section for each of their roles."""
    t = context.services.t
    sections = [t("help.header", caller.locale)]
    sections += [t(f"help.{audience}", caller.locale) for audience in caller.audiences]
    await reply(update, "\n\n".join(sections))


@guarded()
async def language_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Buttons to pick Spanish or English."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    LANGUAGE_NAMES[locale], callback_data=encode(ChooseLanguage(locale))
                )
                for locale in LOCALES
            ]
        ]
    )
    await reply(update, context.services.t("language.choose", caller.locale), keyboard=keyboard)


@guarded()
async def language_chosen(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Store the choice (in memory for strangers) and confirm it in the new language."""
    if (press := await pressed(update, context, caller, ChooseLanguage)) is None:
        return
    query, data = press
    locale = data.locale
    await context.services.people.set_language(caller, locale)
    if context.user_data is not None:
        context.user_data["language"] = locale
    await query.answer()
    try:
        await query.edit_message_text(context.services.t("language.changed", locale))
    except BadRequest as exc:
        # A double tap finds the message already saying so (or it is gone): the choice
        # is stored and confirmed all the same.
        log.debug("language confirmation not shown: %s", describe_exception(exc))


def register(application: PulsoApplication) -> None:
    application.add_handler(CommandHandler("start", start_without_invite, has_args=False))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("language", language_command))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=matches(ChooseLanguage)))
