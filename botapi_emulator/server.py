"""The emulator's HTTP server and its Python API: :class:`BotApiEmulator`.

Start it, point the real PTB ``Application`` at it, act as users, read what the
bot sent::

    async with BotApiEmulator(token="123456:TEST", bot_username="pulso_test_bot") as emu:
        app = (
            ApplicationBuilder()
            .token(emu.token)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .build()
        )
        ...  # app.initialize(); app.start(); app.updater.start_polling(poll_interval=0)
        ana = emu.user(1001, "Ana", language_code="es")
        await ana.send("/start abc")
        reply = await ana.wait_for_message(timeout=5)
        assert "Bienvenida" in reply.text

Routes: ``/bot<token>/<method>`` (GET or POST; method names in any case) and
``/file/bot<token>/<file_path>``. A wrong token answers
``401 Unauthorized``, an unknown method ``404 Not Found``, both as Telegram does.
Bodies may be JSON, URL-encoded or multipart (what PTB sends), parameters may
also come in the query string. Every answer is ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "..."}`` with status N (429s carry
``parameters.retry_after``).

``emu.stats`` counts requests per method and status; ``emu.requests`` keeps the
last ``request_log_size`` requests; ``emu.faults`` injects failures
(:mod:`botapi_emulator.faults`); ``emu.internal_errors`` lists emulator bugs
(answered 500), which tests should assert empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Self

from aiohttp import BodyPartReader, hdrs, web
from yarl import URL

from botapi_emulator.core import EmulatorCore
from botapi_emulator.errors import ApiError, EmulatorError, bad_request
from botapi_emulator.faults import FaultDecision, FaultInjector
from botapi_emulator.methods import BotApi, scope_key
from botapi_emulator.params import Params, UploadedFile
from botapi_emulator.state import ChatLog, StoredFile
from botapi_emulator.users import SimGroup, SimUser
from botapi_emulator.webhook import WebhookConfig, WebhookPusher

__all__ = ["BotApiEmulator", "BotCommandInfo", "RequestRecord", "Stats"]

_LOGGER = logging.getLogger(__name__)
JSONDict = dict[str, Any]

MAX_REQUEST_BYTES = 60 * 1024 * 1024


class BotCommandInfo(NamedTuple):
    """One command stored by ``setMyCommands``."""

    command: str
    description: str


@dataclass(slots=True)
class RequestRecord:
    """One request as the server answered it (kept in ``emu.requests``)."""

    method: str
    params: dict[str, Any]
    status: int
    description: str | None
    fault: str | None
    at: float
    duration: float

    @property
    def ok(self) -> bool:
        """Whether the answer was a success."""
        return self.status == 200


@dataclass(slots=True)
class Stats:
    """Request counters: per method, per status, errors per status."""

    total: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    errors_by_method: Counter[str] = field(default_factory=Counter)
    abandoned: int = 0
    handler_seconds: float = 0.0

    def record(
        self, method: str, status: int, *, abandoned: bool = False, seconds: float = 0.0
    ) -> None:
        """Count one answered request (``abandoned``: the client had gone away, e.g. a
        long poll cut short by a stopping bot; not counted as an error). ``seconds`` is
        the time spent in the emulator's handler, long-poll waits included."""
        self.total += 1
        self.handler_seconds += seconds
        self.by_method[method] += 1
        self.by_status[status] += 1
        if abandoned:
            self.abandoned += 1
        elif status != 200:
            self.errors[status] += 1
            self.errors_by_method[method] += 1

    def reset(self) -> None:
        """Zero every counter."""
        self.total = 0
        self.by_method.clear()
        self.by_status.clear()
        self.errors.clear()
        self.errors_by_method.clear()
        self.abandoned = 0
        self.handler_seconds = 0.0

    def summary(self) -> str:
        """A one-line summary, e.g. for benchmark output."""
        methods = ", ".join(f"{m}={n}" for m, n in self.by_method.most_common())
        errors = ", ".join(f"{s}={n}" for s, n in sorted(self.errors.items())) or "none"
        return f"{self.total} requests ({methods}); errors: {errors}"


def _json_response(status: int, payload: JSONDict) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


def _error_payload(error: ApiError) -> JSONDict:
    payload: JSONDict = {
        "ok": False,
        "error_code": error.error_code,
        "description": error.description,
    }
    if error.retry_after is not None:
        payload["parameters"] = {"retry_after": error.retry_after}
    return payload


_HTTP_DESCRIPTIONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class BotApiEmulator:
    """A local Telegram Bot API server plus an API to act as users and read chats.

    ``token``'s numeric prefix is the bot's user id. ``strict_html`` rejects a bare
    ``&`` in HTML texts (Telegram keeps it; see :mod:`botapi_emulator.html`).
    ``privacy_mode`` is Telegram's group privacy (non-command group messages do not
    reach the bot). ``callback_query_ttl`` makes ``answerCallbackQuery`` fail with
    "query is too old" after that many seconds (Telegram: about 15; default never).
    ``clock`` gives Unix time for message dates. ``deliver_webhooks``: once the bot
    calls ``setWebhook``, POST each update to it as Telegram does
    (:mod:`botapi_emulator.webhook`); otherwise a webhook is only remembered.
    """

    def __init__(
        self,
        token: str = "123456:TEST",  # noqa: S107 - a fake token for a fake server
        *,
        bot_username: str = "pulso_test_bot",
        bot_first_name: str = "Pulso",
        strict_html: bool = True,
        privacy_mode: bool = True,
        callback_query_ttl: float | None = None,
        first_update_id: int = 1,
        request_log_size: int = 1000,
        clock: Callable[[], float] = time.time,
        deliver_webhooks: bool = False,
    ) -> None:
        self.core = EmulatorCore(
            token=token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            clock=clock,
            strict_html=strict_html,
            privacy_mode=privacy_mode,
            callback_query_ttl=callback_query_ttl,
            first_update_id=first_update_id,
        )
        self.api = BotApi(self.core)
        self.faults = FaultInjector()
        self.stats = Stats()
        self.requests: deque[RequestRecord] = deque(maxlen=request_log_size)
        self.internal_errors: list[str] = []
        self._runner: web.AppRunner | None = None
        self._root = ""
        self._closing = asyncio.Event()
        self.webhook: WebhookPusher | None = None
        if deliver_webhooks:
            pusher = self.webhook = WebhookPusher(self.core.updates)
            self.core.updates.on_push = pusher.changed
            self.core.on_webhook = self._webhook_changed

    def _webhook_changed(self) -> None:
        if self.webhook is None:
            return
        core = self.core
        self.webhook.configure(
            WebhookConfig(core.webhook_url, core.webhook_secret, core.webhook_max_connections)
            if core.webhook_url
            else None
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        if self._runner is not None:
            raise EmulatorError("the emulator is already running")
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._closing.clear()
        self.core.updates.reopen()
        if self.webhook is not None:
            await self.webhook.start()
        bound_host, bound_port = runner.addresses[0][:2]
        self._root = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        """End waiting requests and close the server (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()
        self.core.updates.close()
        if self.webhook is not None:
            await self.webhook.stop()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if not self._root:
            raise EmulatorError("start() the emulator first")
        return self._root

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        """The bot token the server accepts."""
        return self.core.token

    @property
    def bot_user(self) -> JSONDict:
        """The bot's ``User`` object, as ``getMe`` returns it (a copy)."""
        return dict(self.core.bot_user)

    @property
    def bot_id(self) -> int:
        """The bot's user id (the token's numeric prefix)."""
        return self.core.bot_id

    # -- acting as Telegram's users -------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "es",
        started: bool = False,
    ) -> SimUser:
        """The user with this id (created on first call with its private chat).

        A user who never wrote to the bot cannot be written to (403) unless
        ``started=True``.
        """
        return self.core.user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )

    def group(
        self,
        chat_id: int,
        title: str = "",
        *,
        type: str = "supergroup",
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> SimGroup:
        """The group, supergroup or channel with this (negative) id, the bot a member."""
        return self.core.group(
            chat_id, title, chat_type=type, username=username, bot_is_admin=bot_is_admin
        )

    def chat(self, chat_id: int) -> ChatLog:
        """What happened in a chat (a user's id for their private chat)."""
        return self.core.chat(chat_id)

    @property
    def users(self) -> dict[int, SimUser]:
        """Every simulated user by id."""
        return self.core.users

    @property
    def chats(self) -> dict[int, ChatLog]:
        """Every chat by id."""
        return self.core.chats

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue any raw update (its ``update_id`` is assigned); returns it.

        A message in it (``message``, ``channel_post``, ...) whose chat the emulator
        knows is also recorded in that chat, so the bot can reply to it.
        """
        self.core.adopt_message(update)
        return self.core.push_update(update)

    def redeliver(self, update_id: int) -> JSONDict:
        """Queue an already delivered update again with the same ``update_id``."""
        return self.core.updates.redeliver(update_id)

    @property
    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet."""
        return self.core.updates.pending_count

    def update(self, update_id: int) -> JSONDict:
        """A past update by id."""
        found = self.core.updates.get(update_id)
        if found is None:
            raise KeyError(f"no update {update_id}")
        return found

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        describe: Callable[[], str] | None = None,
    ) -> None:
        """Return once ``predicate()`` holds (re-checked after every change the bot
        makes); raise :class:`EmulatorTimeoutError` after ``timeout`` seconds."""
        await self.core.notifier.wait_until(
            predicate, timeout=timeout, describe=describe or self._describe_recent
        )

    async def wait_for_updates_confirmed(self, timeout: float = 5.0) -> None:
        """Wait until the bot has fetched and confirmed every queued update."""
        await self.wait_until(lambda: self.core.updates.pending_count == 0, timeout)

    def _describe_recent(self) -> str:
        recent = list(self.requests)[-5:]
        if not recent:
            return "no request reached the emulator"
        lines = [
            f"{r.method} -> {r.status}{' ' + r.description if r.description else ''}"
            for r in recent
        ]
        return "last requests: " + " | ".join(lines)

    # -- reading what the bot set -------------------------------------------------------

    def commands(
        self, scope: JSONDict | str | None = None, language_code: str = ""
    ) -> list[BotCommandInfo]:
        """The commands ``setMyCommands`` stored for exactly this scope and language.

        ``scope`` is a ``BotCommandScope`` dict or just its type, e.g.
        ``"all_private_chats"``; None is the default scope.
        """
        if isinstance(scope, str):
            scope = {"type": scope}
        stored = self.core.commands.get((scope_key(scope), language_code), [])
        return [BotCommandInfo(c["command"], c["description"]) for c in stored]

    def file(self, file_id: str) -> StoredFile:
        """A file the bot uploaded, by ``file_id``."""
        return self.core.files[file_id]

    # -- HTTP -----------------------------------------------------------------------------

    async def _decode(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query) if request.query_string else {}
        if not request.body_exists:
            return params
        if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        content_type = request.content_type
        if content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or not part.name:
                    continue
                if part.filename is not None:
                    data = bytes(await part.read())
                    params[part.name] = UploadedFile(
                        part.name, part.filename, part.headers.get(hdrs.CONTENT_TYPE), data
                    )
                else:
                    params[part.name] = await part.text()
            return params
        body = await request.read()
        if not body:
            return params
        if content_type == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(decoded, dict):
                raise bad_request("can't parse JSON object")
            params.update(decoded)
            return params
        # yarl's query parser is the C-accelerated twin of urllib's parse_qsl.
        params.update(URL("http://form/?" + body.decode("utf-8", "replace")).query)
        return params

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the emulator stops."""
        if seconds <= 0 or self._closing.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _finish(
        self,
        method: str,
        params: dict[str, Any],
        started: float,
        status: int,
        payload: JSONDict,
        fault: str | None = None,
        request: web.Request | None = None,
    ) -> web.Response:
        response = _json_response(status, payload)
        abandoned = False
        if request is not None and status != 200:
            transport = request.transport
            abandoned = transport is None or transport.is_closing()
        now = time.monotonic()
        self.stats.record(method, status, abandoned=abandoned, seconds=now - started)
        description = payload.get("description") if status != 200 else None
        if self.requests.maxlen != 0:
            self.requests.append(
                RequestRecord(method, params, status, description, fault, now, now - started)
            )
        if description is not None:
            chat = self._chat_of(params)
            if chat is not None:
                chat.last_error = f"{method} -> {status} {description}"
        self.core.notifier.notify()  # wait_until may be watching stats or requests
        return response

    def _chat_of(self, params: dict[str, Any]) -> ChatLog | None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str):
            with contextlib.suppress(ValueError):
                chat_id = int(chat_id)
        return self.core.chats.get(chat_id) if isinstance(chat_id, int) else None

    async def _handle_method(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        name = request.match_info["method"]
        if request.match_info["token"] != self.core.token:
            error = ApiError(401, "Unauthorized")
            return self._finish(name, {}, started, 401, _error_payload(error))
        found = self.api.lookup(name)
        if found is None:
            error = ApiError(404, "Not Found")
            return self._finish(name, {}, started, 404, _error_payload(error))
        method, handler = found
        try:
            raw = await self._decode(request)
        except ApiError as exc:
            return self._finish(method, {}, started, exc.error_code, _error_payload(exc))
        decision = None
        if self.faults.active:
            chat_id = raw.get("chat_id")
            decision = self.faults.decide(
                method.lower(), None if chat_id is None else str(chat_id)
            )
        if decision is not None:
            early = await self._apply_fault(decision, method, raw, started, request)
            if early is not None:
                return early
        try:
            result = await handler(Params(raw))
        except ApiError as exc:
            return self._finish(
                method,
                raw,
                started,
                exc.error_code,
                _error_payload(exc),
                self._fault(decision),
                request,
            )
        except Exception as exc:
            _LOGGER.exception("emulator bug in %s", method)
            self.internal_errors.append(f"{method}: {exc!r}")
            error = ApiError(500, f"Internal Server Error: emulator bug: {exc!r}")
            return self._finish(method, raw, started, 500, _error_payload(error))
        response = self._finish(
            method, raw, started, 200, {"ok": True, "result": result}, self._fault(decision)
        )
        if decision is not None and decision.kind == "lost":
            await self._pause(decision.hold)  # done and recorded, but the answer comes late
        return response

    @staticmethod
    def _fault(decision: FaultDecision | None) -> str | None:
        return decision.counted_as if decision is not None else None

    async def _apply_fault(
        self,
        decision: FaultDecision,
        method: str,
        raw: dict[str, Any],
        started: float,
        request: web.Request,
    ) -> web.Response | None:
        """Delay the request; answer it now when the fault means it is not performed."""
        if decision.latency > 0:
            await self._pause(decision.latency)
        kind = decision.kind
        if kind == "429":
            error = ApiError(
                429,
                f"Too Many Requests: retry after {decision.retry_after}",
                retry_after=decision.retry_after,
            )
            return self._finish(method, raw, started, 429, _error_payload(error), kind)
        if kind in ("5xx", "timeout"):
            if kind == "timeout":
                await self._pause(decision.hold)
            status = decision.status
            error = ApiError(status, _HTTP_DESCRIPTIONS.get(status, "Server Error"))
            # A held request's client has usually given up: counted as abandoned then.
            return self._finish(
                method, raw, started, status, _error_payload(error), decision.counted_as, request
            )
        return None

    async def _handle_file(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        if request.match_info["token"] != self.core.token:
            return self._finish(
                "file", {}, started, 401, _error_payload(ApiError(401, "Unauthorized"))
            )
        stored = self.core.files_by_path.get(request.match_info["path"])
        if stored is None or stored.data is None:
            return self._finish(
                "file", {}, started, 404, _error_payload(ApiError(404, "Not Found"))
            )
        self.stats.record("file", 200)
        mime_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, headers={hdrs.CONTENT_TYPE: mime_type})
