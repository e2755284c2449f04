"""Fixtures for end-to-end tests: the real bot, on SQLite and (marked) on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import drop_postgres_database, make_postgres_database_url
from tests.e2e.harness import RunningBot, running_bot


@pytest.fixture
async def pulso(tmp_path) -> AsyncIterator[RunningBot]:
    """The bot on a fresh SQLite file."""
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as harness:
        yield harness


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def pulso_any_db(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[RunningBot]:
    """The bot on SQLite, then again on PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as harness:
            yield harness
        return
    url, name = await make_postgres_database_url()
    try:
        async with running_bot(url) as harness:
            yield harness
    finally:
        await drop_postgres_database(name)
