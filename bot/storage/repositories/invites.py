"""Invites: hashed tokens that let a person join a commitment in a role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import invite_redemptions, invites


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    token_hash: str
    commitment_id: str
    role: str
    max_uses: int
    uses: int
    expires_at: datetime
    revoked_at: datetime | None
    created_by: int | None
    created_at: datetime

    @property
    def uses_left(self) -> int:
        return self.max_uses - self.uses


def _invite(row: sa.Row[Any]) -> Invite:
    return Invite(
        id=row.id,
        token_hash=row.token_hash,
        commitment_id=row.commitment_id,
        role=row.role,
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class InviteRepository(Repository):
    async def create(
        self,
        *,
        token_hash: str,
        commitment_id: str,
        role: str,
        max_uses: int,
        expires_at: datetime,
        created_by: int | None,
        now: datetime,
    ) -> Invite:
        result = await self.conn.execute(
            sa.insert(invites)
            .values(
                token_hash=token_hash,
                commitment_id=commitment_id,
                role=role,
                max_uses=max_uses,
                uses=0,
                expires_at=expires_at,
                created_by=created_by,
                created_at=now,
            )
            .returning(invites)
        )
        return _invite(result.one())

    async def by_hash(self, token_hash: str) -> Invite | None:
        row = (
            await self.conn.execute(sa.select(invites).where(invites.c.token_hash == token_hash))
        ).first()
        return _invite(row) if row else None

    async def has_redeemed(self, invite_id: int, participant_id: int) -> bool:
        row = (
            await self.conn.execute(
                sa.select(invite_redemptions.c.invite_id).where(
                    invite_redemptions.c.invite_id == invite_id,
                    invite_redemptions.c.participant_id == participant_id,
                )
            )
        ).first()
        return row is not None

    async def redeem(self, invite_id: int, participant_id: int, now: datetime) -> bool:
        """Use one of the invite's uses for this person, atomically.

        Compare-and-set on ``uses < max_uses``, unrevoked and unexpired, so two
        people racing for the last use cannot both get it. Returns False when
        no use was left (or it expired or was revoked meanwhile).
        """
        result = await self.conn.execute(
            sa.update(invites)
            .where(
                invites.c.id == invite_id,
                invites.c.uses < invites.c.max_uses,
                invites.c.revoked_at.is_(None),
                invites.c.expires_at > now,
            )
            .values(uses=invites.c.uses + 1)
        )
        if result.rowcount != 1:
            return False
        await self.conn.execute(
            sa.insert(invite_redemptions).values(
                invite_id=invite_id, participant_id=participant_id, redeemed_at=now
            )
        )
        return True

    async def revoke(self, token_hash: str, now: datetime) -> Invite | None:
        """Revoke by token hash; None when no such invite exists."""
        await self.conn.execute(
            sa.update(invites)
            .where(invites.c.token_hash == token_hash, invites.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return await self.by_hash(token_hash)

    async def active(self, now: datetime) -> list[Invite]:
        rows = await self.conn.execute(
            sa.select(invites)
            .where(
                invites.c.revoked_at.is_(None),
                invites.c.expires_at > now,
                invites.c.uses < invites.c.max_uses,
            )
            .order_by(invites.c.id)
        )
        return [_invite(r) for r in rows]
