"""Webhook delivery: POST each update to the URL ``setWebhook`` gave, as Telegram does.

Off unless the emulator is made with ``deliver_webhooks=True`` (most tests set a
webhook only to see that the bot asked for one). When on, and a webhook is set,
every pending update is POSTed as JSON to the URL with the
``X-Telegram-Bot-Api-Secret-Token`` header ``setWebhook`` was given; an answer
of 200 confirms it (it leaves the queue), anything else — another status, a
refused connection, a timeout — leaves it pending and it is sent again after a
short backoff (0.1 s growing to 2 s), for as long as it takes. Up to
``max_connections`` requests are open at once, but one chat's updates go one
at a time, in order: the next waits for the previous one's 200.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import aiohttp

if TYPE_CHECKING:
    from botapi_emulator.updates import UpdateQueue

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
DEFAULT_MAX_CONNECTIONS: Final = 40
RETRY_DELAYS: Final = (0.1, 0.2, 0.5, 1.0, 2.0)
REQUEST_TIMEOUT: Final = 10.0


@dataclass
class WebhookConfig:
    url: str
    secret: str | None
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass
class WebhookStats:
    """Requests made: confirmed (200), and answered otherwise or not at all."""

    confirmed: int = 0
    refused: int = 0
    by_status: dict[int, int] | None = None


def _lane(update: Mapping[str, Any]) -> object:
    """Updates of one chat (or one sender) share a lane and go in order."""
    for value in update.values():
        if not isinstance(value, Mapping):
            continue
        chat = value.get("chat")
        if isinstance(chat, Mapping) and "id" in chat:
            return chat["id"]
        message = value.get("message")
        if isinstance(message, Mapping) and isinstance(message.get("chat"), Mapping):
            return message["chat"]["id"]
        sender = value.get("from")
        if isinstance(sender, Mapping) and "id" in sender:
            return sender["id"]
    return ("update", update.get("update_id"))


class WebhookPusher:
    """Pushes the update queue to the webhook (see the module docstring)."""

    def __init__(self, updates: UpdateQueue) -> None:
        self.updates = updates
        self.config: WebhookConfig | None = None
        self.stats = WebhookStats(by_status={})
        self._changed = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def configure(self, config: WebhookConfig | None) -> None:
        """``setWebhook`` (a config) or ``deleteWebhook`` (None)."""
        self.config = config
        self.changed()

    def changed(self) -> None:
        self._changed.set()

    async def start(self) -> None:
        if self._task is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
            )
            self._task = asyncio.create_task(self._run(), name="emulator-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        tasks = [task, *self._in_flight.values()] if task is not None else []
        for one in tasks:
            one.cancel()
        for one in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await one
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            self._launch()
            await self._changed.wait()

    def _launch(self) -> None:
        config = self.config
        if config is None or not config.url:
            return
        lanes: set[object] = set()
        for update_id, payload in self.updates.pending_payloads():
            lane = _lane(payload)
            if lane in lanes:
                continue  # an earlier update of this chat is not confirmed yet
            lanes.add(lane)
            if update_id in self._in_flight:
                continue
            if len(self._in_flight) >= config.max_connections:
                return
            self._in_flight[update_id] = asyncio.create_task(self._deliver(update_id, payload))

    async def _deliver(self, update_id: int, payload: Mapping[str, Any]) -> None:
        attempt = 0
        try:
            while True:
                config = self.config
                if config is None or not config.url or self._session is None:
                    return
                headers = {SECRET_HEADER: config.secret} if config.secret else {}
                status = 0
                try:
                    async with self._session.post(config.url, json=payload, headers=headers) as r:
                        status = r.status
                        await r.read()
                except (aiohttp.ClientError, TimeoutError, OSError):
                    status = 0
                assert self.stats.by_status is not None
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                if status == 200:
                    self.stats.confirmed += 1
                    self.updates.confirm_one(update_id)
                    return
                self.stats.refused += 1
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
                attempt += 1
        finally:
            self._in_flight.pop(update_id, None)
            self.changed()
