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


async def add_participant(
    db: Database,
    now: datetime,
    telegram_user_id: int,
    memberships: tuple[tuple[str, str], ...] = (("JAL0001", "beneficiary"),),
    *,
    language: str = "es",
) -> int:
    """A consented, active participant (chat id = user id) in these (commitment, role)s;
    returns the participant's id."""
    async with db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=telegram_user_id, chat_id=telegram_user_id, language=language, now=now
        )
        for commitment_id, role in memberships:
            await repos.participants.add_membership(person.id, commitment_id, role, now)
    return person.id


async def complete_responses(
    db: Database, round_id: int, participant_id: int, now: datetime
) -> int:
    """Mark a participant's responses in a round completed, as the survey flow would;
    returns how many changed."""
    changed = 0
    async with db.write() as repos:
        for response in await repos.responses.of_participant(participant_id, round_id=round_id):
            await repos.responses.start(response.id, now)
            changed += await repos.responses.complete(response.id, now)
    return changed
