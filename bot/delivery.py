"""The delivery engine: drains the outbox at Telegram's pace.

(Built by the rounds issue.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class DeliveryEngine:
    def __init__(self, services: Services) -> None:
        self.services = services

    def wake(self) -> None:
        """New rows were enqueued: look at the outbox now rather than at the next tick."""
