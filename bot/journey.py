"""The participant's journey: invites, consent, onboarding, answering, data rights.

(Built by the participant issue.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class JourneyService:
    def __init__(self, services: Services) -> None:
        self.services = services
