"""``pulso run``: the bot until SIGTERM or Ctrl-C, by long polling or behind a webhook.

Both ways store every update in the inbox before Telegram is told it arrived
(:mod:`bot.intake`); a stop lets the updates being handled finish, and their
writes, then closes the database (exit 0 within seconds).

On PostgreSQL a webhook process is a *worker*: any number of them, here
(``--workers N``: this process supervises N children listening on
``WEBHOOK_PORT``, ``WEBHOOK_PORT + 1`` … ``WEBHOOK_PORT + N - 1``) or on other
machines (``pulso run --webhook --port P`` each), share the database, and one
of them at a time leads (:mod:`bot.cluster`). SQLite, and long polling, run one
process. ``docs/deployment.md`` puts them behind nginx.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Sequence

from bot.settings import Settings
from handlers.context import PulsoApplication
from pulso.app import serving

log = logging.getLogger(__name__)

#: Seconds before a supervised worker that died is started again.
RESTART_DELAY = 1.0


async def serve(
    application: PulsoApplication,
    settings: Settings,
    *,
    webhook: tuple[str, str] | None,
    port: int | None = None,
) -> None:
    """Run until a stop signal (see the module docstring)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(signum, stop.set)
    polling = webhook is None
    shared = webhook is not None and settings.database_url.startswith("postgresql")
    async with serving(application, polling=polling, timeout=10, shared=shared) as intake:
        keep_out_of_collections()
        if webhook is not None:
            from pulso.webhook import WebhookServer

            url, secret = webhook
            server = WebhookServer(intake, settings, url=url, secret=secret, port=port)
            await server.start()
            try:
                await stop.wait()
            finally:
                await server.stop()
        else:
            await stop.wait()
        log.info("stopping: finishing the updates in flight")


def keep_out_of_collections() -> None:
    """Take what start-up built out of the garbage collector's reach.

    Modules, the tone model, SQLAlchemy's and PTB's tables live as long as the process, yet
    every full collection walked them all again: 25-125 ms during which no update moved,
    several times a minute under load (the paced p99 of the load benchmark, issue 12 in
    docs/benchmarks.md). Frozen, they are never examined again; what the bot builds from
    here on is collected as before.
    """
    gc.collect()
    gc.freeze()


async def supervise(workers: int, base_port: int, child_args: Sequence[str]) -> int:
    """Run ``workers`` worker processes (``pulso run --webhook --port base_port + i``), each
    with its own event loop; start again one that dies; on SIGTERM or Ctrl-C stop them
    all (each finishes its updates in flight) and return 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)

    async def worker(index: int) -> None:
        port = base_port + index
        while not stop.is_set():
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *child_args,
                "run",
                "--webhook",
                "--port",
                str(port),
                stdin=asyncio.subprocess.DEVNULL,
            )
            log.info("worker %d (pid %d) on port %d", index, process.pid, port)
            waiting = asyncio.create_task(process.wait())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                await waiting
                return
            stopping.cancel()
            log.error(
                "worker %d (port %d) exited with %s; starting it again",
                index,
                port,
                waiting.result(),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESTART_DELAY)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return 0
