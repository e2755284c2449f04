"""What Pulso does for and about people: language, staff roles, and whether the bot can
reach a participant (Telegram's ``my_chat_member`` updates)."""

from __future__ import annotations

from bot.access import Caller
from bot.clock import Clock
from bot.i18n import Locale
from bot.storage.engine import Database
from bot.storage.repositories.participants import ParticipantStatus
from bot.storage.repositories.staff import StaffRole


class PeopleService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def set_language(self, caller: Caller, locale: Locale) -> None:
        """Participants keep it on their record, staff and a commitment's responsible
        people per chat (their requests and reminders come in it); strangers not at all."""
        now = self.clock.now()
        if caller.participant is not None:
            async with self.db.write() as repos:
                await repos.participants.set_language(caller.participant.id, locale, now)
        elif caller.is_staff or caller.responsible_for:
            async with self.db.write() as repos:
                await repos.chats.set_language(caller.chat_id, locale, now)

    async def reachability(self, caller: Caller, *, reachable: bool, update_id: int) -> bool:
        """A participant blocked the bot (``reachable=False``) or unblocked it.

        Blocking marks an active person ``unreachable`` and withdraws what was still
        pending for their chat, as a 403 on a send would; unblocking makes an
        unreachable person active again, with no /start needed. A person who asked
        for no surveys (/stop) stays stopped either way. False when nothing changed
        (a stranger, a redelivered update, a status the change does not apply to).
        """
        if caller.participant is None:
            return False
        participant_id, now = caller.participant.id, self.clock.now()
        active: tuple[ParticipantStatus] = ("active",)
        unreachable: tuple[ParticipantStatus] = ("unreachable",)
        async with self.db.write() as repos:
            if not await repos.updates.claim(update_id, now):
                return False
            if reachable:
                return await repos.participants.change_status(
                    participant_id, "active", from_statuses=unreachable, now=now
                )
            if not await repos.participants.change_status(
                participant_id, "unreachable", from_statuses=active, now=now
            ):
                return False
            await repos.outbox.cancel_pending_for_chat(caller.chat_id, "unreachable")
            return True

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
