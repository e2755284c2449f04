"""``pulso`` as an operator runs it: a real process, its exit codes, and its signals."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest

from bot.emulator import BotApiEmulator
from tests.e2e.harness import TOKEN
from tests.e2e.process import BotProcess, bot_environment

pytestmark = pytest.mark.e2e


async def test_run_without_a_token_explains_and_exits_2(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 2
    assert out == b""
    message = err.decode()
    assert "TELEGRAM_BOT_TOKEN" in message
    assert "@BotFather" in message
    assert "Traceback" not in message


async def test_sigterm_stops_the_bot_cleanly_and_a_restart_carries_on(tmp_path) -> None:
    async with BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot") as emulator:
        env = bot_environment(emulator, f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}")
        bot = BotProcess(env, tmp_path)
        await bot.start()
        ana = emulator.user(4242, "Ana", language_code="es")
        await emulator.wait_until(lambda: emulator.stats.by_method["getUpdates"] > 0, timeout=20)
        await ana.send("/help")
        await ana.wait_for_message(timeout=10)

        began = time.monotonic()
        bot.signal(signal.SIGTERM)
        code = await bot.wait(timeout=15)
        assert code == 0
        assert time.monotonic() - began < 10
        assert TOKEN not in bot.stderr.decode()

        # A message sent while the bot is down is handled by the next process.
        await ana.send("/help")
        again = BotProcess(env, tmp_path)
        await again.start()
        reply = await ana.wait_for_message(timeout=20)
        assert "Lo que puedes hacer" in reply.content
        again.signal(signal.SIGINT)
        assert await again.wait(timeout=15) == 0
