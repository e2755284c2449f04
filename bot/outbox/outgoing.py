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

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.outbox.transport import AiohttpRequest, EncodedJson


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Text (HTML) with optional buttons, or a photo or document with a caption."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    #: Told the message id once Telegram accepted the message (a question sent by the
    #: outbox becomes its response's prompt). A failure here is logged, not retried.
    on_sent: Callable[[int], Awaitable[None]] | None = None


class NotYet(Exception):
    """Raised by a renderer: draw this row again in ``seconds``, not now (what it would
    show is about to change)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"not yet: again in {seconds:g} s")
        self.seconds = seconds


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
    sent = await _call(bot, "sendMessage", params)
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
    await _call(bot, "editMessageText", params)


async def answer_callback(bot: Bot, query_id: str, text: str | None = None) -> None:
    """Answer a button press (a toast with ``text``, or nothing: the spinner stops) on
    the path of :func:`send_text`. PTB's ``answer_callback_query`` (its parameter encoding
    and form) was 5 % of the answer path's CPU in a py-spy profile (docs/benchmarks.md)."""
    params: dict[str, object] = {"callback_query_id": query_id}
    if text is not None:
        params["text"] = text
    await _call(bot, "answerCallbackQuery", params)


async def _call(bot: Bot, method: str, params: dict[str, object]) -> Any:
    """A Bot API call with its parameters encoded once, as one JSON body, straight to our
    aiohttp transport: PTB's ``Bot._post`` encodes each parameter on its own and then as
    a form (about a fifth of the CPU per send in a py-spy profile of the fan-out).

    Errors are PTB's (``BaseRequest.post`` turns statuses into ``BadRequest``,
    ``Forbidden``, ``RetryAfter`` …), and the request goes through the bot's rate-limiter
    hook, so :class:`bot.outbox.retries.TransientRetries` still retries replies. With
    another transport (PTB's httpx, as the benchmark's "before"), PTB's own path."""
    request = bot.request
    if not isinstance(request, AiohttpRequest):
        return await bot.do_api_request(method, api_kwargs=params)
    markup = params.get("reply_markup")
    if isinstance(markup, InlineKeyboardMarkup):
        params["reply_markup"] = _keyboard_json(markup)
    body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
    url = f"{bot.base_url}/{method}"

    async def post() -> Any:
        return await request.post(url, request_data=EncodedJson(body))

    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    if limiter is None:
        return await post()
    return await limiter.process_request(
        callback=post, args=(), kwargs={}, endpoint=method, data=params, rate_limit_args=None
    )


#: Button fields other than ``text``, ``callback_data`` and ``url``: a button with any of
#: them set is encoded by PTB itself.
_OTHER_BUTTON_FIELDS = (
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "callback_game",
    "pay",
    "web_app",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "icon_custom_emoji_id",
    "style",
)


def _keyboard_json(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    """The keyboard as the Bot API's JSON. Pulso's buttons carry a text and a payload or a
    link; those are written out directly (PTB's generic ``to_dict`` walks every attribute
    of every button: a tenth of the CPU of a send in the fan-out's profile)."""
    rows: list[list[dict[str, Any]]] = []
    for row in markup.inline_keyboard:
        out: list[dict[str, Any]] = []
        for button in row:
            data = button.callback_data
            if (data is not None and not isinstance(data, str)) or any(
                getattr(button, name) is not None for name in _OTHER_BUTTON_FIELDS
            ):
                out.append(button.to_dict())
                continue
            encoded: dict[str, Any] = {"text": button.text}
            if data is not None:
                encoded["callback_data"] = data
            if button.url is not None:
                encoded["url"] = button.url
            out.append(encoded)
        rows.append(out)
    return {"inline_keyboard": rows}
