"""Typed repositories over one connection, bundled in :class:`Repos`.

``async with db.write() as repos:`` opens a transaction and gives every
repository on its connection; ``db.read()`` does the same read-only.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.repositories.accountability import AccountabilityRepository
from bot.storage.repositories.insights import InsightsRepository
from bot.storage.repositories.invites import InviteRepository
from bot.storage.repositories.machinery import AuditRepository, UpdateRepository
from bot.storage.repositories.outbox import OutboxRepository
from bot.storage.repositories.participants import ParticipantRepository
from bot.storage.repositories.plans import PlanRepository
from bot.storage.repositories.responses import ResponseRepository
from bot.storage.repositories.rounds import RoundRepository
from bot.storage.repositories.staff import ChatSettingsRepository, StaffRepository


class Repos:
    """Every repository, sharing one connection and so one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @cached_property
    def participants(self) -> ParticipantRepository:
        return ParticipantRepository(self.conn)

    @cached_property
    def staff(self) -> StaffRepository:
        return StaffRepository(self.conn)

    @cached_property
    def chats(self) -> ChatSettingsRepository:
        return ChatSettingsRepository(self.conn)

    @cached_property
    def invites(self) -> InviteRepository:
        return InviteRepository(self.conn)

    @cached_property
    def updates(self) -> UpdateRepository:
        return UpdateRepository(self.conn)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn)

    @cached_property
    def plans(self) -> PlanRepository:
        return PlanRepository(self.conn)

    @cached_property
    def rounds(self) -> RoundRepository:
        return RoundRepository(self.conn)

    @cached_property
    def responses(self) -> ResponseRepository:
        return ResponseRepository(self.conn)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn)

    @cached_property
    def insights(self) -> InsightsRepository:
        return InsightsRepository(self.conn)

    @cached_property
    def accountability(self) -> AccountabilityRepository:
        return AccountabilityRepository(self.conn)
