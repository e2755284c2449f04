"""Staff roles (secretariat, admin) granted in the database, and each chat's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from bot.storage.repositories.base import Repository, excluded
from bot.storage.schema import chat_settings, responsible_people, staff_roles

StaffRole = Literal["secretariat", "admin"]


@dataclass(frozen=True, slots=True)
class StaffGrant:
    telegram_user_id: int
    role: StaffRole
    granted_by: int | None
    granted_at: datetime


# Asked on every update: built once (building it cost as much CPU as running it).
_ROLES_AND_COMMITMENTS = sa.union_all(
    sa.select(sa.literal("role").label("kind"), staff_roles.c.role.label("value")).where(
        staff_roles.c.telegram_user_id == sa.bindparam("user_id")
    ),
    sa.select(
        sa.literal("commitment").label("kind"),
        responsible_people.c.commitment_id.label("value"),
    ).where(responsible_people.c.telegram_user_id == sa.bindparam("user_id")),
)


class StaffRepository(Repository):
    async def roles_of(self, telegram_user_id: int) -> set[StaffRole]:
        rows = await self.conn.execute(
            sa.select(staff_roles.c.role).where(staff_roles.c.telegram_user_id == telegram_user_id)
        )
        return set(rows.scalars())

    async def roles_and_commitments(
        self, telegram_user_id: int
    ) -> tuple[set[StaffRole], frozenset[str]]:
        """The person's staff roles and the commitments they answer for, in one statement
        (asked on every update: :func:`bot.access.identify`)."""
        rows = await self.conn.execute(_ROLES_AND_COMMITMENTS, {"user_id": telegram_user_id})
        found = rows.all()
        roles: set[StaffRole] = {r.value for r in found if r.kind == "role"}
        return roles, frozenset(r.value for r in found if r.kind == "commitment")

    async def grant(
        self, telegram_user_id: int, role: StaffRole, *, granted_by: int | None, now: datetime
    ) -> bool:
        """Returns False when the person already had the role."""
        result = await self.conn.execute(
            self.insert_ignore(staff_roles, ["telegram_user_id", "role"]).values(
                telegram_user_id=telegram_user_id, role=role, granted_by=granted_by, granted_at=now
            )
        )
        return result.rowcount == 1

    async def revoke(self, telegram_user_id: int, role: StaffRole) -> bool:
        result = await self.conn.execute(
            sa.delete(staff_roles).where(
                staff_roles.c.telegram_user_id == telegram_user_id, staff_roles.c.role == role
            )
        )
        return result.rowcount == 1

    async def all(self) -> list[StaffGrant]:
        rows = await self.conn.execute(
            sa.select(staff_roles).order_by(staff_roles.c.role, staff_roles.c.telegram_user_id)
        )
        return [StaffGrant(r.telegram_user_id, r.role, r.granted_by, r.granted_at) for r in rows]


class ChatSettingsRepository(Repository):
    async def language(self, chat_id: int) -> str | None:
        row = (
            await self.conn.execute(
                sa.select(chat_settings.c.language).where(chat_settings.c.chat_id == chat_id)
            )
        ).first()
        return row.language if row else None

    async def set_language(self, chat_id: int, language: str, now: datetime) -> None:
        await self.conn.execute(
            self.upsert(
                chat_settings,
                ["chat_id"],
                {"language": excluded("language"), "updated_at": excluded("updated_at")},
            ).values(chat_id=chat_id, language=language, updated_at=now)
        )
