"""PTB's HTTP transport over aiohttp: the same requests, a third of the CPU per request.

python-telegram-bot sends through ``HTTPXRequest`` by default; on this
project's 2-core machine httpx costs 1.3–2 ms of CPU per request (its
connection pool checks every pooled connection on every request), which caps
one process near 500–700 sends/s. :class:`AiohttpRequest` is a
:class:`telegram.request.BaseRequest` over an ``aiohttp.ClientSession``
(aiohttp is already a dependency, for the emulator) and costs about 0.6 ms;
``benchmarks/fanout.py`` measures both (``--transport``).

Requests are encoded exactly as PTB's own transport encodes them: a form
(``application/x-www-form-urlencoded``) of the JSON-encoded parameters, or
``multipart/form-data`` when files are uploaded. Errors are translated in one
place, as PTB expects of a transport::

    asyncio.TimeoutError / aiohttp.ServerTimeoutError  →  telegram.error.TimedOut
    aiohttp.ClientError (refused, reset, DNS …)        →  telegram.error.NetworkError

HTTP error statuses are not errors here: PTB turns 4xx/5xx answers into its
own exceptions (``BadRequest``, ``Forbidden``, ``RetryAfter``, ``NetworkError``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest", "EncodedJson"]

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_JSON = {"Content-Type": "application/json"}


# RequestData is final for type checkers only; this subclass exists so that a body
# encoded once can travel through PTB's ``BaseRequest.post`` (and its error mapping).
class EncodedJson(RequestData):  # type: ignore[misc]
    """A request whose body is JSON encoded once by the caller (``bot.outbox.outgoing``):
    the texts on the survey's path and in a fan-out skip PTB's per-parameter encoding
    (``RequestParameter``, then a form) — a fifth of the CPU of each send."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self._body = body

    @property
    def json_payload(self) -> bytes:
        return self._body


def _value(given: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


class AiohttpRequest(BaseRequest):
    """A PTB transport on one ``aiohttp.ClientSession`` (created in :meth:`initialize`).

    ``connection_pool_size`` bounds concurrent connections (the delivery engine
    keeps at most 64 sends in flight); ``pool_timeout`` is how long a request
    may wait for a free connection. A timed-out request may still have reached
    Telegram (PTB's ``TimedOut`` says as much); the delivery engine documents
    what that means for duplicates.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_timeouts",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        #: The few timeout combinations in use, each built once (not per request).
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                headers={"User-Agent": self.USER_AGENT},
                # PTB parses the body itself; no cookies, no automatic decompression games.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; ``(status, body)``, or ``TimedOut``/``NetworkError``."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = (
            request_data.multipart_data
            if request_data is not None and not isinstance(request_data, EncodedJson)
            else None
        )
        body: Any = None
        headers: dict[str, str] | None = None
        if isinstance(request_data, EncodedJson):
            body, headers = request_data.json_payload, _JSON
        elif files:
            form = aiohttp.FormData()
            for name, value in (request_data.json_parameters if request_data else {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            body = form
        elif request_data is not None:
            # Encoded here: aiohttp's own dict → FormData path costs twice as much.
            body = urlencode(request_data.json_parameters).encode()
            headers = _FORM
        read = _value(read_timeout, self._read_timeout)
        write_default = self._media_write_timeout if files else self._write_timeout
        write = _value(write_timeout, write_default)
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, self._pool_timeout)
        timeout = self._timeouts.get((read, write, connect, pool))
        if timeout is None:
            # aiohttp has no write timeout of its own: it bounds the whole exchange instead.
            parts = (connect, write, read)
            total = None if any(p is None for p in parts) else sum(p or 0.0 for p in parts)
            timeout = aiohttp.ClientTimeout(
                total=total,
                connect=None if connect is None or pool is None else connect + pool,
                sock_connect=connect,
                sock_read=read,
            )
            self._timeouts[(read, write, connect, pool)] = timeout
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
