"""The services handed to every handler through the typed context.

Built once in ``post_init`` from the settings, closed in ``post_shutdown``.
Handlers reach them as ``context.services``; nothing else is kept in
``bot_data``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.clock import Clock, SystemClock
from bot.i18n import Translator, translator
from bot.people import PeopleService
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    t: Translator
    admin_ids: frozenset[int] = field(init=False)
    people: PeopleService = field(init=False)

    def __post_init__(self) -> None:
        self.admin_ids = frozenset(self.settings.admin_ids)
        self.people = PeopleService(self.db, self.clock)

    async def close(self) -> None:
        await self.db.close()


async def open_services(
    settings: Settings, *, clock: Clock | None = None, migrate: bool = True
) -> Services:
    """Open the database (upgrading its schema first) and build the services on it."""
    db = Database.from_url(settings.database_url)
    if migrate:
        before, after = await upgrade(db)
        if before != after:
            log.info("database schema upgraded from %s to %s", before or "empty", after)
    return Services(settings=settings, db=db, clock=clock or SystemClock(), t=translator())
