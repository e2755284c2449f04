"""Request parameters as the Bot API reads them.

Telegram accepts the same parameters as a query string, an
``application/x-www-form-urlencoded`` or ``multipart/form-data`` body, or a JSON
object. In the form encodings every value is a string and anything that is not a
string is JSON-encoded (``reply_markup``, ``entities``, ``allowed_updates``, and
numbers such as ``chat_id``). :class:`Params` reads a parameter as the type the
method needs, whichever way it arrived; :class:`UploadedFile` is a multipart part
with a file name (``InputFile`` uploads, and the targets of ``attach://name``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botapi_emulator.errors import ApiError, bad_request

__all__ = ["Params", "UploadedFile"]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Typed access to the decoded parameters of one request."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def __repr__(self) -> str:
        return f"Params({self.raw!r})"

    def text(self, name: str) -> str | None:
        """A string parameter (numbers are turned into their text)."""
        value = self.raw.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return json.dumps(value)
        if isinstance(value, UploadedFile):
            raise bad_request(f'field "{name}" must be of type String')
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        """An integer parameter; a malformed one is a 400."""
        value = self.raw.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text == "":
                return None
            try:
                return int(text)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad_request(f'field "{name}" must be of type Integer')

    def number(self, name: str) -> float | None:
        """A numeric parameter (int or float)."""
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be a Number')

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter (``true``/``false``, ``1``/``0``)."""
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def decoded(self, name: str, *, error: ApiError | None = None) -> Any:
        """A JSON-valued parameter: decoded from a string, or taken as is from a JSON body."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            if isinstance(value, UploadedFile):
                raise error or bad_request(f"can't parse {name} JSON object")
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise error or bad_request(f"can't parse {name} JSON object") from None

    def upload(self, name: str) -> UploadedFile | str | None:
        """A file parameter: an uploaded part, or a string (file_id, URL or attach://)."""
        value = self.raw.get(name)
        if value is None or isinstance(value, UploadedFile | str):
            return value
        raise bad_request(f'field "{name}" must be a file or a String')

    def chat_id(self) -> int | str:
        """``chat_id`` as an int, or an ``@username`` string; 400 when missing."""
        value = self.raw.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("@"):
                return text
            try:
                return int(text)
            except ValueError:
                raise bad_request("chat not found") from None
        raise bad_request("chat not found")
