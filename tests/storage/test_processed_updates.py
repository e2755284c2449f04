"""``processed_updates`` on both databases: a redelivery is recognised for as long as
Telegram may redeliver, an id that comes back later is a new update, and the table
is pruned on a schedule (issue 10, defect 8)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.i18n import translator
from bot.settings import load_settings
from bot.storage.engine import Database
from bot.storage.repositories.machinery import IDEMPOTENCY_WINDOW
from bot.storage.schema import processed_updates
from pulso.bootstrap import build_services

H = timedelta(hours=1)


async def test_an_update_id_back_after_the_window_is_a_new_update(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        assert await repos.updates.claim(5, clock.now())
    clock.advance(23 * H)  # Telegram may still redeliver it: a duplicate
    async with db.write() as repos:
        assert not await repos.updates.claim(5, clock.now())
    # After a week without updates Telegram may pick ids at random; an old id that
    # comes back is someone's new message, not a redelivery, and must be handled.
    clock.advance(7 * 24 * H)
    async with db.write() as repos:
        assert await repos.updates.claim(5, clock.now())
    # …and that new update is itself protected against redelivery.
    clock.advance(H)
    async with db.write() as repos:
        assert not await repos.updates.claim(5, clock.now())


async def test_a_rolled_back_reclaim_leaves_the_id_claimable(
    db: Database, clock: ManualClock
) -> None:
    async with db.write() as repos:
        assert await repos.updates.claim(6, clock.now())
    clock.advance(IDEMPOTENCY_WINDOW + H)

    class Boom(Exception):
        pass

    try:
        async with db.write() as repos:
            assert await repos.updates.claim(6, clock.now())
            raise Boom
    except Boom:
        pass
    async with db.write() as repos:
        assert await repos.updates.claim(6, clock.now())


async def test_the_scheduler_prunes_processed_updates(db: Database, clock: ManualClock) -> None:
    settings = load_settings(env_file=None, overrides={"quiet_hours": "off"})
    services = build_services(settings, db, clock, translator())
    async with db.write() as repos:
        assert await repos.updates.claim(1, clock.now() - IDEMPOTENCY_WINDOW - H)
        assert await repos.updates.claim(2, clock.now() - H)

    async def kept() -> list[int]:
        async with db.read() as repos:
            rows = await repos.conn.execute(
                sa.select(processed_updates.c.update_id).order_by(processed_updates.c.update_id)
            )
            return list(rows.scalars())

    await services.rounds.start()
    try:
        for _ in range(200):
            if await kept() == [2]:
                break
            await asyncio.sleep(0.01)
        assert await kept() == [2]
    finally:
        await services.rounds.stop()
