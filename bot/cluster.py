"""Many workers on one PostgreSQL: chat claims, one leader, wake-ups across processes.

Any number of ``pulso run --webhook`` processes (``--workers N`` on one machine,
or one per machine) share one PostgreSQL. Each keeps one **coordination
connection** of its own, outside the pool, and everything that must end when
the worker dies is a *session-level advisory lock* on it: if the process is
killed, or the connection drops, PostgreSQL releases them at once, with no
lease to wait out.

* **Chats** (:meth:`Cluster.lock_chats`): before handling a chat's oldest
  pending update a worker takes ``pg_try_advisory_lock(chat_id)`` (the one
  ``bigint`` key form) and holds it until the update is done, so never two
  workers handle one chat at once; see :mod:`bot.intake.dispatcher`. An update
  without a chat is locked by its ``update_id`` in the two-key form
  (:data:`UPDATE_CLASS`).
* **Leadership** (:data:`LEADER_KEY`, the two-key form, which never meets a
  one-key chat lock): the worker holding it runs the round scheduler and the
  delivery engine, so the send pace (``SEND_RATE_PER_SECOND``) and a 429's
  pause hold for all workers together. The others try again every
  :data:`LEADER_RETRY` seconds, so a dead leader is replaced within about that.
  A leader whose connection fails stops both at once, before another can take
  over (it also checks the connection every :data:`LEADER_RETRY` seconds).
* **Wake-ups** (``LISTEN``/``NOTIFY`` on :data:`CHANNEL`): an update stored by
  one worker's webhook wakes every dispatcher (``inbox``, sent in the storing
  transaction, so it arrives after the commit); an outbox row or a schedule
  change made on a follower wakes the leader (``outbox``, ``schedule``). The
  loops' own timers remain only as a slow safety net.

SQLite, and long polling, run one process that does everything (no cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.logs import describe_exception
from bot.storage.engine import Database

log = logging.getLogger(__name__)

#: First key of Pulso's two-key advisory locks ("PULS").
LOCK_CLASS: Final = 0x50554C53
LEADER_KEY: Final = (LOCK_CLASS, 1)
#: Two-key class of the locks on updates that belong to no chat (key: update_id mod 2³¹).
UPDATE_CLASS: Final = LOCK_CLASS + 1
#: Seconds between a follower's attempts at leadership, and the leader's connection checks.
LEADER_RETRY: Final = 1.0
#: A coordination query slower than this counts as a dead connection.
QUERY_TIMEOUT: Final = 5.0
CHANNEL: Final = "pulso_wake"

Notice = Literal["inbox", "outbox", "schedule"]
NOTICES: Final = frozenset({"inbox", "outbox", "schedule"})


def worker_name() -> str:
    """This worker, as logs and ``/healthz`` name it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def notify_sql(notice: Notice) -> str:
    """The statement that wakes every worker with ``notice`` (at commit, in a transaction)."""
    return f"SELECT pg_notify('{CHANNEL}', '{notice}')"


class Wakener:
    """Wakes the workers from a process that is none of them but changes their work (the
    command line creating a round, a script enqueueing messages) on PostgreSQL: the
    leader would otherwise notice only at its next timer. Installed as the scheduler's
    and the delivery engine's ``elsewhere`` (:func:`pulso.bootstrap.open_services`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, notice: Notice) -> None:
        task = asyncio.get_running_loop().create_task(self._send(notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, notice: Notice) -> None:
        try:
            async with self.db.write(durability="process") as repos:
                await repos.conn.execute(sa.text(notify_sql(notice)))
        except Exception as exc:  # the leader's own timers notice instead
            log.warning("could not wake the workers (%s): %s", notice, describe_exception(exc))

    async def flush(self) -> None:
        """Wait for the notices sent so far (before the database is closed)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class Cluster:
    """One worker's place among many (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        lead: Callable[[], Awaitable[None]],
        follow: Callable[[], Awaitable[None]],
        heard: Callable[[str], None],
        retry: float = LEADER_RETRY,
    ) -> None:
        if db.dialect != "postgresql":
            raise ValueError("several workers need PostgreSQL")
        self.db = db
        self._lead = lead
        self._follow = follow
        self._heard = heard
        self.retry = retry
        self.name = worker_name()
        self.leader = False
        #: Whether the coordination connection is up (``/healthz``).
        self.connected = False
        self.became_leader = 0  # times this worker took the leadership
        self._conn: AsyncConnection | None = None
        self._raw: Any = None  # the asyncpg connection under it
        self._use = asyncio.Lock()  # one query at a time on the coordination connection
        self._task: asyncio.Task[None] | None = None
        self._notify_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, listen, and try for the leadership once before returning (a lone
        worker leads from its first moment); then keep trying in the background."""
        self._stopping = False
        await self._attempt()
        self._task = asyncio.create_task(self._run(), name="pulso-cluster")

    async def stop(self) -> None:
        """Stop leading (the scheduler and engine stop first), then close the connection,
        which releases every lock this worker holds."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._notify_tasks:
            await asyncio.gather(*self._notify_tasks, return_exceptions=True)
        await self._step_down()
        await self._disconnect()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retry)
            await self._attempt()

    async def _attempt(self) -> None:
        try:
            if self._raw is None:
                await self._connect()
            if self.leader:
                await self._query("SELECT 1")  # still connected, so still holding it
            elif await self._query("SELECT pg_try_advisory_lock($1, $2)", *LEADER_KEY):
                self.leader = True
                self.became_leader += 1
                log.info("worker %s leads: scheduler and delivery run here", self.name)
                try:
                    await self._lead()
                except Exception as exc:  # could not start them: let another worker lead
                    log.error("could not start leading: %s", describe_exception(exc))
                    await self._step_down()
                    await self._disconnect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection is gone, and with it every lock
            log.error("coordination connection lost: %s", describe_exception(exc))
            await self._step_down()
            await self._disconnect()

    async def _step_down(self) -> None:
        if not self.leader:
            return
        self.leader = False
        log.warning("worker %s no longer leads", self.name)
        try:
            await self._follow()
        except Exception as exc:
            log.error("stopping the leader's work failed: %s", describe_exception(exc))

    async def _connect(self) -> None:
        conn = await self.db.engine.connect()
        try:
            raw = (await conn.get_raw_connection()).driver_connection
            if raw is None:
                raise ConnectionError("no driver connection")
            await raw.add_listener(CHANNEL, self._on_notice)
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        self._conn, self._raw = conn, raw
        self.connected = True

    async def _disconnect(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        self.connected = False
        if conn is None:
            return
        # Never back into the pool: its advisory locks would go with it. Closing the
        # connection ends the session, which releases them.
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    async def _query(self, sql: str, *args: Any) -> Any:
        raw = self._raw
        if raw is None:
            raise ConnectionError("no coordination connection")
        async with self._use:
            return await raw.fetchval(sql, *args, timeout=QUERY_TIMEOUT)

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload in NOTICES:
            self._heard(payload)

    # --- chats ---------------------------------------------------------------------------

    @staticmethod
    def key_of(chat_id: int | None, update_id: int) -> tuple[str, int]:
        """The lock an update is handled under: its chat's, or (no chat) its own."""
        if chat_id is not None:
            return ("chat", chat_id)
        return ("update", update_id % (1 << 31))

    async def lock_chats(self, keys: Collection[tuple[str, int]]) -> set[tuple[str, int]]:
        """Take the locks that are free, in one round trip; the ones taken."""
        if not keys:
            return set()
        ordered = list(keys)
        chats = [k for kind, k in ordered if kind == "chat"]
        updates = [k for kind, k in ordered if kind == "update"]
        raw = self._raw
        if raw is None:
            raise ConnectionError("no coordination connection")
        async with self._use:
            rows = await raw.fetch(
                "SELECT 'chat' AS kind, k FROM unnest($1::bigint[]) AS k"
                " WHERE pg_try_advisory_lock(k)"
                " UNION ALL SELECT 'update', k FROM unnest($2::int[]) AS k"
                " WHERE pg_try_advisory_lock($3, k)",
                chats,
                updates,
                UPDATE_CLASS,
                timeout=QUERY_TIMEOUT,
            )
        return {(str(r["kind"]), int(r["k"])) for r in rows}

    async def unlock(self, keys: Collection[tuple[str, int]]) -> None:
        """Release locks taken by :meth:`lock_chats` (gone anyway if the connection is)."""
        if not keys:
            return
        chats = [k for kind, k in keys if kind == "chat"]
        updates = [k for kind, k in keys if kind == "update"]
        raw = self._raw
        if raw is None:
            return
        try:
            async with self._use:
                await raw.fetch(
                    "SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k"
                    " UNION ALL SELECT pg_advisory_unlock($3, k) FROM unnest($2::int[]) AS k",
                    chats,
                    updates,
                    UPDATE_CLASS,
                    timeout=QUERY_TIMEOUT,
                )
        except Exception as exc:  # the connection died: the locks went with it
            log.warning("releasing chat locks failed: %s", describe_exception(exc))

    # --- wake-ups ------------------------------------------------------------------------

    def notify(self, notice: Notice) -> None:
        """Wake every worker with ``notice`` now (outside any transaction)."""
        if self._raw is None or self._stopping:
            return
        task = asyncio.create_task(self._notify(notice))
        self._notify_tasks.add(task)
        task.add_done_callback(self._notify_tasks.discard)

    async def _notify(self, notice: Notice) -> None:
        try:
            await self._query(notify_sql(notice))
        except Exception as exc:  # the safety-net timers will notice instead
            log.warning("notify %s failed: %s", notice, describe_exception(exc))
