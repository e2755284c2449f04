"""A message the bot owes someone, rendered from an outbox row at the moment it is sent.

Rendering happens at send time, not enqueue time, so a person who switched
language or a round that closed meanwhile is reflected. Each outbox ``kind``
has one renderer; a renderer returning None means "nothing to send any more"
(the row is then cancelled, not failed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.repositories.outbox import OutboxItem


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Text (HTML) with optional buttons, or a photo or document with a caption."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None


Renderer = Callable[["Services", "OutboxItem"], Awaitable[Outgoing | list[Outgoing] | None]]

_RENDERERS: dict[str, Renderer] = {}


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the renderer of one outbox kind (a decorator; one renderer per kind)."""

    def register(renderer: Renderer) -> Renderer:
        if kind in _RENDERERS and _RENDERERS[kind] is not renderer:
            raise ValueError(f"outbox kind {kind!r} already has a renderer")
        _RENDERERS[kind] = renderer
        return renderer

    return register


def renderer_for(kind: str) -> Renderer | None:
    return _RENDERERS.get(kind)


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
