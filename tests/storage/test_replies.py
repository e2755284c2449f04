"""The government's replies on both databases: each move once (request, draft step,
publish, reminder, overdue, frozen outcome), and a plan file that names who answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.i18n import translator
from bot.plans import import_plan
from bot.rounds.service import NewRound
from bot.services import Services
from bot.settings import load_settings
from bot.storage.engine import Database
from bot.storage.schema import audit_log, outbox
from pulso.bootstrap import build_services
from surveys.accountability import PromiseAnswer, Stance, Subject, new_draft
from surveys.errors import ReplyNotYours, UnknownCommitment
from surveys.loader import load_plan

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "surveys/data/plans/jalisco-2016.yaml"
AGENCY = 700_100


@pytest.fixture
async def services(db: Database, clock: ManualClock) -> Services:
    settings = load_settings(
        env_file=None,
        overrides={"secretariat_chat_ids": [-100_1], "quiet_hours": "off", "min_group_size": 2},
    )
    await import_plan(db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=clock.now())
    return build_services(settings, db, clock, translator())


async def kinds(db: Database) -> list[tuple[str, int]]:
    async with db.read() as repos:
        rows = await repos.conn.execute(
            sa.select(outbox.c.kind, outbox.c.chat_id).order_by(outbox.c.id)
        )
        return [(k, c) for k, c in rows]


async def closed_round(services: Services, clock: ManualClock) -> int:
    created = await services.rounds.create(
        NewRound("progress", ("JAL0001",), ("beneficiary",), clock.now(), timedelta(days=3)),
        actor=None,
    )
    await services.rounds.tick()
    clock.advance(timedelta(days=3, minutes=1))
    await services.rounds.tick()
    return created.round.id


async def test_grant_is_audited_and_refuses_an_unknown_commitment(services: Services) -> None:
    assert await services.accountability.grant(1, AGENCY, "JAL0001")
    assert not await services.accountability.grant(1, AGENCY, "JAL0001")
    with pytest.raises(UnknownCommitment):
        await services.accountability.grant(1, AGENCY, "NOPE99")
    assert services.accountability.writers == frozenset({AGENCY})
    assert await services.accountability.revoke(1, AGENCY, "JAL0001")
    assert services.accountability.writers == frozenset()
    async with services.db.read() as repos:
        actions = list(await repos.conn.execute(sa.select(audit_log.c.action)))
    assert [a for (a,) in actions if a in ("grant", "revoke")] == ["grant", "revoke"]


async def test_a_close_requests_one_reply_and_the_deadline_reports_it_once(
    services: Services, clock: ManualClock
) -> None:
    await services.accountability.grant(1, AGENCY, "JAL0001")
    round_id = await closed_round(services, clock)
    # Closing again (a repeated hand-off) requests nothing twice.
    async with services.db.write() as repos:
        closed = await repos.rounds.get(round_id)
        assert closed is not None
        assert await services.accountability.request_replies(repos, closed, clock.now()) == 0
        (reply,) = await repos.accountability.of_round(round_id)
    assert (await kinds(services.db)).count(("reply_request", AGENCY)) == 1
    # The scheduler wakes at the first reminder, then at the deadline.
    assert await services.accountability.next_due() == reply.due_at - timedelta(days=3)

    # Reminders: both moments passed while down → one reminder; then the deadline, once.
    clock.set(reply.due_at - timedelta(hours=1))
    assert await services.accountability.tick(clock.now()) == 1
    assert await services.accountability.tick(clock.now()) == 0
    assert await services.accountability.next_due() == reply.due_at  # both reminders settled
    clock.set(reply.due_at)
    assert await services.accountability.tick(clock.now()) == 1
    assert await services.accountability.tick(clock.now()) == 0
    assert await services.accountability.next_due() is None  # reported: nothing more to wake for
    sent = await kinds(services.db)
    assert sent.count(("reply_reminder", AGENCY)) == 1
    assert sent.count(("reply_overdue", -100_1)) == 1


async def test_each_step_applies_once_and_only_for_the_responsible(
    services: Services, clock: ManualClock
) -> None:
    await services.accountability.grant(1, AGENCY, "JAL0001")
    round_id = await closed_round(services, clock)
    async with services.db.read() as repos:
        (reply,) = await repos.accountability.of_round(round_id)
    with pytest.raises(ReplyNotYours):
        await services.accountability.open_reply(999, reply.id, update_id=1)
    screen = await services.accountability.open_reply(AGENCY, reply.id, update_id=2)
    assert screen.draft.items[0].subject in (Subject("general"), Subject("gap"))
    first = await services.accountability.choose(AGENCY, reply.id, 0, Stance.DONE, update_id=3)
    again = await services.accountability.choose(AGENCY, reply.id, 0, Stance.ACT, update_id=3)
    assert first.changed
    assert not again.changed  # the same update, redelivered: nothing new
    assert again.draft.items[0].stance is Stance.DONE

    # A draft stored under someone else's step is not overwritten (compare-and-set).
    async with services.db.write() as repos:
        stale = new_draft([Subject("general")])
        assert not await repos.accountability.save_draft(
            reply.id, stale, by=AGENCY, now=clock.now(), expected=stale
        )


async def test_promise_outcomes_are_frozen_once(services: Services, clock: ManualClock) -> None:
    round_id = await closed_round(services, clock)
    async with services.db.write() as repos:
        (reply,) = await repos.accountability.request(
            round_id, ["JAL0001"], now=clock.now(), due_at=clock.now() + timedelta(days=1)
        )
        assert await repos.accountability.freeze_outcomes(round_id) == 0
        assert await repos.accountability.outcomes([reply.id]) == {}
    # Nothing was asked in that round, so nothing is frozen; an answer to a missing check
    # changes nothing.
    async with services.db.write() as repos:
        assert not await repos.accountability.answer_check(12345, PromiseAnswer.YES, clock.now())


async def test_the_plan_file_names_who_answers(db: Database, clock: ManualClock) -> None:
    loaded = load_plan(EXAMPLE_PLAN)
    first = loaded.plan.commitments[0].model_copy(update={"responsible": (AGENCY, AGENCY + 1)})
    plan = loaded.plan.model_copy(update={"commitments": (first, *loaded.plan.commitments[1:])})
    loaded = type(loaded)(plan, loaded.instruments)
    report = await import_plan(db, loaded, source_file=None, actor=None, now=clock.now())
    assert "commitment JAL0001: responsible person added" in report.changes
    again = await import_plan(db, loaded, source_file=None, actor=None, now=clock.now())
    assert not again.changed
    async with db.read() as repos:
        assert (await repos.accountability.responsible()) == {"JAL0001": [AGENCY, AGENCY + 1]}
