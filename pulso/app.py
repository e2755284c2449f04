"""Build the real python-telegram-bot ``Application`` from the settings.

``build_application`` only wires: the Bot API address (Telegram, a self-hosted
Bot API server, or the local emulator), the typed context, the handler
modules in their documented order (:func:`handlers.register_all`), the error
handler, and the two lifecycle hooks: ``post_init`` opens the services
(database first, upgraded to the newest schema) and ``post_shutdown`` closes
them after the last update was handled. :func:`serving` runs it: alone (the
scheduler and the delivery engine in this process), or as one of several
workers on PostgreSQL (:mod:`bot.cluster`: whichever worker leads runs them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, ContextTypes, Defaults

from bot.access import identify
from bot.clock import Clock
from bot.cluster import Cluster
from bot.intake.dispatcher import Dispatcher, retry_later
from bot.intake.polling import LONG_POLL_SECONDS, Poller
from bot.logs import describe_exception, redacting_filter
from bot.outbox.retries import TransientRetries
from bot.outbox.transport import AiohttpRequest
from bot.services import Services
from bot.settings import Settings
from bot.storage.engine import is_transient
from bot.storage.repositories.machinery import InboxItem
from handlers import publish_commands, register_all
from handlers.context import BotData, PulsoApplication, PulsoContext
from pulso.bootstrap import open_services
from surveys.sentiment import get_analyzer

log = logging.getLogger(__name__)


def file_url_for(base_url: str) -> str:
    """The file-download URL that goes with a Bot API URL (``…/bot`` → ``…/file/bot``)."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    return base_url.rstrip("/") + "/file/bot"


def build_application(settings: Settings, *, clock: Clock | None = None) -> PulsoApplication:
    token = settings.require_token()
    redacting_filter().add_secret(token)
    # Opt into PTB's timedelta durations (RetryAfter.retry_after and friends)
    # now, as PTB asks; the int form is deprecated and warns on every read.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    async def post_init(application: PulsoApplication) -> None:
        services = await open_services(settings, clock=clock)
        application.bot_data.services = services
        # Load the tone model and lexicons now, before any update is taken: loaded at the
        # first text answer, their ~0.2 s of CPU held up every answer in flight then (the
        # paced p99 of the load benchmark, docs/benchmarks.md).
        get_analyzer()
        await publish_commands(application.bot, services)
        log.info("Pulso is up as @%s", application.bot.username)

    async def post_shutdown(application: PulsoApplication) -> None:
        services = application.bot_data.services
        if services is not None:
            application.bot_data.services = None
            await services.close()
        log.info("Pulso stopped")

    builder = (
        Application.builder()
        .token(token)
        .context_types(ContextTypes(context=PulsoContext, bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                tzinfo=settings.tz,
            )
        )
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        # Updates come from the inbox, not from PTB's updater (bot/intake): stored before
        # Telegram is told they arrived, handled by the dispatcher one chat at a time.
        .updater(None)
        # Replies are retried after a 429, a 5xx or a timeout (bot/retries.py); the
        # delivery engine's sends are not, it has its own policy.
        .rate_limiter(TransientRetries())
        # aiohttp instead of PTB's httpx: a third of the CPU per request (bot/transport.py).
        .request(AiohttpRequest(connection_pool_size=256))
    )
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url).base_file_url(
            file_url_for(settings.telegram_api_base_url)
        )
    application: PulsoApplication = builder.build()
    register_all(application)
    application.add_error_handler(on_error)
    return application


async def on_error(update: object, context: PulsoContext) -> None:
    """Log one redacted line (no token, no text), then apologise to the person — unless
    the database failed for a moment and the update will be handled again
    (:func:`bot.intake.dispatcher.retry_later`): its transaction rolled back, nothing was
    said, and an apology now would be followed by the answer's reply."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if error is not None and is_transient(error) and retry_later():
        log.warning("handling update %s: %s; again shortly", update_id, describe_exception(error))
        return
    log.error("handling update %s failed: %s", update_id, describe_exception(error))
    if not isinstance(update, Update):
        return
    chat, user = update.effective_chat, update.effective_user
    services = context.bot_data.services
    if chat is None or user is None or services is None or chat.type != ChatType.PRIVATE:
        return
    try:
        caller = await identify(
            services.db,
            user_id=user.id,
            chat_id=chat.id,
            language_code=user.language_code,
            admin_ids=services.admin_ids,
            default_language=services.settings.default_language,
        )
        locale = caller.locale
    except Exception:  # the database may be what failed; apologise anyway
        locale = services.settings.default_language
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await chat.send_message(services.t("error.apology", locale))
    except Exception as exc:  # nothing more we can do for this update
        log.warning("could not apologise: %s", describe_exception(exc))


class Intake:
    """The inbox's two ends for one running application: the long-polling :class:`Poller`
    (None in webhook mode, where ``pulso.webhook`` stores) and the :class:`Dispatcher`;
    and, as one of several workers, its :class:`Cluster` (else None)."""

    def __init__(
        self, application: PulsoApplication, services: Services, cluster: Cluster | None = None
    ) -> None:
        self.application = application
        self.cluster = cluster
        self.dispatcher = Dispatcher(
            db=services.db, clock=services.clock, handle=self._handle, claims=cluster
        )
        self.poller: Poller | None = None
        self.services = services

    async def _handle(self, item: InboxItem) -> None:
        update = Update.de_json(dict(item.payload), self.application.bot)
        await self.application.process_update(update)

    async def start(self, *, polling: bool, timeout: float = LONG_POLL_SECONDS) -> None:
        await self.dispatcher.start()
        if polling:
            self.poller = Poller(
                bot=self.application.bot,
                db=self.services.db,
                clock=self.services.clock,
                stored=self.dispatcher.offer,
                allowed_updates=Update.ALL_TYPES,
                timeout=timeout,
            )
            await self.poller.start()

    async def stop(self) -> None:
        """Stop fetching first, then let the updates being handled finish."""
        if self.poller is not None:
            await self.poller.stop()
        await self.dispatcher.stop()


@asynccontextmanager
async def running(
    application: PulsoApplication, *, polling: bool = True, timeout: float = 1
) -> AsyncIterator[Services]:
    """:func:`serving`, for a caller that only needs the services."""
    async with serving(application, polling=polling, timeout=timeout) as intake:
        yield intake.services


def clustered(
    services: Services, application: PulsoApplication, woken: list[Callable[[], None]]
) -> Cluster:
    """This worker's place among several on one PostgreSQL: when it leads it runs the
    scheduler and the delivery engine; what it enqueues or reschedules while following
    wakes the leader; what other workers store wakes its dispatcher."""
    bot = application.bot

    async def lead() -> None:
        await services.delivery.start(bot)  # returns rows a dead leader left `sending`
        await services.rounds.start()

    async def follow() -> None:
        await services.rounds.stop()
        await services.delivery.stop()

    def heard(notice: str) -> None:
        if notice == "inbox":
            for wake in woken:  # the dispatcher, once it exists
                wake()
        elif notice == "outbox" and services.delivery.running:
            services.delivery.wake()
        elif notice == "schedule" and services.rounds.scheduler.running:
            services.rounds.scheduler.changed()

    cluster = Cluster(services.db, lead=lead, follow=follow, heard=heard)
    services.delivery.elsewhere = lambda: cluster.notify("outbox")
    services.rounds.scheduler.elsewhere = lambda: cluster.notify("schedule")
    return cluster


@asynccontextmanager
async def serving(
    application: PulsoApplication,
    *,
    polling: bool = True,
    timeout: float = 1,
    shared: bool = False,
) -> AsyncIterator[Intake]:
    """Run the bot inside a block (``pulso run``, tests, benchmarks, ``pulso demo``).

    The services are opened (``post_init``), the application started, and updates
    flow through the inbox: fetched by long polling (``polling=True``) or stored by
    the webhook. Alone, this process runs the scheduler and the delivery engine;
    ``shared`` (webhook workers on PostgreSQL) leaves them to the leader
    (:mod:`bot.cluster`). Leaving the block stops fetching, finishes the updates in
    flight and closes the services.
    """
    await application.initialize()
    try:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        services = application.bot_data.services
        assert services is not None
        services.bot = application.bot
        woken: list[Callable[[], None]] = []
        cluster = clustered(services, application, woken) if shared else None
        if cluster is None:
            await services.start(application.bot)
        intake = Intake(application, services, cluster)
        if cluster is not None:
            woken.append(intake.dispatcher.wake)
            await cluster.start()
        await intake.start(polling=polling, timeout=timeout)
        try:
            yield intake
        finally:
            await intake.stop()
            if cluster is not None:
                await cluster.stop()  # stops the leader's work first
            await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
