"""The delivery engine: drains the outbox at Telegram's pace, and records every outcome.

One loop (the *dispatcher*) claims due outbox rows in batches
(``pending → sending``, a compare-and-set, so two engines never own a row),
and hands each claimed row to a send task when four things allow it:

* the **global pace**: a token bucket of ``SEND_RATE_PER_SECOND``;
* a **429 pause**: a ``RetryAfter`` from Telegram pauses *every* send for its
  ``retry_after`` (PTB's ``AIORateLimiter`` ends such pauses early, PTB issue
  #5338, and retries nothing by default, so the pacing lives here instead);
* **one message per second per chat**, and never two in flight to one chat;
* **bounded concurrency** (:data:`MAX_IN_FLIGHT` send tasks).

A send task renders the row (:mod:`bot.outbox.outgoing`: at send time, so a person who
stopped or a round that closed meanwhile is honoured; None → ``cancelled``),
sends it, and passes the outcome to the :class:`OutcomeWriter`, which commits
all outcomes that arrived since its last commit in one transaction (a group
commit: one commit per outcome at 30/s, a few hundred per commit when the rate
is lifted). Failures:

========================  ==============================================================
``RetryAfter`` (429)      pause all sends, then send the same row again (not an attempt)
``TimedOut``/``NetworkError``  retry after 1 s, 2 s, 4 s … (≤ 30 s, with jitter), at most
                          :data:`MAX_ATTEMPTS` tries, then ``failed``
``Forbidden`` (403)       ``unreachable``: the person is marked unreachable and every
                          message still pending for their chat is cancelled
``BadRequest`` (400)      ``failed`` with Telegram's reason
anything else             ``failed`` with the exception's type (a bug: logged)
========================  ==============================================================

**Exactly once, and where it can break.** A row is claimed before it is sent
and recorded after Telegram answers, so a crash leaves it in ``sending``; at
start-up :meth:`DeliveryEngine.start` returns such rows to ``pending`` and they
are sent again. The only double-send window is therefore between Telegram
*accepting* a message and the commit that records it: the HTTP answer's
arrival, the hand-off to the writer and one SQLite/PostgreSQL commit. The
writer measures that span for every send (:attr:`DeliveryStats.window`);
``benchmarks/fanout.py`` reports it: at the default rate about 5 ms at the
median and 21 ms at p99 on the development machine (SQLite with
``synchronous=FULL``; see ``docs/benchmarks.md``), so a crash must land in those
milliseconds after an answer to duplicate one message. With the rate lifted
the window grows to hundreds of milliseconds, because outcomes queue for the
group commit while the process is CPU-bound. A second, rarer
window is Telegram's: a ``TimedOut`` can hide a message that was delivered,
and its retry then duplicates it; the Bot API offers no idempotency key, so
we accept it rather than lose messages. A row in several parts (a summary and
its charts) commits its progress after each part but the last, so when a stop
or a crash sends it again it goes on from the next part; each part has the
same window as a single message.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from bot.logs import describe_exception
from bot.outbox.outcomes import DeliveryStats, Job, Outcome, OutcomeWriter
from bot.outbox.outgoing import NotYet, Outgoing, send_text
from bot.outbox.pacing import TokenBucket, backoff_seconds, seconds_of
from bot.outbox.retries import ENGINE_REQUEST
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.repositories.outbox import (
    Finished,
    OutboxItem,
    Sent,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
PER_CHAT_INTERVAL = 1.0
MAX_IN_FLIGHT = 64
#: Without a wake-up, look at the outbox at least this often: another process (the
#: command line) may have enqueued rows.
SAFETY_INTERVAL = 30.0
PROGRESS_LOG_INTERVAL = 5.0

FinalStatus = Literal["failed", "unreachable", "cancelled"]
#: Draws an outbox row as the message(s) to send; None: nothing is owed any more.
Renderer = Callable[[OutboxItem], Awaitable[Outgoing | list[Outgoing] | None]]
#: Loads, in one go, what a batch of rows of one kind needs to render (so a fan-out costs
#: a few queries per batch, not per message).
Preloader = Callable[[Sequence[OutboxItem]], Awaitable[None]]


class DeliveryEngine:
    """Sends what the outbox owes, at Telegram's pace (see the module docstring)."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        # What each kind of row says is drawn at the edge, which needs the services this
        # engine is part of: the composition root hands the drawings over once they are
        # all built (:meth:`draw_with`).
        self.renderers: Mapping[str, Renderer] = {}
        self.preloaders: Mapping[str, Preloader] = {}
        self.stats = DeliveryStats()
        self.rate = float(settings.send_rate_per_second)
        #: Seconds between two messages to one chat (Telegram's per-chat limit).
        self.per_chat_interval = PER_CHAT_INTERVAL
        self.bot: Bot | None = None
        self.running = False
        self._wake = asyncio.Event()
        #: Set after each commit of outcomes (tests and the benchmark wait on it).
        self.settled = asyncio.Event()
        #: The engine's own write transactions (claims, outcomes) take turns here rather
        #: than in SQLite's busy handler, whose sleeps (up to 100 ms) would stall sending.
        self.db_lock = asyncio.Lock()
        self._writer = OutcomeWriter(
            db=db, clock=clock, db_lock=self.db_lock, stats=self.stats, settled=self.settled
        )
        self._dispatcher: asyncio.Task[None] | None = None
        self._progress: asyncio.Task[None] | None = None
        self._ready: deque[Job] = deque()
        self._deferred: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()
        self._chat_free: dict[int, float] = {}
        self._in_flight_chats: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._paused_until = 0.0
        self._bucket = TokenBucket(self.rate, self.rate / 50)
        self._batch = int(min(500, max(20, self.rate)))
        self._stopping = asyncio.Event()
        self._refill: asyncio.Task[None] | None = None
        self._exhausted = False
        self._holding: Job | None = None
        #: Called by :meth:`wake` while this engine is not running: with several workers
        #: (:mod:`bot.cluster`) the leader's engine sends, and is woken through PostgreSQL.
        self.elsewhere: Callable[[], None] | None = None

    # --- life cycle ----------------------------------------------------------------------

    def draw_with(
        self, renderers: Mapping[str, Renderer], preloaders: Mapping[str, Preloader]
    ) -> None:
        """Take the edge's drawing of each outbox kind: one renderer per kind, and the
        batch preloaders (``handlers/outbox.py``, handed over by ``pulso.bootstrap``)."""
        self.renderers = dict(renderers)
        self.preloaders = dict(preloaders)

    async def start(self, bot: Bot) -> None:
        """Return rows a crash left in ``sending`` to ``pending``, then start sending."""
        self.bot = bot
        async with self.db.write() as repos:
            recovered = await repos.outbox.recover_in_flight()
        self.stats.recovered = len(recovered)
        if recovered:
            # These rows may have reached Telegram just before the crash (the window
            # described in the module docstring); they go out again.
            log.warning(
                "delivery: %d messages were being sent when the bot stopped; sending them again",
                len(recovered),
            )
        self.running = True
        self._stopping.clear()
        self._writer.ensure_started()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="pulso-delivery")
        self._progress = asyncio.create_task(self._log_progress(), name="pulso-delivery-log")

    async def stop(self, timeout: float = 6.0) -> None:
        """Stop claiming; let sends in flight finish (bounded), release what was claimed but
        not sent, and commit every outcome."""
        if not self.running:
            await self._writer.stop()  # replies settled by the edge, if any
            return
        self.running = False
        self._stopping.set()
        self._wake.set()
        for task in (self._dispatcher, self._progress, self._refill):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=timeout)
            for task in late:
                task.cancel()  # left in `sending`: recovered at the next start
        await self._writer.stop()
        unsent = [job.item.id for job in self._ready] + [
            job.item.id for _, _, job in self._deferred
        ]
        if self._holding is not None:
            unsent.append(self._holding.item.id)
            self._holding = None
        self._ready.clear()
        self._deferred.clear()
        if unsent:
            try:
                async with self.db.write() as repos:
                    await repos.outbox.release(unsent)
            except Exception as exc:  # they stay `sending` and are recovered at start
                log.error("could not release %d rows: %s", len(unsent), describe_exception(exc))

    def delivered(self, dedupe_key: str) -> None:
        """The edge sent this row's message itself: settle it in the next group commit."""
        self._writer.delivered(dedupe_key)

    def wake(self) -> None:
        """New rows were enqueued: look at the outbox now rather than at the next tick."""
        self._exhausted = False
        self._wake.set()
        if not self.running and self.elsewhere is not None:
            self.elsewhere()

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until nothing is claimed, in flight or uncommitted (tests, the benchmark)."""
        deadline = time.monotonic() + timeout
        while self._refill or self._holding or self._ready or self._deferred or self._tasks:
            self.settled.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the delivery engine did not go idle")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settled.wait(), min(remaining, 0.2))
        await self._writer.flush()

    # --- the dispatcher ------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database hiccuped: wait a moment, carry on
                log.error("delivery loop: %s", describe_exception(exc))
                await self._sleep(1.0)

    async def _dispatch_once(self) -> None:
        if (
            self._refill is None
            and not self._exhausted
            and len(self._ready) + len(self._deferred) < self._batch // 2 + 1
        ):
            # Claiming runs beside the dispatcher, so sends never wait for the database.
            self._refill = asyncio.create_task(self._claim(), name="pulso-delivery-claim")
        self._promote()
        job = self._next_job()
        if job is None:
            await self._wait_for_work()
            return
        now = time.monotonic()
        if self._paused_until > now:
            self._ready.appendleft(job)
            await self._sleep(self._paused_until - now)
            self._bucket.drain()
            return
        self._holding = job  # between queue and task: still counted as claimed
        wait = self._bucket.reserve()
        if wait > 0:
            await self._sleep(wait)
        await self._slots.acquire()
        self._holding = None
        chat = job.item.chat_id
        self._in_flight_chats.add(chat)
        self._chat_free[chat] = time.monotonic() + self.per_chat_interval
        task = asyncio.create_task(self._send(job), name=f"pulso-send-{job.item.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _claim(self) -> None:
        try:
            await self._claim_batch()
        except Exception as exc:  # the database hiccuped: the next wake-up tries again
            log.error("claiming outbox rows failed: %s", describe_exception(exc))
            self._exhausted = True
        finally:
            self._refill = None
            self._wake.set()

    async def _claim_batch(self) -> None:
        # Urgent, like the outcomes: an outcome waits for db_lock behind this claim.
        async with self.db_lock, self.db.write(urgent=True) as repos:
            now = self.clock.now()
            found = await repos.outbox.due(now, self._batch)
            # Replies the edge has sent, their settlement still in the writer's queue
            # (``SETTLE_LINGER``): already delivered, never to be sent again.
            due = [item for item in found if item.dedupe_key not in self._writer.unsettled]
            owned = await repos.outbox.claim([item.id for item in due], now) if due else set()
        items = [item for item in due if item.id in owned]
        # Fewer than asked for (or some are being settled): wait for a wake-up or a moment.
        self._exhausted = len(found) < self._batch or len(due) < len(found)
        if not items:
            return
        for kind in {item.kind for item in items}:
            preloader = self.preloaders.get(kind)
            if preloader is not None:
                try:
                    await preloader([i for i in items if i.kind == kind])
                except Exception as exc:  # rendering falls back to one query per row
                    log.warning("preloading %s failed: %s", kind, describe_exception(exc))
        self._ready.extend(Job.of(item) for item in items)

    def _promote(self) -> None:
        """Deferred jobs whose moment has come go back to the front, in their order."""
        now = time.monotonic()
        back: list[Job] = []
        while self._deferred and self._deferred[0][0] <= now:
            back.append(heapq.heappop(self._deferred)[2])
        self._ready.extendleft(reversed(back))

    def _next_job(self) -> Job | None:
        """The first ready job whose chat is free; busy chats' jobs wait, in order."""
        now = time.monotonic()
        while self._ready:
            job = self._ready.popleft()
            chat = job.item.chat_id
            free_at = self._chat_free.get(chat, 0.0)
            if chat in self._in_flight_chats or free_at > now:
                self._defer(job, max(free_at, now + 0.05))
                continue
            if free_at:
                del self._chat_free[chat]  # expired: keep the map small
            return job
        return None

    def _defer(self, job: Job, until: float) -> None:
        heapq.heappush(self._deferred, (until, next(self._seq), job))

    async def _wait_for_work(self) -> None:
        """Sleep until woken, a deferred job is due, or the next row comes due."""
        delay = SAFETY_INTERVAL
        if self._deferred:
            delay = min(delay, self._deferred[0][0] - time.monotonic())
        if self._tasks:
            # Sends in flight may free a chat or come back for a retry.
            delay = min(delay, 0.05)
        elif self._refill is None and self._exhausted:
            async with self.db.read() as repos:
                next_due = await repos.outbox.next_due_at()
            if next_due is not None:
                delay = min(delay, (next_due - self.clock.now()).total_seconds())
        delay = max(delay, 0.005)
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        if not self._wake.is_set() and not self._tasks:
            self._exhausted = False  # the next row's moment, or the safety check: look again

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- one send ------------------------------------------------------------------------

    async def _send(self, job: Job) -> None:
        item = job.item
        ENGINE_REQUEST.set(True)  # this task's failures are ours to handle (bot/retries.py)
        try:
            outcome = await self._attempt(job)
            if outcome is not None:
                self._writer.put(outcome)
        finally:
            self._in_flight_chats.discard(item.chat_id)
            self._slots.release()
            self.settled.set()

    async def _attempt(self, job: Job) -> Outcome | None:
        """Render and send one row; an outcome to record, or None when it was requeued."""
        item = job.item
        renderer = self.renderers.get(item.kind)
        try:
            if renderer is None:
                return self._finish(job, "failed", f"no renderer for {item.kind}")
            rendered = await renderer(item)
        except NotYet as wait:
            self._defer(job, time.monotonic() + wait.seconds)
            self._wake.set()
            return None
        except Exception as exc:
            log.error("rendering outbox row %d failed: %s", item.id, describe_exception(exc))
            return self._finish(job, "failed", f"render error: {type(exc).__name__}")
        if rendered is None:
            return self._finish(job, "cancelled", "nothing to send any more")
        parts = rendered if isinstance(rendered, list) else [rendered]
        try:
            for part in parts[job.sent_parts :]:
                message_id = await self._deliver(item.chat_id, part)
                job.sent_parts += 1
                if job.first_message_id is None:
                    job.first_message_id = message_id
                if part.on_sent is not None:
                    try:
                        await part.on_sent(message_id)
                    except Exception as exc:  # the message is out; only bookkeeping failed
                        log.warning(
                            "outbox row %d: after sending: %s", item.id, describe_exception(exc)
                        )
                if job.sent_parts < len(parts):
                    await self._record_parts(job)
        except RetryAfter as exc:
            pause = seconds_of(exc.retry_after)
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
            self.stats.paused_429 += 1
            log.warning("delivery: Telegram asked to wait %.0f s; all sends pause", pause)
            self._ready.appendleft(job)
            self._wake.set()
            return None
        except Forbidden as exc:
            log.debug("delivery: outbox row %d: recipient unreachable: %s", item.id, exc.message)
            return self._finish(job, "unreachable", f"Forbidden: {exc.message}")
        except BadRequest as exc:
            return self._finish(job, "failed", f"BadRequest: {exc.message}")
        except NetworkError as exc:  # TimedOut is a NetworkError too
            if job.attempt >= MAX_ATTEMPTS:
                return self._finish(
                    job, "failed", f"{type(exc).__name__} after {job.attempt} tries"
                )
            delay = backoff_seconds(job.attempt)
            log.debug(
                "delivery: outbox row %d: %s; try %d in %.1f s",
                item.id,
                type(exc).__name__,
                job.attempt + 1,
                delay,
            )
            job.attempt += 1
            self.stats.retried += 1
            self._defer(job, time.monotonic() + delay)
            self._wake.set()
            return None
        except TelegramError as exc:
            return self._finish(job, "failed", f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:
            log.error("sending outbox row %d failed: %s", item.id, describe_exception(exc))
            return self._finish(job, "failed", f"error: {type(exc).__name__}")
        accepted = time.perf_counter()
        stats = self.stats
        stats.first_send_at = stats.first_send_at or accepted
        stats.last_send_at = accepted
        return Outcome(job, sent=Sent(item.id, job.first_message_id), accepted_at=accepted)

    async def _record_parts(self, job: Job) -> None:
        """Commit how many parts of a multi-part row went out, before the next part: a
        retry in this run resumes from ``job`` itself, but a stop during its back-off
        or a crash returns the row to ``pending``, and without this record its first
        parts would be sent again. Best effort: if the database fails, only a stop or
        crash before the row settles repeats parts, as before."""
        assert job.first_message_id is not None
        try:
            async with (
                self.db_lock,
                self.db.write(durability="process", urgent=True) as repos,
            ):
                await repos.outbox.record_parts(job.item, job.sent_parts, job.first_message_id)
        except Exception as exc:
            log.warning(
                "delivery: outbox row %d: progress not recorded: %s",
                job.item.id,
                describe_exception(exc),
            )

    @staticmethod
    def _finish(job: Job, status: FinalStatus, error: str) -> Outcome:
        return Outcome(job, finished=Finished(job.item.id, status, error))

    async def _deliver(self, chat_id: int, part: Outgoing) -> int:
        """Send one part; Telegram's message id."""
        bot = self.bot
        assert bot is not None, "start() the engine first"
        if part.photo is not None:
            photo = await bot.send_photo(
                chat_id, photo=part.photo, caption=part.text or None, reply_markup=part.keyboard
            )
            return photo.message_id
        if part.document is not None:
            document = await bot.send_document(
                chat_id,
                document=part.document,
                filename=part.filename,
                caption=part.text or None,
                reply_markup=part.keyboard,
            )
            return document.message_id
        # Texts, the bulk of a fan-out, skip PTB's Message object: building it from the
        # answer (and inserting Defaults) is a third of the process's CPU per send.
        return await send_text(bot, chat_id, part.text, keyboard=part.keyboard)

    # --- progress ------------------------------------------------------------------------

    async def _log_progress(self) -> None:
        """A progress line every few seconds while messages are going out."""
        reported = 0
        last = time.monotonic()
        while True:
            await asyncio.sleep(PROGRESS_LOG_INTERVAL)
            stats = self.stats
            if stats.settled == reported:
                continue
            now = time.monotonic()
            rate = (stats.settled - reported) / (now - last)
            reported, last = stats.settled, now
            log.info(
                "delivery: %d sent, %d failed, %d unreachable, %d cancelled, %d retried; "
                "%d claimed; %.1f/s",
                stats.sent,
                stats.failed,
                stats.unreachable,
                stats.cancelled,
                stats.retried,
                len(self._ready) + len(self._deferred) + len(self._tasks),
                rate,
            )
