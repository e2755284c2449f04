"""Fault injection: what can go wrong between a bot and Telegram, on purpose.

``emu.faults`` is a :class:`FaultInjector`. Kinds of fault, and the key under which
each injected one is counted in :attr:`FaultInjector.injected`:

==============  =====================================================================
``"429"``       ``429 Too Many Requests: retry after N`` with ``parameters.retry_after``
``"5xx"``       a 5xx answer (502 unless configured)
``"timeout"``   the request is held longer than the client waits, then answered 502;
                it is *not* applied (nothing is sent)
``"lost"``      the request *is* applied, then the answer is held the same way, so the
                client times out on a message that was in fact delivered
``"latency"``   a delay added before the request is handled
``"flood"``     a 429 from the flood limits (:meth:`FaultInjector.flood_limits`)
``"get_updates"`` a failed ``getUpdates`` (:meth:`FaultInjector.fail_get_updates`)
==============  =====================================================================

Random faults (:meth:`FaultInjector.configure`) apply to the methods in ``methods``
(by default the ones that send or change messages) and are drawn from a
``random.Random(seed)``, so a run is reproducible. Scripted faults
(:meth:`FaultInjector.fail_next`) hit the next N calls of one method. A 429, 5xx or
timeout answer never performs the call. Example::

    emu.faults.configure(seed=1, rate_429=0.2, retry_after=1, latency=(0.0, 0.05))
    emu.faults.fail_next("sendMessage", kind="5xx")
    emu.faults.fail_get_updates(count=3)
    emu.faults.clear()
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["DEFAULT_FAULT_METHODS", "FaultDecision", "FaultInjector"]

DEFAULT_FAULT_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)
FLOOD_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
FAULT_KINDS = ("429", "5xx", "timeout", "lost")


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: delay it, then maybe fail it (``kind``)."""

    latency: float = 0.0
    kind: str | None = None  # one of FAULT_KINDS, or None to handle normally
    retry_after: int = 0
    status: int = 502
    hold: float = 0.0
    counted_as: str = ""


@dataclass(slots=True)
class _Scripted:
    kind: str
    remaining: int
    retry_after: int
    status: int
    hold: float


@dataclass(slots=True)
class _Window:
    limit: float
    period: float
    stamps: deque[float]

    def admit(self, now: float) -> int:
        """0 if a request fits in the window (and count it), else seconds to wait."""
        stamps = self.stamps
        while stamps and stamps[0] <= now - self.period:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return max(1, math.ceil(stamps[0] + self.period - now))
        stamps.append(now)
        return 0


class FaultInjector:
    """Decides, per request, whether to delay or fail it. See the module docstring."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.injected: Counter[str] = Counter()
        self.clear()

    def clear(self) -> None:
        """Remove every configured fault (the counts in ``injected`` are kept)."""
        self._rng = random.Random(0)
        self._methods: frozenset[str] = DEFAULT_FAULT_METHODS
        self._rate_429 = 0.0
        self._retry_after = 1
        self._rate_5xx = 0.0
        self._status_5xx = 502
        self._rate_timeout = 0.0
        self._rate_lost = 0.0
        self._hold = 10.0
        self._latency: tuple[float, float] | None = None
        self._scripted: dict[str, deque[_Scripted]] = {}
        self._get_updates_count = 0
        self._get_updates_until = 0.0
        self._get_updates_status = 502
        self._flood_global: _Window | None = None
        self._flood_chat: tuple[float, float] | None = None
        self._flood_group: tuple[float, float] | None = None
        self._flood_windows: dict[str, _Window] = {}
        self._random_active = False
        self._active = False

    def reset_counts(self) -> None:
        """Zero the ``injected`` counters."""
        self.injected.clear()

    def configure(
        self,
        *,
        seed: int | None = None,
        rate_429: float = 0.0,
        retry_after: int = 1,
        rate_5xx: float = 0.0,
        status_5xx: int = 502,
        rate_timeout: float = 0.0,
        rate_lost: float = 0.0,
        hold: float = 10.0,
        latency: float | tuple[float, float] | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Set random faults for the methods in ``methods`` (names, any case).

        ``rate_*`` are shares of matching requests (their sum at most 1) answered with
        that fault; ``hold`` is how long a ``timeout``/``lost`` request is held (make
        it longer than the client's read timeout); ``latency`` a fixed delay or a
        ``(low, high)`` uniform range in seconds. ``methods=None`` means
        :data:`DEFAULT_FAULT_METHODS`; ``methods={"*"}`` means every method.
        """
        total = rate_429 + rate_5xx + rate_timeout + rate_lost
        if not 0.0 <= total <= 1.0 or min(rate_429, rate_5xx, rate_timeout, rate_lost) < 0:
            raise ValueError("fault rates must be >= 0 and add up to at most 1")
        if not 500 <= status_5xx <= 599:
            raise ValueError("status_5xx must be a 5xx status")
        self._rng = random.Random(seed)
        self._rate_429 = rate_429
        self._retry_after = retry_after
        self._rate_5xx = rate_5xx
        self._status_5xx = status_5xx
        self._rate_timeout = rate_timeout
        self._rate_lost = rate_lost
        self._hold = hold
        if isinstance(latency, int | float):
            latency = (float(latency), float(latency))
        self._latency = latency
        self._methods = (
            DEFAULT_FAULT_METHODS if methods is None else frozenset(m.lower() for m in methods)
        )
        self._random_active = total > 0 or latency is not None
        self._refresh()

    def fail_next(
        self,
        method: str,
        *,
        count: int = 1,
        kind: str = "429",
        retry_after: int = 1,
        status: int = 502,
        hold: float = 10.0,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with a fault of ``kind``
        (``"429"``, ``"5xx"``, ``"timeout"`` or ``"lost"``), before any random fault."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, not {kind!r}")
        queue = self._scripted.setdefault(method.lower(), deque())
        queue.append(_Scripted(kind, count, retry_after, status, hold))
        self._refresh()

    def fail_get_updates(
        self, *, count: int | None = None, seconds: float | None = None, status: int = 502
    ) -> None:
        """Answer ``getUpdates`` with ``status`` (502) for the next ``count`` calls
        and/or for the next ``seconds`` seconds."""
        if count is None and seconds is None:
            raise ValueError("give count, seconds or both")
        self._get_updates_count = count or 0
        self._get_updates_until = self._clock() + seconds if seconds is not None else 0.0
        self._get_updates_status = status
        self._refresh()

    def flood_limits(
        self,
        *,
        global_per_second: float | None = 30,
        per_chat_per_second: float | None = None,
        per_group_per_minute: float | None = 20,
    ) -> None:
        """Answer 429 like Telegram's flood control when sends exceed these rates.

        Counts ``sendMessage``/``sendPhoto``/``sendDocument`` in sliding windows: all
        chats together per second, each private chat per second, each group or
        channel (negative chat id) per minute. ``None`` disables a limit.
        """
        self._flood_global = (
            _Window(global_per_second, 1.0, deque()) if global_per_second else None
        )
        self._flood_chat = (per_chat_per_second, 1.0) if per_chat_per_second else None
        self._flood_group = (per_group_per_minute, 60.0) if per_group_per_minute else None
        self._flood_windows = {}
        self._refresh()

    def _refresh(self) -> None:
        self._active = bool(
            self._random_active
            or self._scripted
            or self._get_updates_count
            or self._get_updates_until
            or self._flood_global
            or self._flood_chat
            or self._flood_group
        )

    @property
    def active(self) -> bool:
        """Whether any fault is configured."""
        return self._active

    def decide(self, method: str, chat_key: str | None = None) -> FaultDecision | None:
        """The fault for one request to ``method`` (lower case), or None. Counts it."""
        if not self._active:
            return None
        if method == "getupdates" and (self._get_updates_count or self._get_updates_until):
            decision = self._decide_get_updates()
            if decision is not None:
                return decision
        scripted = self._scripted.get(method)
        if scripted:
            entry = scripted[0]
            entry.remaining -= 1
            if entry.remaining <= 0:
                scripted.popleft()
                if not scripted:
                    del self._scripted[method]
                    self._refresh()
            self.injected[entry.kind] += 1
            return FaultDecision(
                kind=entry.kind,
                retry_after=entry.retry_after,
                status=entry.status,
                hold=entry.hold,
                counted_as=entry.kind,
            )
        if method in FLOOD_METHODS and chat_key is not None:
            wait = self._flood_wait(chat_key)
            if wait:
                self.injected["flood"] += 1
                return FaultDecision(kind="429", retry_after=wait, counted_as="flood")
        if not self._random_active or (method not in self._methods and "*" not in self._methods):
            return None
        return self._decide_random()

    def _decide_get_updates(self) -> FaultDecision | None:
        failing = False
        if self._get_updates_count > 0:
            self._get_updates_count -= 1
            failing = True
        if self._get_updates_until:
            if self._clock() < self._get_updates_until:
                failing = True
            else:
                self._get_updates_until = 0.0
        if not failing:
            self._refresh()
            return None
        self.injected["get_updates"] += 1
        return FaultDecision(kind="5xx", status=self._get_updates_status, counted_as="get_updates")

    def _flood_wait(self, chat_key: str) -> int:
        now = self._clock()
        per_chat = self._flood_group if chat_key.startswith(("-", "@")) else self._flood_chat
        if per_chat is not None:
            window = self._flood_windows.get(chat_key)
            if window is None:
                window = self._flood_windows[chat_key] = _Window(per_chat[0], per_chat[1], deque())
            # Check without counting first, so a refusal elsewhere does not use up the slot.
            stamps = window.stamps
            while stamps and stamps[0] <= now - window.period:
                stamps.popleft()
            if len(stamps) >= window.limit:
                return max(1, math.ceil(stamps[0] + window.period - now))
        if self._flood_global is not None:
            wait = self._flood_global.admit(now)
            if wait:
                return wait
        if per_chat is not None:
            self._flood_windows[chat_key].stamps.append(now)
        return 0

    def _decide_random(self) -> FaultDecision | None:
        rng = self._rng
        latency = 0.0
        if self._latency is not None:
            low, high = self._latency
            latency = rng.uniform(low, high)
            if latency > 0:
                self.injected["latency"] += 1
        draw = rng.random()
        kind: str | None = None
        threshold = self._rate_timeout
        if draw < threshold:
            kind = "timeout"
        elif draw < (threshold := threshold + self._rate_lost):
            kind = "lost"
        elif draw < (threshold := threshold + self._rate_429):
            kind = "429"
        elif draw < threshold + self._rate_5xx:
            kind = "5xx"
        if kind is None and latency <= 0:
            return None
        if kind is not None:
            self.injected[kind] += 1
        return FaultDecision(
            latency=latency,
            kind=kind,
            retry_after=self._retry_after,
            status=self._status_5xx,
            hold=self._hold,
            counted_as=kind or "latency",
        )
