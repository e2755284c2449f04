"""Bring a database to the newest schema with Alembic (``pulso db upgrade``; ``pulso run`` too)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.storage.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as connection:

        def _read(sync_connection: Connection) -> str | None:
            return MigrationContext.configure(sync_connection).get_current_revision()

        return await connection.run_sync(_read)


async def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``revision``; returns (revision before, revision after)."""
    before = await current_revision(db)
    async with db.engine.begin() as connection:

        def _upgrade(sync_connection: Connection) -> None:
            command.upgrade(alembic_config(sync_connection), revision)

        await connection.run_sync(_upgrade)
    after = await current_revision(db)
    assert after is not None
    return before, after
