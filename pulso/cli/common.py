"""What every command-line command shares: running a coroutine on an open database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.clock import SystemClock
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade

T = TypeVar("T")


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database (upgraded to the newest schema), run ``work``, close it."""

    async def main() -> T:
        db = Database.from_url(settings.database_url)
        try:
            await upgrade(db)
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())


def say(message: str) -> None:
    """A message for the operator: standard error, so standard output stays data."""
    print(message, file=sys.stderr)


clock = SystemClock()
