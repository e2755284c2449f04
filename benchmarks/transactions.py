"""What the storage layer costs the event loop's core: a statement against a transaction.

    python -m benchmarks transactions                  # SQLite and PostgreSQL
    python -m benchmarks transactions --db sqlite --repeat 5000

The answer path spends more of its CPU on the database than on anything else
(docs/benchmarks.md, "Issue 12, fifth session"). This says how that divides: the same
indexed ``SELECT`` run many times inside one transaction (the cost of a statement), and
transactions of this project's own ``Database`` with nothing, one ``SELECT`` or one claim
of an update in them (the cost of a transaction: a connection from the pool, ``BEGIN``,
the end, the connection back; each a trip to the driver and a greenlet of SQLAlchemy's).
Each figure is CPU time of this process per operation (``time.process_time``: the driver's
thread included, the database server's processes not), over ``--repeat`` operations after
a warm-up, on uvloop as ``pulso run`` is.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import uvloop

from benchmarks._support import fresh_database
from bot.storage.engine import Database
from bot.storage.migrate import upgrade
from bot.storage.schema import inbox

_BY_ID = sa.select(inbox.c.update_id).where(inbox.c.update_id == sa.bindparam("update_id"))


async def _per_operation(repeat: int, operation: Callable[[int], Awaitable[object]]) -> float:
    """Microseconds of this process's CPU per call of ``operation(n)``, after a warm-up."""
    for n in range(min(200, repeat)):
        await operation(-1 - n)
    began = time.process_time()
    for n in range(repeat):
        await operation(n)
    return 1e6 * (time.process_time() - began) / repeat


async def measure(url: str, repeat: int) -> list[tuple[str, float]]:
    db = Database.from_url(url)
    try:
        await upgrade(db)
        rows: list[tuple[str, float]] = []
        async with db.read() as repos:

            async def select(n: int) -> object:
                return (await repos.conn.execute(_BY_ID, {"update_id": n})).first()

            rows.append(
                ("a SELECT, inside an open transaction", await _per_operation(repeat, select))
            )

        async def empty_read(_n: int) -> None:
            async with db.read():
                pass

        async def read_one(n: int) -> None:
            async with db.read() as repos:
                (await repos.conn.execute(_BY_ID, {"update_id": n})).first()

        now = datetime.now(UTC)

        async def claim(n: int) -> None:  # durability "process": no wait for the disk
            async with db.write(durability="process") as repos:
                await repos.updates.claim(10_000_000 + n, now)

        async def claim_durably(n: int) -> None:
            async with db.write() as repos:
                await repos.updates.claim(20_000_000 + n, now)

        rows.append(("an empty read transaction", await _per_operation(repeat, empty_read)))
        rows.append(("a read transaction with one SELECT", await _per_operation(repeat, read_one)))
        rows.append(
            ("a write transaction claiming an update", await _per_operation(repeat, claim))
        )
        rows.append(
            (
                "the same, committed to disk (the answers' durability)",
                await _per_operation(max(1, repeat // 5), claim_durably),
            )
        )
        return rows
    finally:
        await db.close()


async def run(kinds: list[str], repeat: int) -> dict[str, list[tuple[str, float]]]:
    results: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            url, drop = await fresh_database(kind, Path(folder))
            try:
                results[kind] = await measure(url, repeat)
            finally:
                await drop()
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks transactions", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3000, help="operations per figure")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = uvloop.run(run(kinds, args.repeat))
    names = [name for name, _ in next(iter(results.values()))]
    print(f"{'µs of CPU per operation':<56}" + "".join(f"{kind:>12}" for kind in results))
    for index, name in enumerate(names):
        print(f"{name:<56}" + "".join(f"{rows[index][1]:>12.0f}" for rows in results.values()))
    return 0
