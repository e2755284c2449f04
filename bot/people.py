"""What Pulso does for and about people: language, and (later) the participant's journey."""

from __future__ import annotations

from bot.access import Caller
from bot.clock import Clock
from bot.i18n import Locale
from bot.storage.engine import Database
from bot.storage.repositories.staff import StaffRole


class PeopleService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def set_language(self, caller: Caller, locale: Locale) -> None:
        """Participants keep it on their record, staff per chat; strangers not at all."""
        now = self.clock.now()
        if caller.participant is not None:
            async with self.db.write() as repos:
                await repos.participants.set_language(caller.participant.id, locale, now)
        elif caller.is_staff:
            async with self.db.write() as repos:
                await repos.chats.set_language(caller.chat_id, locale, now)

    async def grant(self, actor: int, telegram_user_id: int, role: StaffRole) -> bool:
        """Give a staff role (audited); False when the person already had it."""
        now = self.clock.now()
        async with self.db.write() as repos:
            granted = await repos.staff.grant(telegram_user_id, role, granted_by=actor, now=now)
            if granted:
                await repos.audit.record(
                    actor, "grant", {"user": telegram_user_id, "role": role}, now
                )
        return granted

    async def revoke(self, actor: int, telegram_user_id: int, role: StaffRole) -> bool:
        """Take a staff role away (audited); False when the person did not have it."""
        now = self.clock.now()
        async with self.db.write() as repos:
            revoked = await repos.staff.revoke(telegram_user_id, role)
            if revoked:
                await repos.audit.record(
                    actor, "revoke", {"user": telegram_user_id, "role": role}, now
                )
        return revoked
