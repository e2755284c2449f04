"""Summary benchmark: a round of 1,000,000 answers in the database, summarised.

    python -m benchmarks aggregation                    # SQLite and PostgreSQL, 1,000,000 answers
    python -m benchmarks aggregation --db sqlite --answers 200000

For each database: a fresh database with the Jalisco example plan and one closed
``progress`` round over its 7 commitments × 2 roles, whose answers are
synthetic but shaped like real ones (about 85 % beneficiaries; texts in about
half the responses, a third of the people willing to be quoted; the
conditional question only after a "consulted" or better). They are bulk
loaded: ``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL.
Then, three times with a cold insights service (nothing cached):

* **counts** — :meth:`InsightsRepository.round_counts`, the SQL ``GROUP BY``s;
* **summary** — :meth:`InsightsService.digest`: the counts, every figure, the
  themes and quotes (a sample of the newest 2,000 texts per commitment), the
  comparison with the previous round and the gap — everything the summary says;
* **+ render** — :meth:`InsightsService.summary`: that, as Telegram messages,
  plus the two PNG charts.

The goal is a summary within 2 s on each database. Last, the sentiment
analyser's speed on one core (the labelled regression answers, language
detected per text).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.i18n import translator
from bot.plans import import_plan
from bot.services import Services
from bot.settings import Settings, load_settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade
from bot.storage.schema import instruments, responses, round_targets, rounds
from handlers.results import ResultsView
from pulso.bootstrap import build_services
from surveys.instruments import builtin_instrument
from surveys.loader import load_plan
from surveys.sentiment import get_analyzer

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "surveys/data/plans/jalisco-2016.yaml"
PG_URL = os.environ.get(
    "PULSO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
GOAL_SECONDS = 2.0

# Short civic answers to assemble texts from (a few hundred distinct texts in all).
OPENINGS = [
    "No ha cambiado nada",
    "Ya hay agua potable en la colonia",
    "El registro no sirvió para nada",
    "Nos tomaron en cuenta en las reuniones",
    "Puro anuncio, nada real",
    "Llegó el apoyo pero tarde",
    "La plataforma funciona bien",
    "Nadie respondió a nuestras propuestas",
    "Things have not changed at all",
    "The new register helped me find work",
]
CLOSINGS = [
    "",
    ", sigue igual que antes",
    ", gracias al comité vecinal",
    ", falta información clara",
    ", el pago llega incompleto",
    " and nobody answered",
    ", hay más vigilancia en el parque",
]


@dataclass(frozen=True, slots=True)
class Timing:
    database: str
    answers: int
    responses: int
    load_s: float
    counts_s: list[float]
    summary_s: list[float]
    render_s: list[float]

    @property
    def ok(self) -> bool:
        return min(self.summary_s) <= GOAL_SECONDS


# --- synthetic answers ------------------------------------------------------------------------


def synthetic(
    target: int, commitments: list[str], seed: int = 2016
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(responses, answers) rows: ``target`` answers exactly, shaped like real rounds."""
    rng = random.Random(seed)
    analyzer = get_analyzer()
    texts = [opening + closing for opening in OPENINGS for closing in CLOSINGS]
    labels = {text: analyzer.analyse(text).label for text in texts}
    # Each commitment has its own mood, so the gap and the tone differ between them.
    moods = {c: rng.random() for c in commitments}
    response_rows: list[tuple[Any, ...]] = []
    answer_rows: list[tuple[Any, ...]] = []
    response_id = 0
    while len(answer_rows) < target:
        response_id += 1
        commitment = rng.choice(commitments)
        mood = moods[commitment]
        role = "implementer" if rng.random() < 0.15 else "beneficiary"
        response_rows.append((response_id, commitment, role))
        given: list[tuple[str, str | None, float | None, str | None, bool]] = []

        def scale(
            question: str,
            codes: list[str],
            scores: list[float],
            lean: float,
            given: list[tuple[str, str | None, float | None, str | None, bool]] = given,
        ) -> str:
            index = min(len(codes) - 1, max(0, int(rng.gauss(lean * len(codes), 1.0))))
            given.append((question, codes[index], scores[index], None, False))
            return codes[index]

        if role == "implementer":
            scale(
                "completion",
                ["not_started", "limited", "substantial", "complete"],
                [0.0, 100 / 3, 200 / 3, 100.0],
                0.8,
            )
        scale(
            "change",
            ["worsened", "no_change", "marginal", "major", "outstanding"],
            [0.0, 25.0, 50.0, 75.0, 100.0],
            mood * (1.0 if role == "beneficiary" else 1.4),
        )
        say = scale(
            "say",
            ["none", "informed", "consulted", "proposals", "decided"],
            [0.0, 25.0, 50.0, 75.0, 100.0],
            mood,
        )
        if role == "beneficiary":
            if say in ("consulted", "proposals", "decided"):
                scale("response", ["none", "replied", "acted"], [0.0, 50.0, 100.0], mood)
            scale("trust", ["less", "same", "more"], [0.0, 50.0, 100.0], mood)
        for question, share in (("what_changed", 0.5), ("should_change", 0.3)):
            if rng.random() < share:
                # A number makes every text distinct, as people's are (nothing is cached).
                text = f"{rng.choice(texts)} ({response_id})"
                given.append((question, None, None, text, False))
            else:
                given.append((question, None, None, None, True))
        quote = rng.random()
        if quote < 0.33:
            given.append(("may_quote", "yes", 100.0, None, False))
        elif quote < 0.8:
            given.append(("may_quote", "no", 0.0, None, False))
        else:
            given.append(("may_quote", None, None, None, True))
        for question, choice, score, said, skipped in given:
            if len(answer_rows) == target:
                break
            label = (
                labels[said.rsplit(" (", 1)[0]]
                if said is not None and question == "what_changed"
                else None
            )
            answer_rows.append(
                (response_id, commitment, role, question, choice, score, said, skipped, label)
            )
    return response_rows, answer_rows


# --- loading ---------------------------------------------------------------------------------


async def prepare(db: Database, commitments: list[str]) -> int:
    """The plan, a closed progress round over every commitment and role; its id."""
    await upgrade(db)
    await import_plan(db, load_plan(PLAN), source_file=None, actor=None, now=NOW)
    progress = builtin_instrument("progress")
    async with db.write() as repos:
        pk = (
            await repos.conn.execute(
                sa.select(instruments.c.id).where(
                    instruments.c.instrument_id == progress.id,
                    instruments.c.version == progress.version,
                )
            )
        ).scalar_one()
        round_id = (
            await repos.conn.execute(
                sa.insert(rounds)
                .values(
                    instrument_pk=pk,
                    status="closed",
                    opens_at=NOW - timedelta(days=7),
                    closes_at=NOW,
                    opened_at=NOW - timedelta(days=7),
                    closed_at=NOW,
                    created_at=NOW,
                )
                .returning(rounds.c.id)
            )
        ).scalar_one()
        await repos.conn.execute(
            sa.insert(round_targets),
            [
                {"round_id": round_id, "commitment_id": c, "role": r}
                for c in commitments
                for r in ("beneficiary", "implementer")
            ],
        )
    return int(round_id)


RESPONSE_COLUMNS = [
    "id", "round_id", "participant_id", "commitment_id", "role", "status", "started_at",
    "completed_at", "created_at", "updated_at",
]  # fmt: skip
ANSWER_COLUMNS = [
    "response_id", "round_id", "commitment_id", "role", "question_id", "choice", "score",
    "text", "skipped", "sentiment_label", "answered_at", "updated_at",
]  # fmt: skip


def _sqlite_time(moment: datetime) -> str:
    # What the UTCDateTime column stores on SQLite: naive UTC text.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def load_sqlite(path: Path, round_id: int, rows: tuple[list[Any], list[Any]]) -> None:
    """One transaction of executemany through the sqlite3 module (synchronous, fast)."""
    import sqlite3

    response_rows, answer_rows = rows
    stamp = _sqlite_time(NOW)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        conn.executemany(
            "INSERT INTO responses (id, round_id, participant_id, commitment_id, role, status,"
            " started_at, completed_at, created_at, updated_at)"
            " VALUES (?, ?, NULL, ?, ?, 'completed', ?, ?, ?, ?)",
            ((rid, round_id, c, r, stamp, stamp, stamp, stamp) for rid, c, r in response_rows),
        )
        conn.executemany(
            "INSERT INTO answers (response_id, round_id, commitment_id, role, question_id, choice,"
            " score, text, skipped, sentiment_label, answered_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (rid, round_id, c, r, q, choice, score, text, int(skipped), label, stamp, stamp)
                for rid, c, r, q, choice, score, text, skipped, label in answer_rows
            ),
        )
        conn.execute("ANALYZE")
    conn.close()


async def load_postgresql(db: Database, round_id: int, rows: tuple[list[Any], list[Any]]) -> None:
    """``COPY`` through asyncpg, then ANALYZE and VACUUM so the planner sees the new rows."""
    response_rows, answer_rows = rows
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            "responses",
            columns=RESPONSE_COLUMNS,
            records=[
                (rid, round_id, None, c, r, "completed", NOW, NOW, NOW, NOW)
                for rid, c, r in response_rows
            ],
        )
        await driver.copy_records_to_table(
            "answers",
            columns=ANSWER_COLUMNS,
            records=[
                (rid, round_id, c, r, q, choice, score, text, skipped, label, NOW, NOW)
                for rid, c, r, q, choice, score, text, skipped, label in answer_rows
            ],
        )
        await conn.commit()
    # VACUUM marks pages all-visible, so counting can read the index alone (as autovacuum
    # would shortly after a real round); it cannot run inside a transaction.
    maintenance = Database.from_url(db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        async with maintenance.engine.connect() as conn:
            await conn.exec_driver_sql("VACUUM ANALYZE responses")
            await conn.exec_driver_sql("VACUUM ANALYZE answers")
    finally:
        await maintenance.close()


# --- timing ----------------------------------------------------------------------------------


async def timed(work: Awaitable[object]) -> float:
    start = time.perf_counter()
    await work
    return time.perf_counter() - start


def _fresh(settings: Settings, db: Database) -> Services:
    return build_services(settings, db, ManualClock(NOW), translator())


async def measure(url: str, name: str, answers: int, runs: int) -> Timing:
    commitments = [f"JAL000{n}" for n in range(1, 8)]
    db = Database.from_url(url)
    try:
        round_id = await prepare(db, commitments)
        rows = synthetic(answers, commitments)
        start = time.perf_counter()
        if name == "sqlite":
            path = Path(sa.make_url(url).database or "")
            await asyncio.to_thread(load_sqlite, path, round_id, rows)
        else:
            await load_postgresql(db, round_id, rows)
        load_s = time.perf_counter() - start
        settings = load_settings(None, {"database_url": url, "min_group_size": 5})
        counts_s, summary_s, render_s = [], [], []
        for _ in range(runs):
            async with db.read() as repos:
                counts_s.append(await timed(repos.insights.round_counts(round_id)))
            # A new service each time: nothing computed before is reused.
            summary_s.append(await timed(_fresh(settings, db).insights.digest(round_id)))
            view = ResultsView(_fresh(settings, db))
            render_s.append(await timed(view.summary("es", round_id)))
        async with db.read() as repos:
            total = (
                await repos.conn.execute(sa.select(sa.func.count()).select_from(responses))
            ).scalar_one()
        return Timing(name, len(rows[1]), int(total), load_s, counts_s, summary_s, render_s)
    finally:
        await db.close()


async def run_sqlite(answers: int, runs: int) -> Timing:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'pulso.db'}"
        return await measure(url, "sqlite", answers, runs)


async def run_postgresql(answers: int, runs: int) -> Timing | str:
    name = f"pulso_bench_{uuid.uuid4().hex[:10]}"
    admin = Database.from_url(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # no server: say so in the table instead of failing
        await admin.close()
        return f"PostgreSQL unavailable ({type(exc).__name__})"
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        return await measure(url, "postgresql", answers, runs)
    finally:
        async with admin.engine.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def sentiment_rate(seconds: float = 2.0) -> tuple[float, float]:
    """Texts per second on one core: language detected, and language given."""
    folder = ROOT / "tests" / "unit" / "sentiment"
    texts = [
        line.split("\t", 1)[1]
        for name in ("regression_es.tsv", "regression_en.tsv")
        for line in (folder / name).read_text("utf-8").splitlines()
        if "\t" in line and not line.startswith("#")
    ]
    analyzer = get_analyzer()

    def rate(fn: Callable[[str], object]) -> float:
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for text in texts:
                fn(text)
            done += len(texts)
        return done / (time.perf_counter() - start)

    return rate(analyzer.analyse), rate(lambda text: analyzer.analyse(text, "es"))


# --- the table -------------------------------------------------------------------------------


def _seconds(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f}"


def table(timings: list[Timing | str], rates: tuple[float, float]) -> Iterator[str]:
    yield (
        f"{'database':<12}{'answers':>11}{'responses':>11}{'load s':>9}"
        f"{'counts s':>15}{'summary s':>15}{'+ render s':>15}  goal ≤ 2 s"
    )
    for timing in timings:
        if isinstance(timing, str):
            yield f"{'postgresql':<12}  {timing}"
            continue
        yield (
            f"{timing.database:<12}{timing.answers:>11,}{timing.responses:>11,}"
            f"{timing.load_s:>9.1f}{_seconds(timing.counts_s):>15}"
            f"{_seconds(timing.summary_s):>15}{_seconds(timing.render_s):>15}"
            f"  {'met' if timing.ok else 'MISSED'}"
        )
    yield "(seconds: best / median of the runs; each run with nothing cached)"
    detected, given = rates
    yield ""
    yield f"sentiment, one core: {detected:,.0f} texts/s (language detected), {given:,.0f} (given)"


def machine() -> str:
    free = shutil.which("free")
    memory = (
        subprocess.run([free, "-h"], capture_output=True, text=True, check=False).stdout  # noqa: S603
        if free
        else ""
    )
    total = next((line.split()[1] for line in memory.splitlines() if line.startswith("Mem:")), "?")
    return (
        f"{os.cpu_count()} cores (nproc), {total} memory, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks aggregation", description=__doc__)
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers in the round")
    parser.add_argument(
        "--db", choices=["sqlite", "postgresql", "both"], default="both", help="which database"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per database")
    args = parser.parse_args(argv)

    async def run() -> list[Timing | str]:
        timings: list[Timing | str] = []
        if args.db in ("sqlite", "both"):
            timings.append(await run_sqlite(args.answers, args.runs))
        if args.db in ("postgresql", "both"):
            timings.append(await run_postgresql(args.answers, args.runs))
        return timings

    print(machine(), flush=True)
    timings = asyncio.run(run())
    print("\n".join(table(timings, sentiment_rate())))
    missed = [t for t in timings if isinstance(t, Timing) and not t.ok]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
