"""The inbox of Telegram updates (stored on arrival, handled once), and the audit log."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import audit_log, inbox

#: How long an ``update_id`` marks a redelivery. Telegram keeps an update it could
#: not deliver for at most 24 hours, so a true redelivery comes within a day of
#: the first handling; after a week without updates it may pick the next
#: ``update_id`` at random, so an id older than this is a *new* update that reuses
#: a number, and is handled. Keying on the time rather than on a content hash
#: keeps one row per update, and a hash would drop a person's second identical
#: "sí" within a day. Done rows older than this protect nothing and are pruned
#: (:meth:`bot.rounds.scheduler.RoundScheduler`).
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An update waiting in the inbox: its id, its chat (None: no chat), the raw JSON."""

    update_id: int
    chat_id: int | None
    payload: Mapping[str, Any]


def chat_of(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (raw JSON), so one chat's updates go in order."""
    for value in update.values():
        if not isinstance(value, Mapping):
            continue
        chat = value.get("chat")
        if isinstance(chat, Mapping) and "id" in chat:
            return int(chat["id"])
        message = value.get("message")
        if isinstance(message, Mapping) and isinstance(message.get("chat"), Mapping):
            return int(message["chat"]["id"])
        sender = value.get("from")
        if isinstance(sender, Mapping) and "id" in sender:
            return int(sender["id"])
    return None


#: The updates whose claim committed, for whoever set a set here (the dispatcher, for
#: the task handling one update): an update its handler claimed needs no second write
#: to mark it done.
COMMITTED_CLAIMS: ContextVar[set[int] | None] = ContextVar("pulso_committed_claims", default=None)


class UpdateRepository(Repository):
    """The inbox: updates stored on arrival, handled once (see ``schema.inbox``)."""

    claimed: list[int] | None = None  # claimed in this transaction, not yet committed

    def committed(self) -> None:
        """The transaction committed: its claims are done for good (``Database.write``)."""
        noted = COMMITTED_CLAIMS.get()
        if noted is not None and self.claimed:
            noted.update(self.claimed)
        self.claimed = None

    async def receive(self, updates: Sequence[Mapping[str, Any]], now: datetime) -> int:
        """Store updates as they arrived (raw JSON), pending; how many are new."""
        return len(await self.store(updates, now))

    async def store(self, updates: Sequence[Mapping[str, Any]], now: datetime) -> list[InboxItem]:
        """Store updates as they arrived (raw JSON), pending; the new ones, in order.

        One already here is a redelivery and is left as it is, unless it was done
        longer ago than :data:`IDEMPOTENCY_WINDOW`: then the id came back as a new
        update, which replaces it.
        """
        if not updates:
            return []
        parameters: dict[str, Any] = {"stale_before": now - IDEMPOTENCY_WINDOW}
        for n, update in enumerate(updates):
            parameters[f"update_id_{n}"] = int(update["update_id"])
            parameters[f"chat_id_{n}"] = chat_of(update)
            parameters[f"payload_{n}"] = dict(update)
            parameters[f"received_at_{n}"] = now
        # One statement per batch size, built once: built and compiled per call, with the
        # rows in it, it cost 0.4 ms of CPU per batch, and at a person's pace most batches
        # are one update (see _store_statement).
        count = len(updates)
        statement = self.prebuilt(f"store:{count}", lambda: self._store_statement(count))
        stored = await self.conn.execute(statement, parameters)
        new = {int(update_id) for update_id in stored.scalars()}
        found = [
            InboxItem(int(update["update_id"]), chat_of(update), dict(update))
            for update in updates
            if int(update["update_id"]) in new
        ]
        return sorted(found, key=lambda item: item.update_id)

    def _store_statement(self, count: int) -> Any:
        """``INSERT`` of ``count`` updates, their values bound as ``<column>_<n>``."""
        rows = [
            {
                "update_id": sa.bindparam(f"update_id_{n}", type_=inbox.c.update_id.type),
                "chat_id": sa.bindparam(f"chat_id_{n}", type_=inbox.c.chat_id.type),
                "payload": sa.bindparam(f"payload_{n}", type_=inbox.c.payload.type),
                "status": "pending",
                "received_at": sa.bindparam(f"received_at_{n}", type_=inbox.c.received_at.type),
            }
            for n in range(count)
        ]
        # One row is not a multi-row VALUES, whose compiled form SQLAlchemy never caches:
        # the common batch (a person's pace, the webhook) is compiled once, not per call.
        insert = self.insert(inbox).values(rows[0] if count == 1 else rows)
        return insert.on_conflict_do_update(
            index_elements=["update_id"],
            set_={
                "payload": insert.excluded.payload,
                "chat_id": insert.excluded.chat_id,
                "status": insert.excluded.status,
                "received_at": insert.excluded.received_at,
                "handled_at": None,
                "lease_owner": None,
                "lease_until": None,
            },
            where=sa.and_(
                inbox.c.status == "done",
                inbox.c.handled_at < sa.bindparam("stale_before", type_=inbox.c.handled_at.type),
            ),
        ).returning(inbox.c.update_id)

    async def pending(
        self, limit: int, *, busy_chats: Collection[int] = (), after: int | None = None
    ) -> list[InboxItem]:
        """The oldest pending updates, in order, leaving out chats already being handled
        (one chat's updates run one at a time, in order)."""
        query = (
            sa.select(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload)
            .where(inbox.c.status == "pending", inbox.c.payload.is_not(None))
            .order_by(inbox.c.update_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(inbox.c.update_id > after)
        rows = (await self.conn.execute(query)).all()
        return [
            InboxItem(int(r.update_id), r.chat_id, r.payload)
            for r in rows
            if r.chat_id is None or r.chat_id not in busy_chats
        ]

    async def waiting_in_chat(self, chat_id: int, *, received_since: datetime) -> bool:
        """Whether an update of this chat, received since then, is not yet handled."""
        found = await self.conn.execute(
            sa.select(inbox.c.update_id)
            .where(
                inbox.c.status == "pending",
                inbox.c.chat_id == chat_id,
                inbox.c.received_at >= received_since,
            )
            .limit(1)
        )
        return found.first() is not None

    async def oldest_pending(
        self, chat_ids: Collection[int], update_ids: Collection[int] = ()
    ) -> list[InboxItem]:
        """Each of these chats' oldest pending update, and which of these chatless updates
        are still pending: what a worker that just locked them may handle (another worker
        may have handled the one it saw before locking)."""
        found: list[InboxItem] = []
        if chat_ids:
            oldest = (
                sa.select(inbox.c.chat_id, sa.func.min(inbox.c.update_id).label("first"))
                .where(inbox.c.status == "pending", inbox.c.chat_id.in_(list(chat_ids)))
                .group_by(inbox.c.chat_id)
                .subquery()
            )
            rows = await self.conn.execute(
                sa.select(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload).join(
                    oldest, inbox.c.update_id == oldest.c.first
                )
            )
            found += [InboxItem(int(r.update_id), r.chat_id, r.payload) for r in rows]
        if update_ids:
            rows = await self.conn.execute(
                sa.select(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload).where(
                    inbox.c.status == "pending",
                    inbox.c.chat_id.is_(None),
                    inbox.c.update_id.in_(list(update_ids)),
                )
            )
            found += [InboxItem(int(r.update_id), r.chat_id, r.payload) for r in rows]
        found = [item for item in found if item.payload is not None]
        return sorted(found, key=lambda item: item.update_id)

    async def claim(self, update_id: int, now: datetime) -> bool:
        """Mark ``update_id`` handled in this transaction; False if it already was (within
        :data:`IDEMPOTENCY_WINDOW`).

        Called first in the transaction that applies the update's effect, so the
        effect and the mark commit together: a redelivered update, or one picked
        up again after a crash, finds it done and changes nothing. An update that
        never came through the inbox (a service called directly) gets a done row.
        """
        result = await self.conn.execute(
            self.prebuilt("claim", self._claim_statement),
            {"update_id": update_id, "now": now, "stale_before": now - IDEMPOTENCY_WINDOW},
        )
        if result.rowcount != 1:
            return False
        self.claimed = [*(self.claimed or ()), update_id]
        return True

    def _claim_statement(self) -> Any:
        now = sa.bindparam("now", type_=inbox.c.handled_at.type)
        return (
            self.insert(inbox)
            .values(
                update_id=sa.bindparam("update_id"),
                status="done",
                received_at=now,
                handled_at=now,
            )
            .on_conflict_do_update(
                index_elements=["update_id"],
                set_={"status": "done", "handled_at": now, "lease_owner": None},
                where=sa.or_(
                    inbox.c.status == "pending",
                    inbox.c.handled_at
                    < sa.bindparam("stale_before", type_=inbox.c.handled_at.type),
                ),
            )
        )

    async def finish(self, update_id: int, now: datetime) -> None:
        """Mark an update done after its handlers returned (those that wrote nothing never
        claimed it)."""
        await self.conn.execute(
            sa.update(inbox)
            .where(inbox.c.update_id == update_id, inbox.c.status == "pending")
            .values(status="done", handled_at=now, lease_owner=None, lease_until=None)
        )

    async def seen(self, update_id: int) -> bool:
        """Whether the update is already done."""
        row = (
            await self.conn.execute(
                sa.select(inbox.c.update_id).where(
                    inbox.c.update_id == update_id, inbox.c.status == "done"
                )
            )
        ).first()
        return row is not None

    async def prune(self, before: datetime) -> int:
        """Forget updates done before ``before`` (``now - IDEMPOTENCY_WINDOW``: they no
        longer mark anything as a redelivery); how many."""
        result = await self.conn.execute(
            sa.delete(inbox).where(inbox.c.status == "done", inbox.c.handled_at < before)
        )
        return result.rowcount

    async def backlog(self) -> int:
        """How many updates wait to be handled."""
        found = await self.conn.execute(
            sa.select(sa.func.count()).select_from(inbox).where(inbox.c.status == "pending")
        )
        return int(found.scalar_one())


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    actor: int | None
    action: str
    details: Mapping[str, Any]
    at: datetime


class AuditRepository(Repository):
    async def record(
        self, actor: int | None, action: str, details: Mapping[str, Any], now: datetime
    ) -> None:
        await self.conn.execute(
            sa.insert(audit_log).values(actor=actor, action=action, details=dict(details), at=now)
        )

    async def recent(self, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        rows = await self.conn.execute(query)
        return [AuditEntry(r.id, r.actor, r.action, dict(r.details), r.at) for r in rows]
