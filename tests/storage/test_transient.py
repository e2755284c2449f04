"""The database failing for a moment: the update is handled again, not marked done and lost.

Real failures, not imitations: SQLite's write lock held by another connection past the busy
timeout (what ``pulso`` commands run beside the bot, or a backup tool, can do), and a
PostgreSQL backend killed in the middle of a transaction (what a restart or a failover
does). The handlers here stand in for the application's: they write and claim the update
as a handler does, and on failure do what its error handler does (``pulso.app.on_error``):
ask :func:`bot.intake.dispatcher.retry_later` when the failure is transient.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

import bot.intake.dispatcher as dispatching
from bot.clock import ManualClock
from bot.intake.dispatcher import Dispatcher, retry_later
from bot.storage import engine as storage_engine
from bot.storage.engine import Database, is_transient
from bot.storage.migrate import upgrade
from bot.storage.repositories import Repos
from bot.storage.repositories.machinery import InboxItem
from bot.storage.schema import inbox
from tests.conftest import (
    drop_postgres_schema,
    make_postgres_database,
    terminate_backend_where,
)
from tests.storage.test_inbox import update

#: Short enough that a held lock fails a write at once, as the 15 s default would in time.
SHORT_BUSY_TIMEOUT_MS = 100


@pytest.fixture
async def locked_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Database, sqlite3.Connection]]:
    """A migrated SQLite database with a short busy timeout, and another connection to it
    (not ours: plain ``sqlite3``) that can hold its write lock."""
    monkeypatch.setattr(storage_engine, "SQLITE_BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)
    path = tmp_path / "pulso.db"
    db = Database.from_url(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    other = sqlite3.connect(path, isolation_level=None)
    yield db, other
    other.close()
    await db.close()


async def stored(db: Database, clock: ManualClock, *updates: dict[str, object]) -> list[InboxItem]:
    async with db.write() as repos:
        return await repos.updates.store(list(updates), clock.now())


async def pending(db: Database) -> list[int]:
    async with db.read() as repos:
        rows = await repos.conn.execute(
            sa.select(inbox.c.update_id).where(inbox.c.status == "pending")
        )
        return [r.update_id for r in rows]


class Claimer:
    """A handler as the application's are: it claims the update in a write transaction
    (after ``first_try`` on the first try, if given), and on failure does what the error
    handler does — asks for another try when the failure is transient — else
    ``on_last(error)`` (re-raised when not given). What happened is kept for the test."""

    def __init__(
        self,
        db: Database,
        clock: ManualClock,
        *,
        first_try: Callable[[Repos], Awaitable[object]] | None = None,
        on_last: Callable[[Exception], None] | None = None,
    ) -> None:
        self.db, self.clock = db, clock
        self.first_try, self.on_last = first_try, on_last
        self.tries: list[int] = []
        self.failures: list[Exception] = []
        self.granted: list[bool] = []
        self.failed = asyncio.Event()

    async def __call__(self, item: InboxItem) -> None:
        self.tries.append(item.update_id)
        try:
            async with self.db.write() as repos:
                assert await repos.updates.claim(item.update_id, self.clock.now())
                if self.first_try is not None and len(self.tries) == 1:
                    await self.first_try(repos)
        except Exception as error:
            self.failures.append(error)
            self.granted.append(is_transient(error) and retry_later())
            self.failed.set()
            if not self.granted[-1]:
                if self.on_last is None:
                    raise
                self.on_last(error)


async def dispatched(
    db: Database,
    clock: ManualClock,
    handle: Claimer,
    items: list[InboxItem],
    *,
    meanwhile: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Offer ``items`` to a dispatcher running ``handle``, (do ``meanwhile``,) wait until
    nothing is left to do, and stop it."""
    dispatcher = Dispatcher(db=db, clock=clock, handle=handle)
    await dispatcher.start()
    try:
        dispatcher.offer(items)
        if meanwhile is not None:
            await meanwhile()
        await dispatcher.idle(15)
    finally:
        await dispatcher.stop()


async def test_a_write_locked_out_for_a_moment_is_tried_again_in_order(
    locked_out: tuple[Database, sqlite3.Connection], clock: ManualClock
) -> None:
    db, other = locked_out
    new = await stored(db, clock, update(1, 7), update(2, 7), update(3, 8))
    other.execute("BEGIN IMMEDIATE")  # another program writes, for 0.6 s
    asyncio.get_running_loop().call_later(0.6, other.commit)
    handle = Claimer(db, clock)
    await dispatched(db, clock, handle, new)
    assert handle.failures
    assert all(is_transient(f) and "database is locked" in str(f) for f in handle.failures)
    assert await pending(db) == []  # every one handled, and claimed once
    ones = [n for n, update_id in enumerate(handle.tries) if update_id == 1]
    # Chat 7's second update waited for its first, through every try of it.
    assert handle.tries.index(2) > max(ones)
    assert sorted(set(handle.tries)) == [1, 2, 3]


async def test_tries_end_and_the_last_failure_is_the_persons_to_hear(
    locked_out: tuple[Database, sqlite3.Connection],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatching, "RETRY_DELAYS", (0.05, 0.05))
    db, other = locked_out
    new = await stored(db, clock, update(1, 7))
    other.execute("BEGIN IMMEDIATE")
    # (The apology would go here; letting go lets the update be marked done.)
    handle = Claimer(db, clock, on_last=lambda _error: other.commit())
    await dispatched(db, clock, handle, new)
    assert [is_transient(f) for f in handle.failures] == [True, True, True]
    assert handle.granted == [True, True, False]
    assert await pending(db) == []  # done after its last try: it must not come back forever


async def test_a_try_owed_when_the_process_stops_is_left_for_its_next_life(
    locked_out: tuple[Database, sqlite3.Connection], clock: ManualClock
) -> None:
    db, other = locked_out
    new = await stored(db, clock, update(1, 7))
    other.execute("BEGIN IMMEDIATE")
    handle = Claimer(db, clock)
    dispatcher = Dispatcher(db=db, clock=clock, handle=handle)
    await dispatcher.start()
    dispatcher.offer(new)
    await asyncio.wait_for(handle.failed.wait(), 5)
    other.commit()
    await asyncio.wait_for(dispatcher.stop(), 2)  # the pause before the next try ends now
    assert handle.granted == [True]
    assert await pending(db) == [1]


async def test_a_failure_that_would_repeat_is_not_transient(
    locked_out: tuple[Database, sqlite3.Connection], clock: ManualClock
) -> None:
    db, _ = locked_out
    with pytest.raises(exc.IntegrityError) as duplicate:
        async with db.write() as repos:
            row = {"update_id": 5, "status": "done", "received_at": clock.now()}
            await repos.conn.execute(sa.insert(inbox).values(**row))
            await repos.conn.execute(sa.insert(inbox).values(**row))
    assert not is_transient(duplicate.value)
    with pytest.raises(exc.OperationalError) as no_table:
        async with db.read() as repos:
            await repos.conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_transient(no_table.value)
    assert not is_transient(ValueError("not the database"))


@pytest.mark.postgres
async def test_a_postgresql_connection_killed_mid_transaction_is_tried_again(
    clock: ManualClock,
) -> None:
    db, schema = await make_postgres_database()
    try:
        await upgrade(db)
        new = await stored(db, clock, update(1, 7))
        sleep = "SELECT pg_sleep(30)"  # a long statement, for the server to be cut off in
        handle = Claimer(db, clock, first_try=lambda repos: repos.conn.execute(sa.text(sleep)))

        async def cut_off() -> None:
            await terminate_backend_where(db, "query = :sleep AND state = 'active'", sleep=sleep)

        await dispatched(db, clock, handle, new, meanwhile=cut_off)
        assert handle.tries == [1, 1]
        assert len(handle.failures) == 1
        assert is_transient(handle.failures[0])
        assert await pending(db) == []
    finally:
        await db.close()
        await drop_postgres_schema(schema)


async def test_a_postgresql_server_that_refuses_connections_is_transient() -> None:
    """What a restart looks like from the bot: the port refuses (no server listens there)."""
    db = Database.from_url("postgresql+asyncpg://postgres@127.0.0.1:9/test")
    try:
        with pytest.raises(ConnectionRefusedError) as refused:
            async with db.read() as repos:
                await repos.conn.execute(sa.text("SELECT 1"))
        assert is_transient(refused.value)
    finally:
        await db.close()
