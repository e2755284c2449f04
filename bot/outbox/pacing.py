"""Telegram's pace: a token bucket for the send rate, and the backoff between retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Final

BACKOFF_BASE_SECONDS: Final = 1.0
BACKOFF_CAP_SECONDS: Final = 30.0


def seconds_of(value: int | float | timedelta) -> float:
    """``RetryAfter.retry_after`` is an int or, with ``PTB_TIMEDELTA``, a timedelta."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Equal-jitter exponential backoff: half of 1 s, 2 s, 4 s … (capped) plus a random half."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** max(0, attempt - 1))
    jitter: float = (rng or random).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` saved up.

    :meth:`reserve` takes a token, going into debt if none is left, and says how
    long to wait before using it; one caller reserving in turn gets an exact pace.
    """

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def reserve(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def drain(self) -> None:
        """Forget saved-up tokens (after a 429 pause: restart at the steady pace)."""
        self._tokens = min(self._tokens, 0.0)
        self._stamp = self._clock()
