"""What a beneficiary or an implementer does in a private chat with the bot.

(Built by the participant issue.)
"""

from __future__ import annotations

from bot.context import PulsoApplication


def register(application: PulsoApplication) -> None:
    """Register the participant's handlers."""
