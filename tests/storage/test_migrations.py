"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.storage.engine import Database
from bot.storage.migrate import HEAD_REVISION, current_revision, head_revision, upgrade
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


def test_the_recorded_head_is_alembics_head() -> None:
    # ``upgrade`` trusts HEAD_REVISION to skip Alembic on a current schema: a new migration
    # that forgot to move it would never run.
    assert head_revision() == HEAD_REVISION


def test_a_current_schema_is_recognised_without_loading_alembic(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"

    async def upgraded() -> None:
        db = Database.from_url(url)
        try:
            await upgrade(db)
        finally:
            await db.close()

    asyncio.run(upgraded())
    # A fresh interpreter: this one has Alembic loaded already.
    probe = (
        "import asyncio, sys\n"
        "from bot.storage.engine import Database\n"
        "from bot.storage.migrate import upgrade\n"
        "async def main():\n"
        f"    db = Database.from_url({url!r})\n"
        "    try:\n"
        "        print(await upgrade(db))\n"
        "    finally:\n"
        "        await db.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == [f"('{HEAD_REVISION}', '{HEAD_REVISION}')", "[]"]


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
