"""Survey rounds: create, open, remind, close and cancel them, and run recurring schedules.

(Built by the rounds issue; this module is the one place their transitions happen.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class RoundsService:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def invite_late_joiner(self, participant_id: int, commitment_id: str, role: str) -> int:
        """Target someone who joined a commitment while a round for it is open; returns how
        many open rounds now include them."""
        return 0
