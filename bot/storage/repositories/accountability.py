"""Closing the loop: responsible people, the government's replies, and promise checks.

Every state change is a compare-and-set that reports whether it happened, so a
repeated tick or a redelivered update changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import (
    agency_replies,
    participants,
    promise_checks,
    promise_outcomes,
    responses,
    responsible_people,
    rounds,
)
from surveys.accountability import Draft, PromiseAnswer, PromiseTally

_UNPUBLISHED = ("requested", "draft")


@dataclass(frozen=True, slots=True)
class Reply:
    """One commitment's reply to one closed round (see surveys.accountability)."""

    id: int
    round_id: int
    commitment_id: str
    status: str  # requested | draft | published
    requested_at: datetime
    due_at: datetime
    draft: Draft | None
    published_at: datetime | None
    reminders_sent: int
    overdue_at: datetime | None


@dataclass(frozen=True, slots=True)
class PromiseCheck:
    """A beneficiary's question about one promise, with whose it is and its round's state."""

    id: int
    round_id: int
    round_status: str
    round_closes_at: datetime
    reply_id: int
    item: int
    participant_id: int | None
    participant_telegram_id: int | None
    participant_status: str | None
    language: str | None
    answer: str | None


@dataclass(frozen=True, slots=True)
class NewCheck:
    id: int
    participant_id: int
    chat_id: int


def _reply(row: sa.Row[Any]) -> Reply:
    return Reply(
        id=row.id,
        round_id=row.round_id,
        commitment_id=row.commitment_id,
        status=row.status,
        requested_at=row.requested_at,
        due_at=row.due_at,
        draft=Draft.from_json(row.draft) if row.draft else None,
        published_at=row.published_at,
        reminders_sent=row.reminders_sent,
        overdue_at=row.overdue_at,
    )


class AccountabilityRepository(Repository):
    # --- who answers ---------------------------------------------------------------------

    async def grant(
        self, commitment_id: str, telegram_user_id: int, *, granted_by: int | None, now: datetime
    ) -> bool:
        """False when the person was already responsible for the commitment."""
        result = await self.conn.execute(
            self.insert_ignore(responsible_people, ["commitment_id", "telegram_user_id"]).values(
                commitment_id=commitment_id,
                telegram_user_id=telegram_user_id,
                granted_by=granted_by,
                granted_at=now,
            )
        )
        return result.rowcount == 1

    async def revoke(self, commitment_id: str, telegram_user_id: int) -> bool:
        result = await self.conn.execute(
            sa.delete(responsible_people).where(
                responsible_people.c.commitment_id == commitment_id,
                responsible_people.c.telegram_user_id == telegram_user_id,
            )
        )
        return result.rowcount == 1

    async def commitments_of(self, telegram_user_id: int) -> frozenset[str]:
        rows = await self.conn.execute(
            sa.select(responsible_people.c.commitment_id).where(
                responsible_people.c.telegram_user_id == telegram_user_id
            )
        )
        return frozenset(rows.scalars())

    async def responsible(self) -> dict[str, list[int]]:
        """Every commitment's responsible people (Telegram ids), in id order."""
        rows = await self.conn.execute(
            sa.select(
                responsible_people.c.commitment_id, responsible_people.c.telegram_user_id
            ).order_by(responsible_people.c.commitment_id, responsible_people.c.telegram_user_id)
        )
        found: dict[str, list[int]] = {}
        for commitment_id, user_id in rows:
            found.setdefault(commitment_id, []).append(int(user_id))
        return found

    # --- replies -------------------------------------------------------------------------

    async def request(
        self, round_id: int, commitment_ids: Sequence[str], *, now: datetime, due_at: datetime
    ) -> list[Reply]:
        """A reply owed for each commitment (a second request changes nothing); the new ones."""
        if not commitment_ids:
            return []
        await self.conn.execute(
            self.insert_ignore(agency_replies, ["round_id", "commitment_id"]),
            [
                {
                    "round_id": round_id,
                    "commitment_id": cid,
                    "status": "requested",
                    "requested_at": now,
                    "due_at": due_at,
                    "reminders_sent": 0,
                }
                for cid in commitment_ids
            ],
        )
        rows = await self.conn.execute(
            sa.select(agency_replies).where(
                agency_replies.c.round_id == round_id,
                agency_replies.c.commitment_id.in_(commitment_ids),
                agency_replies.c.requested_at == now,
            )
        )
        return [_reply(r) for r in rows]

    async def get(self, reply_id: int) -> Reply | None:
        row = (
            await self.conn.execute(
                sa.select(agency_replies).where(agency_replies.c.id == reply_id)
            )
        ).first()
        return _reply(row) if row else None

    async def save_draft(
        self, reply_id: int, draft: Draft, *, by: int, now: datetime, expected: Draft | None
    ) -> bool:
        """Store the draft if the reply is unpublished and still holds ``expected`` (a
        compare-and-set on the draft itself: two presses on the same step apply once)."""
        query = sa.select(agency_replies).where(agency_replies.c.id == reply_id)
        if self.dialect == "postgresql":
            query = query.with_for_update()  # SQLite's writers already take turns
        row = (await self.conn.execute(query)).first()
        current = _reply(row) if row else None
        if current is None or current.status not in _UNPUBLISHED or current.draft != expected:
            return False
        result = await self.conn.execute(
            sa.update(agency_replies)
            .where(agency_replies.c.id == reply_id, agency_replies.c.status.in_(_UNPUBLISHED))
            .values(status="draft", draft=draft.to_json(), updated_by=by)
        )
        return result.rowcount == 1

    async def publish(self, reply_id: int, *, by: int, now: datetime) -> bool:
        result = await self.conn.execute(
            sa.update(agency_replies)
            .where(agency_replies.c.id == reply_id, agency_replies.c.status == "draft")
            .values(status="published", published_at=now, published_by=by)
        )
        return result.rowcount == 1

    async def unpublished(self) -> list[Reply]:
        """Replies still owed, earliest deadline first."""
        rows = await self.conn.execute(
            sa.select(agency_replies)
            .where(agency_replies.c.status.in_(_UNPUBLISHED))
            .order_by(agency_replies.c.due_at, agency_replies.c.id)
        )
        return [_reply(r) for r in rows]

    async def of_commitments(self, commitment_ids: Sequence[str] | None) -> list[Reply]:
        """The replies of these commitments (None: of every commitment), oldest first."""
        query = sa.select(agency_replies).order_by(agency_replies.c.round_id, agency_replies.c.id)
        if commitment_ids is not None:
            query = query.where(agency_replies.c.commitment_id.in_(commitment_ids))
        rows = await self.conn.execute(query)
        return [_reply(r) for r in rows]

    async def of_round(self, round_id: int) -> list[Reply]:
        rows = await self.conn.execute(
            sa.select(agency_replies)
            .where(agency_replies.c.round_id == round_id)
            .order_by(agency_replies.c.commitment_id)
        )
        return [_reply(r) for r in rows]

    async def mark_reminded(self, reply_id: int, *, sent: int, previous: int) -> bool:
        """Reminder number ``sent`` is queued (compare-and-set on the count before it,
        ``previous``: reminders missed while the bot was down are skipped, not sent)."""
        result = await self.conn.execute(
            sa.update(agency_replies)
            .where(
                agency_replies.c.id == reply_id,
                agency_replies.c.status.in_(_UNPUBLISHED),
                agency_replies.c.reminders_sent == previous,
            )
            .values(reminders_sent=sent)
        )
        return result.rowcount == 1

    async def mark_overdue(self, reply_id: int, now: datetime) -> bool:
        result = await self.conn.execute(
            sa.update(agency_replies)
            .where(
                agency_replies.c.id == reply_id,
                agency_replies.c.status.in_(_UNPUBLISHED),
                agency_replies.c.overdue_at.is_(None),
            )
            .values(overdue_at=now)
        )
        return result.rowcount == 1

    # --- promise checks ------------------------------------------------------------------

    async def checked(self, reply_id: int, item: int) -> bool:
        """Whether some round already asks about this promise."""
        row = (
            await self.conn.execute(
                sa.select(promise_checks.c.id)
                .where(promise_checks.c.reply_id == reply_id, promise_checks.c.item == item)
                .limit(1)
            )
        ).first()
        return row is not None

    async def create_checks(
        self, round_id: int, reply_id: int, item: int, commitment_id: str, now: datetime
    ) -> list[NewCheck]:
        """One question per beneficiary the round targets for the commitment (INSERT …
        SELECT); the new ones, with each person's chat."""
        query = sa.select(
            sa.literal(round_id),
            sa.literal(reply_id),
            sa.literal(item),
            responses.c.id,
        ).where(
            responses.c.round_id == round_id,
            responses.c.commitment_id == commitment_id,
            responses.c.role == "beneficiary",
            responses.c.participant_id.is_not(None),
        )
        await self.conn.execute(
            self.insert_ignore(
                promise_checks,
                ["reply_id", "item", "response_id"],
                select=(["round_id", "reply_id", "item", "response_id"], query),
            )
        )
        rows = await self.conn.execute(
            sa.select(promise_checks.c.id, participants.c.id, participants.c.chat_id)
            .join(responses, responses.c.id == promise_checks.c.response_id)
            .join(participants, participants.c.id == responses.c.participant_id)
            .where(
                promise_checks.c.round_id == round_id,
                promise_checks.c.reply_id == reply_id,
                promise_checks.c.item == item,
                participants.c.status == "active",
            )
            .order_by(promise_checks.c.id)
        )
        return [NewCheck(int(c), int(p), int(chat)) for c, p, chat in rows]

    async def check(self, check_id: int) -> PromiseCheck | None:
        row = (
            await self.conn.execute(
                sa.select(
                    promise_checks.c.id,
                    promise_checks.c.round_id,
                    rounds.c.status.label("round_status"),
                    rounds.c.closes_at,
                    promise_checks.c.reply_id,
                    promise_checks.c.item,
                    responses.c.participant_id,
                    participants.c.telegram_user_id,
                    participants.c.status.label("participant_status"),
                    participants.c.language,
                    promise_checks.c.answer,
                )
                .join(rounds, rounds.c.id == promise_checks.c.round_id)
                .join(responses, responses.c.id == promise_checks.c.response_id)
                .outerjoin(participants, participants.c.id == responses.c.participant_id)
                .where(promise_checks.c.id == check_id)
            )
        ).first()
        if row is None:
            return None
        return PromiseCheck(*row)

    async def answer_check(self, check_id: int, answer: PromiseAnswer, now: datetime) -> bool:
        """Record (or change) the answer while the round is open."""
        result = await self.conn.execute(
            sa.update(promise_checks)
            .where(promise_checks.c.id == check_id)
            .values(answer=answer.value, answered_at=now)
        )
        return result.rowcount == 1

    async def freeze_outcomes(self, round_id: int) -> int:
        """At close, in the closing's transaction: people per answer for each promise the
        round asked about (published once, never recounted)."""
        tallies: dict[tuple[int, int], dict[str, int]] = {}
        rows = await self.conn.execute(
            sa.select(
                promise_checks.c.reply_id,
                promise_checks.c.item,
                promise_checks.c.answer,
                sa.func.count(),
            )
            .where(promise_checks.c.round_id == round_id, promise_checks.c.answer.is_not(None))
            .group_by(promise_checks.c.reply_id, promise_checks.c.item, promise_checks.c.answer)
        )
        for reply_id, item, answer, count in rows:
            tallies.setdefault((int(reply_id), int(item)), {})[str(answer)] = int(count)
        asked = await self.conn.execute(
            sa.select(promise_checks.c.reply_id, promise_checks.c.item)
            .where(promise_checks.c.round_id == round_id)
            .distinct()
        )
        for reply_id, item in asked:
            tallies.setdefault((int(reply_id), int(item)), {})
        if not tallies:
            return 0
        await self.conn.execute(
            self.insert_ignore(promise_outcomes, ["round_id", "reply_id", "item"]),
            [
                {
                    "round_id": round_id,
                    "reply_id": reply_id,
                    "item": item,
                    **{a.value: counts.get(a.value, 0) for a in PromiseAnswer},
                }
                for (reply_id, item), counts in sorted(tallies.items())
            ],
        )
        return len(tallies)

    async def outcomes(
        self, reply_ids: Sequence[int]
    ) -> dict[tuple[int, int], tuple[int, PromiseTally]]:
        """(reply, item) → (the round that checked it, its frozen tally)."""
        if not reply_ids:
            return {}
        rows = await self.conn.execute(
            sa.select(promise_outcomes).where(promise_outcomes.c.reply_id.in_(reply_ids))
        )
        return {
            (r.reply_id, r.item): (r.round_id, PromiseTally(r.yes, r.partly, r.no, r.unknown))
            for r in rows
        }
