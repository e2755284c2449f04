"""Logging that can never leak the bot token, Telegram ids or what people wrote.

Three layers, because one mistake anywhere must not reach a log file:

* third-party loggers that print requests, updates or SQL parameters at DEBUG
  (PTB, httpx, httpcore, aiosqlite) are held at WARNING whatever the root
  level is;
* :class:`RedactingFilter` on every handler replaces, in the final line, the
  token; any number of any length written where an id goes (``chat_id=…``,
  ``user_id: …``, a JSON ``"id": …``, as PTB, httpx and our dataclasses print
  them); and any other run of seven or more digits (Telegram user and chat
  ids), also at the end of a sentence. Shorter numbers elsewhere ("round 7",
  "outbox row 12", counts) are our own and stay;
* Pulso's own code logs counts, ids of our own rows and exception *types*,
  never message texts (see :func:`describe_exception`).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable

NOISY_LOGGERS = (
    "telegram",
    "httpx",
    "httpcore",
    "apscheduler",
    "aiohttp.access",
    "asyncio",
    # Logs every statement with its parameters at DEBUG: answers, feedback, ids.
    "aiosqlite",
)
# Seven or more digits, not part of a word or of a decimal ("1234567.5" stays; a
# period that ends a sentence does not protect an id).
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{7,}(?!\w|\.\d)")
# A number of any length where an id is written: keyword arguments, query strings,
# reprs and JSON fields (``chat_id=42``, ``"user_id": "42"``, ``{"id": 42}``).
_ID_FIELD = re.compile(
    r"""(?ix)
    (
        (?<![\w])(?:chat_id|user_id|from_user_id|sender_chat_id|telegram_id)
        ["']?\s*[=:]\s*["']?
      | "id"\s*:\s*"?
    )
    -?\d+(?!\w|\.\d)
    """
)
REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    """Rewrites each record's final text with secrets and long numbers removed."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _ID_FIELD.sub(lambda match: match.group(1) + REDACTED, text)
        return _LONG_NUMBER.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info:
            # Tracebacks may quote values (an SQL parameter, a message text):
            # keep where it happened, drop what it said.
            record.exc_text = describe_exception(record.exc_info[1])
            record.exc_info = None
        return True


def describe_exception(error: BaseException | None) -> str:
    """The exception's type and its frames (file, line, function), without its message."""
    if error is None:
        return ""
    frames = traceback.extract_tb(error.__traceback__)
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames[-6:]
    )
    return f"{type(error).__module__}.{type(error).__qualname__} at {where or '?'}"


_filter = RedactingFilter()


def configure_logging(
    level: int | str = logging.INFO, secrets: Iterable[str] = ()
) -> RedactingFilter:
    """Send logs to standard error (standard output is for data), redacted."""
    for secret in secrets:
        _filter.add_secret(secret)
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_pulso", False) for h in root.handlers):
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        stderr._pulso = True  # type: ignore[attr-defined]
        root.addHandler(stderr)
    for handler in root.handlers:
        if _filter not in handler.filters:
            handler.addFilter(_filter)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    return _filter


def redacting_filter() -> RedactingFilter:
    return _filter
