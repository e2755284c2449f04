"""Bring a database to the newest schema with Alembic (``pulso db upgrade``; ``pulso run`` too).

A database already at :data:`HEAD_REVISION` is recognised with one plain query, without
importing Alembic: Alembic, Mako and what they pull in are about 6 MB of a running bot's
memory (issue 12's budget is 120 MB), and a bot restarts on a current schema far more often
than it upgrades one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.storage.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

#: The newest revision in ``migrations/versions``; ``tests/storage/test_migrations.py``
#: checks it against Alembic's own head, so a new migration cannot forget it.
HEAD_REVISION: Final = "0006"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The head according to Alembic's scan of the migration files."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    """The revision the database is at, or None for a database Alembic never touched."""
    async with db.engine.connect() as connection:

        def _read(sync_connection: Connection) -> str | None:
            # Alembic's bookkeeping table: one row, the revision the schema is at.
            if not sa.inspect(sync_connection).has_table("alembic_version"):
                return None
            read = sync_connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            revisions = list(read.scalars())
            if len(revisions) > 1:
                raise RuntimeError(f"the database has several schema heads: {revisions}")
            return revisions[0] if revisions else None

        return await connection.run_sync(_read)


async def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``revision``; returns (revision before, revision after)."""
    before = await current_revision(db)
    if before is not None and before == (HEAD_REVISION if revision == "head" else revision):
        return before, before
    from alembic import command

    async with db.engine.begin() as connection:

        def _upgrade(sync_connection: Connection) -> None:
            command.upgrade(alembic_config(sync_connection), revision)

        await connection.run_sync(_upgrade)
    after = await current_revision(db)
    assert after is not None
    return before, after
