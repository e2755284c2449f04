"""The services handed to every handler through the typed context.

Built once in ``post_init`` from the settings (:func:`open_services`), started
with the bot (:meth:`Services.start`: the delivery engine and the scheduler),
closed in ``post_shutdown``. Handlers reach them as ``context.services``;
nothing else is kept in ``bot_data``. Each service receives this container,
so a round that closes can ask for its summary without an import cycle.
"""

from __future__ import annotations

import logging

from telegram import Bot

from bot.clock import Clock, SystemClock
from bot.i18n import Translator, translator
from bot.insights.service import InsightsService
from bot.journey import JourneyService
from bot.outbox.engine import DeliveryEngine
from bot.people import PeopleService
from bot.plans import InstrumentCache
from bot.rounds.service import RoundsService
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade

log = logging.getLogger(__name__)


class Services:
    """Everything a handler, a job or a command may use, built on one database."""

    def __init__(self, settings: Settings, db: Database, clock: Clock, t: Translator) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.t = t
        self.admin_ids = frozenset(settings.admin_ids)
        self.bot: Bot | None = None
        self.instruments = InstrumentCache(db)
        self.people = PeopleService(db, clock)
        self.journey = JourneyService(self)
        self.rounds = RoundsService(self)
        self.delivery = DeliveryEngine(self)
        self.insights = InsightsService(self)

    async def start(self, bot: Bot) -> None:
        """Begin the background work that needs the bot: sending and scheduling.

        The delivery engine first (it returns sends a crash interrupted to the
        queue), then the scheduler, whose first tick does whatever fell due
        while the bot was down.
        """
        self.bot = bot
        await self.delivery.start(bot)
        await self.rounds.start()

    async def close(self) -> None:
        """Stop background work (finishing writes in flight), then close the database."""
        try:
            await self.rounds.stop()
            await self.delivery.stop()
        finally:
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
    return Services(settings, db, clock or SystemClock(), translator())
