"""Fixtures shared by every suite: databases (SQLite file and PostgreSQL schema) and clocks.

Storage tests take the ``db`` fixture and so run twice, once on a SQLite file
in ``tmp_path`` and once on the PostgreSQL server (each test in a schema of its
own, dropped afterwards). Without a reachable PostgreSQL the second run is
skipped, unless ``CI`` is set: then it fails, so CI cannot go green on SQLite alone.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.storage.engine import Database
from bot.storage.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "PULSO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

_postgres_error: str | None = None
_postgres_checked = False


async def _probe_postgres() -> str | None:
    engine = Database.from_url(POSTGRES_URL)
    try:
        async with engine.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not available"
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.close()
    return None


async def postgres_unavailable() -> str | None:
    global _postgres_checked, _postgres_error
    if not _postgres_checked:
        _postgres_error = await _probe_postgres()
        _postgres_checked = True
    return _postgres_error


async def require_postgres() -> None:
    error = await postgres_unavailable()
    if error is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({error})"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must test both databases")
    pytest.skip(message)


async def make_postgres_database() -> tuple[Database, str]:
    """A Database whose search path is a fresh schema; returns it and the schema name."""
    await require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = Database.from_url(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.close()
    db = Database.from_url(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    return db, schema


async def drop_postgres_schema(schema: str) -> None:
    admin = Database.from_url(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.close()


async def make_postgres_database_url() -> tuple[str, str]:
    """A fresh, empty PostgreSQL database for a whole running bot; returns (url, name)."""
    await require_postgres()
    name = f"pulso_t_{uuid.uuid4().hex[:12]}"
    admin = Database.from_url(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.close()
    url = sa.make_url(POSTGRES_URL).set(database=name)
    return url.render_as_string(hide_password=False), name


async def drop_postgres_database(name: str) -> None:
    admin = Database.from_url(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.close()


async def terminate_backend_where(db: Database, condition: str, **params: object) -> None:
    """Wait until a PostgreSQL backend matches ``condition`` (SQL over
    ``pg_stat_activity``), then end it as an administrator, a restart or a failover would."""
    where = f"{condition} AND pid <> pg_backend_pid()"
    statement = sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}")  # noqa: S608 - the tests' own SQL
    for _ in range(500):
        async with db.engine.connect() as conn:
            ended = await conn.execute(statement, params)
            if ended.first() is not None:
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no backend matched {condition!r} {params}")


DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=DATABASES)
async def empty_db(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Database]:
    """A database with no tables yet, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}")
        yield db
        await db.close()
        return
    db, schema = await make_postgres_database()
    try:
        yield db
    finally:
        await db.close()
        await drop_postgres_schema(schema)


@pytest.fixture
async def db(empty_db: Database) -> Database:
    """A migrated database, on SQLite or PostgreSQL."""
    await upgrade(empty_db)
    return empty_db


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


#: Under pytest-xdist, the stress figures the workers' tests counted (see
#: tests/stress/conftest.py), gathered here in the controller from the reports.
_WORKER_FIGURES: list[tuple[str, int, bool | None]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for key, value in report.user_properties:
        if key == "stress_figures":
            _WORKER_FIGURES.extend((str(n), int(c), w) for n, c, w in value)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many database-backed tests ran on each database, so CI shows both did."""
    if _WORKER_FIGURES:
        from tests.stress.conftest import STRESS_FULL, STRESS_SEED, StressFigures

        figures = StressFigures()
        figures.merge(_WORKER_FIGURES)
        form = "full" if STRESS_FULL else "short"
        terminalreporter.write_sep("-", f"stress ({form}, seed {STRESS_SEED}): {figures.line()}")
    counts: dict[str, int] = {"sqlite": 0, "postgresql": 0}
    for report in terminalreporter.stats.get("passed", []):
        if report.when != "call":
            continue
        for database in counts:
            if f"[{database}" in report.nodeid or f"-{database}]" in report.nodeid:
                counts[database] += 1
    skipped = sum(
        1 for report in terminalreporter.stats.get("skipped", []) if "postgresql" in report.nodeid
    )
    terminalreporter.write_sep(
        "-",
        f"database tests passed: {counts['sqlite']} on SQLite, {counts['postgresql']} on "
        f"PostgreSQL ({skipped} PostgreSQL runs skipped)",
    )
    from tests.e2e import nginx

    if nginx.skipped:
        terminalreporter.write_sep(
            "-", f"nginx tests skipped ({len(nginx.skipped)}): {nginx.skipped[0]}"
        )
