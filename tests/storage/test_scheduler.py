"""Stopping the round scheduler: between two ticks, never through one that is working."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import ManualClock
from bot.rounds import scheduler as scheduler_module
from bot.rounds.scheduler import RoundScheduler
from bot.storage.engine import Database


async def test_stop_lets_a_tick_in_progress_finish(db: Database, clock: ManualClock) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def tick() -> None:
        started.set()
        await release.wait()
        finished.append("tick")

    scheduler = RoundScheduler(db=db, clock=clock, tick=tick)
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(scheduler.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the tick …
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert finished == ["tick"]  # … which ended on its own, not cancelled
    assert not scheduler.running


async def test_stop_cancels_a_tick_that_hangs(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "STOP_GRACE", 0.05)
    started = asyncio.Event()
    outcome: list[str] = []

    async def tick() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    scheduler = RoundScheduler(db=db, clock=clock, tick=tick)
    await scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(scheduler.stop(), 5)
    assert outcome == ["cancelled"]


async def test_a_stopped_scheduler_starts_again(db: Database, clock: ManualClock) -> None:
    ticks: list[int] = []
    ticked = asyncio.Event()

    async def tick() -> None:
        ticks.append(len(ticks))
        ticked.set()

    scheduler = RoundScheduler(db=db, clock=clock, tick=tick)
    await scheduler.start()
    await asyncio.wait_for(ticked.wait(), 5)
    await scheduler.stop()
    ticked.clear()
    await scheduler.start()  # the first tick of a new start does what fell due meanwhile
    await asyncio.wait_for(ticked.wait(), 5)
    await scheduler.stop()
    assert len(ticks) == 2
