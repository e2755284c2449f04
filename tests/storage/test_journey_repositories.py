"""What the journey asks of the repositories, on SQLite and PostgreSQL: status
compare-and-sets, the invite's last use, and /forget's unlinking."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.storage.engine import Database
from bot.storage.schema import feedback, memberships, participants, responses
from surveys.invites import hash_token, new_token
from tests.factories import add_commitments


@pytest.fixture
async def plan_db(db: Database, clock: ManualClock) -> Database:
    await add_commitments(db, clock.now())
    return db


@pytest.mark.parametrize(
    ("start", "to", "allowed", "changed", "final"),
    [
        pytest.param("active", "stopped", ("active", "unreachable"), True, "stopped", id="stop"),
        pytest.param(
            "stopped", "stopped", ("active", "unreachable"), False, "stopped", id="again"
        ),
        pytest.param(
            "unreachable", "active", ("stopped", "unreachable"), True, "active", id="back"
        ),
        pytest.param("active", "active", ("stopped", "unreachable"), False, "active", id="noop"),
    ],
)
async def test_status_changes_are_compare_and_set(
    plan_db: Database,
    clock: ManualClock,
    start: str,
    to: str,
    allowed: tuple[str, ...],
    changed: bool,
    final: str,
) -> None:
    async with plan_db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=11, chat_id=11, language="es", now=clock.now()
        )
        await repos.participants.set_status(person.id, start, clock.now())  # type: ignore[arg-type]
    later = clock.advance(timedelta(minutes=1))
    async with plan_db.write() as repos:
        result = await repos.participants.change_status(
            person.id,
            to,  # type: ignore[arg-type]
            from_statuses=allowed,  # type: ignore[arg-type]
            now=later,
        )
    async with plan_db.read() as repos:
        found = await repos.participants.get(person.id)
    assert result is changed
    assert found is not None
    assert found.status == final


async def test_two_people_racing_for_an_invites_last_use_get_one_between_them(
    plan_db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    token = new_token()
    async with plan_db.write() as repos:
        invite = await repos.invites.create(
            token_hash=hash_token(token),
            commitment_id="TST0001",
            role="beneficiary",
            max_uses=1,
            expires_at=now + timedelta(days=1),
            created_by=None,
            now=now,
        )
        people = [
            await repos.participants.create(
                telegram_user_id=user, chat_id=user, language="es", now=now
            )
            for user in (21, 22)
        ]

    async def redeem(participant_id: int) -> bool:
        async with plan_db.write() as repos:
            return await repos.invites.redeem(invite.id, participant_id, now)

    results = await asyncio.gather(*(redeem(p.id) for p in people))
    assert sorted(results) == [False, True]
    async with plan_db.read() as repos:
        used = await repos.invites.by_hash(hash_token(token))
    assert used is not None
    assert used.uses == 1


async def test_forgetting_deletes_the_person_and_their_feedback(
    plan_db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with plan_db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=31, chat_id=31, language="es", now=now
        )
        await repos.participants.add_membership(person.id, "TST0001", "beneficiary", now)
        await repos.responses.add_feedback(
            participant_id=person.id,
            commitment_id="TST0001",
            role="beneficiary",
            text="Hace falta más difusión",
            sentiment=None,
            now=now,
        )
    async with plan_db.write() as repos:
        deleted_feedback = await repos.responses.delete_feedback(person.id)
        await repos.responses.unlink_participant(person.id)
        await repos.participants.delete(person.id)
    async with plan_db.read() as repos:
        conn = repos.conn
        people = (
            await conn.execute(sa.select(sa.func.count()).select_from(participants))
        ).scalar()
        joined = (await conn.execute(sa.select(sa.func.count()).select_from(memberships))).scalar()
        kept = (await conn.execute(sa.select(feedback.c.participant_id, feedback.c.text))).all()
        linked = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(responses)
                .where(responses.c.participant_id.is_not(None))
            )
        ).scalar()
    assert deleted_feedback == 1
    assert (people, joined, linked) == (0, 0, 0)
    assert kept == []
