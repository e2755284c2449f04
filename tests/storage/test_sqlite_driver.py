"""The one-trip SQLite driver (:mod:`bot.storage.sqlite_driver`) behaves as SQLAlchemy's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.storage.engine import Database
from bot.storage.sqlite_driver import OneTripDBAPI


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}")
    async with database.write() as repos:
        await repos.conn.exec_driver_sql(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, n INTEGER)"
        )
    yield database
    await database.close()


def test_the_engine_uses_it(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert isinstance(database.engine.dialect.dbapi, OneTripDBAPI)


async def test_rows_counts_and_returning(db: Database) -> None:
    async with db.write() as repos:
        conn = repos.conn
        inserted = await conn.execute(
            sa.text("INSERT INTO t (name, n) VALUES (:name, :n) RETURNING id"),
            [{"name": "a", "n": 1}],
        )
        assert inserted.scalar_one() == 1
        many = await conn.execute(
            sa.text("INSERT INTO t (name, n) VALUES (:name, :n)"),
            [{"name": "b", "n": 2}, {"name": "c", "n": 3}],
        )
        assert many.rowcount == 2
        # Compare-and-set statements read the row count.
        changed = await conn.execute(sa.text("UPDATE t SET n = n + 10 WHERE n >= 2"))
        assert changed.rowcount == 2
        unchanged = await conn.execute(sa.text("UPDATE t SET n = 0 WHERE name = 'zz'"))
        assert unchanged.rowcount == 0
        returned = await conn.execute(
            sa.text("UPDATE t SET n = n + 1 WHERE name IN ('a', 'b') RETURNING name, n")
        )
        assert sorted(returned.all()) == [("a", 2), ("b", 13)]
        rows = await conn.execute(sa.text("SELECT name, n FROM t ORDER BY id"))
        assert rows.keys() == ["name", "n"]
        assert rows.all() == [("a", 2), ("b", 13), ("c", 13)]
        empty = await conn.execute(sa.text("SELECT name FROM t WHERE n < 0"))
        assert empty.all() == []


async def test_errors_are_sqlalchemys_and_roll_back(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as repos:
            await repos.conn.execute(sa.text("INSERT INTO t (name) VALUES ('a')"))
            await repos.conn.execute(sa.text("INSERT INTO t (name) VALUES ('a')"))
    with pytest.raises(OperationalError):
        async with db.write() as repos:
            await repos.conn.execute(sa.text("SELECT nothing FROM nowhere"))
    async with db.read() as repos:
        assert (await repos.conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 0


async def test_one_trip_to_sqlites_thread_per_statement(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = 0
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async with db.write() as repos:
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        await repos.conn.execute(sa.text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        assert trips == 1
        rows = await repos.conn.execute(sa.text("SELECT name, n FROM t"))
        assert rows.all() == [("a", 1)]
        assert trips == 2
