"""``Database.write(durability=...)``: which transactions wait for the disk, on both databases."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import ManualClock
from bot.storage.engine import Database, WriterTurns
from tests.conftest import POSTGRES_URL, drop_postgres_schema, make_postgres_database


async def _setting(db: Database, *, durability: str | None) -> str:
    """What the database says about syncing, from inside a write transaction."""
    options = {} if durability is None else {"durability": durability}
    async with db.write(**options) as repos:
        if db.dialect == "sqlite":
            level = (await repos.conn.exec_driver_sql("PRAGMA synchronous")).scalar()
            return {1: "NORMAL", 2: "FULL"}[level]
        return str((await repos.conn.exec_driver_sql("SHOW synchronous_commit")).scalar())


async def test_writes_wait_for_the_disk_unless_asked_not_to(db: Database) -> None:
    full = "FULL" if db.dialect == "sqlite" else "on"
    relaxed = "NORMAL" if db.dialect == "sqlite" else "off"
    assert await _setting(db, durability=None) == full
    assert await _setting(db, durability="process") == relaxed
    # The relaxed setting belongs to that one transaction, not to the pooled connection.
    assert await _setting(db, durability=None) == full
    assert await _setting(db, durability="full") == full
    assert await _setting(db, durability="process") == relaxed
    assert await _setting(db, durability="process") == relaxed
    assert await _setting(db, durability=None) == full


async def test_a_relaxed_write_commits_and_rolls_back_like_any_other(
    db: Database, clock: ManualClock
) -> None:
    async with db.write(durability="process") as repos:
        await repos.updates.claim(1, clock.now())
    with pytest.raises(RuntimeError):
        async with db.write(durability="process") as repos:
            await repos.updates.claim(2, clock.now())
            raise RuntimeError("roll back")
    async with db.read() as repos:
        assert await repos.updates.seen(1)
        assert not await repos.updates.seen(2)


async def test_urgent_writers_go_before_those_already_waiting() -> None:
    turns = WriterTurns()
    order: list[str] = []

    async def writer(name: str, *, urgent: bool = False) -> None:
        async with turns.turn(urgent=urgent):
            order.append(name)
            await asyncio.sleep(0)

    async with turns.turn():
        tasks = [
            asyncio.create_task(writer("answer 1")),
            asyncio.create_task(writer("answer 2")),
            asyncio.create_task(writer("outcome 1", urgent=True)),
            asyncio.create_task(writer("outcome 2", urgent=True)),
        ]
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["outcome 1", "outcome 2", "answer 1", "answer 2"]


async def test_a_writer_cancelled_while_waiting_gives_up_nothing() -> None:
    turns = WriterTurns()
    done: list[str] = []

    async def writer(name: str) -> None:
        async with turns.turn():
            done.append(name)

    async with turns.turn():
        gone = asyncio.create_task(writer("cancelled"))
        kept = asyncio.create_task(writer("kept"))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
    await kept
    assert gone.cancelled()
    assert done == ["kept"]
    async with asyncio.timeout(1):  # the turn is free again
        async with turns.turn(urgent=True):
            pass


@pytest.mark.postgres
async def test_urgent_writers_on_postgresql_do_not_wait_for_the_shared_pool() -> None:
    db, schema = await make_postgres_database()
    await db.close()
    crowded = Database.from_url(
        POSTGRES_URL,
        pool_size=1,
        max_overflow=0,
        pool_timeout=30,
        connect_args={"server_settings": {"search_path": schema}},
    )
    try:
        # The only shared connection is taken; an urgent write still goes through.
        async with (
            crowded.read(),
            asyncio.timeout(5),
            crowded.write(urgent=True) as repos,
        ):
            assert (await repos.conn.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await crowded.close()
        await drop_postgres_schema(schema)
