"""A local Telegram Bot API server for tests, benchmarks and ``pulso demo``.

It stands where Telegram stands: the real PTB ``Application`` talks to it over
HTTP with the real request encodings and gets the real response shapes, while
the test drives simulated users and reads what each chat received::

    from botapi_emulator import BotApiEmulator

    async with BotApiEmulator(token="123456:TEST", bot_username="pulso_test_bot") as emu:
        app = (
            ApplicationBuilder()
            .token(emu.token)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .build()
        )
        ...
        ana = emu.user(1001, "Ana", language_code="es")
        await ana.send("/start abc")
        msg = await ana.wait_for_message()
        press = await ana.press("Sí, acepto")
        answer = await press.wait_answer()
        emu.faults.configure(seed=1, rate_429=0.2, retry_after=1)

Stop the Application (``updater.stop()``, ``stop()``, ``shutdown()``) before the
emulator: PTB's last ``getUpdates`` confirms what it fetched.

What PTB (22.8) makes of the emulator's answers, as the tests here pin down:

* 400 → ``BadRequest`` whose message drops ``"Bad Request: "`` and is
  ``str.capitalize()``-d, i.e. lower-cased after the first letter
  (``"Button_data_invalid"``, ``"Can't parse entities: unsupported start tag..."``);
  403 → ``Forbidden`` (message kept whole); 401 and 404 → ``InvalidToken`` (an
  unknown method through ``do_api_request`` → ``EndPointNotFound``); 409 →
  ``Conflict``; 429 → ``RetryAfter``, whose ``retry_after`` warns
  (``PTBDeprecationWarning``) unless ``PTB_TIMEDELTA=true``, then a ``timedelta``;
  5xx → ``NetworkError``; no answer in time → ``TimedOut``, even when the message
  was delivered (the ``"lost"`` fault).
* Without a rate limiter PTB never retries a 429; ``AIORateLimiter`` retries only
  ``max_retries`` times (default 0), sleeping ``retry_after + 0.1`` s.
* The updater's ``getUpdates`` read timeout is the request's read timeout (5 s by
  default) plus the long-poll ``timeout``; on errors it waits 1 s, then ×1.5 up to
  30 s; on ``TimedOut`` it polls again at once.
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard.
* ``bytes`` sent without ``filename=`` arrive named ``application.octet-stream``.

Modules: :mod:`~botapi_emulator.server` (HTTP and :class:`BotApiEmulator`),
:mod:`~botapi_emulator.methods` (the Bot API methods), :mod:`~botapi_emulator.users`
(simulated users and groups), :mod:`~botapi_emulator.state` (chats and messages),
:mod:`~botapi_emulator.updates` (getUpdates and long polling),
:mod:`~botapi_emulator.html` (HTML parse mode), :mod:`~botapi_emulator.markup`
(keyboards), :mod:`~botapi_emulator.faults` (fault injection),
:mod:`~botapi_emulator.selfcheck` (a throughput check), and
:mod:`~botapi_emulator.simulation` (people who answer surveys, told by the caller
what the bot's buttons mean).

The package imports nothing of the bot it serves: it can be lifted out whole.
"""

from botapi_emulator.errors import (
    ApiError,
    ButtonNotFoundError,
    EmulatorError,
    EmulatorTimeoutError,
)
from botapi_emulator.faults import FaultInjector
from botapi_emulator.html import EntityParseError, ParsedText, parse_html
from botapi_emulator.markup import Button
from botapi_emulator.server import BotApiEmulator, BotCommandInfo, RequestRecord, Stats
from botapi_emulator.state import ChatLog, ChatMessage, MessageVersion, StoredFile
from botapi_emulator.users import CallbackAnswer, Press, SimGroup, SimUser

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "BotCommandInfo",
    "Button",
    "ButtonNotFoundError",
    "CallbackAnswer",
    "ChatLog",
    "ChatMessage",
    "EmulatorError",
    "EmulatorTimeoutError",
    "EntityParseError",
    "FaultInjector",
    "MessageVersion",
    "ParsedText",
    "Press",
    "RequestRecord",
    "SimGroup",
    "SimUser",
    "Stats",
    "StoredFile",
    "parse_html",
]
