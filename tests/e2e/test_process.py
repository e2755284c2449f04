"""``pulso`` as an operator runs it: a real process, its exit codes, and its signals."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest

from botapi_emulator import BotApiEmulator
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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_receives_updates_and_refuses_forged_ones(tmp_path) -> None:
    import aiohttp

    port = _free_port()
    hook = f"http://127.0.0.1:{port}/pulso-hook"
    async with BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot") as emulator:
        env = bot_environment(
            emulator,
            f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}",
            WEBHOOK_URL=hook,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET="hook-secret_1",
        )
        bot = BotProcess(env, tmp_path, "run", "--webhook")
        await bot.start()
        await emulator.wait_until(
            lambda: emulator.stats.by_method.get("setWebhook", 0) > 0, timeout=20
        )
        ana = emulator.user(5151, "Ana", language_code="es", started=True)
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": ana.id, "type": "private", "first_name": "Ana"},
                "from": {
                    "id": ana.id,
                    "is_bot": False,
                    "first_name": "Ana",
                    "language_code": "es",
                },
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        async with aiohttp.ClientSession() as session:
            for _ in range(50):  # the server may take a moment to listen
                try:
                    async with session.post(
                        hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                    ) as forged:
                        assert forged.status == 403
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            async with session.post(
                hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "hook-secret_1"}
            ) as genuine:
                assert genuine.status == 200
        reply = await ana.wait_for_message(timeout=10)
        assert "Lo que puedes hacer" in reply.content
        assert len(ana.chat.messages) == 1  # the forged update was not handled
        bot.signal(signal.SIGTERM)
        assert await bot.wait(timeout=15) == 0
        assert "hook-secret_1" not in bot.stderr.decode()


async def test_webhook_mode_without_a_url_says_what_is_missing(tmp_path) -> None:
    async with BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot") as emulator:
        env = bot_environment(emulator, f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}")
        bot = BotProcess(env, tmp_path, "run", "--webhook")
        await bot.start()
        assert await bot.wait(timeout=20) == 2
        assert "WEBHOOK_URL is not set" in bot.stderr.decode()
