"""Long polling into the inbox: fetch a batch, store it, only then confirm it.

Telegram confirms a batch of ``getUpdates`` when the next call asks for a
higher ``offset``. PTB's updater asks as soon as it has queued the batch in
memory, so updates fetched but not yet handled die with the process. Here the
next call is made only once the batch is committed to the inbox: a crash
before that gets the same batch again (stored once: ``update_id`` is the key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.clock import Clock
from bot.logs import describe_exception
from bot.storage.engine import Database
from bot.storage.repositories.machinery import InboxItem

log = logging.getLogger(__name__)

#: Seconds Telegram holds a getUpdates open when there is nothing to send.
LONG_POLL_SECONDS: Final = 10
#: Waits after a failed getUpdates, growing to the last.
RETRY_DELAYS: Final = (0.1, 0.25, 0.5, 1.0, 2.0)


def _retry_delay(failures: int) -> float:
    """The pause before trying again after ``failures`` failures in a row."""
    return RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]


class Poller:
    """Fetches updates with long polling into the inbox (see the module docstring)."""

    def __init__(
        self,
        *,
        bot: Bot,
        db: Database,
        clock: Clock,
        stored: Callable[[list[InboxItem]], None],
        allowed_updates: Sequence[str],
        timeout: float = LONG_POLL_SECONDS,
    ) -> None:
        self.bot = bot
        self.db = db
        self.clock = clock
        self.stored = stored
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self.offset: int | None = None
        self.fetched = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # Webhook and long polling exclude each other; polling wins when asked for.
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._run(), name="pulso-poller")

    async def stop(self) -> None:
        """Stop asking; a batch being stored is stored first (cancellation waits for the
        commit: the write is shielded)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                batch = await self._fetch()
            except asyncio.CancelledError:
                raise
            except (InvalidToken, Conflict) as exc:  # nothing a retry would change soon
                log.error("getUpdates refused: %s", describe_exception(exc))
                await asyncio.sleep(RETRY_DELAYS[-1])
                continue
            except (TelegramError, OSError) as exc:
                delay = _retry_delay(failures)
                failures += 1
                log.warning(
                    "getUpdates failed (%s); again in %.1f s", describe_exception(exc), delay
                )
                await asyncio.sleep(delay)
                continue
            if batch:
                try:
                    # Shielded: a stop during the commit lets it finish, so the batch is
                    # stored before this process stops asking (and so confirming).
                    await asyncio.shield(self._store(batch))
                except SQLAlchemyError as exc:
                    # Not stored, so not confirmed: the offset stays, and the next
                    # getUpdates brings the same batch back. Polling must outlive the
                    # database's bad moments (a restart, a lock held too long, a full disk).
                    delay = _retry_delay(failures)
                    failures += 1
                    log.error(
                        "storing %d update(s) failed (%s); again in %.1f s",
                        len(batch),
                        describe_exception(exc),
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
            failures = 0

    async def _fetch(self) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "timeout": self.timeout,
            "allowed_updates": self.allowed_updates,
        }
        if self.offset is not None:
            params["offset"] = self.offset
        # The raw JSON, stored as it came: no Update objects built here. Bot API method
        # names are case-insensitive; this spelling is not PTB's, which would warn.
        found = await self.bot.do_api_request(
            "GetUpdates", api_kwargs=params, read_timeout=self.timeout + 10
        )
        return [dict(update) for update in found or ()]

    async def _store(self, batch: list[dict[str, Any]]) -> None:
        async with self.db.write() as repos:
            new = await repos.updates.store(batch, self.clock.now())
        self.offset = max(int(update["update_id"]) for update in batch) + 1
        self.fetched += len(batch)
        log.debug("stored %d update(s) in the inbox (%d new)", len(batch), len(new))
        self.stored(new)
