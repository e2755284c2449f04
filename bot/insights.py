"""Insights: summaries, the reality gap, trends, charts and exports.

(Built by the insights issue.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class InsightsService:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_round_closed(self, round_id: int) -> None:
        """Queue the summary for the Secretariat's chats and the results for respondents."""
