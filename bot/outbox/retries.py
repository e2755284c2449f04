"""Retry what Telegram failed for a moment, for every request except the delivery engine's.

A reply to an update (the next question, a confirmation, an edit retiring old
buttons) used to fail at the first 429, 5xx or read timeout: the handler raised,
the error handler apologised, and the person was left with stale buttons whose
answer was already stored. :class:`TransientRetries` is installed as PTB's rate
limiter (``ApplicationBuilder.rate_limiter``), which PTB calls for every request
but ``getUpdates``; it throttles nothing and retries:

=====================  ========================================================
``RetryAfter`` (429)   after ``retry_after`` (at most :data:`MAX_RETRY_AFTER` s)
``TimedOut``           at once (the wait already took the read timeout)
other ``NetworkError`` after 0.5 s, 1 s, 2 s, 4 s … (a 5xx, a reset connection)
=====================  ========================================================

at most :data:`MAX_RETRIES` times; anything else (400, 403 …) is raised at once.
A timed-out request may have been performed: its retry may then send a reply
twice (the journey refuses the older copy's buttons), and an edit or a callback
answer that was already applied fails with a 400 that is taken as success.

The delivery engine (:mod:`bot.outbox.engine`) has its own policy — a 429 pauses
every send, failures are retried from the outbox — so its send tasks set
:data:`ENGINE_REQUEST` and pass straight through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram._utils.types import JSONDict
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.logs import describe_exception

log = logging.getLogger(__name__)

MAX_RETRIES = 5
MAX_RETRY_AFTER = 30.0
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0)
#: Set in the delivery engine's send tasks: their requests are not retried here.
ENGINE_REQUEST: ContextVar[bool] = ContextVar("pulso_engine_request", default=False)
#: A 400 to answerCallbackQuery for a press Telegram no longer knows.
_QUERY_GONE = ("query is too old", "query id is invalid")
#: 400s that mean "already done" when a timed-out request is repeated.
_ALREADY_DONE = ("message is not modified", "query is too old", "query id is invalid")

Result = bool | JSONDict | list[JSONDict]


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TransientRetries(BaseRateLimiter[None]):
    """PTB's rate-limiter hook used to retry transient failures (module docstring)."""

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        if ENGINE_REQUEST.get() or endpoint.lower() == "getupdates":
            # The delivery engine and the poller (bot/intake/polling.py) have policies of
            # their own; a poll retried here would only hide a failing Telegram.
            return await callback(*args, **kwargs)
        timed_out = False
        for attempt in range(MAX_RETRIES + 1):
            last = attempt == MAX_RETRIES
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                if last or wait > MAX_RETRY_AFTER:
                    raise
            except TimedOut:
                if last:
                    raise
                timed_out, wait = True, 0.0
            except BadRequest as exc:
                if timed_out and exc.message.lower().startswith(_ALREADY_DONE):
                    return True  # the timed-out attempt did it
                if endpoint.lower() == "answercallbackquery" and exc.message.lower().startswith(
                    _QUERY_GONE
                ):
                    # Telegram no longer knows the press (answered, expired, or forged):
                    # the toast is moot, and the press itself was handled or refused.
                    log.debug("%s: %s", endpoint, exc.message)
                    return True
                raise
            except NetworkError as exc:
                if last:
                    raise
                wait = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
                log.debug("%s: %s; again in %.1f s", endpoint, describe_exception(exc), wait)
            log.info(
                "%s failed for a moment; trying again (%d of %d)",
                endpoint,
                attempt + 1,
                MAX_RETRIES,
            )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
