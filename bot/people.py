"""What Pulso does for and about people: language, and (later) the participant's journey."""

from __future__ import annotations

from bot.access import Caller
from bot.clock import Clock
from bot.i18n import Locale
from bot.storage.engine import Database


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
