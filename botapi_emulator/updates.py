"""The update queue behind ``getUpdates``, with Telegram's long-polling rules.

* Every update gets the next ``update_id``; updates wait in ``pending`` until the
  bot confirms them by calling ``getUpdates`` with an ``offset`` greater than their
  id (a negative offset keeps only the last ``-offset`` updates).
* ``getUpdates`` with ``timeout`` > 0 and nothing pending waits until an update
  arrives (answering at once) or the timeout passes (answering ``[]``).
* A second ``getUpdates`` while one is waiting ends the first with
  ``409 Conflict: terminated by other getUpdates request`` — as Telegram does when
  two bot instances poll.
* ``allowed_updates`` is remembered between calls; by default every kind except
  ``chat_member``, ``message_reaction`` and ``message_reaction_count`` is delivered.
  Updates of other kinds are dropped when reached.
* :meth:`UpdateQueue.redeliver` puts an update back with the *same* id, as Telegram
  does for updates a crashed bot never confirmed. Because a running bot's offset is
  already past that id, a redelivered update is exempt from confirmation until it
  has been handed out once more.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botapi_emulator.errors import ApiError

__all__ = ["DEFAULT_EXCLUDED_KINDS", "UpdateQueue", "update_kind"]

JSONDict = dict[str, Any]

DEFAULT_EXCLUDED_KINDS = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_WOKEN_BY_UPDATE = "update"
_WOKEN_BY_CONFLICT = "conflict"
_WOKEN_BY_CLOSE = "close"


def update_kind(update: JSONDict) -> str:
    """The kind of an update: its first key other than ``update_id``."""
    for key in update:
        if key != "update_id":
            return key
    return ""


@dataclass(slots=True)
class _Pending:
    update_id: int
    kind: str
    payload: JSONDict
    forced: bool = False
    dropped: bool = False


class UpdateQueue:
    """Pending updates, their confirmation by offset, and long polling."""

    def __init__(
        self,
        *,
        first_update_id: int = 1,
        history_limit: int = 100_000,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.next_update_id = first_update_id
        self.allowed: frozenset[str] | None = None
        self.delivered = 0  # updates handed out by getUpdates (redeliveries included)
        self._pending: list[_Pending] = []
        self._history: OrderedDict[int, JSONDict] = OrderedDict()
        self._history_limit = history_limit
        self._waiter: asyncio.Future[str] | None = None
        self._closed = False
        self._on_change = on_change
        #: Called when an update is queued (the webhook pusher, :mod:`.webhook`).
        self.on_push: Callable[[], None] | None = None

    @property
    def pending_count(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self._pending)

    def pending_ids(self) -> list[int]:
        """The ids of the updates not yet confirmed, in order."""
        return [p.update_id for p in self._pending]

    def get(self, update_id: int) -> JSONDict | None:
        """A past update by id (the last ``history_limit`` are kept)."""
        return self._history.get(update_id)

    def push(self, update: JSONDict) -> JSONDict:
        """Assign the next ``update_id`` to a copy of ``update`` and queue it."""
        update_id = self.next_update_id
        self.next_update_id += 1
        payload = {"update_id": update_id}
        payload.update((k, v) for k, v in update.items() if k != "update_id")
        self._history[update_id] = payload
        if len(self._history) > self._history_limit:
            self._history.popitem(last=False)
        self._pending.append(_Pending(update_id, update_kind(payload), payload))
        self._wake(_WOKEN_BY_UPDATE)
        if self.on_push is not None:
            self.on_push()
        return payload

    def redeliver(self, update_id: int) -> JSONDict:
        """Queue an already delivered update again, keeping its ``update_id``."""
        payload = self._history.get(update_id)
        if payload is None:
            raise KeyError(f"update {update_id} is unknown or too old to redeliver")
        index = bisect.bisect_left(self._pending, update_id, key=lambda p: p.update_id)
        if index < len(self._pending) and self._pending[index].update_id == update_id:
            self._pending[index].forced = True
        else:
            self._pending.insert(index, _Pending(update_id, update_kind(payload), payload, True))
        self._wake(_WOKEN_BY_UPDATE)
        if self.on_push is not None:
            self.on_push()
        return payload

    def pending_payloads(self) -> list[tuple[int, JSONDict]]:
        """The pending updates a webhook would be sent, in order (kinds not allowed are
        dropped, as ``getUpdates`` drops them)."""
        kept = [p for p in self._pending if self._is_allowed(p.kind)]
        if len(kept) != len(self._pending):
            self._pending = kept
        return [(p.update_id, p.payload) for p in kept]

    def confirm_one(self, update_id: int) -> None:
        """A webhook answered 200 for this update: it leaves the queue."""
        index = bisect.bisect_left(self._pending, update_id, key=lambda p: p.update_id)
        if index < len(self._pending) and self._pending[index].update_id == update_id:
            del self._pending[index]
            self.delivered += 1
            if self._on_change is not None:
                self._on_change()

    def confirm(self, offset: int) -> None:
        """Forget updates as ``getUpdates(offset=...)`` does."""
        if offset == 0 or not self._pending:
            return
        if offset > 0:
            cut = bisect.bisect_left(self._pending, offset, key=lambda p: p.update_id)
        else:
            cut = max(len(self._pending) + offset, 0)
        if cut == 0:
            return
        kept = [p for p in self._pending[:cut] if p.forced]
        del self._pending[:cut]
        if kept:
            self._pending[:0] = kept
        if self._on_change is not None:
            self._on_change()

    def drop_pending(self) -> None:
        """Forget every pending update (``deleteWebhook(drop_pending_updates=True)``)."""
        self._pending.clear()
        if self._on_change is not None:
            self._on_change()

    def set_allowed(self, allowed: Iterable[str] | None) -> None:
        """Remember ``allowed_updates`` (None: keep; empty: the default set)."""
        if allowed is None:
            return
        kinds = frozenset(allowed)
        self.allowed = kinds or None

    def _is_allowed(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in DEFAULT_EXCLUDED_KINDS
        return kind in self.allowed

    def _take(self, limit: int) -> list[JSONDict]:
        batch: list[JSONDict] = []
        dropped = False
        for entry in self._pending:
            if len(batch) >= limit:
                break
            if not self._is_allowed(entry.kind):
                entry.dropped = dropped = True
                continue
            entry.forced = False
            batch.append(entry.payload)
        if dropped:
            self._pending = [p for p in self._pending if not p.dropped]
        self.delivered += len(batch)
        return batch

    def _wake(self, reason: str) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(reason)

    async def poll(
        self,
        *,
        offset: int,
        limit: int,
        timeout: float,
        allowed_updates: Iterable[str] | None,
    ) -> list[JSONDict]:
        """Answer one ``getUpdates`` call (see the module docstring for the rules)."""
        self.set_allowed(allowed_updates)
        self.confirm(offset)
        self._wake(_WOKEN_BY_CONFLICT)
        limit = min(max(limit, 1), 100)
        batch = self._take(limit)
        if batch or timeout <= 0 or self._closed:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            waiter: asyncio.Future[str] = loop.create_future()
            self._waiter = waiter
            try:
                reason = await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                return []
            finally:
                if self._waiter is waiter:
                    self._waiter = None
            if reason == _WOKEN_BY_CONFLICT:
                raise ApiError(409, CONFLICT)
            if reason == _WOKEN_BY_CLOSE:
                return []
            batch = self._take(limit)
            if batch:
                return batch

    def close(self) -> None:
        """End any waiting ``getUpdates`` (with ``[]``) and stop waiting from now on."""
        self._closed = True
        self._wake(_WOKEN_BY_CLOSE)

    def reopen(self) -> None:
        """Allow long polling again after :meth:`close` (the emulator restarted)."""
        self._closed = False
