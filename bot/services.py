"""The services handed to every handler through the typed context.

A plain container, built by the composition root (:func:`pulso.bootstrap.build_services`),
which constructs each service with only what it uses, in dependency order:
the database, the clock and the settings first; then the delivery engine, the
insights (which wake the engine), the rounds (which ask insights for the
snapshot at close and wake the engine), the participant's journey (which asks
the rounds about invitations). Started with the bot (:meth:`Services.start`:
the delivery engine and the scheduler), closed in ``post_shutdown``. Handlers
reach them as ``context.services``; nothing else is kept in ``bot_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Bot

from bot.accountability import AccountabilityService
from bot.clock import Clock
from bot.cluster import Wakener
from bot.i18n import Translator
from bot.insights.service import InsightsService
from bot.journey import JourneyService
from bot.outbox.engine import DeliveryEngine
from bot.people import PeopleService
from bot.plans import InstrumentCache
from bot.rounds.service import RoundsService
from bot.settings import Settings
from bot.storage.engine import Database


@dataclass(eq=False)
class Services:
    """Everything a handler, a job or a command may use, built on one database."""

    settings: Settings
    db: Database
    clock: Clock
    t: Translator
    instruments: InstrumentCache
    people: PeopleService
    delivery: DeliveryEngine
    insights: InsightsService
    rounds: RoundsService
    journey: JourneyService
    accountability: AccountabilityService
    bot: Bot | None = field(default=None, init=False)
    #: Wakes the workers after a change made outside them (PostgreSQL; None elsewhere).
    wakener: Wakener | None = field(default=None, init=False)

    @property
    def admin_ids(self) -> frozenset[int]:
        return frozenset(self.settings.admin_ids)

    async def start(self, bot: Bot) -> None:
        """Begin the background work that needs the bot: sending and scheduling.

        The delivery engine first (it returns sends a crash interrupted to the
        queue), then the scheduler, whose first tick does whatever fell due
        while the bot was down.
        """
        self.bot = bot
        await self.delivery.start(bot)
        await self.accountability.refresh_writers()
        await self.rounds.start()

    async def close(self) -> None:
        """Stop background work (finishing writes in flight), then close the database."""
        try:
            await self.rounds.stop()
            await self.delivery.stop()
            if self.wakener is not None:
                await self.wakener.flush()
        finally:
            await self.db.close()
