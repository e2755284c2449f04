"""Importing an action plan into the database, and reading it back.

``pulso plan import FILE`` is idempotent: importing the same file twice
changes nothing, an edited file updates texts and adds commitments, and a
commitment dropped from the file is deleted only if nothing refers to it
(otherwise it is retired: kept with its answers, offered in no new round).
Instrument versions are immutable once a round used them: an edited
instrument becomes a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from bot.storage.engine import Database
from bot.storage.repositories import Repos
from bot.storage.repositories.plans import StoredInstrument
from surveys.errors import UnknownInstrument
from surveys.instruments import Instrument
from surveys.loader import LoadedPlan
from surveys.plan import ActionPlan, Commitment


@dataclass
class ImportReport:
    """What an import changed, one line per change, for the operator."""

    plan_id: str
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def add(self, line: str) -> None:
        self.changes.append(line)


def content_fingerprint(instrument: Instrument) -> str:
    """A SHA-256 of everything but the version number: an edit changes it, a renumbering not."""
    content = instrument.model_dump(mode="json")
    content.pop("version", None)
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def changed_fields(old: BaseModel, new: BaseModel, prefix: str = "") -> Iterator[str]:
    """Dotted names of the fields whose values differ between two models of one kind."""
    old_data, new_data = old.model_dump(mode="json"), new.model_dump(mode="json")
    yield from _diff(old_data, new_data, prefix)


def _diff(old: object, new: object, path: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _diff(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif old != new:
        yield path or "(all)"


async def import_plan(
    db: Database, loaded: LoadedPlan, *, source_file: str | None, actor: int | None, now: datetime
) -> ImportReport:
    """Bring the database in line with ``loaded``, in one transaction; report what changed."""
    plan = loaded.plan
    report = ImportReport(plan.id)
    async with db.write() as repos:
        previous = await repos.plans.plan()
        if previous is None or previous.id != plan.id:
            report.add(f"plan {plan.id}: imported ({len(plan.commitments)} commitments)")
        else:
            fields = [
                f
                for f in changed_fields(previous, plan)
                if not f.startswith(("commitments", "instruments"))
            ]
            if fields:
                report.add(f"plan {plan.id}: updated {', '.join(fields)}")
        await repos.plans.save_plan(plan, source_file, now)
        await _sync_commitments(repos, plan, report, now)
        await _sync_instruments(repos, loaded, report, now)
        if report.changed:
            await repos.audit.record(
                actor, "plan_import", {"plan": plan.id, "changes": len(report.changes)}, now
            )
    return report


async def _sync_commitments(
    repos: Repos, plan: ActionPlan, report: ImportReport, now: datetime
) -> None:
    stored = {c.commitment.id: c for c in await repos.plans.commitments(include_retired=True)}
    for position, commitment in enumerate(plan.commitments):
        before = stored.pop(commitment.id, None)
        if before is None:
            report.add(f"commitment {commitment.id}: added")
        else:
            fields = list(changed_fields(before.commitment, commitment))
            if fields:
                report.add(f"commitment {commitment.id}: updated {', '.join(fields)}")
            elif before.retired:
                report.add(f"commitment {commitment.id}: back in the plan")
            elif before.position == position and before.plan_id == plan.id:
                continue
        await repos.plans.save_commitment(plan.id, position, commitment, now)
        await _record_official_from_plan(repos, commitment, now)
    for commitment in plan.commitments:
        # The plan may name who answers for a commitment; /revoke or a later /grant adds
        # and removes people in the database, and a re-import never takes anyone away.
        for user_id in commitment.responsible:
            if await repos.accountability.grant(commitment.id, user_id, granted_by=None, now=now):
                report.add(f"commitment {commitment.id}: responsible person added")
    for gone in stored.values():
        if gone.retired:
            continue
        commitment_id = gone.commitment.id
        if await repos.plans.is_referenced(commitment_id):
            await repos.plans.retire(commitment_id, now)
            report.add(f"commitment {commitment_id}: retired (not in the file; its data is kept)")
        else:
            await repos.plans.delete_commitment(commitment_id)
            report.add(f"commitment {commitment_id}: removed (not in the file, never used)")


async def _record_official_from_plan(repos: Repos, commitment: Commitment, now: datetime) -> None:
    """The plan's official figure becomes the latest one unless it already is."""
    official = commitment.official
    if official is None:
        return
    latest = (await repos.plans.official_figures()).get(commitment.id)
    if latest is not None and (latest.percent, latest.as_of) == (official.percent, official.as_of):
        return
    await repos.plans.record_official(
        commitment.id,
        percent=official.percent,
        source=official.source,
        as_of=official.as_of,
        recorded_by=None,
        now=now,
    )


async def _sync_instruments(
    repos: Repos, loaded: LoadedPlan, report: ImportReport, now: datetime
) -> None:
    for instrument_id in sorted(loaded.instruments):
        instrument = loaded.instruments[instrument_id]
        versions = await repos.plans.instrument_versions(instrument_id)
        same_version = next((v for v in versions if v.version == instrument.version), None)
        if same_version is None:
            newer = [v.version for v in versions if v.version > instrument.version]
            if newer:
                # The database already moved past this file's version (an edit
                # made a new one); the file's older text is not brought back.
                continue
            await repos.plans.add_instrument(instrument, content_fingerprint(instrument), now)
            report.add(f"instrument {instrument_id}: version {instrument.version} added")
        elif same_version.fingerprint == content_fingerprint(instrument):
            continue
        elif not await repos.plans.instrument_used(same_version.pk):
            await repos.plans.replace_instrument(
                same_version.pk, instrument, content_fingerprint(instrument)
            )
            report.add(f"instrument {instrument_id}: version {instrument.version} updated")
        else:
            version = max(v.version for v in versions) + 1
            if any(v.fingerprint == content_fingerprint(instrument) for v in versions):
                continue
            renumbered = instrument.model_copy(update={"version": version})
            await repos.plans.add_instrument(renumbered, content_fingerprint(instrument), now)
            report.add(
                f"instrument {instrument_id}: version {instrument.version} was used by a round "
                f"and cannot change; the edit is stored as version {version}"
            )


class InstrumentCache:
    """Instrument versions by primary key; safe to cache forever because versions never
    change once a round uses them (and only rounds look them up by key)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_pk: dict[int, StoredInstrument] = {}

    async def get(self, pk: int, repos: Repos | None = None) -> Instrument:
        """The instrument version ``pk``; read (once) through ``repos`` when given, so a
        caller inside a transaction never waits for a second connection."""
        cached = self._by_pk.get(pk)
        if cached is None:
            if repos is not None:
                found = await repos.plans.instrument(pk)
            else:
                async with self.db.read() as own:
                    found = await own.plans.instrument(pk)
            if found is None:
                raise UnknownInstrument(str(pk))
            self._by_pk[pk] = cached = found
        return cached.instrument

    async def latest(self, instrument_id: str) -> StoredInstrument:
        async with self.db.read() as repos:
            found = await repos.plans.latest_instrument(instrument_id)
        if found is None:
            raise UnknownInstrument(instrument_id)
        return found


def describe_instrument(instrument: Instrument) -> str:
    return f"{instrument.id} v{instrument.version} ({len(instrument.questions)} questions)"
