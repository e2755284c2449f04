"""The outcome writer's group commits: replies the edge sent itself are settled together."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.outbox import outcomes
from bot.outbox.outcomes import DeliveryStats, OutcomeWriter
from bot.storage.engine import Database
from bot.storage.repositories.outbox import NewDelivery


async def _owed_replies(db: Database, clock: ManualClock, count: int) -> list[str]:
    keys = [f"prompt:u{n}" for n in range(1, count + 1)]
    async with db.write() as repos:
        await repos.outbox.enqueue(
            [
                NewDelivery(
                    dedupe_key=key,
                    kind="prompt",
                    chat_id=100 + n,
                    not_before=clock.now() + timedelta(seconds=20),
                )
                for n, key in enumerate(keys)
            ],
            clock.now(),
        )
    return keys


def _writer(db: Database, clock: ManualClock) -> OutcomeWriter:
    return OutcomeWriter(
        db=db,
        clock=clock,
        db_lock=asyncio.Lock(),
        stats=DeliveryStats(),
        settled=asyncio.Event(),
    )


async def test_replies_sent_at_once_are_settled_in_one_commit_and_a_flush_waits_no_linger(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A linger far longer than the test may take: only the flush can end it.
    monkeypatch.setattr(outcomes, "SETTLE_LINGER", 600.0)
    keys = await _owed_replies(db, clock, 5)
    writer = _writer(db, clock)
    for key in keys:
        writer.delivered(key)
        await asyncio.sleep(0)
    await asyncio.wait_for(writer.flush(), timeout=30)
    assert writer.stats.commits == 1
    async with db.read() as repos:
        due = await repos.outbox.due(clock.now() + timedelta(hours=1), limit=10)
    assert due == []  # settled: the engine will never send them
    await writer.stop()


async def test_a_settlement_never_outlives_its_linger(db: Database, clock: ManualClock) -> None:
    (key,) = await _owed_replies(db, clock, 1)
    writer = _writer(db, clock)
    writer.delivered(key)
    # Nothing hurries it: it is committed once the linger has passed, with no flush.
    await asyncio.wait_for(writer.settled.wait(), timeout=30)
    assert writer.stats.commits == 1
    async with db.read() as repos:
        assert await repos.outbox.due(clock.now() + timedelta(hours=1), limit=10) == []
    await writer.stop()
