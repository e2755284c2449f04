"""The action plan, its commitments, instrument versions and official figures.

Definitions are stored as the domain models' JSON and validated again on the
way out, so what a handler gets is always a :mod:`surveys` model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import (
    action_plans,
    commitments,
    feedback,
    instruments,
    invites,
    memberships,
    official_figures,
    responses,
    round_targets,
    rounds,
)
from surveys.instruments import Instrument
from surveys.plan import ActionPlan, Commitment


@dataclass(frozen=True, slots=True)
class StoredCommitment:
    commitment: Commitment
    plan_id: str
    position: int
    retired: bool


@dataclass(frozen=True, slots=True)
class StoredInstrument:
    pk: int
    instrument: Instrument
    fingerprint: str
    created_at: datetime

    @property
    def id(self) -> str:
        return self.instrument.id

    @property
    def version(self) -> int:
        return self.instrument.version


@dataclass(frozen=True, slots=True)
class OfficialFigure:
    commitment_id: str
    percent: float
    source: str
    as_of: date | None
    recorded_by: int | None
    recorded_at: datetime


def _instrument(row: sa.Row[Any]) -> StoredInstrument:
    return StoredInstrument(
        pk=row.id,
        instrument=Instrument.model_validate(row.definition),
        fingerprint=row.fingerprint,
        created_at=row.created_at,
    )


# Read for every survey answer: the statement is built once, and the definition is read as
# JSON text (CAST, or PostgreSQL's driver would decode it) and parsed once per distinct
# text — an import that changes a commitment changes its text, so nothing stale is served.
_DEFINITION_OF = sa.select(sa.cast(commitments.c.definition, sa.Text).label("definition")).where(
    commitments.c.id == sa.bindparam("commitment_id")
)


@functools.lru_cache(maxsize=256)
def _parsed_commitment(definition: str) -> Commitment:
    return Commitment.model_validate_json(definition)


class PlanRepository(Repository):
    # --- the plan and its commitments ----------------------------------------------------

    async def plan(self) -> ActionPlan | None:
        """The most recently imported plan (Pulso serves one plan at a time)."""
        row = (
            await self.conn.execute(
                sa.select(action_plans.c.definition)
                .order_by(action_plans.c.updated_at.desc())
                .limit(1)
            )
        ).first()
        return ActionPlan.model_validate(row.definition) if row else None

    async def save_plan(self, plan: ActionPlan, source_file: str | None, now: datetime) -> bool:
        """Insert or replace the plan's definition; True when it is new."""
        definition = plan.model_dump(mode="json")
        updated = await self.conn.execute(
            sa.update(action_plans)
            .where(action_plans.c.id == plan.id)
            .values(definition=definition, source_file=source_file, updated_at=now)
        )
        if updated.rowcount == 1:
            return False
        await self.conn.execute(
            sa.insert(action_plans).values(
                id=plan.id,
                definition=definition,
                source_file=source_file,
                imported_at=now,
                updated_at=now,
            )
        )
        return True

    async def commitments(self, *, include_retired: bool = False) -> list[StoredCommitment]:
        query = sa.select(commitments).order_by(commitments.c.position, commitments.c.id)
        if not include_retired:
            query = query.where(commitments.c.retired.is_(False))
        return [
            StoredCommitment(
                Commitment.model_validate(row.definition), row.plan_id, row.position, row.retired
            )
            for row in await self.conn.execute(query)
        ]

    async def commitment(self, commitment_id: str) -> Commitment | None:
        row = (await self.conn.execute(_DEFINITION_OF, {"commitment_id": commitment_id})).first()
        return _parsed_commitment(row.definition) if row else None

    async def save_commitment(
        self, plan_id: str, position: int, commitment: Commitment, now: datetime
    ) -> None:
        definition = commitment.model_dump(mode="json")
        updated = await self.conn.execute(
            sa.update(commitments)
            .where(commitments.c.id == commitment.id)
            .values(
                plan_id=plan_id,
                position=position,
                definition=definition,
                retired=False,
                updated_at=now,
            )
        )
        if updated.rowcount == 0:
            await self.conn.execute(
                sa.insert(commitments).values(
                    id=commitment.id,
                    plan_id=plan_id,
                    position=position,
                    definition=definition,
                    retired=False,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def is_referenced(self, commitment_id: str) -> bool:
        """True when anything points at the commitment (members, invites, rounds, answers)."""
        for table, column in (
            (memberships, memberships.c.commitment_id),
            (invites, invites.c.commitment_id),
            (round_targets, round_targets.c.commitment_id),
            (responses, responses.c.commitment_id),
            (feedback, feedback.c.commitment_id),
            (official_figures, official_figures.c.commitment_id),
        ):
            found = await self.conn.execute(
                sa.select(sa.literal(1)).select_from(table).where(column == commitment_id).limit(1)
            )
            if found.first() is not None:
                return True
        return False

    async def retire(self, commitment_id: str, now: datetime) -> None:
        await self.conn.execute(
            sa.update(commitments)
            .where(commitments.c.id == commitment_id)
            .values(retired=True, updated_at=now)
        )

    async def delete_commitment(self, commitment_id: str) -> None:
        await self.conn.execute(sa.delete(commitments).where(commitments.c.id == commitment_id))

    # --- instruments ---------------------------------------------------------------------

    async def instrument_versions(self, instrument_id: str) -> list[StoredInstrument]:
        rows = await self.conn.execute(
            sa.select(instruments)
            .where(instruments.c.instrument_id == instrument_id)
            .order_by(instruments.c.version)
        )
        return [_instrument(row) for row in rows]

    async def latest_instruments(self) -> list[StoredInstrument]:
        newest = (
            sa.select(
                instruments.c.instrument_id, sa.func.max(instruments.c.version).label("version")
            )
            .group_by(instruments.c.instrument_id)
            .subquery()
        )
        rows = await self.conn.execute(
            sa.select(instruments)
            .join(
                newest,
                sa.and_(
                    newest.c.instrument_id == instruments.c.instrument_id,
                    newest.c.version == instruments.c.version,
                ),
            )
            .order_by(instruments.c.instrument_id)
        )
        return [_instrument(row) for row in rows]

    async def latest_instrument(self, instrument_id: str) -> StoredInstrument | None:
        versions = await self.instrument_versions(instrument_id)
        return versions[-1] if versions else None

    async def instrument(self, pk: int) -> StoredInstrument | None:
        row = (
            await self.conn.execute(sa.select(instruments).where(instruments.c.id == pk))
        ).first()
        return _instrument(row) if row else None

    async def add_instrument(
        self, instrument: Instrument, fingerprint: str, now: datetime
    ) -> StoredInstrument:
        pk = (
            await self.conn.execute(
                sa.insert(instruments)
                .values(
                    instrument_id=instrument.id,
                    version=instrument.version,
                    fingerprint=fingerprint,
                    definition=instrument.model_dump(mode="json"),
                    created_at=now,
                )
                .returning(instruments.c.id)
            )
        ).scalar_one()
        return StoredInstrument(pk, instrument, fingerprint, now)

    async def replace_instrument(self, pk: int, instrument: Instrument, fingerprint: str) -> None:
        """Only for a version no round has used yet (versions are immutable once used)."""
        await self.conn.execute(
            sa.update(instruments)
            .where(instruments.c.id == pk)
            .values(fingerprint=fingerprint, definition=instrument.model_dump(mode="json"))
        )

    async def instrument_used(self, pk: int) -> bool:
        found = await self.conn.execute(
            sa.select(rounds.c.id).where(rounds.c.instrument_pk == pk).limit(1)
        )
        return found.first() is not None

    # --- official figures ----------------------------------------------------------------

    async def record_official(
        self,
        commitment_id: str,
        *,
        percent: float,
        source: str,
        as_of: date | None,
        recorded_by: int | None,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            sa.insert(official_figures).values(
                commitment_id=commitment_id,
                percent=percent,
                source=source,
                as_of=as_of,
                recorded_by=recorded_by,
                recorded_at=now,
            )
        )

    async def official_figures(self) -> dict[str, OfficialFigure]:
        """The latest recorded figure per commitment."""
        rows = await self.conn.execute(
            sa.select(official_figures).order_by(
                official_figures.c.commitment_id, official_figures.c.id
            )
        )
        latest: dict[str, OfficialFigure] = {}
        for row in rows:
            latest[row.commitment_id] = OfficialFigure(
                row.commitment_id,
                row.percent,
                row.source,
                row.as_of,
                row.recorded_by,
                row.recorded_at,
            )
        return latest
