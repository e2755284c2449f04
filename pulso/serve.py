"""``pulso run``: the bot until SIGTERM or Ctrl-C, by long polling or behind a webhook.

Both ways store every update in the inbox before Telegram is told it arrived
(:mod:`bot.intake`); a stop lets the updates being handled finish, and their
writes, then closes the database (exit 0 within seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.settings import Settings
from handlers.context import PulsoApplication
from pulso.app import serving

log = logging.getLogger(__name__)


async def serve(
    application: PulsoApplication, settings: Settings, *, webhook: tuple[str, str] | None
) -> None:
    """Run until a stop signal (see the module docstring)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    polling = webhook is None
    async with serving(application, polling=polling, timeout=10) as intake:
        if webhook is not None:
            from pulso.webhook import WebhookServer

            url, secret = webhook
            server = WebhookServer(intake, settings, url=url, secret=secret)
            await server.start()
            try:
                await stop.wait()
            finally:
                await server.stop()
        else:
            await stop.wait()
        log.info("stopping: finishing the updates in flight")
