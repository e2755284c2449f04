"""From the inbox to the handlers: one chat's updates in order, many chats at once.

The dispatcher reads pending updates oldest first and hands each to ``handle``
(the application's handlers), at most :data:`MAX_CONCURRENT` at once and never
two of one chat together, so one person's quick presses run in the order they
were made and each sees what the previous one committed. One chat's backlog
holds one slot, never more. When ``handle`` returns the update is marked done
(handlers that write mark it done themselves, in the transaction of their
effects); if the process dies first, the update is still pending and is
handled when the bot is back — handlers are idempotent against that.

**Several workers on one PostgreSQL** (:mod:`bot.cluster`) add one step. The
in-process rule (one chat's updates one at a time) must hold across
processes, and a worker may die holding a chat. So, given ``claims``, a
worker first takes a session-level advisory lock on each candidate chat
(``pg_try_advisory_lock(chat_id)``, all in one round trip, on the
coordination connection), skips the chats another worker holds, and then
reads again each locked chat's *oldest pending* update — the one it saw
before locking may have been handled meanwhile by the worker that held the
chat — and handles that one. The lock is released after the update is marked
done. Advisory locks rather than ``FOR UPDATE SKIP LOCKED`` with leases: a row
lock lives only as long as a transaction, and the handlers commit their
effects (and mark the update done, ``repos.updates.claim``) in transactions of
their own, which would wait on it; a lease (``lease_owner``/``lease_until``)
outlives a dead worker until it expires, holding that person up, whereas a
session's advisory locks end with its connection, so a killed worker's chats
are free the moment PostgreSQL sees the connection close. SQLite runs one
process and needs none of this: without ``claims`` the path is as it was.

**When the database fails for a moment** (:func:`bot.storage.engine.is_transient`: a lost
connection, PostgreSQL restarting, SQLite's write lock held past the busy timeout) the
update's transaction rolled back and nothing was said to the person: write first, reply
second. Marking it done with an apology would lose an answer the person believes given;
so the error handler asks :func:`retry_later`, and the update is handed to the handlers
again after :data:`RETRY_DELAYS` — its chat held meanwhile, so nothing of that person's
overtakes it. Only while its claim has not committed (after that, its effects are stored
and a second run would only replay them), and only so many times: then it is done, with
the apology, as any failed update (a poison update must not come back forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final, Protocol

from bot.clock import Clock
from bot.logs import describe_exception
from bot.storage.engine import Database
from bot.storage.repositories.machinery import COMMITTED_CLAIMS, InboxItem

log = logging.getLogger(__name__)

MAX_CONCURRENT: Final = 64
#: Without a wake-up, look at the inbox at least this often (another process may store).
SAFETY_INTERVAL: Final = 1.0
#: Working from what this process stored (see :meth:`Dispatcher.offer`), read the inbox
#: itself at least this often anyway.
SCAN_INTERVAL: Final = 5.0

#: Seconds before each new try of an update the database failed for a moment: about five
#: seconds in all, what a PostgreSQL restart or a failover to a standby takes.
RETRY_DELAYS: Final = (0.25, 1.0, 4.0)

Handle = Callable[[InboxItem], Awaitable[None]]
Key = tuple[str, int]


class Claims(Protocol):
    """Locks on chats shared between workers (:class:`bot.cluster.Cluster`)."""

    def key_of(self, chat_id: int | None, update_id: int) -> Key: ...

    async def lock_chats(self, keys: Collection[Key]) -> set[Key]: ...

    async def unlock(self, keys: Collection[Key]) -> None: ...


@dataclass
class _Try:
    """One try of one update, as the error handler sees it through :data:`_CURRENT_TRY`."""

    update_id: int
    last: bool  # no try after this one
    committed: set[int]  # the updates whose claim committed (the task's COMMITTED_CLAIMS)
    again: bool = False  # the error handler asked for another try


_CURRENT_TRY: ContextVar[_Try | None] = ContextVar("pulso_current_try", default=None)


def retry_later() -> bool:
    """For the error handler, after the database failed for a moment: True when the update
    being handled will be handed to the handlers again (then the person is told nothing
    yet); False when it will not — no dispatcher, its last try, or its claim committed —
    and the failure is the person's to hear about."""
    current = _CURRENT_TRY.get()
    if current is None or current.last or current.update_id in current.committed:
        return False
    current.again = True
    return True


class Dispatcher:
    """Hands stored updates to the handlers (see the module docstring)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        handle: Handle,
        concurrency: int = MAX_CONCURRENT,
        claims: Claims | None = None,
    ) -> None:
        self.db = db
        self.claims = claims
        self.clock = clock
        self.handle = handle
        self.concurrency = concurrency
        self.handled = 0
        self._busy: set[int] = set()  # chats with an update being handled
        self._handling: set[int] = set()  # the updates being handled
        # Updates this process stored and has not finished, as stored: while the inbox
        # holds nothing else (known from a full read), they are taken from here, with
        # no read of the inbox per update. Several workers always read the inbox.
        self._offered: dict[int, InboxItem] = {}
        self._scan_at = 0.0  # monotonic time of the next read of the inbox itself
        # Chats that may hold updates this process was not offered (stored by an earlier
        # life of it, or by someone who woke it): their next update comes from a read,
        # never from memory, which would put it before those. None: any chat may. A read
        # clears the chats it looked at and found nothing unknown in; it cannot clear the
        # chats it skipped as busy.
        self._suspect_chats: set[int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._stopped = asyncio.Event()  # set by stop(): a pause before a new try ends
        self._loop: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something was stored (by whom, unknown): read the inbox now."""
        self._scan_at = 0.0
        self._suspect_chats = None
        self._wake.set()

    def offer(self, items: Collection[InboxItem]) -> None:
        """These updates were just stored (committed) by this process: handle them."""
        if self.claims is None:
            for item in items:
                self._offered[item.update_id] = item
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._stopped.clear()
        self._loop = asyncio.create_task(self._run(), name="pulso-dispatcher")

    async def stop(self) -> None:
        """Take nothing new; let the updates being handled finish (their writes too)."""
        self._stopping = True
        self._stopped.set()
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
        # What was in hand when the read began: an update that finished while the read
        # ran may still look pending in it, and must not be handled a second time. The
        # finish wakes the loop, so the chat's next update is read afresh at once.
        handling, busy = set(self._handling), set(self._busy)
        limit = free * 4 + 16
        now = time.monotonic()
        waiting: list[InboxItem] | None = None
        if self.claims is None and now < self._scan_at:
            waiting = [
                item
                for _, item in sorted(self._offered.items())
                if item.chat_id is None or item.chat_id not in busy
            ][:limit]
            suspect = self._suspect_chats
            if suspect is None or any(item.chat_id in suspect for item in waiting):
                waiting = None  # a chat that may hold more than memory knows: read it
        if waiting is None:
            async with self.db.read() as repos:
                waiting = await repos.updates.pending(limit, busy_chats=busy)
            # Nothing in the inbox but what this process stored (and was offered): the
            # next takes can work from memory until the next scheduled read — except for
            # the chats this read skipped as busy.
            complete = len(waiting) < limit
            unknown = [i for i in waiting if i.update_id not in self._offered]
            self._note_suspects(busy, unknown, complete=complete)
            if self.claims is None and complete and not unknown:
                self._scan_at = now + SCAN_INTERVAL
        chosen: list[InboxItem] = []
        chats: set[int] = set()
        for item in waiting:
            if len(chosen) >= free:
                break
            if item.update_id in handling or item.update_id in self._handling:
                continue  # being (or just) handled; an update with no chat has no chat lock
            if item.chat_id is not None:
                if item.chat_id in busy or item.chat_id in self._busy or item.chat_id in chats:
                    continue  # its earlier update goes first
                chats.add(item.chat_id)
            chosen.append(item)
        if self.claims is not None and chosen:
            chosen = await self._claim(self.claims, chosen)
        for item in chosen:
            if item.chat_id is not None:
                self._busy.add(item.chat_id)
            self._handling.add(item.update_id)
            task = asyncio.create_task(self._one(item))
            self._tasks.add(task)
        return len(chosen)

    async def _tries(self, item: InboxItem, claimed: set[int]) -> bool:
        """Hand ``item`` to the handlers; again after a pause while the error handler
        asks for it (:func:`retry_later`) and tries are left. False when it is to be
        left pending: asked to try again as the process stops (the next life will)."""
        for delay in (*RETRY_DELAYS, None):
            current = _Try(item.update_id, last=delay is None, committed=claimed)
            _CURRENT_TRY.set(current)
            try:
                await self.handle(item)
            except Exception as exc:  # the handlers' own errors are theirs to report
                log.error("update %d failed: %s", item.update_id, describe_exception(exc))
            if not current.again or delay is None:
                return True
            log.warning(
                "update %d: the database failed for a moment; trying again in %g s",
                item.update_id,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), delay)
            if self._stopping:
                return False
        return True

    def _note_suspects(
        self, skipped: set[int], unknown: list[InboxItem], *, complete: bool
    ) -> None:
        """What a read of the inbox (that skipped the ``skipped`` chats, and found
        ``unknown`` updates) says about which chats may hold updates memory lacks."""
        found = {item.chat_id for item in unknown if item.chat_id is not None}
        if not complete:  # it did not see every chat: it can only add suspects
            if self._suspect_chats is not None:
                self._suspect_chats |= found
            return
        earlier = skipped if self._suspect_chats is None else self._suspect_chats & skipped
        self._suspect_chats = earlier | found

    async def _claim(self, claims: Claims, chosen: list[InboxItem]) -> list[InboxItem]:
        """Lock the chats no other worker holds; then each one's oldest pending update."""
        keys = {claims.key_of(item.chat_id, item.update_id) for item in chosen}
        locked = await claims.lock_chats(keys)
        if not locked:
            return []
        try:
            async with self.db.read() as repos:
                current = await repos.updates.oldest_pending(
                    [k for kind, k in locked if kind == "chat"],
                    [i.update_id for i in chosen if i.chat_id is None],
                )
        except BaseException:
            await claims.unlock(locked)
            raise
        ready = [item for item in current if claims.key_of(item.chat_id, item.update_id) in locked]
        # Handled meanwhile by the worker that held them, with nothing after: let go.
        await claims.unlock(locked - {claims.key_of(i.chat_id, i.update_id) for i in ready})
        return ready

    async def _one(self, item: InboxItem) -> None:
        claimed: set[int] = set()
        COMMITTED_CLAIMS.set(claimed)  # this task's own context: its handlers' claims
        try:
            if not await self._tries(item, claimed):
                return  # left pending for the next life of the process
            # Done even when it failed: a poison update must not come back forever. A
            # handler that wrote marked it done with its effects: no second write.
            if item.update_id not in claimed:
                async with self.db.write(durability="process") as repos:
                    await repos.updates.finish(item.update_id, self.clock.now())
            self._offered.pop(item.update_id, None)
            self.handled += 1
        except Exception as exc:  # could not record it: it stays pending, handled again
            log.error("finishing update %d failed: %s", item.update_id, describe_exception(exc))
        finally:
            if self.claims is not None:  # after the update is done, never before
                await self.claims.unlock([self.claims.key_of(item.chat_id, item.update_id)])
            if item.chat_id is not None:
                self._busy.discard(item.chat_id)
            self._handling.discard(item.update_id)
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            self._wake.set()
