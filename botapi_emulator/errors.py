"""Errors of the emulator, on both of its sides.

::

    ApiError                 a Bot API error answer: error_code, description, retry_after
    EmulatorError            misuse of the Python API by a test (base class)
     ├── ButtonNotFoundError  press() found no button with that text
     └── EmulatorTimeoutError a wait_* helper timed out (also a TimeoutError)

:class:`ApiError` never reaches a test: the server turns it into the JSON answer
``{"ok": false, "error_code": N, "description": "..."}``. The helpers below build
the ones with Telegram's exact wording.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ButtonNotFoundError",
    "EmulatorError",
    "EmulatorTimeoutError",
    "bad_request",
    "forbidden",
]


class ApiError(Exception):
    """An error answer of the Bot API (turned into JSON by the server)."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None):
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after


def bad_request(detail: str) -> ApiError:
    """``400 Bad Request: <detail>``."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """``403 Forbidden: <detail>``."""
    return ApiError(403, f"Forbidden: {detail}")


class EmulatorError(Exception):
    """The Python API was used in a way the emulator cannot honour."""


class ButtonNotFoundError(EmulatorError, LookupError):
    """No bot message in the chat shows an inline button with the requested text."""


class EmulatorTimeoutError(EmulatorError, TimeoutError):
    """A ``wait_*`` helper gave up; the message says what was last seen."""
