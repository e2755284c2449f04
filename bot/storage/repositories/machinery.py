"""Idempotency records for Telegram updates, and the audit log of staff actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.repositories.base import Repository
from bot.storage.schema import audit_log, processed_updates

#: How long an ``update_id`` marks a redelivery. Telegram keeps an update it could
#: not deliver for at most 24 hours, so a true redelivery comes within a day of
#: the first handling; after a week without updates it may pick the next
#: ``update_id`` at random, so an id older than this is a *new* update that reuses
#: a number, and is handled. Keying on the time rather than on a content hash
#: keeps one row per update and needs no change of schema, and a hash would
#: drop a person's second identical "sí" within a day. Records older than this
#: protect nothing and are pruned (:meth:`bot.rounds.scheduler.RoundScheduler`).
IDEMPOTENCY_WINDOW = timedelta(hours=24)


class UpdateRepository(Repository):
    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record ``update_id`` as handled in this transaction; False if it already was
        within :data:`IDEMPOTENCY_WINDOW`.

        Called first in the transaction that applies the update's effect, so the
        effect and the record commit together: a redelivered update finds the
        record and changes nothing. A record older than the window is taken over
        (its time moved to ``now``): the id came back as a new update.
        """
        insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(processed_updates)
        result = await self.conn.execute(
            insert.values(update_id=update_id, processed_at=now).on_conflict_do_update(
                index_elements=["update_id"],
                set_={"processed_at": now},
                where=processed_updates.c.processed_at < now - IDEMPOTENCY_WINDOW,
            )
        )
        return result.rowcount == 1

    async def seen(self, update_id: int) -> bool:
        row = (
            await self.conn.execute(
                sa.select(processed_updates.c.update_id).where(
                    processed_updates.c.update_id == update_id
                )
            )
        ).first()
        return row is not None

    async def prune(self, before: datetime) -> int:
        """Forget records handled before ``before`` (``now - IDEMPOTENCY_WINDOW``: they
        no longer mark anything as a redelivery); how many."""
        result = await self.conn.execute(
            sa.delete(processed_updates).where(processed_updates.c.processed_at < before)
        )
        return result.rowcount


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
