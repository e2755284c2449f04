"""From the inbox to the handlers: one chat's updates in order, many chats at once.

The dispatcher reads pending updates oldest first and hands each to ``handle``
(the application's handlers), at most :data:`MAX_CONCURRENT` at once and never
two of one chat together, so one person's quick presses run in the order they
were made and each sees what the previous one committed. One chat's backlog
holds one slot, never more. When ``handle`` returns the update is marked done
(handlers that write mark it done themselves, in the transaction of their
effects); if the process dies first, the update is still pending and is
handled when the bot is back — handlers are idempotent against that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from bot.clock import Clock
from bot.logs import describe_exception
from bot.storage.engine import Database
from bot.storage.repositories.machinery import InboxItem

log = logging.getLogger(__name__)

MAX_CONCURRENT: Final = 64
#: Without a wake-up, look at the inbox at least this often (another process may store).
SAFETY_INTERVAL: Final = 1.0

Handle = Callable[[InboxItem], Awaitable[None]]


class Dispatcher:
    """Hands stored updates to the handlers (see the module docstring)."""

    def __init__(
        self, *, db: Database, clock: Clock, handle: Handle, concurrency: int = MAX_CONCURRENT
    ) -> None:
        self.db = db
        self.clock = clock
        self.handle = handle
        self.concurrency = concurrency
        self.handled = 0
        self._busy: set[int] = set()  # chats with an update being handled
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something was stored: look at the inbox now."""
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._loop = asyncio.create_task(self._run(), name="pulso-dispatcher")

    async def stop(self) -> None:
        """Take nothing new; let the updates being handled finish (their writes too)."""
        self._stopping = True
        self._wake.set()
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until nothing is pending or being handled (tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            async with self.db.read() as repos:
                if not self._tasks and await repos.updates.backlog() == 0:
                    return
            await asyncio.sleep(0.02)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            started = 0
            free = self.concurrency - len(self._tasks)
            if free > 0:
                try:
                    started = await self._take(free)
                except Exception as exc:  # the database is down: try again shortly
                    log.error("reading the inbox failed: %s", describe_exception(exc))
            if started == 0 or len(self._tasks) >= self.concurrency:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), SAFETY_INTERVAL)

    async def _take(self, free: int) -> int:
        async with self.db.read() as repos:
            waiting = await repos.updates.pending(free * 4 + 16, busy_chats=self._busy)
        started = 0
        for item in waiting:
            if started >= free:
                break
            if item.chat_id is not None:
                if item.chat_id in self._busy:
                    continue  # its earlier update goes first
                self._busy.add(item.chat_id)
            task = asyncio.create_task(self._one(item))
            self._tasks.add(task)
            started += 1
        return started

    async def _one(self, item: InboxItem) -> None:
        try:
            try:
                await self.handle(item)
            except Exception as exc:  # the handlers' own errors are theirs to report
                log.error("update %d failed: %s", item.update_id, describe_exception(exc))
            # Done even when it failed: a poison update must not come back forever.
            async with self.db.write(urgent=True) as repos:
                await repos.updates.finish(item.update_id, self.clock.now())
            self.handled += 1
        except Exception as exc:  # could not record it: it stays pending, handled again
            log.error("finishing update %d failed: %s", item.update_id, describe_exception(exc))
        finally:
            if item.chat_id is not None:
                self._busy.discard(item.chat_id)
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            self._wake.set()
