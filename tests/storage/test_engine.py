"""``Database.write(durability=...)``: which transactions wait for the disk, on both databases."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.storage.engine import Database


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
