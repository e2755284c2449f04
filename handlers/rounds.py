"""Admin commands for survey rounds and recurring schedules.

(Built by the rounds issue.)
"""

from __future__ import annotations

from bot.context import PulsoApplication


def register(application: PulsoApplication) -> None:
    """Register the round commands."""
