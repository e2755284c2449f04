"""A message the bot owes someone, rendered from an outbox row at the moment it is sent.

Rendering happens at send time, not enqueue time, so a person who switched
language or a round that closed meanwhile is reflected. Each outbox ``kind``
has one renderer (:data:`bot.outbox.engine.Renderer`), drawn at the edge
(``handlers/outbox.py``, the one registry) and handed to the delivery engine
when the services are built; a
renderer returning None means "nothing to send any more" (the row is then
cancelled, not failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode

if TYPE_CHECKING:
    pass


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Text (HTML) with optional buttons, or a photo or document with a caption."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None


# What the application's Defaults add to every text (pulso.app), spelt out for the two
# helpers below: PTB's do_api_request does not add them.
_TEXT_DEFAULTS = {"parse_mode": ParseMode.HTML, "link_preview_options": {"is_disabled": True}}


async def send_text(
    bot: Bot, chat_id: int, text: str, *, keyboard: InlineKeyboardMarkup | None = None
) -> int:
    """Send an HTML text; Telegram's id for the new message.

    Like PTB's ``send_message``, but PTB does not build a ``Message`` from Telegram's
    answer: on the survey's path (a question per answer) that object cost a
    tenth of the bot's CPU, and only its id is kept. Bot API method names are
    case-insensitive; this spelling is not also a PTB method, which would warn.
    """
    params: dict[str, object] = {"chat_id": chat_id, "text": text, **_TEXT_DEFAULTS}
    if keyboard is not None:
        params["reply_markup"] = keyboard
    sent = await bot.do_api_request("SendMessage", api_kwargs=params)
    return int(sent["message_id"])


async def edit_text(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace a message's text (and its buttons: none unless ``keyboard``), without
    building PTB's ``Message`` from the answer (see :func:`send_text`)."""
    params: dict[str, object] = {
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        **_TEXT_DEFAULTS,
    }
    if keyboard is not None:
        params["reply_markup"] = keyboard
    await bot.do_api_request("EditMessageText", api_kwargs=params)
