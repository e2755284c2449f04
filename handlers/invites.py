"""Admin commands for invitation links: /invite and /revokeinvite.

(Built by the participant issue.)
"""

from __future__ import annotations

from bot.context import PulsoApplication


def register(application: PulsoApplication) -> None:
    """Register the invite commands."""
