"""Plain functions that put known rows in a database for tests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.storage.engine import Database
from bot.storage.schema import action_plans, commitments


async def add_commitments(
    db: Database,
    now: datetime,
    ids: tuple[str, ...] = ("TST0001", "TST0002"),
    plan_id: str = "test",
) -> None:
    """A bare plan with commitments, enough for foreign keys."""
    async with db.write() as repos:
        await repos.conn.execute(
            sa.insert(action_plans).values(
                id=plan_id, definition={}, imported_at=now, updated_at=now
            )
        )
        for position, commitment_id in enumerate(ids):
            await repos.conn.execute(
                sa.insert(commitments).values(
                    id=commitment_id,
                    plan_id=plan_id,
                    position=position,
                    definition={},
                    created_at=now,
                    updated_at=now,
                )
            )
