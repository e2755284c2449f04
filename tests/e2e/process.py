"""Run ``pulso`` as a real operating-system process against an emulator in the test process.

For what only a real process shows: signals (SIGTERM, SIGKILL), exit codes,
and a restart on the same database after a crash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from botapi_emulator import BotApiEmulator
from tests.e2e.harness import ADMIN_ID, SECRETARIAT_CHAT, TOKEN


def bot_environment(emulator: BotApiEmulator, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a bot process: the machine's, minus any Pulso settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PULSO_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        DATABASE_URL=database_url,
        ADMIN_IDS=str(ADMIN_ID),
        SECRETARIAT_CHAT_IDS=str(SECRETARIAT_CHAT),
        PSEUDONYM_SECRET="process-pseudonym-secret-0123456789",
        MIN_GROUP_SIZE="3",
    )
    env.update(extra)
    return env


class BotProcess:
    """``python -m bot run`` with its standard error kept for the test to read."""

    def __init__(self, env: Mapping[str, str], cwd: Path, *args: str) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.args = args or ("run",)
        self.process: asyncio.subprocess.Process | None = None
        self.stderr = b""

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.args,
            env=self.env,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            _, err = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            self.process.kill()
            _, err = await self.process.communicate()
            self.stderr += err
            raise
        self.stderr += err
        assert self.process.returncode is not None
        return self.process.returncode

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def kill(self) -> None:
        """SIGKILL: no clean-up runs, as in a crash or an out-of-memory kill."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.wait(10)
