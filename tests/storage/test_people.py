"""Participants, memberships, invites, staff roles and chat settings, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.clock import ManualClock
from bot.storage.engine import Database
from bot.storage.schema import memberships
from tests.factories import add_commitments


@pytest.fixture
async def plan_db(db: Database, clock: ManualClock) -> Database:
    await add_commitments(db, clock.now())
    return db


async def test_participant_round_trip(plan_db: Database, clock: ManualClock) -> None:
    async with plan_db.write() as repos:
        created = await repos.participants.create(
            telegram_user_id=9_000_000_001, chat_id=9_000_000_001, language="es", now=clock.now()
        )
    async with plan_db.read() as repos:
        loaded = await repos.participants.by_telegram_id(9_000_000_001)
    assert loaded == created
    assert loaded.status == "active"
    assert loaded.consented_at == clock.now()
    assert loaded.consented_at.tzinfo is not None


async def test_telegram_user_id_is_unique(plan_db: Database, clock: ManualClock) -> None:
    async with plan_db.write() as repos:
        await repos.participants.create(
            telegram_user_id=5, chat_id=5, language="es", now=clock.now()
        )
    with pytest.raises(IntegrityError):
        async with plan_db.write() as repos:
            await repos.participants.create(
                telegram_user_id=5, chat_id=5, language="en", now=clock.now()
            )


async def test_membership_is_added_once(plan_db: Database, clock: ManualClock) -> None:
    async with plan_db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=7, chat_id=7, language="es", now=clock.now()
        )
        first, first_new = await repos.participants.add_membership(
            person.id, "TST0001", "beneficiary", clock.now()
        )
        again, again_new = await repos.participants.add_membership(
            person.id, "TST0001", "beneficiary", clock.now()
        )
        await repos.participants.add_membership(person.id, "TST0002", "implementer", clock.now())
    assert (first_new, again_new) == (True, False)
    assert first == again
    async with plan_db.read() as repos:
        joined = await repos.participants.memberships_of(person.id)
        targets = await repos.participants.active_members(["TST0001"], ["beneficiary"])
    assert [(m.commitment_id, m.role) for m in joined] == [
        ("TST0001", "beneficiary"),
        ("TST0002", "implementer"),
    ]
    assert [(m.telegram_user_id, m.commitment_id) for m in targets] == [(7, "TST0001")]


async def test_stopped_and_unreachable_people_are_not_targets(
    plan_db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with plan_db.write() as repos:
        for user_id in (1, 2, 3):
            person = await repos.participants.create(
                telegram_user_id=user_id, chat_id=user_id, language="es", now=now
            )
            await repos.participants.add_membership(person.id, "TST0001", "beneficiary", now)
        stopped = await repos.participants.by_telegram_id(2)
        assert stopped is not None
        await repos.participants.set_status(stopped.id, "stopped", now)
        assert await repos.participants.mark_unreachable_by_chat(3, now) == 1
        assert await repos.participants.mark_unreachable_by_chat(3, now) == 0
    async with plan_db.read() as repos:
        targets = await repos.participants.active_members(["TST0001"], ["beneficiary"])
        counts = await repos.participants.count()
    assert [m.telegram_user_id for m in targets] == [1]
    assert counts == {"active": 1, "stopped": 1, "unreachable": 1}


async def test_forgetting_a_person_removes_their_memberships(
    plan_db: Database, clock: ManualClock
) -> None:
    async with plan_db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=11, chat_id=11, language="en", now=clock.now()
        )
        await repos.participants.add_membership(person.id, "TST0001", "beneficiary", clock.now())
        await repos.participants.delete(person.id)
    async with plan_db.read() as repos:
        assert await repos.participants.get(person.id) is None
        left = (
            await repos.conn.execute(sa.select(sa.func.count()).select_from(memberships))
        ).scalar()
    assert left == 0


async def _invite(db: Database, clock: ManualClock, *, max_uses: int = 1, days: int = 7):
    async with db.write() as repos:
        return await repos.invites.create(
            token_hash="a" * 64,
            commitment_id="TST0001",
            role="beneficiary",
            max_uses=max_uses,
            expires_at=clock.now() + timedelta(days=days),
            created_by=42,
            now=clock.now(),
        )


async def _person(db: Database, clock: ManualClock, user_id: int):
    async with db.write() as repos:
        return await repos.participants.create(
            telegram_user_id=user_id, chat_id=user_id, language="es", now=clock.now()
        )


async def test_invite_is_redeemed_within_its_uses(plan_db: Database, clock: ManualClock) -> None:
    invite = await _invite(plan_db, clock, max_uses=2)
    people = [await _person(plan_db, clock, user_id) for user_id in (1, 2, 3)]
    results = []
    for person in people:
        async with plan_db.write() as repos:
            results.append(await repos.invites.redeem(invite.id, person.id, clock.now()))
    assert results == [True, True, False]
    async with plan_db.read() as repos:
        loaded = await repos.invites.by_hash("a" * 64)
        assert await repos.invites.has_redeemed(invite.id, people[0].id)
        assert not await repos.invites.has_redeemed(invite.id, people[2].id)
    assert loaded is not None
    assert (loaded.uses, loaded.uses_left) == (2, 0)


async def test_expired_and_revoked_invites_are_not_redeemed(
    plan_db: Database, clock: ManualClock
) -> None:
    invite = await _invite(plan_db, clock, max_uses=5, days=1)
    person = await _person(plan_db, clock, 1)
    clock.advance(timedelta(days=1, seconds=1))
    async with plan_db.write() as repos:
        assert not await repos.invites.redeem(invite.id, person.id, clock.now())
        assert await repos.invites.active(clock.now()) == []
    async with plan_db.write() as repos:
        revoked = await repos.invites.revoke("a" * 64, clock.now())
        assert await repos.invites.revoke("b" * 64, clock.now()) is None
    assert revoked is not None
    assert revoked.revoked_at == clock.now()


async def test_the_last_use_goes_to_exactly_one_of_two_racing_people(
    plan_db: Database, clock: ManualClock
) -> None:
    """Real concurrent connections, like two people pressing at once."""
    invite = await _invite(plan_db, clock, max_uses=1)
    first, second = await _person(plan_db, clock, 1), await _person(plan_db, clock, 2)

    async def redeem(participant_id: int) -> bool:
        async with plan_db.write() as repos:
            return await repos.invites.redeem(invite.id, participant_id, clock.now())

    outcomes = await asyncio.gather(redeem(first.id), redeem(second.id))
    assert sorted(outcomes) == [False, True]


async def test_staff_roles_are_granted_once_and_revoked(
    plan_db: Database, clock: ManualClock
) -> None:
    async with plan_db.write() as repos:
        assert await repos.staff.grant(500, "secretariat", granted_by=1, now=clock.now())
        assert not await repos.staff.grant(500, "secretariat", granted_by=1, now=clock.now())
        assert await repos.staff.grant(500, "admin", granted_by=1, now=clock.now())
    async with plan_db.write() as repos:
        assert await repos.staff.roles_of(500) == {"secretariat", "admin"}
        assert await repos.staff.revoke(500, "admin")
        assert not await repos.staff.revoke(500, "admin")
        assert await repos.staff.roles_of(500) == {"secretariat"}
        assert [g.role for g in await repos.staff.all()] == ["secretariat"]
        # What every update asks (bot.access.identify): roles and commitments at once.
        assert await repos.staff.roles_and_commitments(500) == ({"secretariat"}, frozenset())
        assert await repos.accountability.grant("TST0002", 500, granted_by=1, now=clock.now())
        assert await repos.accountability.grant("TST0001", 501, granted_by=1, now=clock.now())
        assert await repos.staff.roles_and_commitments(500) == (
            {"secretariat"},
            frozenset({"TST0002"}),
        )
        assert await repos.staff.roles_and_commitments(501) == (set(), frozenset({"TST0001"}))
        assert await repos.staff.roles_and_commitments(502) == (set(), frozenset())


async def test_chat_language_is_upserted(plan_db: Database, clock: ManualClock) -> None:
    async with plan_db.write() as repos:
        assert await repos.chats.language(-100) is None
        await repos.chats.set_language(-100, "en", clock.now())
        await repos.chats.set_language(-100, "es", clock.now())
    async with plan_db.read() as repos:
        assert await repos.chats.language(-100) == "es"


async def test_an_update_is_claimed_once(plan_db: Database, clock: ManualClock) -> None:
    async with plan_db.write() as repos:
        assert await repos.updates.claim(123, clock.now())
        assert not await repos.updates.claim(123, clock.now())
    async with plan_db.write() as repos:
        assert not await repos.updates.claim(123, clock.now())
        assert await repos.updates.seen(123)
        clock.advance(timedelta(days=2))
        assert await repos.updates.prune(clock.now() - timedelta(days=1)) == 1
        assert not await repos.updates.seen(123)


async def test_a_rolled_back_claim_leaves_the_update_unprocessed(
    plan_db: Database, clock: ManualClock
) -> None:
    """The claim commits with the effect, or not at all."""
    with pytest.raises(RuntimeError):
        async with plan_db.write() as repos:
            assert await repos.updates.claim(77, clock.now())
            raise RuntimeError("the handler failed after claiming")
    async with plan_db.read() as repos:
        assert not await repos.updates.seen(77)


async def test_audit_log_keeps_staff_actions(plan_db: Database, clock: ManualClock) -> None:
    async with plan_db.write() as repos:
        await repos.audit.record(1, "grant", {"user": 500, "role": "admin"}, clock.now())
        await repos.audit.record(None, "plan_import", {"plan": "test"}, clock.now())
    async with plan_db.read() as repos:
        entries = await repos.audit.recent()
        grants = await repos.audit.recent(action="grant")
    assert [e.action for e in entries] == ["plan_import", "grant"]
    assert grants[0].details == {"user": 500, "role": "admin"}
    assert grants[0].actor == 1
