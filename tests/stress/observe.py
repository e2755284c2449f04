"""Watching a running bot for what the fuzz and authorisation suites must never see.

* :class:`Observer` attaches to a :class:`~tests.e2e.harness.RunningBot`:
  :meth:`~Observer.settle` returns once every update the emulator holds was
  fetched *and handled* (PTB marks each update done in its ``update_queue``);
  :meth:`~Observer.problems` lists what went wrong since the last call — an
  update that escaped to the error handler (``handling update … failed`` on
  ``pulso.app``), anything PTB logged at ERROR, an emulator bug, and every Bot API
  call the emulator refused except the edits a stale or forged press is allowed
  to miss (the message is gone, unchanged, or not the bot's).
* :func:`snapshot` reads every table, keyed by primary key, and :func:`diff`
  says which rows appeared, vanished or changed between two snapshots.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bot.storage.engine import Database
from bot.storage.schema import metadata, outbox
from botapi_emulator import RequestRecord
from tests.e2e.harness import RunningBot

Row = dict[str, Any]
Snapshot = dict[str, dict[tuple[Any, ...], Row]]

#: Edits may miss: a press on a message that is gone or not the bot's, a double tap.
HARMLESS_EDIT_ERRORS = (
    "message is not modified",
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
)
EDIT_METHODS = frozenset(
    {"editmessagetext", "editmessagereplymarkup", "editmessagecaption", "deletemessage"}
)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def errors_logged(*names: str) -> Iterator[list[logging.LogRecord]]:
    """Collect the ERROR (and worse) records of these loggers while the block runs."""
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


class Observer:
    """Settling and fault-finding for one running bot (see the module docstring)."""

    def __init__(self, pulso: RunningBot) -> None:
        self.pulso = pulso
        # Keep every request until it has been looked at (the default keeps 1,000).
        pulso.emulator.requests = deque(maxlen=None)
        self._handler = _Collect()
        self._loggers = [logging.getLogger(n) for n in ("bot", "handlers", "telegram")]
        for logger in self._loggers:
            logger.addHandler(self._handler)
        self.api_calls = 0
        #: Texts to count when the bot sends them (a message or a button's toast).
        self.watch: frozenset[str] = frozenset()
        self.watched = 0

    def close(self) -> None:
        for logger in self._loggers:
            logger.removeHandler(self._handler)

    async def settle(self, timeout: float = 30.0) -> None:
        """Return once the bot fetched every queued update and finished handling it."""
        await self.pulso.emulator.wait_for_updates_confirmed(timeout=timeout)
        intake = self.pulso.intake
        assert intake is not None
        # Confirmed means stored in the inbox; handled is the dispatcher's to say.
        await intake.dispatcher.idle(timeout)

    async def drain(self, timeout: float = 30.0) -> None:
        """Settle, then wait until the outbox holds nothing due: every message the updates
        owed someone (an invitation to a late joiner, a closing round's summary) was sent
        or given up. The delivery engine is woken and polled: it may not have looked at
        the outbox yet when this is called."""
        services = self.pulso.services
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.settle(timeout)
            await services.delivery.idle(timeout)
            async with services.db.read() as repos:
                due = await repos.conn.execute(
                    sa.select(sa.func.count())
                    .select_from(outbox)
                    .where(
                        outbox.c.status.in_(("pending", "sending")),
                        outbox.c.next_attempt_at <= services.clock.now(),
                    )
                )
            if due.scalar_one() == 0:
                break
            if loop.time() > deadline:
                raise TimeoutError("the outbox still holds messages that are due")
            services.delivery.wake()
            await asyncio.sleep(0.01)
        await self.settle(timeout)

    def problems(self) -> list[str]:
        """What went wrong since the last call (and forget it)."""
        found = [
            f"{r.name}: {r.getMessage()}" for r in self._handler.records if not _tolerated_log(r)
        ]
        self._handler.records.clear()
        emulator = self.pulso.emulator
        found += [f"emulator bug: {e}" for e in emulator.internal_errors]
        emulator.internal_errors.clear()
        requests = emulator.requests
        while requests:
            record = requests.popleft()
            self.api_calls += 1
            if record.ok and record.params.get("text") in self.watch:
                self.watched += 1
            if not record.ok and not harmless(record):
                params = str(record.params)[:200]
                found.append(f"{record.method} -> {record.status} {record.description} {params}")
        return found


def harmless(record: RequestRecord) -> bool:
    """A refused call that is not a fault of the bot's: an edit of a message that is gone
    or unchanged (stale and forged presses), the answer to a forged press, a send to
    someone who blocked the bot (the delivery engine marks them unreachable), a long poll
    cut short."""
    if record.method.lower() == "getupdates":
        return record.status == 409 or record.description is None
    if record.status == 403 and "blocked by the user" in (record.description or ""):
        return True
    if record.method.lower() == "answercallbackquery" and "query ID is invalid" in (
        record.description or ""
    ):
        return True  # a forged press (an id Telegram never issued) answered as stale
    return record.method.lower() in EDIT_METHODS and any(
        text in (record.description or "") for text in HARMLESS_EDIT_ERRORS
    )


def _tolerated_log(record: logging.LogRecord) -> bool:
    # The bot's "could not apologise" follows a failure already reported on its own line.
    return record.name == "pulso.app" and record.getMessage().startswith("could not apologise")


# --- database snapshots ---------------------------------------------------------------------


#: Tables a snapshot leaves out unless asked: bookkeeping every update adds a row to.
UNWATCHED = frozenset({"inbox"})


async def snapshot(db: Database, tables: Iterable[str] | None = None) -> Snapshot:
    """Every row of every table (or of ``tables``; by default all but
    :data:`UNWATCHED`), keyed by primary key.

    One query reads every table, each as a JSON array of rows, so values are as JSON
    has them (instants and JSON columns as text, booleans as 0/1 on SQLite): all a
    comparison needs, and several times faster than a query per table.
    """
    wanted = set(tables) if tables is not None else None
    chosen = [
        t
        for t in metadata.sorted_tables
        if (t.name in wanted if wanted is not None else t.name not in UNWATCHED)
    ]
    async with db.read() as repos:
        dialect = repos.conn.dialect
        quote = dialect.identifier_preparer.quote
        parts = []
        for table in chosen:
            columns = ", ".join(quote(c.name) for c in table.columns)
            if dialect.name == "postgresql":
                rows = f"coalesce(json_agg(json_build_array({columns}))::text, '[]')"
            else:
                rows = f"json_group_array(json_array({columns}))"
            # Every name comes from the schema, quoted: nothing from outside goes in.
            parts.append(f"(SELECT {rows} FROM {quote(table.name)})")  # noqa: S608
        query = "SELECT " + ", ".join(parts)
        (found,) = (await repos.conn.exec_driver_sql(query)).all()
    out: Snapshot = {}
    for table, text in zip(chosen, found, strict=True):
        columns = [c.name for c in table.columns]
        keys = [columns.index(c.name) for c in table.primary_key.columns]
        out[table.name] = {
            tuple(row[i] for i in keys): dict(zip(columns, row, strict=True))
            for row in json.loads(text)
        }
    return out


@dataclass
class TableDiff:
    added: list[Row] = field(default_factory=list)
    removed: list[Row] = field(default_factory=list)
    changed: list[tuple[Row, Row]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def changed_columns(self) -> set[str]:
        return {k for old, new in self.changed for k in old if old[k] != new[k]}


def diff(before: Snapshot, after: Snapshot, *, ignore: Iterable[str] = ()) -> dict[str, TableDiff]:
    """Per table, the rows that appeared, vanished or changed (empty tables left out)."""
    skipped = set(ignore)
    out: dict[str, TableDiff] = {}
    for name in before.keys() | after.keys():
        if name in skipped:
            continue
        old, new = before.get(name, {}), after.get(name, {})
        found = TableDiff(
            added=[new[k] for k in new.keys() - old.keys()],
            removed=[old[k] for k in old.keys() - new.keys()],
            changed=[(old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]],
        )
        if found:
            out[name] = found
    return out


def describe(changes: Mapping[str, TableDiff]) -> str:
    """A short, readable account of a diff for assertion messages."""
    lines = []
    for name, change in sorted(changes.items()):
        lines.append(
            f"{name}: +{len(change.added)} -{len(change.removed)} ~{len(change.changed)}"
            f" (columns {sorted(change.changed_columns())})"
        )
        for row in change.added[:2]:
            lines.append(f"  + {row}")
        for row in change.removed[:2]:
            lines.append(f"  - {row}")
        for old, new in change.changed[:2]:
            lines.append(f"  ~ {old} -> {new}")
    return "\n".join(lines)
