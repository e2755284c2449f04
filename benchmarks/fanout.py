"""Fan-out benchmark: a round to N participants, sent by the real bot to the emulator.

    python -m benchmarks fanout                       # both runs on SQLite, 3,000 people
    python -m benchmarks fanout --db postgresql       # the same on PostgreSQL
    python -m benchmarks fanout --runs paced --window 40
    python -m benchmarks fanout --runs lifted --transport httpx

Two runs, each on a fresh database, with the emulator in a child process so its
CPU is not the bot's:

* **paced**: ``SEND_RATE_PER_SECOND`` at its default (30). The steady-state rate
  is measured over a window (``--window`` seconds, after a short warm-up) and
  reported as a share of the configured rate; the goal is ≥ 0.97.
* **lifted**: the rate set far above what the process can do, so the engine's
  own ceiling shows; the goal is ≥ 1,000 sends/s on a 2-core machine.

Each row also shows the peak resident memory of the bot's process and the
double-send window: the time from Telegram's (the emulator's) answer to the
commit that records the send (p50 / p99 / max), which is what a crash would
have to hit to make a message go out twice.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

EXAMPLE_PLAN = Path(__file__).resolve().parent.parent / "surveys/data/plans/jalisco-2016.yaml"
FIRST_USER = 1_000_001
TOKEN = "123456:FANOUT-BENCHMARK"
PG_URL = os.environ.get(
    "PULSO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


# --- the emulator, in its own process -----------------------------------------------------


def _emulator_main(count: int, conn: Connection) -> None:
    asyncio.run(_emulator(count, conn))


async def _emulator(count: int, conn: Connection) -> None:
    from botapi_emulator import BotApiEmulator

    emulator = BotApiEmulator(token=TOKEN, bot_username="fanout_bot", request_log_size=0)
    await emulator.start()
    for user_id in range(FIRST_USER, FIRST_USER + count):
        emulator.user(user_id, f"P{user_id}", started=True)
    conn.send(emulator.base_url)
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "count":
            per_chat = [
                len(emulator.chat(u).messages) for u in range(FIRST_USER, FIRST_USER + count)
            ]
            conn.send((sum(per_chat), max(per_chat), min(per_chat)))
        else:
            break
    await emulator.stop()


# --- one run -----------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    database: str
    transport: str
    rate: float
    sent: int
    seconds: float
    per_second: float
    ratio: float | None
    peak_rss_mb: float
    per_cpu_second: float
    window_ms: tuple[float, float, float]
    exactly_once: bool


async def _populate(services, count: int) -> None:
    import sqlalchemy as sa

    from bot.plans import import_plan
    from bot.storage.schema import memberships, participants
    from surveys.loader import load_plan

    now = services.clock.now()
    await import_plan(services.db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=now)
    async with services.db.write() as repos:
        await repos.conn.execute(
            sa.insert(participants),
            [
                {
                    "telegram_user_id": u,
                    "chat_id": u,
                    "language": "es",
                    "status": "active",
                    "consented_at": now,
                    "demographics": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for u in range(FIRST_USER, FIRST_USER + count)
            ],
        )
        ids = (await repos.conn.execute(sa.select(participants.c.id))).scalars().all()
        await repos.conn.execute(
            sa.insert(memberships),
            [
                {
                    "participant_id": i,
                    "commitment_id": "JAL0001",
                    "role": "beneficiary",
                    "joined_at": now,
                }
                for i in ids
            ],
        )


async def _run(
    name: str, *, count: int, rate: float, database: str, transport: str, window: float
) -> Result:
    from bot.rounds.service import NewRound
    from bot.settings import load_settings
    from pulso.app import build_application, running

    parent, child = multiprocessing.Pipe()
    emulator = multiprocessing.get_context("spawn").Process(
        target=_emulator_main, args=(count, child)
    )
    emulator.start()
    base_url = parent.recv()
    folder = tempfile.mkdtemp(prefix="pulso-fanout-")
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{folder}/pulso.db"
        drop = None
    else:
        url, drop = await _postgres_database()
    settings = load_settings(
        env_file=None,
        overrides={
            "telegram_bot_token": TOKEN,
            "telegram_api_base_url": base_url,
            "database_url": url,
            "send_rate_per_second": rate,
            "quiet_hours": "off",
            "pseudonym_secret": "fanout-benchmark-secret-0123456789",
        },
    )
    if transport == "httpx":
        # "Before": PTB's default transport, in place of bot/transport.py's.
        from telegram.request import HTTPXRequest

        import pulso.app

        def httpx_request(connection_pool_size: int = 256) -> HTTPXRequest:
            return HTTPXRequest(connection_pool_size=connection_pool_size)

        # pulso.app imports the transport by name: replace that name where it is used.
        pulso.app.AiohttpRequest = httpx_request  # type: ignore[attr-defined,assignment]
    application = build_application(settings)
    try:
        async with running(application) as services:
            await _populate(services, count)
            engine = services.delivery
            began = time.perf_counter()
            await services.rounds.create(
                NewRound(
                    instrument_id="pulse",
                    commitment_ids=("JAL0001",),
                    roles=("beneficiary",),
                    opens_at=services.clock.now(),
                    duration=timedelta(days=7),
                ),
                actor=None,
            )
            warm_up = min(2.0, window / 10)
            # (wall time, this process's CPU time — every thread —, messages sent so far)
            samples: list[tuple[float, float, int]] = []
            deadline = began + (warm_up + window if window else 3600)
            while engine.stats.settled < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
                samples.append((time.perf_counter(), time.process_time(), engine.stats.sent))
            if window:
                inside = [x for x in samples if x[0] >= began + warm_up]
            else:
                inside = [x for x in samples if x[2] > 0]
            (t0, c0, n0), (t1, c1, n1) = inside[0], inside[-1]
            seconds, cpu, sent = t1 - t0, c1 - c0, n1 - n0
            windows = sorted(engine.stats.window)
            if not window:
                await engine.idle(timeout=60)
        # Stopped (a paced run, mid fan-out): every outcome committed, the rest released.
        total_sent = engine.stats.sent
        parent.send("count")
        received, most, _ = parent.recv()
    finally:
        parent.send("stop")
        emulator.join(10)
        if drop is not None:
            await drop()
    per_second = sent / seconds if seconds > 0 else 0.0
    return Result(
        name=name,
        database=database,
        transport=transport,
        rate=rate,
        sent=sent,
        seconds=seconds,
        per_second=per_second,
        ratio=per_second / rate if name == "paced" else None,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        per_cpu_second=sent / cpu if cpu > 0 else 0.0,
        window_ms=(
            1000 * statistics.median(windows),
            1000 * windows[int(len(windows) * 0.99) - 1],
            1000 * windows[-1],
        ),
        exactly_once=received == total_sent and most == 1,
    )


async def _postgres_database() -> tuple[str, Callable[[], Awaitable[None]]]:
    import uuid

    import sqlalchemy as sa

    from bot.storage.engine import Database

    name = f"pulso_fanout_{uuid.uuid4().hex[:8]}"
    admin = Database.from_url(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.close()
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    async def drop() -> None:
        admin = Database.from_url(PG_URL, isolation_level="AUTOCOMMIT")
        async with admin.engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.close()

    return url, drop


def _one(name: str, args: argparse.Namespace) -> Result:
    """Each run in a fresh interpreter, so peak memory is the run's own."""
    import subprocess

    command = [
        sys.executable,
        "-m",
        "benchmarks.fanout",
        "--single",
        name,
        "--count",
        str(args.count),
        "--db",
        args.db,
        "--transport",
        args.transport,
        "--window",
        str(args.window),
        "--lifted-rate",
        str(args.lifted_rate),
    ]
    # Our own interpreter and module, with arguments argparse already checked.
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    values = done.stdout.strip().splitlines()[-1].split("\t")
    return Result(
        name=values[0],
        database=values[1],
        transport=values[2],
        rate=float(values[3]),
        sent=int(values[4]),
        seconds=float(values[5]),
        per_second=float(values[6]),
        ratio=None if values[7] == "-" else float(values[7]),
        peak_rss_mb=float(values[8]),
        window_ms=(float(values[9]), float(values[10]), float(values[11])),
        exactly_once=values[12] == "yes",
        per_cpu_second=float(values[13]),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks fanout", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=3000, help="participants (default 3000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--runs", choices=["both", "paced", "lifted"], default="both")
    parser.add_argument(
        "--window", type=float, default=40.0, help="paced: seconds measured (default 40)"
    )
    parser.add_argument("--lifted-rate", type=float, default=10_000.0, help="lifted: the rate set")
    parser.add_argument("--single", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:
        paced = args.single == "paced"
        result = asyncio.run(
            _run(
                args.single,
                count=args.count,
                rate=30.0 if paced else args.lifted_rate,
                database=args.db,
                transport=args.transport,
                window=args.window if paced else 0.0,
            )
        )
        ratio = f"{result.ratio:.3f}" if result.ratio is not None else "-"
        print(
            "\t".join(
                str(v)
                for v in (
                    result.name,
                    result.database,
                    result.transport,
                    result.rate,
                    result.sent,
                    f"{result.seconds:.3f}",
                    f"{result.per_second:.1f}",
                    ratio,
                    f"{result.peak_rss_mb:.0f}",
                    *(f"{w:.2f}" for w in result.window_ms),
                    "yes" if result.exactly_once else "NO",
                    f"{result.per_cpu_second:.0f}",
                )
            )
        )
        return 0
    names = ["paced", "lifted"] if args.runs == "both" else [args.runs]
    results = [_one(name, args) for name in names]
    print(
        f"{'run':<8}{'db':<12}{'transport':<10}{'rate set':>10}{'sent':>7}{'seconds':>9}"
        f"{'sent/s':>9}{'÷ rate':>8}{'per CPU-s':>10}{'peak RSS':>10}"
        f"{'window p50/p99/max ms':>24}{'once':>6}"
    )
    for r in results:
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else "—"
        window = "/".join(f"{w:.1f}" for w in r.window_ms)
        print(
            f"{r.name:<8}{r.database:<12}{r.transport:<10}{r.rate:>10,.0f}{r.sent:>7}"
            f"{r.seconds:>9.1f}{r.per_second:>9,.0f}{ratio:>8}{r.per_cpu_second:>10,.0f}"
            f"{r.peak_rss_mb:>8.0f}MB"
            f"{window:>24}{'yes' if r.exactly_once else 'NO':>6}"
        )
    return 0 if all(r.exactly_once for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
