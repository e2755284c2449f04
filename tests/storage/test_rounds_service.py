"""The rounds service and the outbox on both databases: each transition once, each message once,
overdue reminders settled to one, late joiners invited without doubles."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.cluster import Cluster
from bot.i18n import translator
from bot.plans import import_plan
from bot.rounds.service import NewRound
from bot.services import Services
from bot.settings import load_settings
from bot.storage.engine import Database
from bot.storage.repositories.outbox import Finished, Sent
from bot.storage.schema import outbox
from pulso.bootstrap import build_services, open_services
from surveys.errors import RoundStateError, UnknownRound
from surveys.loader import load_plan
from tests.conftest import drop_postgres_database, make_postgres_database_url
from tests.factories import add_participant, complete_responses

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "surveys/data/plans/jalisco-2016.yaml"
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
async def services(db: Database, clock: ManualClock) -> Services:
    settings = load_settings(
        env_file=None,
        overrides={"secretariat_chat_ids": [-100_1], "quiet_hours": "off"},
    )
    # The example plan: seven commitments and the standard instruments.
    await import_plan(db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=clock.now())
    return build_services(settings, db, clock, translator())


def request(clock: ManualClock, **changes: object) -> NewRound:
    values: dict[str, object] = {
        "instrument_id": "pulse",
        "commitment_ids": ("JAL0001",),
        "roles": ("beneficiary",),
        "opens_at": clock.now() + H,
        "duration": 7 * D,
    }
    values.update(changes)
    return NewRound(**values)  # type: ignore[arg-type]


async def outbox_keys(services: Services, round_id: int) -> list[str]:
    async with services.db.read() as repos:
        counts = await repos.outbox.counts_by_round([round_id])
        rows = await repos.conn.execute(
            sa.select(outbox.c.dedupe_key)
            .where(outbox.c.round_id == round_id)
            .order_by(outbox.c.dedupe_key)
        )
        keys = list(rows.scalars())
    assert sum(counts.get(round_id, {}).values()) == len(keys)
    return keys


async def test_concurrent_ticks_open_a_round_once(services: Services, clock: ManualClock) -> None:
    people = [await add_participant(services.db, clock.now(), 100 + i) for i in range(3)]
    created = await services.rounds.create(request(clock), actor=7)
    assert created.reach == 3
    clock.advance(H)
    reports = await asyncio.gather(*(services.rounds.tick() for _ in range(3)))
    assert sum(r.opened for r in reports) == 1
    keys = await outbox_keys(services, created.round.id)
    assert keys == sorted(f"r{created.round.id}:p{p}:invitation" for p in people)


async def test_a_person_in_two_targeted_commitments_gets_one_invitation(
    services: Services, clock: ManualClock
) -> None:
    both = (("JAL0001", "beneficiary"), ("JAL0002", "beneficiary"))
    person = await add_participant(services.db, clock.now(), 200, both)
    created = await services.rounds.create(
        request(clock, commitment_ids=None, opens_at=clock.now()), actor=None
    )
    assert created.round.status == "open"
    assert await outbox_keys(services, created.round.id) == [
        f"r{created.round.id}:p{person}:invitation"
    ]
    async with services.db.read() as repos:
        found = await repos.responses.recipients([created.round.id], [person])
    assert [r.response.commitment_id for r in found] == ["JAL0001", "JAL0002"]
    assert {r.participant_status for r in found} == {"active"}


async def test_overdue_reminders_are_sent_once_and_only_to_non_completers(
    services: Services, clock: ManualClock
) -> None:
    done, waiting = [await add_participant(services.db, clock.now(), 300 + i) for i in range(2)]
    offsets = (24 * H, 48 * H, 72 * H)
    created = await services.rounds.create(
        request(clock, opens_at=clock.now(), reminder_offsets=offsets), actor=None
    )
    round_id = created.round.id
    await complete_responses(services.db, round_id, done, clock.now())
    clock.advance(80 * H)  # the bot was down through all three
    assert (await services.rounds.tick()).reminded == 1
    assert (await services.rounds.tick()).reminded == 0
    async with services.db.read() as repos:
        statuses = [r.status for r in await repos.rounds.reminders_of(round_id)]
        assert await repos.responses.unfinished_recipients(round_id) == [(waiting, 301)]
    assert statuses == ["skipped", "skipped", "enqueued"]
    keys = await outbox_keys(services, round_id)
    assert f"r{round_id}:p{waiting}:reminder3" in keys
    assert not any(f"p{done}:reminder" in k for k in keys)


async def test_closing_withdraws_unsent_messages_and_tells_the_secretariat(
    services: Services, clock: ManualClock
) -> None:
    await add_participant(services.db, clock.now(), 400)
    created = await services.rounds.create(request(clock, opens_at=clock.now()), actor=None)
    closed = await services.rounds.close(created.round.id, actor=9)
    assert closed.status == "closed"
    async with services.db.read() as repos:
        counts = (await repos.outbox.counts_by_round([created.round.id]))[created.round.id]
        actions = [e.action for e in await repos.audit.recent()]
    # (the insights service queues its summary beside the closing line)
    assert {k: n for k, n in counts.items() if k[0] != "summary"} == {
        ("invitation", "cancelled"): 1,
        ("round_closed", "pending"): 1,
    }
    assert actions[:2] == ["round_close", "round_create"]
    with pytest.raises(RoundStateError):
        await services.rounds.close(created.round.id, actor=9)
    with pytest.raises(RoundStateError):
        await services.rounds.cancel(created.round.id, actor=9)
    with pytest.raises(UnknownRound):
        await services.rounds.close(999, actor=9)


async def test_a_late_joiner_is_invited_once(services: Services, clock: ManualClock) -> None:
    created = await services.rounds.create(request(clock, opens_at=clock.now()), actor=None)
    late = await add_participant(services.db, clock.now(), 500)
    assert await services.rounds.invite_late_joiner(late, "JAL0001", "beneficiary") == 1
    assert await services.rounds.invite_late_joiner(late, "JAL0001", "beneficiary") == 1
    assert await services.rounds.invite_late_joiner(late, "JAL0002", "beneficiary") == 0
    assert await outbox_keys(services, created.round.id) == [
        f"r{created.round.id}:p{late}:invitation"
    ]


async def test_outcomes_are_recorded_once_and_released_rows_go_back(
    services: Services, clock: ManualClock
) -> None:
    people = [await add_participant(services.db, clock.now(), 600 + i) for i in range(4)]
    created = await services.rounds.create(request(clock, opens_at=clock.now()), actor=None)
    now = clock.now()
    async with services.db.write() as repos:
        due = await repos.outbox.due(now, 10)
        ids = [d.id for d in due]
        assert await repos.outbox.claim(ids, now) == set(ids)
        assert await repos.outbox.claim(ids, now) == set()  # a compare-and-set
        await repos.outbox.mark_sent([Sent(ids[0], 77)], now)
        await repos.outbox.finish_many(
            [Finished(ids[1], "failed", "BadRequest: x"), Finished(ids[2], "cancelled", "gone")]
        )
        assert await repos.outbox.release([ids[3]]) == 1
        assert await repos.outbox.release([ids[0]]) == 0  # sent stays sent
    async with services.db.read() as repos:
        first = await repos.outbox.get(ids[0])
        released = await repos.outbox.get(ids[3])
        counts = (await repos.outbox.counts_by_round([created.round.id]))[created.round.id]
    assert first is not None
    assert first.status == "sent"
    assert released is not None
    assert (released.status, released.attempts) == ("pending", 0)
    assert counts == {
        ("invitation", "sent"): 1,
        ("invitation", "failed"): 1,
        ("invitation", "cancelled"): 1,
        ("invitation", "pending"): 1,
    }
    assert len(people) == 4


async def test_a_consent_committed_while_a_round_opens_is_not_missed(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL, READ COMMITTED: a person whose consent commits after the opening read
    its targets, but before the opening committed, is missed by that snapshot; the
    late-joiner path must then see the round open, not read it as still scheduled
    (issue 10). SQLite's writers take turns, so there the interleaving cannot happen."""
    if services.db.dialect != "postgresql":
        pytest.skip("SQLite writers are serialised: no interleaving to test")
    from bot.storage.repositories.responses import ResponseRepository

    await add_participant(services.db, clock.now(), 100)
    created = await services.rounds.create(request(clock), actor=7)
    clock.advance(H)
    original = ResponseRepository.snapshot_targets
    late: list[int] = []
    late_joined: list[asyncio.Task[int]] = []

    async def members_then_a_consent(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        members = await original(self, *args, **kwargs)
        if not late:
            # The consent commits now, after the snapshot, before the opening commits…
            late.append(await add_participant(services.db, clock.now(), 101))
            # …and its late-joiner step runs while the opening is still uncommitted.
            task = asyncio.create_task(
                services.rounds.invite_late_joiner(late[0], "JAL0001", "beneficiary")
            )
            late_joined.append(task)
            await asyncio.wait({task}, timeout=0.5)
        return members

    monkeypatch.setattr(ResponseRepository, "snapshot_targets", members_then_a_consent)
    assert await services.rounds.open(created.round.id)
    assert await asyncio.wait_for(late_joined[0], 5) == 1
    keys = await outbox_keys(services, created.round.id)
    assert f"r{created.round.id}:p{late[0]}:invitation" in keys


@pytest.mark.postgres
async def test_a_round_created_outside_the_workers_wakes_their_leader() -> None:
    """Issue 11: a round created from the command line (another process) reaches the
    webhook workers' leader through NOTIFY at once, not at its next timer. (SQLite
    runs one process: there are no workers to wake.)"""
    url, name = await make_postgres_database_url()
    settings = load_settings(env_file=None, overrides={"database_url": url, "quiet_hours": "off"})
    clock = ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    heard: list[str] = []

    async def nothing() -> None:
        return None

    worker_db = Database.from_url(url)
    try:
        outside = await open_services(settings, clock=clock)  # migrates the database
        try:
            await import_plan(
                outside.db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=clock.now()
            )
            worker = Cluster(worker_db, lead=nothing, follow=nothing, heard=heard.append)
            await worker.start()
            try:
                await outside.rounds.create(request(clock), actor=None)
                assert outside.wakener is not None  # PostgreSQL: it has one
                await outside.wakener.flush()
                for _ in range(100):
                    if "schedule" in heard:
                        break
                    await asyncio.sleep(0.02)
                assert "schedule" in heard
            finally:
                await worker.stop()
        finally:
            await outside.close()
    finally:
        await worker_db.close()
        await drop_postgres_database(name)
