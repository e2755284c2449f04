"""``pulso round new|list|close|cancel`` as an operator runs it, beside a running bot."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from pulso.cli import main as cli_main
from tests.e2e.harness import RunningBot, running_bot
from tests.e2e.process import bot_environment
from tests.factories import add_participant

pytestmark = pytest.mark.e2e


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot with a clock a little ahead of the machine's, so what the command line
    queues with the machine's time is due for it."""
    clock = ManualClock(datetime.now(UTC) + timedelta(hours=1))
    async with running_bot(
        f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}", clock=clock, quiet_hours="off"
    ) as harness:
        await harness.import_example_plan()
        yield harness


async def pulso_cli(harness: RunningBot, cwd: Path, *args: str) -> asyncio.subprocess.Process:
    env = bot_environment(harness.emulator, harness.settings.database_url, QUIET_HOURS="off")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "round",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_round_new_now_shows_the_bots_progress(live: RunningBot, tmp_path: Path) -> None:
    ids = list(range(61_001, 61_006))
    for user_id in ids:
        await add_participant(live.services.db, live.clock.now(), user_id)
        live.emulator.user(user_id, f"P{user_id}", started=True)
    process = await pulso_cli(live, tmp_path, "new", "pulse", "JAL0001", "all", "7d", "--now")
    # The bot finds rows another process queued at its next safety check; here, sooner.
    while process.returncode is None:
        live.services.delivery.wake()
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), 0.2)
        except TimeoutError:
            continue
    out, err = await process.communicate()
    assert process.returncode == 0
    assert out == b""
    text = err.decode()
    assert "round 1 opened: pulse for JAL0001" in text
    assert "reaches 5 people" in text
    assert "5/5" in text  # the progress bar's last state
    assert all(len(live.emulator.chat(i).messages) == 1 for i in ids)


def cli_in_thread(
    harness: RunningBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Awaitable[int]]:
    """``pulso …`` in a thread of this process (its own event loop), with the bot's settings
    in the environment: the same code path as the command, without a new interpreter."""
    env = bot_environment(harness.emulator, harness.settings.database_url, QUIET_HOURS="off")
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    async def run(*args: str) -> int:
        argv = ["--env-file", str(tmp_path / "absent.env"), *args]
        return await asyncio.to_thread(cli_main, argv)

    return run


async def test_round_list_close_and_cancel(
    live: RunningBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pulso = cli_in_thread(live, monkeypatch, tmp_path)
    await add_participant(live.services.db, live.clock.now(), 62_001)
    live.emulator.user(62_001, "P", started=True)
    assert (
        await pulso("round", "new", "pulse", "all", "beneficiary", "3d", "--now", "--no-wait") == 0
    )
    later = (datetime.now(UTC) + timedelta(days=30)).astimezone(live.settings.tz)
    opens = f"{later:%Y-%m-%d %H:%M}"
    assert await pulso("round", "new", "progress", "JAL0002", "all", "7d", "--opens", opens) == 0
    assert "round 2 scheduled" in capsys.readouterr().err

    assert await pulso("round", "close", "1") == 0
    assert "round 1 closed: 0 of 1 completed" in capsys.readouterr().err
    assert await pulso("round", "cancel", "1") == 1
    assert "round 1 is closed: it cannot cancel" in capsys.readouterr().err
    assert await pulso("round", "new", "pulse", "all", "all", "7w", "--now") == 2
    assert "a duration like 7d" in capsys.readouterr().err

    assert await pulso("round", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "survey", "status"]
    assert lines[1].split()[:3] == ["2", "progress", "scheduled"]
    assert lines[2].split()[:3] == ["1", "pulse", "closed"]


async def test_round_new_now_says_when_no_bot_is_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as harness:
        await harness.import_example_plan()
        await add_participant(harness.services.db, harness.clock.now(), 63_001)
        pulso = cli_in_thread(harness, monkeypatch, tmp_path)
    # The bot has stopped; its database stays.
    args = ("round", "new", "pulse", "JAL0001", "all", "7d", "--now", "--patience", "0.5")
    assert await pulso(*args) == 0
    assert "no bot seems to be running" in capsys.readouterr().err
