"""The outbox: every message Pulso owes someone, as a row, until Telegram has it.

A row moves ``pending → sending → sent`` (or ``failed``/``unreachable``),
or ``→ cancelled``. ``dedupe_key`` is unique, so enqueueing the same
invitation twice — a repeated job, a restart mid fan-out — inserts nothing.
:mod:`bot.outbox.engine` claims rows in batches, sends, and records outcomes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import outbox, participants, responses

OutboxStatus = Literal["pending", "sending", "sent", "failed", "unreachable", "cancelled"]
#: Payload keys of a multi-part message's progress (see ``OutboxRepository.record_parts``).
SENT_PARTS = "_sent_parts"
FIRST_MESSAGE_ID = "_first_message_id"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    dedupe_key: str
    kind: str
    chat_id: int
    not_before: datetime
    round_id: int | None = None
    participant_id: int | None = None
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    dedupe_key: str
    kind: str
    round_id: int | None
    participant_id: int | None
    chat_id: int
    payload: Mapping[str, Any] = field(default_factory=dict)
    status: OutboxStatus = "pending"
    attempts: int = 0


def _item(row: sa.Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        dedupe_key=row.dedupe_key,
        kind=row.kind,
        round_id=row.round_id,
        participant_id=row.participant_id,
        chat_id=row.chat_id,
        payload=dict(row.payload or {}),
        status=row.status,
        attempts=row.attempts,
    )


@dataclass(frozen=True, slots=True)
class Sent:
    outbox_id: int
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Finished:
    """A claimed row that will not be sent: why, and the status it ends in."""

    outbox_id: int
    status: Literal["failed", "unreachable", "cancelled"]
    error: str


#: Replies the edge sent itself (every survey move owes one): built once.
_SETTLE_DELIVERED = (
    sa.update(outbox)
    .where(
        outbox.c.dedupe_key.in_(sa.bindparam("dedupe_keys", expanding=True)),
        outbox.c.status == "pending",
    )
    .values(status="sent")
)


class OutboxRepository(Repository):
    async def enqueue(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        """Insert what is not there yet (by ``dedupe_key``); returns how many were new."""
        if not deliveries:
            return 0
        inserted = 0
        # Chunks keep each statement under SQLite's variable limit.
        for start in range(0, len(deliveries), 500):
            chunk = deliveries[start : start + 500]
            result = await self.conn.execute(
                self.insert_ignore(outbox, ["dedupe_key"]),
                [
                    {
                        "dedupe_key": d.dedupe_key,
                        "kind": d.kind,
                        "round_id": d.round_id,
                        "participant_id": d.participant_id,
                        "chat_id": d.chat_id,
                        "payload": dict(d.payload) if d.payload is not None else None,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": d.not_before,
                        "created_at": now,
                    }
                    for d in chunk
                ],
            )
            inserted += max(result.rowcount, 0)
        return inserted

    async def enqueue_for_round(
        self,
        round_id: int,
        *,
        kind: str,
        dedupe_key: tuple[str, str],
        not_before: datetime,
        now: datetime,
    ) -> int:
        """One row of ``kind`` per person with a response in the round (what a round's
        opening owes), in one ``INSERT … SELECT``: the key is ``prefix + participant id +
        suffix``; keys already there are skipped. Returns how many were new."""
        prefix, suffix = dedupe_key
        targeted = (
            sa.select(responses.c.participant_id)
            .where(responses.c.round_id == round_id)
            .scalar_subquery()
        )
        people = (
            sa.select(
                sa.literal(prefix, sa.String())
                + sa.cast(participants.c.id, sa.String())
                + sa.literal(suffix, sa.String()),
                sa.literal(kind, sa.String()),
                sa.literal(round_id, sa.Integer()),
                participants.c.id,
                participants.c.chat_id,
                sa.literal("pending", sa.String()),
                sa.literal(0, sa.Integer()),
                sa.literal(not_before, outbox.c.next_attempt_at.type),
                sa.literal(now, outbox.c.created_at.type),
            )
            .where(participants.c.id.in_(targeted))
            .order_by(participants.c.id)
        )
        columns = (
            "dedupe_key",
            "kind",
            "round_id",
            "participant_id",
            "chat_id",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
        )
        result = await self.conn.execute(
            self.insert_ignore(outbox, ["dedupe_key"], select=(columns, people))
        )
        return max(result.rowcount, 0)

    async def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        rows = await self.conn.execute(
            sa.select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        return [_item(row) for row in rows]

    async def claim(self, ids: Collection[int], now: datetime) -> set[int]:
        """Compare-and-set ``pending → sending``; returns the ids this caller now owns."""
        if not ids:
            return set()
        result = await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.status == "pending")
            .values(status="sending", claimed_at=now, attempts=outbox.c.attempts + 1)
            .returning(outbox.c.id)
        )
        return set(result.scalars())

    async def mark_sent(self, sent: Sequence[Sent], now: datetime) -> None:
        if not sent:
            return
        await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("b_id"), outbox.c.status == "sending")
            .values(
                status="sent",
                sent_at=now,
                telegram_message_id=sa.bindparam("b_message_id"),
                last_error=None,
            ),
            [{"b_id": s.outbox_id, "b_message_id": s.message_id} for s in sent],
        )

    async def retry_later(self, outbox_id: int, at: datetime, error: str) -> None:
        """Back to ``pending`` after a failure that may pass (429, 5xx, a timeout)."""
        await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status == "sending")
            .values(status="pending", next_attempt_at=at, last_error=error[:200])
        )

    async def finish(
        self, outbox_id: int, status: Literal["failed", "unreachable"], error: str
    ) -> None:
        await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status == "sending")
            .values(status=status, last_error=error[:200])
        )

    async def superseded(self, item: OutboxItem) -> bool:
        """Whether a newer row of the same kind was written for the same person since."""
        if item.participant_id is None:
            return False
        found = await self.conn.execute(
            sa.select(outbox.c.id)
            .where(
                outbox.c.kind == item.kind,
                outbox.c.participant_id == item.participant_id,
                outbox.c.id > item.id,
            )
            .limit(1)
        )
        return found.first() is not None

    async def note_message(self, outbox_id: int, message_id: int) -> None:
        """Telegram's id for a row's message, known before its outcome is committed."""
        await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id)
            .values(telegram_message_id=message_id)
        )

    async def sent_as(self, kind: str, chat_id: int, message_id: int) -> bool:
        """Whether the message ``message_id`` in ``chat_id`` was an outbox row of ``kind``."""
        found = await self.conn.execute(
            sa.select(outbox.c.id).where(
                outbox.c.kind == kind,
                outbox.c.chat_id == chat_id,
                outbox.c.telegram_message_id == message_id,
            )
        )
        return found.first() is not None

    async def settle_delivered(self, dedupe_keys: Sequence[str], now: datetime) -> None:
        """Rows the edge sent itself before they were due (replies owed to a change):
        sent, so the engine leaves them alone."""
        if not dedupe_keys:
            return
        await self.conn.execute(
            _SETTLE_DELIVERED, {"dedupe_keys": list(dedupe_keys), "sent_at": now}
        )

    async def finish_many(self, finished: Sequence[Finished]) -> None:
        """Settle many claimed rows at once (the delivery engine's group commit)."""
        if not finished:
            return
        await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == sa.bindparam("b_id"), outbox.c.status == "sending")
            .values(status=sa.bindparam("b_status"), last_error=sa.bindparam("b_error")),
            [
                {"b_id": f.outbox_id, "b_status": f.status, "b_error": f.error[:200]}
                for f in finished
            ],
        )

    async def record_parts(self, item: OutboxItem, sent_parts: int, first_message_id: int) -> None:
        """How far a message in several parts got (kept in its payload, under
        :data:`SENT_PARTS` and :data:`FIRST_MESSAGE_ID`), so a row sent again after a
        stop or a crash goes on from the next part instead of repeating the first."""
        payload = {**item.payload, SENT_PARTS: sent_parts, FIRST_MESSAGE_ID: first_message_id}
        await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == item.id, outbox.c.status == "sending")
            .values(payload=payload)
        )

    async def release(self, ids: Collection[int]) -> int:
        """Claimed rows never sent (the engine is stopping): back to ``pending`` as they were."""
        if not ids:
            return 0
        result = await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.status == "sending")
            .values(status="pending", attempts=outbox.c.attempts - 1)
        )
        return result.rowcount

    async def cancel_pending_for_chat(self, chat_id: int, reason: str) -> int:
        """Nothing more goes to a chat that blocked the bot or asked us to stop."""
        result = await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.chat_id == chat_id, outbox.c.status == "pending")
            .values(status="cancelled", last_error=reason)
        )
        return result.rowcount

    async def cancel(
        self, *, round_id: int, kinds: Collection[str], participant_id: int | None = None
    ) -> int:
        query = sa.update(outbox).where(
            outbox.c.round_id == round_id,
            outbox.c.kind.in_(list(kinds)),
            outbox.c.status == "pending",
        )
        if participant_id is not None:
            query = query.where(outbox.c.participant_id == participant_id)
        result = await self.conn.execute(query.values(status="cancelled"))
        return result.rowcount

    async def recover_in_flight(self) -> list[OutboxItem]:
        """Rows a crash left in ``sending``: back to ``pending``, to be sent again.

        This is the one place a message can go out twice: Telegram may have
        delivered it in the moment between answering and our record of the
        answer committing (see :mod:`bot.outbox.engine`).
        """
        rows = await self.conn.execute(
            sa.update(outbox)
            .where(outbox.c.status == "sending")
            .values(status="pending", last_error="recovered after a restart")
            .returning(outbox)
        )
        return [_item(row) for row in rows]

    async def next_due_at(self) -> datetime | None:
        result = await self.conn.execute(
            sa.select(sa.func.min(outbox.c.next_attempt_at)).where(outbox.c.status == "pending")
        )
        return cast(datetime | None, result.scalar())

    async def counts_by_round(
        self, round_ids: Collection[int]
    ) -> dict[int, dict[tuple[str, str], int]]:
        """``{round: {(kind, status): n}}`` for progress lines."""
        rows = await self.conn.execute(
            sa.select(outbox.c.round_id, outbox.c.kind, outbox.c.status, sa.func.count())
            .where(outbox.c.round_id.in_(list(round_ids)))
            .group_by(outbox.c.round_id, outbox.c.kind, outbox.c.status)
        )
        out: dict[int, dict[tuple[str, str], int]] = {}
        for round_id, kind, status, n in rows:
            out.setdefault(round_id, {})[(kind, status)] = n
        return out

    async def get(self, outbox_id: int) -> OutboxItem | None:
        row = (await self.conn.execute(sa.select(outbox).where(outbox.c.id == outbox_id))).first()
        return _item(row) if row else None
