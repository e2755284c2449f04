"""Importing an action plan: idempotent, reports changes, keeps history, on both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.plans import InstrumentCache, content_fingerprint, import_plan
from bot.storage.engine import Database
from surveys.instruments import builtin_instrument
from surveys.loader import LoadedPlan, load_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "surveys/data/plans/jalisco-2016.yaml"


@pytest.fixture(scope="module")
def jalisco() -> LoadedPlan:
    return load_plan(EXAMPLE)


def edited(loaded: LoadedPlan, **plan_changes) -> LoadedPlan:
    return LoadedPlan(loaded.plan.model_copy(update=plan_changes), loaded.instruments)


async def test_a_first_import_adds_everything(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    report = await import_plan(db, jalisco, source_file="x.yaml", actor=None, now=clock.now())
    assert report.changes[0] == "plan jalisco-2016: imported (7 commitments)"
    assert [c for c in report.changes if c.startswith("commitment")] == [
        f"commitment JAL000{i}: added" for i in range(1, 8)
    ]
    assert {c for c in report.changes if c.startswith("instrument")} == {
        "instrument closing: version 1 added",
        "instrument progress: version 1 added",
        "instrument pulse: version 1 added",
    }
    async with db.read() as repos:
        plan = await repos.plans.plan()
        stored = await repos.plans.commitments()
        official = await repos.plans.official_figures()
        audit = await repos.audit.recent(action="plan_import")
    assert plan == jalisco.plan
    assert [s.commitment for s in stored] == list(jalisco.plan.commitments)
    assert sum(f.percent for f in official.values()) / len(official) == pytest.approx(96.0)
    assert len(audit) == 1


async def test_importing_twice_changes_nothing(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    clock.advance(timedelta(hours=1))
    again = await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    assert again.changes == []
    async with db.read() as repos:
        assert len(await repos.audit.recent(action="plan_import")) == 1
        assert len(await repos.plans.instrument_versions("progress")) == 1


async def test_an_edited_plan_reports_the_difference(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    first = jalisco.plan.commitments[0]
    new_title = first.title.model_copy(update={"en": "Lomas de Polanco, revisited"})
    commitments = (first.model_copy(update={"title": new_title}), *jalisco.plan.commitments[1:])
    report = await import_plan(
        db, edited(jalisco, commitments=commitments), source_file=None, actor=None, now=clock.now()
    )
    assert report.changes == ["commitment JAL0001: updated title.en"]
    async with db.read() as repos:
        loaded = await repos.plans.commitment("JAL0001")
    assert loaded is not None
    assert loaded.title.en == "Lomas de Polanco, revisited"


async def test_a_dropped_commitment_is_removed_if_unused_and_retired_if_used(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    async with db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=1, chat_id=1, language="es", now=clock.now()
        )
        await repos.participants.add_membership(person.id, "JAL0007", "beneficiary", clock.now())
    smaller = edited(jalisco, commitments=jalisco.plan.commitments[:5])
    report = await import_plan(db, smaller, source_file=None, actor=None, now=clock.now())
    assert report.changes == [
        "commitment JAL0006: retired (not in the file; its data is kept)",
        "commitment JAL0007: retired (not in the file; its data is kept)",
    ]
    async with db.read() as repos:
        active = [s.commitment.id for s in await repos.plans.commitments()]
        everything = {
            s.commitment.id: s.retired for s in await repos.plans.commitments(include_retired=True)
        }
    assert active == ["JAL0001", "JAL0002", "JAL0003", "JAL0004", "JAL0005"]
    # JAL0006 has an official figure from the plan file, so it is kept too.
    assert everything["JAL0006"] is True
    assert everything["JAL0007"] is True
    restored = await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    assert "commitment JAL0007: back in the plan" in restored.changes


async def test_a_commitment_nothing_refers_to_is_removed(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    bare = jalisco.plan.commitments[-1].model_copy(update={"official": None})
    await import_plan(
        db,
        edited(jalisco, commitments=(*jalisco.plan.commitments[:-1], bare)),
        source_file=None,
        actor=None,
        now=clock.now(),
    )
    report = await import_plan(
        db,
        edited(jalisco, commitments=jalisco.plan.commitments[:-1]),
        source_file=None,
        actor=None,
        now=clock.now(),
    )
    assert report.changes == ["commitment JAL0007: removed (not in the file, never used)"]


async def test_an_instrument_used_by_a_round_is_never_rewritten(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    cache = InstrumentCache(db)
    v1 = await cache.latest("pulse")
    async with db.write() as repos:
        await repos.rounds.create(
            instrument_pk=v1.pk,
            targets=[("JAL0001", "beneficiary")],
            opens_at=clock.now(),
            closes_at=clock.now() + timedelta(days=7),
            reminder_times=[],
            quiet_hours=None,
            send_results=True,
            created_by=None,
            schedule_id=None,
            now=clock.now(),
        )
    pulse = builtin_instrument("pulse")
    new_title = pulse.title.model_copy(update={"en": "Quick check"})
    edited_pulse = pulse.model_copy(update={"title": new_title})
    instruments = {**jalisco.instruments, "pulse": edited_pulse}
    report = await import_plan(
        db, LoadedPlan(jalisco.plan, instruments), source_file=None, actor=None, now=clock.now()
    )
    assert report.changes == [
        "instrument pulse: version 1 was used by a round and cannot change; "
        "the edit is stored as version 2"
    ]
    again = await import_plan(
        db, LoadedPlan(jalisco.plan, instruments), source_file=None, actor=None, now=clock.now()
    )
    assert again.changes == []
    async with db.read() as repos:
        versions = await repos.plans.instrument_versions("pulse")
    assert [(v.version, v.instrument.title.en) for v in versions] == [
        (1, pulse.title.en),
        (2, "Quick check"),
    ]
    assert versions[0].fingerprint == content_fingerprint(pulse)
    assert (await cache.get(v1.pk)) == pulse


async def test_an_unused_instrument_version_is_updated_in_place(
    db: Database, clock: ManualClock, jalisco: LoadedPlan
) -> None:
    await import_plan(db, jalisco, source_file=None, actor=None, now=clock.now())
    pulse = builtin_instrument("pulse")
    new_title = pulse.title.model_copy(update={"es": "Un pulso distinto"})
    instruments = {**jalisco.instruments, "pulse": pulse.model_copy(update={"title": new_title})}
    report = await import_plan(
        db, LoadedPlan(jalisco.plan, instruments), source_file=None, actor=None, now=clock.now()
    )
    assert report.changes == ["instrument pulse: version 1 updated"]
