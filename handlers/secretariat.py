"""What the Secretariat asks for: /summary, /gap, /trend, /export (and admins' /official).

(Built by the insights issue.)
"""

from __future__ import annotations

from bot.context import PulsoApplication


def register(application: PulsoApplication) -> None:
    """Register the Secretariat's commands."""
