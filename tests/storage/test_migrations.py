"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.storage.engine import Database
from bot.storage.migrate import current_revision, head_revision, upgrade
from bot.storage.schema import metadata


async def test_upgrade_creates_the_declared_schema(empty_db: Database) -> None:
    assert await current_revision(empty_db) is None

    before, after = await upgrade(empty_db)

    assert (before, after) == (None, head_revision())
    async with empty_db.engine.connect() as conn:

        def _diff(sync_conn: sa.Connection) -> list[object]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        assert await conn.run_sync(_diff) == []


async def test_upgrade_twice_is_harmless(empty_db: Database) -> None:
    await upgrade(empty_db)
    before, after = await upgrade(empty_db)
    assert before == after == head_revision()


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with db.read() as repos:
            pragmas = {
                name: (await repos.conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in (
                    "journal_mode",
                    "foreign_keys",
                    "busy_timeout",
                    "synchronous",
                    "secure_delete",
                )
            }
    finally:
        await db.close()
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 15000,
        "synchronous": 2,
        "secure_delete": 1,
    }
