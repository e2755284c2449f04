"""The round scheduler: wakes the process when the database says something is due.

The database is the schedule (rounds, reminders, recurring schedules); this
module holds no job of its own that could be lost. It runs one asyncio task
that calls the tick (:meth:`bot.rounds.RoundsService.tick`) at start-up — so
an opening, a reminder or a closing that passed while the bot was down
happens now — and then sleeps until the next moment the database names
(``repos.rounds.next_event_at()``, or ``also_due``: a government reply's reminder
or deadline, :meth:`bot.accountability.AccountabilityService.next_due`), or until
:meth:`RoundScheduler.changed`
says the schedule changed, and at least every :data:`SAFETY_INTERVAL` seconds,
because another process (``pulso round new``) may have changed it. The outbox's
own next moment (quiet-hours deferrals) is the delivery engine's to wait for.

The same loop does the housekeeping that has no moment of its own: at start-up
and then every :data:`PRUNE_INTERVAL` it forgets inbox updates done longer ago
than :data:`bot.storage.repositories.machinery.IDEMPOTENCY_WINDOW` (idempotent,
so two processes pruning at once is harmless).

An asyncio timer rather than PTB's JobQueue: there is only ever one timer to
set, and the services (which the command line also uses, without an
Application) own it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.logs import describe_exception
from bot.storage.engine import Database
from bot.storage.repositories.machinery import IDEMPOTENCY_WINDOW

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

SAFETY_INTERVAL = 30.0
#: Seconds :meth:`RoundScheduler.stop` lets a tick in progress finish before cancelling it.
STOP_GRACE = 10.0
#: Seconds between two prunings of the inbox.
PRUNE_INTERVAL = 3600.0


class RoundScheduler:
    """One timer, rebuilt from the database after every tick."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        tick: Callable[[], Awaitable[object]],
        also_due: Callable[[], Awaitable[datetime | None]] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self._tick = tick
        #: Another moment the tick has work at (a government reply's reminder or deadline).
        self._also_due = also_due
        self._changed = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.next_wake_in: float | None = None
        self._next_prune = 0.0  # monotonic; 0: at the first wake-up
        #: Called by :meth:`changed` while this scheduler is not running: with several
        #: workers (:mod:`bot.cluster`) the leader's runs, and is woken through PostgreSQL.
        self.elsewhere: Callable[[], None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="pulso-scheduler")

    async def stop(self) -> None:
        """Stop between two ticks: a tick in progress finishes (each of its steps commits
        on its own, but a transaction cut by cancellation may hold SQLite's write lock
        until the connection closes); one that hangs past :data:`STOP_GRACE` is cancelled."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._changed.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        except TimeoutError:
            log.warning("scheduler: a tick still running after %.0f s is cancelled", STOP_GRACE)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None

    def changed(self) -> None:
        """The schedule changed (a round was created or moved): recompute the timer."""
        self._changed.set()
        if self._task is None and self.elsewhere is not None:
            self.elsewhere()

    async def _run(self) -> None:
        while not self._stopping:
            self._changed.clear()
            try:
                await self._tick()
                await self._housekeeping()
                delay = await self._delay()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed tick is retried at the next wake-up
                log.error("scheduler tick failed: %s", describe_exception(exc))
                delay = 5.0
            self.next_wake_in = delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_INTERVAL
        before = self.clock.now() - IDEMPOTENCY_WINDOW
        async with self.db.write() as repos:
            pruned = await repos.updates.prune(before)
        if pruned:
            log.info("forgot %d inbox updates done over a day ago", pruned)

    async def _delay(self) -> float:
        async with self.db.read() as repos:
            next_event = await repos.rounds.next_event_at()
        if self._also_due is not None:
            also = await self._also_due()
            if also is not None and (next_event is None or also < next_event):
                next_event = also
        if next_event is None:
            return SAFETY_INTERVAL
        seconds = (next_event - self.clock.now()).total_seconds()
        return min(SAFETY_INTERVAL, max(0.01, seconds))
