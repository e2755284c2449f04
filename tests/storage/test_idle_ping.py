"""PostgreSQL: a connection that died while idle in the pool is replaced, not handed out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from bot.storage import engine as storage_engine
from bot.storage.engine import Database
from tests.conftest import POSTGRES_URL, drop_postgres_schema, make_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    db, schema = await make_postgres_database()
    try:
        yield db
    finally:
        await db.close()
        await drop_postgres_schema(schema)


async def _pooled_backend_killed(db: Database) -> None:
    """Leave one connection in the pool whose server process has been terminated."""
    async with db.read() as repos:
        pid = (await repos.conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
    killer = Database.from_url(POSTGRES_URL)
    try:
        async with killer.engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.close()


async def test_an_idle_dead_connection_is_replaced(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_engine, "PING_AFTER_IDLE", 0.0)
    await _pooled_backend_killed(pg)
    async with pg.read() as repos:
        assert (await repos.conn.execute(sa.text("SELECT 1"))).scalar_one() == 1


async def test_a_connection_just_used_is_not_pinged(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within the idle allowance no ping is made, so the dead connection is handed out and
    # its first statement fails: the ping above is what saves the idle case.
    monkeypatch.setattr(storage_engine, "PING_AFTER_IDLE", 3600.0)
    await _pooled_backend_killed(pg)
    with pytest.raises(DBAPIError):
        async with pg.read() as repos:
            await repos.conn.execute(sa.text("SELECT 1"))
    async with pg.read() as repos:  # the pool dropped it; the next is a fresh one
        assert (await repos.conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
