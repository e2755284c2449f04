"""Build the real python-telegram-bot ``Application`` from the settings.

``build_application`` only wires: the Bot API address (Telegram, a self-hosted
Bot API server, or the local emulator), the typed context, the handler
modules in their documented order (:func:`handlers.register_all`), the error
handler, and the two lifecycle hooks: ``post_init`` opens the services
(database first, upgraded to the newest schema) and ``post_shutdown`` closes
them after the last update was handled.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, Defaults

from bot.access import identify
from bot.clock import Clock
from bot.logs import describe_exception, redacting_filter
from bot.outbox.retries import TransientRetries
from bot.outbox.transport import AiohttpRequest
from bot.services import Services
from bot.settings import Settings
from handlers import publish_commands, register_all
from handlers.context import BotData, PulsoApplication, PulsoContext
from pulso.bootstrap import open_services

log = logging.getLogger(__name__)

#: PTB's semaphore in ``BaseUpdateProcessor.process_update`` (see PerChatUpdateProcessor).
_UNBOUNDED = 1 << 30


def file_url_for(base_url: str) -> str:
    """The file-download URL that goes with a Bot API URL (``…/bot`` → ``…/file/bot``)."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    return base_url.rstrip("/") + "/file/bot"


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; one chat's run one at a time, in order.

    Concurrency keeps a hundred people answering at once from queueing behind
    each other; per-chat order keeps one person's quick double tap from racing
    itself (their second press sees the state the first one committed).

    An update takes its chat's lock *first* and one of the ``max_concurrent_updates``
    slots only then, so a chat's backlog waits on its own lock and holds at most one
    slot: 200 quick messages from one stranger cannot keep everyone else waiting.
    PTB's own semaphore (taken before :meth:`do_process_update`, in the final
    ``process_update``) would hold a slot while waiting for the lock, so it is made
    wide enough never to bind and the limit lives in ``_slots``.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        # The base class sizes its semaphore from the property below: unbounded for it.
        self._limit = _UNBOUNDED
        super().__init__(_UNBOUNDED)
        self._limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._running = 0
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @property
    def max_concurrent_updates(self) -> int:
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """Updates running a handler now (not those waiting for their chat or a slot)."""
        return self._running

    @staticmethod
    def _key(update: object) -> int | None:
        if not isinstance(update, Update):
            return None
        if update.effective_chat is not None:
            return update.effective_chat.id
        return update.effective_user.id if update.effective_user is not None else None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        if key is None:
            await self._run(coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._run(coroutine)
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                # Forget idle chats so the table does not grow with every person.
                del self._waiting[key]
                del self._locks[key]

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        async with self._slots:
            self._running += 1
            try:
                await coroutine
            finally:
                self._running -= 1

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def build_application(settings: Settings, *, clock: Clock | None = None) -> PulsoApplication:
    token = settings.require_token()
    redacting_filter().add_secret(token)
    # Opt into PTB's timedelta durations (RetryAfter.retry_after and friends)
    # now, as PTB asks; the int form is deprecated and warns on every read.
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    async def post_init(application: PulsoApplication) -> None:
        services = await open_services(settings, clock=clock)
        application.bot_data.services = services
        await publish_commands(application.bot, services)
        await services.start(application.bot)
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
        .concurrent_updates(PerChatUpdateProcessor())
        # Replies are retried after a 429, a 5xx or a timeout (bot/retries.py); the
        # delivery engine's sends are not, it has its own policy.
        .rate_limiter(TransientRetries())
        # aiohttp instead of PTB's httpx: a third of the CPU per request (bot/transport.py).
        .request(AiohttpRequest(connection_pool_size=256))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
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
    """Log one redacted line (no token, no text), then apologise to the person."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("handling update %s failed: %s", update_id, describe_exception(context.error))
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


@asynccontextmanager
async def running(application: PulsoApplication, **polling: Any) -> AsyncIterator[Services]:
    """Run the bot with long polling inside a block (tests, benchmarks, ``pulso demo``).

    The same steps ``Application.run_polling`` takes, minus signal handling and
    the loop, so a caller that owns the event loop can start and stop it.
    """
    await application.initialize()
    try:
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        assert application.updater is not None
        polling.setdefault("poll_interval", 0.0)
        polling.setdefault("timeout", 1)
        polling.setdefault("allowed_updates", Update.ALL_TYPES)
        await application.updater.start_polling(**polling)
        services = application.bot_data.services
        assert services is not None
        try:
            yield services
        finally:
            await application.updater.stop()
            await application.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
