"""Fixtures for the emulator's own tests: a running emulator and a PTB-faithful client.

``api(method, **params)`` encodes parameters with PTB's own ``RequestParameter``
(strings as they are, everything else JSON; ``InputFile`` and ``bytes`` values as
multipart parts, with ``filename=`` as PTB's ``filename`` argument), posts them
the way ``HTTPXRequest`` does, and returns the HTTP status and the decoded answer.
"""

from __future__ import annotations

import functools
import ssl
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest
from telegram import InputFile
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from botapi_emulator import BotApiEmulator

TOKEN = "123456:TEST-token"
Api = Callable[..., Coroutine[Any, Any, tuple[int, dict[str, Any]]]]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    """An httpx client that skips httpx's slow per-client SSL setup (plain HTTP here)."""
    return httpx.AsyncClient(verify=_ssl_context(), **kwargs)


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    """A valid RGB PNG of the given size, built in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(
        token=TOKEN, bot_username="pulso_test_bot", bot_first_name="Pulso"
    ) as emulator:
        yield emulator
        assert emulator.internal_errors == []


@pytest.fixture
async def http(emu: BotApiEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(base_url=emu.url, timeout=10) as client:
        yield client


@pytest.fixture
def api(emu: BotApiEmulator, http: httpx.AsyncClient) -> Api:
    async def call(method: str, /, **params: Any) -> tuple[int, dict[str, Any]]:
        filename = params.pop("filename", None)
        for key, value in params.items():
            if isinstance(value, bytes):  # as Bot.send_document(document=b"...") wraps it
                params[key] = InputFile(value, filename=filename)
        data = RequestData(
            [RequestParameter.from_input(key, value) for key, value in params.items()]
        )
        response = await http.post(
            f"/bot{emu.token}/{method}",
            data=data.json_parameters,
            files=data.multipart_data or None,
        )
        return response.status_code, response.json()

    return call
