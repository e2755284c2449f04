"""The emulator's public surface, and a throughput self-check (not a timed test)."""

from __future__ import annotations

import botapi_emulator
from botapi_emulator.selfcheck import measure_send_throughput


def test_public_surface_is_pinned() -> None:
    assert sorted(botapi_emulator.__all__) == [
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
    for name in botapi_emulator.__all__:
        assert getattr(botapi_emulator, name).__doc__, name


async def test_throughput_self_check_delivers_everything() -> None:
    result = await measure_send_throughput(count=200, concurrency=4)
    assert result.errors == 0
    assert result.count == 200
    assert result.server_seconds < result.seconds
    assert "200 sendMessage" in str(result)
