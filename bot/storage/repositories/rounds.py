"""Rounds, their targets and reminders, and the recurring schedules that create them.

Every state change is a compare-and-set (``UPDATE … WHERE status IN (…)``)
that reports whether it happened, so a job that runs late, twice, or in two
processes at once changes a round exactly once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import instruments, reminders, round_targets, rounds, schedules

RoundStatus = Literal["scheduled", "open", "closed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Round:
    id: int
    instrument_pk: int
    instrument_id: str
    instrument_version: int
    schedule_id: int | None
    status: RoundStatus
    opens_at: datetime
    closes_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    quiet_hours: str | None
    send_results: bool
    created_by: int | None
    targets: tuple[tuple[str, str], ...]  # (commitment id, role), sorted

    @property
    def commitment_ids(self) -> tuple[str, ...]:
        return tuple(sorted({c for c, _ in self.targets}))

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(sorted({r for _, r in self.targets}))


@dataclass(frozen=True, slots=True)
class Reminder:
    round_id: int
    position: int
    due_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Schedule:
    id: int
    instrument_id: str
    commitment_ids: tuple[str, ...] | None
    roles: tuple[str, ...]
    cron: str
    duration_seconds: int
    timezone: str
    active: bool
    last_fired_at: datetime | None
    next_fire_at: datetime | None
    created_by: int | None


_ROUND_COLUMNS = (
    rounds,
    instruments.c.instrument_id,
    instruments.c.version.label("instrument_version"),
)


def _schedule(row: sa.Row[Any]) -> Schedule:
    return Schedule(
        id=row.id,
        instrument_id=row.instrument_id,
        commitment_ids=tuple(row.commitment_ids) if row.commitment_ids is not None else None,
        roles=tuple(row.roles),
        cron=row.cron,
        duration_seconds=row.duration_seconds,
        timezone=row.timezone,
        active=row.active,
        last_fired_at=row.last_fired_at,
        next_fire_at=row.next_fire_at,
        created_by=row.created_by,
    )


class RoundRepository(Repository):
    async def create(
        self,
        *,
        instrument_pk: int,
        targets: Collection[tuple[str, str]],
        opens_at: datetime,
        closes_at: datetime,
        reminder_times: Sequence[datetime],
        quiet_hours: str | None,
        send_results: bool,
        created_by: int | None,
        schedule_id: int | None,
        now: datetime,
    ) -> Round:
        round_id = (
            await self.conn.execute(
                sa.insert(rounds)
                .values(
                    instrument_pk=instrument_pk,
                    schedule_id=schedule_id,
                    status="scheduled",
                    opens_at=opens_at,
                    closes_at=closes_at,
                    quiet_hours=quiet_hours,
                    send_results=send_results,
                    created_by=created_by,
                    created_at=now,
                )
                .returning(rounds.c.id)
            )
        ).scalar_one()
        await self.conn.execute(
            sa.insert(round_targets),
            [{"round_id": round_id, "commitment_id": c, "role": r} for c, r in sorted(targets)],
        )
        if reminder_times:
            await self.conn.execute(
                sa.insert(reminders),
                [
                    {"round_id": round_id, "position": i, "due_at": at, "status": "pending"}
                    for i, at in enumerate(sorted(reminder_times), start=1)
                ],
            )
        created = await self.get(round_id)
        assert created is not None
        return created

    async def _load(self, where: Any, limit: int | None = None) -> list[Round]:
        query = (
            sa.select(*_ROUND_COLUMNS)
            .join(instruments, instruments.c.id == rounds.c.instrument_pk)
            .where(where)
            .order_by(rounds.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = (await self.conn.execute(query)).all()
        if not rows:
            return []
        ids = [row.id for row in rows]
        targets: dict[int, list[tuple[str, str]]] = {}
        for round_id, commitment_id, role in await self.conn.execute(
            sa.select(
                round_targets.c.round_id, round_targets.c.commitment_id, round_targets.c.role
            )
            .where(round_targets.c.round_id.in_(ids))
            .order_by(round_targets.c.commitment_id, round_targets.c.role)
        ):
            targets.setdefault(round_id, []).append((commitment_id, role))
        return [
            Round(
                id=row.id,
                instrument_pk=row.instrument_pk,
                instrument_id=row.instrument_id,
                instrument_version=row.instrument_version,
                schedule_id=row.schedule_id,
                status=row.status,
                opens_at=row.opens_at,
                closes_at=row.closes_at,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                cancelled_at=row.cancelled_at,
                quiet_hours=row.quiet_hours,
                send_results=row.send_results,
                created_by=row.created_by,
                targets=tuple(targets.get(row.id, ())),
            )
            for row in rows
        ]

    async def get(self, round_id: int) -> Round | None:
        found = await self._load(rounds.c.id == round_id)
        return found[0] if found else None

    async def recent(
        self, statuses: Collection[RoundStatus] | None = None, limit: int = 20
    ) -> list[Round]:
        """Newest first."""
        where = rounds.c.status.in_(list(statuses)) if statuses else sa.true()
        return await self._load(where, limit)

    async def latest_closed(self, instrument_id: str | None = None) -> Round | None:
        where = rounds.c.status == "closed"
        if instrument_id is not None:
            where = sa.and_(where, instruments.c.instrument_id == instrument_id)
        found = await self._load(where, 1)
        return found[0] if found else None

    async def open_for(self, commitment_id: str, role: str) -> list[Round]:
        """Open rounds targeting this commitment and role (for people who join mid-round)."""
        targeted = sa.select(round_targets.c.round_id).where(
            round_targets.c.commitment_id == commitment_id, round_targets.c.role == role
        )
        if self.dialect == "postgresql":
            # READ COMMITTED: an opening reads its targets, then commits. A consent that
            # committed in between is not in that snapshot, and this read, if it ran
            # before the opening's commit, would see the round still scheduled: the
            # person would be in neither. Share-locking the rounds that are scheduled
            # or open waits for an opening in flight (its UPDATE holds the row); the
            # read below then sees it open. (An opening that starts after this lock
            # waits for us instead, and its snapshot has the consent.) SQLite's
            # writers take turns, so there the two cannot interleave.
            await self.conn.execute(
                sa.select(rounds.c.id)
                .where(rounds.c.status.in_(("scheduled", "open")), rounds.c.id.in_(targeted))
                .with_for_update(read=True)
            )
        return await self._load(sa.and_(rounds.c.status == "open", rounds.c.id.in_(targeted)))

    async def transition(
        self,
        round_id: int,
        *,
        from_statuses: Collection[RoundStatus],
        to: RoundStatus,
        now: datetime,
    ) -> bool:
        """Compare-and-set the status; False when the round was not in ``from_statuses``."""
        stamp = {"open": "opened_at", "closed": "closed_at", "cancelled": "cancelled_at"}
        values: dict[str, Any] = {"status": to}
        if to in stamp:
            values[stamp[to]] = now
        result = await self.conn.execute(
            sa.update(rounds)
            .where(rounds.c.id == round_id, rounds.c.status.in_(list(from_statuses)))
            .values(**values)
        )
        return result.rowcount == 1

    async def due_to_open(self, now: datetime) -> list[int]:
        result = await self.conn.execute(
            sa.select(rounds.c.id)
            .where(rounds.c.status == "scheduled", rounds.c.opens_at <= now)
            .order_by(rounds.c.opens_at, rounds.c.id)
        )
        return list(result.scalars())

    async def due_to_close(self, now: datetime) -> list[int]:
        result = await self.conn.execute(
            sa.select(rounds.c.id)
            .where(rounds.c.status == "open", rounds.c.closes_at <= now)
            .order_by(rounds.c.closes_at, rounds.c.id)
        )
        return list(result.scalars())

    # --- reminders -----------------------------------------------------------------------

    async def reminders_due(self, now: datetime) -> list[Reminder]:
        """Pending reminders whose moment has come, of rounds still open."""
        rows = await self.conn.execute(
            sa.select(reminders)
            .join(rounds, rounds.c.id == reminders.c.round_id)
            .where(
                reminders.c.status == "pending",
                reminders.c.due_at <= now,
                rounds.c.status == "open",
            )
            .order_by(reminders.c.round_id, reminders.c.position)
        )
        return [Reminder(r.round_id, r.position, r.due_at, r.status) for r in rows]

    async def settle_reminder(
        self, round_id: int, position: int, status: Literal["enqueued", "skipped"], now: datetime
    ) -> bool:
        result = await self.conn.execute(
            sa.update(reminders)
            .where(
                reminders.c.round_id == round_id,
                reminders.c.position == position,
                reminders.c.status == "pending",
            )
            .values(status=status, handled_at=now)
        )
        return result.rowcount == 1

    async def skip_pending_reminders(self, round_id: int, now: datetime) -> int:
        result = await self.conn.execute(
            sa.update(reminders)
            .where(reminders.c.round_id == round_id, reminders.c.status == "pending")
            .values(status="skipped", handled_at=now)
        )
        return result.rowcount

    async def reminders_of(self, round_id: int) -> list[Reminder]:
        rows = await self.conn.execute(
            sa.select(reminders)
            .where(reminders.c.round_id == round_id)
            .order_by(reminders.c.position)
        )
        return [Reminder(r.round_id, r.position, r.due_at, r.status) for r in rows]

    async def next_event_at(self) -> datetime | None:
        """The earliest moment something must happen: an opening, a reminder, a closing,
        or a recurring schedule firing."""
        candidates = [
            sa.select(sa.func.min(rounds.c.opens_at)).where(rounds.c.status == "scheduled"),
            sa.select(sa.func.min(rounds.c.closes_at)).where(rounds.c.status == "open"),
            sa.select(sa.func.min(reminders.c.due_at))
            .join(rounds, rounds.c.id == reminders.c.round_id)
            .where(reminders.c.status == "pending", rounds.c.status == "open"),
            sa.select(sa.func.min(schedules.c.next_fire_at)).where(schedules.c.active),
        ]
        moments = [(await self.conn.execute(query)).scalar() for query in candidates]
        present = [m for m in moments if m is not None]
        return min(present) if present else None

    # --- recurring schedules -------------------------------------------------------------

    async def create_schedule(
        self,
        *,
        instrument_id: str,
        commitment_ids: Sequence[str] | None,
        roles: Sequence[str],
        cron: str,
        duration_seconds: int,
        timezone: str,
        next_fire_at: datetime,
        created_by: int | None,
        now: datetime,
    ) -> Schedule:
        row = (
            await self.conn.execute(
                sa.insert(schedules)
                .values(
                    instrument_id=instrument_id,
                    commitment_ids=list(commitment_ids) if commitment_ids is not None else None,
                    roles=list(roles),
                    cron=cron,
                    duration_seconds=duration_seconds,
                    timezone=timezone,
                    active=True,
                    next_fire_at=next_fire_at,
                    created_by=created_by,
                    created_at=now,
                )
                .returning(schedules)
            )
        ).one()
        return _schedule(row)

    async def schedules(self, *, active_only: bool = True) -> list[Schedule]:
        query = sa.select(schedules).order_by(schedules.c.id)
        if active_only:
            query = query.where(schedules.c.active)
        return [_schedule(row) for row in await self.conn.execute(query)]

    async def get_schedule(self, schedule_id: int) -> Schedule | None:
        row = (
            await self.conn.execute(sa.select(schedules).where(schedules.c.id == schedule_id))
        ).first()
        return _schedule(row) if row else None

    async def deactivate_schedule(self, schedule_id: int) -> bool:
        result = await self.conn.execute(
            sa.update(schedules)
            .where(schedules.c.id == schedule_id, schedules.c.active)
            .values(active=False, next_fire_at=None)
        )
        return result.rowcount == 1

    async def schedules_due(self, now: datetime) -> list[Schedule]:
        rows = await self.conn.execute(
            sa.select(schedules)
            .where(schedules.c.active, schedules.c.next_fire_at <= now)
            .order_by(schedules.c.next_fire_at, schedules.c.id)
        )
        return [_schedule(row) for row in rows]

    async def advance_schedule(
        self, schedule_id: int, *, fired_at: datetime, next_fire_at: datetime
    ) -> bool:
        """Compare-and-set on ``next_fire_at``: only one caller creates the round for a firing."""
        result = await self.conn.execute(
            sa.update(schedules)
            .where(
                schedules.c.id == schedule_id,
                schedules.c.active,
                schedules.c.next_fire_at == fired_at,
            )
            .values(last_fired_at=fired_at, next_fire_at=next_fire_at)
        )
        return result.rowcount == 1
