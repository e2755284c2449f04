"""Idempotency records for Telegram updates, and the audit log of staff actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import audit_log, processed_updates


class UpdateRepository(Repository):
    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record ``update_id`` as handled in this transaction; False if it already was.

        Called first in the transaction that applies the update's effect, so the
        effect and the record commit together: a redelivered update finds the
        record and changes nothing.
        """
        result = await self.conn.execute(
            self.insert_ignore(processed_updates, ["update_id"]).values(
                update_id=update_id, processed_at=now
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
        """Forget records older than Telegram's redelivery horizon (a day is ample)."""
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
