"""One async engine per process, tuned for each database.

SQLite (the zero-setup default) runs in WAL mode with foreign keys on and a
busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE``:
a deferred transaction that reads and then writes can fail with "database is
locked" *without* waiting for the busy timeout when another connection
writes in between, which is exactly what a bot and ``pulso export`` do.

PostgreSQL runs through asyncpg with READ COMMITTED; state transitions are
compare-and-set statements, so they need nothing stronger.

A commit waits for the disk by default (SQLite ``synchronous=FULL``), so what
the bot acknowledged survives a power cut. ``write(durability="process")``
does not wait (SQLite ``synchronous=NORMAL``, PostgreSQL
``synchronous_commit=off``): the commit still survives the crash of any
process, ours included, and takes microseconds instead of an fsync. It is for
records whose loss at a power cut costs at most one repeated message — the
delivery engine's outcomes, which shortens the double-send window
(``docs/rounds.md``) — never for answers.

SQLite writers of one process take turns in a queue (:class:`WriterTurns`).
``write(urgent=True)`` goes before every writer still waiting: the delivery
engine's claims and outcomes are a millisecond each, and an outcome waiting
behind a queue of answers would keep the double-send window open for as long;
so is recording which message holds a survey's buttons, which the person's
next press waits for. The writer whose turn it is has a connection of its own.
On PostgreSQL, where writers do not queue, urgent writers have a small pool of
connections of their own instead of waiting for one behind busy handlers.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.storage import sqlite_driver
from bot.storage.repositories import Repos

SQLITE_BUSY_TIMEOUT_MS = 15_000

# Execution option marking a connection as read-only, so SQLite begins it
# DEFERRED (readers never wait for the write lock).
_READ_ONLY = "pulso_read_only"
# Execution option asking SQLite to commit without an fsync (``durability="process"``).
_NO_FSYNC = "pulso_no_fsync"
# Key in a DBAPI connection's ``info``: its current ``PRAGMA synchronous``.
_SYNCHRONOUS = "pulso_synchronous"

Durability = Literal["full", "process"]


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL: a committed answer survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous=FULL")
        # What /forget deletes is overwritten with zeros, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
        _record.info[_SYNCHRONOUS] = "FULL"

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to aiosqlite: one trip to its thread, where SQLAlchemy's own execution
        # (a statement context, a cursor opened and closed) took three and ~0.1 ms of CPU
        # per transaction, several transactions per answer.
        driver = connection.connection.dbapi_connection

        def execute(sql: str) -> None:
            driver.run_async(lambda sqlite: sqlite.execute(sql))

        options = connection.get_execution_options()
        if options.get(_READ_ONLY, False):
            execute("BEGIN")
            return
        # Per connection, and only outside a transaction: set it for this one.
        level = "NORMAL" if options.get(_NO_FSYNC, False) else "FULL"
        if connection.info.get(_SYNCHRONOUS) != level:
            execute(f"PRAGMA synchronous={level}")
            connection.info[_SYNCHRONOUS] = level
        execute("BEGIN IMMEDIATE")


#: SQLSTATE classes and codes of PostgreSQL failures a second try may not meet: a lost
#: or refused connection (08), the server shutting down or restarting (57P01–57P03), a
#: serialization failure or a deadlock (40001, 40P01), too many connections (53300).
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01", "53300")


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) is the database failing for a
    moment — a lost connection, SQLite's write lock held past the busy timeout, the pool
    exhausted, a PostgreSQL restart, deadlock or serialization failure — rather than a
    statement or data that will fail the same way again (a constraint, a type, a bug)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        verdict = _transient(current)
        if verdict is not None:
            return verdict
        current = current.__cause__ or current.__context__
    return False


def _transient(error: BaseException) -> bool | None:
    """One exception's verdict; None when it does not say (look at its cause)."""
    if isinstance(error, exc.DBAPIError):  # SQLAlchemy's wrapping of the driver's error
        if error.connection_invalidated or isinstance(error, exc.InterfaceError):
            return True
        return error.orig is not None and bool(_transient(error.orig))
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool in time
        return True
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str):  # PostgreSQL's own code for it
        return state.startswith(_TRANSIENT_SQLSTATES)
    if isinstance(error, (ConnectionRefusedError, ConnectionResetError)):
        return True  # asyncpg's own, unwrapped: the server down or restarting
    if isinstance(error, sqlite3.OperationalError):
        # Raised as it is where the engine begins a transaction itself (BEGIN IMMEDIATE).
        # Among SQLite's operational errors only a lock held too long passes by itself.
        return "locked" in str(error) or "busy" in str(error)
    return None


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """An :class:`AsyncEngine` for ``url`` with Pulso's per-database settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", sqlite_driver.dbapi())
        engine = create_async_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **kwargs)


DialectName = Literal["sqlite", "postgresql"]
#: PostgreSQL connections kept for urgent writers (the delivery engine's claims and
#: outcomes, which take turns anyway).
URGENT_POOL = 2


class WriterTurns:
    """One writer at a time, first come first served — except that urgent writers go
    before every writer still waiting (among themselves, in order)."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._waiting: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for this writer's turn; hold it for the block."""
        if self._busy or self._urgent or self._waiting:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._waiting).append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._pass_on()  # handed the turn just as we were cancelled
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        for queue in (self._urgent, self._waiting):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # a cancelled waiter is skipped
                    waiter.set_result(None)
                    return
        self._busy = False


class Database:
    """The engine plus the two ways in: :meth:`write` and :meth:`read` transactions."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        urgent_engine: AsyncEngine | None = None,
        writer_engine: AsyncEngine | None = None,
    ) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Queueing our own writers here, instead of
        # letting them collide in BEGIN IMMEDIATE, spares them SQLite's busy handler,
        # which sleeps in growing steps (up to 100 ms) and wrecks throughput under
        # load. Other processes (the CLI) still meet the busy timeout.
        self._writer = WriterTurns() if engine.dialect.name == "sqlite" else None
        # PostgreSQL: urgent writers have connections of their own, so they never wait
        # for one behind a crowd of handlers (None: they share the pool).
        self._urgent_engine = urgent_engine
        # SQLite: the writer whose turn it is has a connection of its own, so it never
        # waits in the pool behind a crowd of readers while every other writer waits
        # for it (None: writers share the pool).
        self._writer_engine = writer_engine
        # The same pool, its connections marked read-only from the start (SQLite begins
        # them DEFERRED): one call fewer per read than marking each connection.
        self._reader = engine.execution_options(**{_READ_ONLY: True})

    @classmethod
    def from_url(cls, url: str | URL, **kwargs: Any) -> Database:
        if make_url(url).get_backend_name() == "sqlite":
            # Every transaction ends in a commit or a rollback (write() and read() below;
            # SQLAlchemy rolls back one left open when its connection closes), so the pool's
            # own rollback when it takes a connection back would only cost a round trip to
            # SQLite's thread. The writers: one connection, as there is one writer at a time.
            no_reset = {**kwargs, "pool_reset_on_return": None}
            writer_options = {**no_reset, "pool_size": 1, "max_overflow": 0}
            return cls(
                create_engine(url, **no_reset), writer_engine=create_engine(url, **writer_options)
            )
        engine = create_engine(url, **kwargs)
        urgent = create_engine(url, **{**kwargs, "pool_size": URGENT_POOL, "max_overflow": 0})
        return cls(engine, urgent_engine=urgent)

    @property
    def dialect(self) -> DialectName:
        name = self.engine.dialect.name
        assert name in ("sqlite", "postgresql"), name
        return name  # type: ignore[return-value]

    @asynccontextmanager
    async def write(
        self, *, durability: Durability = "full", urgent: bool = False
    ) -> AsyncIterator[Repos]:
        """A read-write transaction, committed when the block ends without an error.

        ``durability="full"`` (the default): the commit is on disk when the block
        ends. ``"process"``: it survives any process crash but not a power cut or an
        operating-system crash (on PostgreSQL, nor a crash of the server). ``urgent``:
        go before the other writers of this process still waiting (SQLite), or take a
        connection kept for urgent writers (PostgreSQL). See the module docstring for
        who may use either.
        """
        if self._writer is None:
            engine = self._urgent_engine if urgent and self._urgent_engine else self.engine
            async with engine.begin() as connection:
                if durability == "process":
                    await connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
                repos = Repos(connection)
                yield repos
        else:
            writer = self._writer_engine or self.engine
            async with self._writer.turn(urgent=urgent), writer.connect() as connection:
                if durability == "process":
                    await connection.execution_options(**{_NO_FSYNC: True})
                async with connection.begin():
                    repos = Repos(connection)
                    yield repos
        if "updates" in repos.__dict__:  # it claimed updates, maybe: they are done now
            repos.updates.committed()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repos]:
        """A read-only transaction (deferred on SQLite), rolled back at the end."""
        async with self._reader.connect() as connection, connection.begin() as transaction:
            yield Repos(connection)
            await transaction.rollback()

    async def scrub(self) -> None:
        """After erasing personal data: on SQLite, copy the WAL into the database and
        empty it, so the erased rows' old pages do not linger in the log (with
        ``secure_delete`` the database's own free pages are already zeroed). Best
        effort: a reader still inside an old snapshot keeps the WAL for now, and the
        next checkpoint finishes the job. Nothing to do on PostgreSQL (VACUUM's job)."""
        if self.dialect != "sqlite" or self._writer is None:
            return
        writer = self._writer_engine or self.engine
        # In the writers' turn (no writer of ours is mid-transaction), on the driver's
        # connection: a checkpoint cannot run inside the transaction SQLAlchemy would begin.
        async with self._writer.turn(), writer.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        await self.engine.dispose()
        for extra in (self._urgent_engine, self._writer_engine):
            if extra is not None:
                await extra.dispose()
