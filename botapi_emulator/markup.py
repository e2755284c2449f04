"""Validation of ``reply_markup`` the way the Bot API checks it.

:func:`parse_reply_markup` takes the decoded ``reply_markup`` parameter and returns
a :class:`Markup`: the inline buttons (what a user can press), the reply-keyboard
rows, or the removal of a reply keyboard. It raises :class:`ApiError` with
Telegram's descriptions, e.g. ``BUTTON_DATA_INVALID`` for callback data that is
empty or longer than 64 bytes once UTF-8 encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botapi_emulator.errors import ApiError, bad_request

__all__ = ["Button", "Markup", "parse_reply_markup"]

JSONDict = dict[str, Any]

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

# Fields that give an inline button its action; exactly one must be present.
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button as the user sees it.

    ``kind`` is the action field (``"callback_data"``, ``"url"``, ...); ``callback_data``
    and ``url`` are set for those kinds.
    """

    text: str
    kind: str
    callback_data: str | None = None
    url: str | None = None

    @property
    def value(self) -> str | None:
        """The callback data or URL, whichever the button carries."""
        return self.callback_data if self.callback_data is not None else self.url


@dataclass(frozen=True, slots=True)
class Markup:
    """A validated ``reply_markup``.

    ``inline`` is the normalised inline keyboard dict echoed back in Message objects
    (None when the markup is not an inline keyboard).
    """

    kind: str  # "inline_keyboard" | "keyboard" | "remove_keyboard" | "force_reply"
    inline: JSONDict | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    keyboard: list[list[str]] = field(default_factory=list)


def _button_error(detail: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def _inline_button(raw: Any) -> tuple[JSONDict, Button]:
    if not isinstance(raw, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = raw.get("text")
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_ACTIONS if name in raw]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error(
            f"a button must have exactly one of its action fields, found {', '.join(actions)}"
        )
    kind = actions[0]
    value = raw[kind]
    if kind == "callback_data":
        if not isinstance(value, str):
            raise _button_error('Field "callback_data" must be of type String')
        if not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
        return {"text": text, "callback_data": value}, Button(text, kind, callback_data=value)
    if kind == "url":
        if not isinstance(value, str) or not _URL.match(value):
            raise bad_request("BUTTON_URL_INVALID")
        return {"text": text, "url": value}, Button(text, kind, url=value)
    return {"text": text, kind: value}, Button(text, kind)


def _rows(raw: JSONDict, key: str, type_name: str) -> list[Any]:
    rows = raw.get(key)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'Field "{key}" of the {type_name} must be an Array of Arrays')
    return rows


def parse_reply_markup(raw: Any) -> Markup:
    """Validate a decoded ``reply_markup`` value; raise :class:`ApiError` like Telegram."""
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = _rows(raw, "inline_keyboard", "InlineKeyboardMarkup")
        out_rows: list[list[JSONDict]] = []
        buttons: list[list[Button]] = []
        count = 0
        for row in rows:
            out_row: list[JSONDict] = []
            button_row: list[Button] = []
            for item in row:
                normalised, button = _inline_button(item)
                out_row.append(normalised)
                button_row.append(button)
                count += 1
            if out_row:
                out_rows.append(out_row)
                buttons.append(button_row)
        if count > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        return Markup("inline_keyboard", {"inline_keyboard": out_rows}, buttons)
    if "keyboard" in raw:
        keyboard: list[list[str]] = []
        for row in _rows(raw, "keyboard", "ReplyKeyboardMarkup"):
            texts: list[str] = []
            for item in row:
                text = item.get("text") if isinstance(item, dict) else item
                if not isinstance(text, str) or not text:
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
                texts.append(text)
            if texts:
                keyboard.append(texts)
        if not keyboard:
            raise bad_request("keyboard must be non-empty")
        return Markup("keyboard", keyboard=keyboard)
    if raw.get("remove_keyboard") is True:
        return Markup("remove_keyboard")
    if raw.get("force_reply") is True:
        return Markup("force_reply")
    raise bad_request("can't parse reply keyboard markup JSON object")
