"""What happened to each send, committed in groups: the delivery engine's bookkeeping.

A :class:`Job` is a claimed outbox row being sent (its attempt, the parts already
sent); an :class:`Outcome` is what came of it; the :class:`OutcomeWriter` commits
whatever outcomes arrived while the previous commit ran, in one transaction, and
counts them in :class:`DeliveryStats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.logs import describe_exception
from bot.storage.engine import Database
from bot.storage.repositories.outbox import (
    FIRST_MESSAGE_ID,
    SENT_PARTS,
    Finished,
    OutboxItem,
    Sent,
)

log = logging.getLogger("bot.outbox.engine")

#: How long replies the edge sent itself may wait to be settled together. Each is due
#: ``REPLY_GRACE_SECONDS`` (at least 0.5 s) after its change; settling each at once cost a
#: write transaction per survey answer, and a burst of answers now shares one.
SETTLE_LINGER = 0.1


@dataclass
class DeliveryStats:
    """Counters since start, for progress lines, tests and the benchmark."""

    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    cancelled: int = 0
    retried: int = 0
    paused_429: int = 0
    recovered: int = 0
    commits: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    #: Seconds from Telegram's answer to the commit recording it, per send (latest 100k).
    window: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    first_send_at: float | None = None
    last_send_at: float | None = None

    @property
    def settled(self) -> int:
        return self.sent + self.failed + self.unreachable + self.cancelled


@dataclass
class Job:
    item: OutboxItem
    attempt: int = 1
    sent_parts: int = 0
    first_message_id: int | None = None

    @classmethod
    def of(cls, item: OutboxItem) -> Job:
        """A claimed row, resuming after the parts an earlier run recorded as sent."""
        first = item.payload.get(FIRST_MESSAGE_ID)
        return cls(
            item,
            sent_parts=int(item.payload.get(SENT_PARTS, 0)),
            first_message_id=int(first) if first is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    sent: Sent | None = None
    finished: Finished | None = None
    accepted_at: float = 0.0


class OutcomeWriter:
    """Commits outcomes in groups: whatever arrived while the previous commit ran."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        db_lock: asyncio.Lock,
        stats: DeliveryStats,
        settled: asyncio.Event,
    ) -> None:
        self.db = db
        self.clock = clock
        # Shared with the engine's claims: an outcome waits behind a claim, not beside it.
        self.db_lock = db_lock
        self.stats = stats
        self.settled = settled
        self._queue: asyncio.Queue[Outcome | str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        # Set when something must not linger: an outcome of a send, or a flush.
        self._hurry = asyncio.Event()
        #: Replies the edge sent itself whose settlement is not committed yet.
        self.unsettled: set[str] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pulso-outcome-writer")

    def put(self, outcome: Outcome) -> None:
        self._idle.clear()
        self._hurry.set()
        self._queue.put_nowait(outcome)

    def delivered(self, dedupe_key: str) -> None:
        """A row the edge sent itself, at once (a reply written with its change): settled
        with the next group, so the engine never sends it (see ``bot.journey.answering``)."""
        self.ensure_started()
        self._idle.clear()
        self.unsettled.add(dedupe_key)
        self._queue.put_nowait(dedupe_key)

    def ensure_started(self) -> None:
        if self._task is None:
            self.start()

    async def flush(self) -> None:
        """Wait until every outcome handed over so far is committed."""
        while not self._queue.empty() or not self._idle.is_set():
            self._hurry.set()
            await self._idle.wait()
            await asyncio.sleep(0)

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if isinstance(batch[0], str) and not self._hurry.is_set():
                # Only settlements so far: due in seconds, not now; let more join them.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), SETTLE_LINGER)
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._hurry.clear()
            await self._commit(batch)
            if self._queue.empty():
                self._idle.set()

    async def _commit(self, items: list[Outcome | str]) -> None:
        batch = [o for o in items if isinstance(o, Outcome)]
        delivered = [key for key in items if isinstance(key, str)]
        sent = [o.sent for o in batch if o.sent is not None]
        finished = [o.finished for o in batch if o.finished is not None]
        unreachable_chats = sorted(
            {
                o.job.item.chat_id
                for o in batch
                if o.finished and o.finished.status == "unreachable"
            }
        )
        delay = 0.05
        while True:
            try:
                now = self.clock.now()
                # This commit closes the double-send window: no fsync (it survives our
                # crash; only a power cut could undo it, which costs a repeat, not a
                # loss), and ahead of the answers waiting to be written.
                async with (
                    self.db_lock,
                    self.db.write(durability="process", urgent=True) as repos,
                ):
                    await repos.outbox.mark_sent(sent, now)
                    await repos.outbox.settle_delivered(delivered, now)
                    await repos.outbox.finish_many(finished)
                    for chat_id in unreachable_chats:
                        await repos.participants.mark_unreachable_by_chat(chat_id, now)
                        await repos.outbox.cancel_pending_for_chat(chat_id, "unreachable")
                break
            except Exception as exc:  # the database is down or locked: retry, never drop
                log.error("recording %d outcomes failed: %s", len(batch), describe_exception(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.unsettled.difference_update(delivered)
        committed = time.perf_counter()
        stats = self.stats
        stats.commits += 1
        for outcome in batch:
            kind = outcome.job.item.kind
            if outcome.sent is not None:
                stats.sent += 1
                stats.by_kind[kind] += 1
                stats.window.append(committed - outcome.accepted_at)
            elif outcome.finished is not None:
                status = outcome.finished.status
                if status == "failed":
                    stats.failed += 1
                elif status == "unreachable":
                    stats.unreachable += 1
                else:
                    stats.cancelled += 1
        self.settled.set()
