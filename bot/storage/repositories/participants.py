"""Participants (people who consented) and their memberships in commitments."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import memberships, participants

ParticipantStatus = Literal["active", "stopped", "unreachable"]


@dataclass(frozen=True, slots=True)
class AwaitingFeedback:
    """/feedback asked for the person's next message: feedback on this commitment, in
    this role. Stored in ``participants.awaiting`` as ``feedback:COMMITMENT:ROLE``, written
    by :meth:`encode` and read by :meth:`parse` only."""

    commitment_id: str
    role: str

    PREFIX: ClassVar[str] = "feedback:"

    def encode(self) -> str:
        return f"{self.PREFIX}{self.commitment_id}:{self.role}"

    @classmethod
    def parse(cls, stored: str | None) -> AwaitingFeedback | None:
        """The value in the column; None when nothing (or something else) is awaited."""
        if stored is None or not stored.startswith(cls.PREFIX):
            return None
        commitment_id, _, role = stored.removeprefix(cls.PREFIX).partition(":")
        return cls(commitment_id, role)


@dataclass(frozen=True, slots=True)
class Participant:
    id: int
    telegram_user_id: int
    chat_id: int
    language: str
    status: ParticipantStatus
    consented_at: datetime
    demographics: Mapping[str, str | None]
    awaiting: AwaitingFeedback | None  # what their next message is for, if anything


@dataclass(frozen=True, slots=True)
class Membership:
    id: int
    participant_id: int
    commitment_id: str
    role: str
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    """An active participant's membership, as a round's targeting sees it."""

    participant_id: int
    telegram_user_id: int
    chat_id: int
    commitment_id: str
    role: str


def _participant(row: sa.Row[Any]) -> Participant:
    return Participant(
        id=row.id,
        telegram_user_id=row.telegram_user_id,
        chat_id=row.chat_id,
        language=row.language,
        status=row.status,
        consented_at=row.consented_at,
        demographics=dict(row.demographics or {}),
        awaiting=AwaitingFeedback.parse(row.awaiting),
    )


def _membership(row: sa.Row[Any]) -> Membership:
    return Membership(
        id=row.id,
        participant_id=row.participant_id,
        commitment_id=row.commitment_id,
        role=row.role,
        joined_at=row.joined_at,
    )


_BY_TELEGRAM_ID = sa.select(participants).where(
    participants.c.telegram_user_id == sa.bindparam("telegram_user_id")
)
_BY_ID = sa.select(participants).where(participants.c.id == sa.bindparam("participant_id"))


class ParticipantRepository(Repository):
    async def by_telegram_id(self, telegram_user_id: int) -> Participant | None:
        # Asked on every update (bot.access.identify): the statement is built once.
        row = (
            await self.conn.execute(_BY_TELEGRAM_ID, {"telegram_user_id": telegram_user_id})
        ).first()
        return _participant(row) if row else None

    async def get(self, participant_id: int) -> Participant | None:
        row = (await self.conn.execute(_BY_ID, {"participant_id": participant_id})).first()
        return _participant(row) if row else None

    async def create(
        self, *, telegram_user_id: int, chat_id: int, language: str, now: datetime
    ) -> Participant:
        """Record a person who has just consented (the first row that names them)."""
        result = await self.conn.execute(
            sa.insert(participants)
            .values(
                telegram_user_id=telegram_user_id,
                chat_id=chat_id,
                language=language,
                status="active",
                consented_at=now,
                demographics={},
                created_at=now,
                updated_at=now,
            )
            .returning(participants)
        )
        return _participant(result.one())

    async def set_onboarding(
        self, participant_id: int, since: datetime | None, now: datetime
    ) -> None:
        """Being asked about themselves since ``since`` (None: done)."""
        await self._update(participant_id, now, onboarding_since=since)

    async def _update(self, participant_id: int, now: datetime, **values: Any) -> None:
        await self.conn.execute(
            sa.update(participants)
            .where(participants.c.id == participant_id)
            .values(updated_at=now, **values)
        )

    async def set_language(self, participant_id: int, language: str, now: datetime) -> None:
        await self._update(participant_id, now, language=language)

    async def set_status(
        self, participant_id: int, status: ParticipantStatus, now: datetime
    ) -> None:
        await self._update(participant_id, now, status=status)

    async def change_status(
        self,
        participant_id: int,
        to: ParticipantStatus,
        *,
        from_statuses: Collection[ParticipantStatus],
        now: datetime,
    ) -> bool:
        """Compare-and-set the status (/stop, /resume, /start); False when it was not in
        ``from_statuses``, so a repeated command reports "nothing changed"."""
        result = await self.conn.execute(
            sa.update(participants)
            .where(
                participants.c.id == participant_id,
                participants.c.status.in_(list(from_statuses)),
            )
            .values(status=to, updated_at=now)
        )
        return result.rowcount == 1

    async def mark_unreachable_by_chat(self, chat_id: int, now: datetime) -> int:
        """A 403 from Telegram: stop sending to this chat until the person writes again."""
        result = await self.conn.execute(
            sa.update(participants)
            .where(participants.c.chat_id == chat_id, participants.c.status == "active")
            .values(status="unreachable", updated_at=now)
        )
        return result.rowcount

    async def set_demographics(
        self, participant_id: int, demographics: Mapping[str, str | None], now: datetime
    ) -> None:
        await self._update(participant_id, now, demographics=dict(demographics))

    async def set_awaiting(
        self, participant_id: int, awaiting: AwaitingFeedback | None, now: datetime
    ) -> None:
        stored = awaiting.encode() if awaiting is not None else None
        await self._update(participant_id, now, awaiting=stored)

    async def delete(self, participant_id: int) -> None:
        """Forget a person: memberships, redemptions and pending sends cascade away;
        their responses stay, unlinked (``participant_id`` set to NULL)."""
        await self.conn.execute(sa.delete(participants).where(participants.c.id == participant_id))

    # --- memberships ---------------------------------------------------------------------

    async def add_membership(
        self, participant_id: int, commitment_id: str, role: str, now: datetime
    ) -> tuple[Membership, bool]:
        """Join a commitment in a role; returns the membership and whether it is new."""
        inserted = await self.conn.execute(
            self.insert_ignore(memberships, ["participant_id", "commitment_id", "role"]).values(
                participant_id=participant_id,
                commitment_id=commitment_id,
                role=role,
                joined_at=now,
            )
        )
        row = (
            await self.conn.execute(
                sa.select(memberships).where(
                    memberships.c.participant_id == participant_id,
                    memberships.c.commitment_id == commitment_id,
                    memberships.c.role == role,
                )
            )
        ).one()
        return _membership(row), inserted.rowcount == 1

    async def memberships_of(self, participant_id: int) -> list[Membership]:
        rows = await self.conn.execute(
            sa.select(memberships)
            .where(memberships.c.participant_id == participant_id)
            .order_by(memberships.c.joined_at, memberships.c.id)
        )
        return [_membership(row) for row in rows]

    async def active_members(
        self, commitment_ids: Collection[str], roles: Collection[str]
    ) -> list[Member]:
        """Active participants of these commitments in these roles (a round's targets),
        by participant: only what a round needs of each, as a round may reach 100,000."""
        rows = await self.conn.execute(
            _of_active_members(
                sa.select(
                    participants.c.id,
                    participants.c.telegram_user_id,
                    participants.c.chat_id,
                    memberships.c.commitment_id,
                    memberships.c.role,
                ),
                commitment_ids,
                roles,
            ).order_by(participants.c.id, memberships.c.commitment_id)
        )
        return [Member(*row) for row in rows]

    async def count_active_members(
        self, commitment_ids: Collection[str], roles: Collection[str]
    ) -> int:
        """How many people :meth:`active_members` would return, counted in SQL."""
        query = sa.select(sa.func.count(sa.distinct(participants.c.id)))
        return int(await self.conn.scalar(_of_active_members(query, commitment_ids, roles)) or 0)

    async def count(self) -> dict[str, int]:
        rows = await self.conn.execute(
            sa.select(participants.c.status, sa.func.count()).group_by(participants.c.status)
        )
        return {str(status): int(n) for status, n in rows}


def _of_active_members(
    query: sa.Select[Any], commitment_ids: Collection[str], roles: Collection[str]
) -> sa.Select[Any]:
    """``query`` over the active participants of these commitments in these roles."""
    return query.join(memberships, memberships.c.participant_id == participants.c.id).where(
        participants.c.status == "active",
        memberships.c.commitment_id.in_(list(commitment_ids)),
        memberships.c.role.in_(list(roles)),
    )
