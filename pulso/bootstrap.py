"""Builds the services in dependency order, each with only what it uses.

The one place Pulso is put together (STYLE.md, "explicit composition"): the
runtime's services (:mod:`bot`) and the edge's drawing of outbox rows
(:data:`handlers.outbox.RENDERERS`), which the delivery engine calls at send
time. The arrows stay one-way: the runtime never imports the edge; this
package, which imports both, is imported by nothing but the entry points.

    services = build_services(settings, db, clock, translator())
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.accountability import AccountabilityService
from bot.clock import Clock, SystemClock
from bot.cluster import Wakener
from bot.i18n import Translator, translator
from bot.insights.service import InsightsService
from bot.journey import JourneyService
from bot.outbox.engine import DeliveryEngine
from bot.people import PeopleService
from bot.plans import InstrumentCache
from bot.rounds.service import RoundsService
from bot.services import Services
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade
from handlers import outbox

log = logging.getLogger(__name__)


def build_services(settings: Settings, db: Database, clock: Clock, t: Translator) -> Services:
    """Every service on one database, built in dependency order."""
    instruments = InstrumentCache(db)
    people = PeopleService(db, clock)
    delivery = DeliveryEngine(settings=settings, db=db, clock=clock)
    insights = InsightsService(
        settings=settings, db=db, clock=clock, instruments=instruments, delivery=delivery
    )
    accountability = AccountabilityService(
        settings=settings, db=db, clock=clock, insights=insights, delivery=delivery
    )
    rounds = RoundsService(
        settings=settings,
        db=db,
        clock=clock,
        insights=insights,
        delivery=delivery,
        accountability=accountability,
    )
    journey = JourneyService(
        db=db,
        clock=clock,
        instruments=instruments,
        rounds=rounds,
        reply_grace=timedelta(seconds=settings.reply_grace_seconds),
    )
    services = Services(
        settings=settings,
        db=db,
        clock=clock,
        t=t,
        instruments=instruments,
        people=people,
        delivery=delivery,
        insights=insights,
        rounds=rounds,
        journey=journey,
        accountability=accountability,
    )
    # What each outbox row says is drawn at the edge, from the services just built.
    delivery.draw_with(*outbox.drawings(services))
    if settings.site_dir is not None:
        # The public results site, rebuilt after every close (docs/site.md).
        from handlers.site import build_site

        site_dir = settings.site_dir
        insights.publish_with(lambda: build_site(services, site_dir))
    return services


async def open_services(
    settings: Settings, *, clock: Clock | None = None, migrate: bool = True
) -> Services:
    """Open the database (upgrading its schema first) and build the services on it."""
    db = Database.from_url(settings.database_url)
    if migrate:
        before, after = await upgrade(db)
        if before != after:
            log.info("database schema upgraded from %s to %s", before or "empty", after)
    services = build_services(settings, db, clock or SystemClock(), translator())
    if db.dialect == "postgresql":
        # A change made here (a round created from the command line) wakes the leader of
        # the webhook workers at once; a worker replaces these with its cluster's.
        wakener = services.wakener = Wakener(db)
        services.rounds.scheduler.elsewhere = lambda: wakener.notify("schedule")
        services.delivery.elsewhere = lambda: wakener.notify("outbox")
    return services
