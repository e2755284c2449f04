"""Registered last: what nobody else handled gets a hint instead of silence.

An unknown command gets a pointer to /help; a button press that no pattern
took (its payload decodes to nothing, or to a type no handler routes, see
:func:`handlers.callback_data.matches`) gets "this button is no longer valid".
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.access import Caller
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import guarded, reply, stale_press


@guarded()
async def unknown_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Point to /help (in private chats only; groups get silence, as bots there should)."""
    if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, context.services.t("error.unknown_command", caller.locale))


def register(application: PulsoApplication) -> None:
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(CallbackQueryHandler(guarded()(stale_press)))
