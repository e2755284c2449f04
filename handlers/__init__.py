"""The Telegram edge: parse an update, check the caller's role, call a service, reply.

Each module registers its own handlers (``register(application)``);
:func:`register_all` calls them in this order, which matters because within
a handler group the first matching handler wins:

1. :mod:`handlers.common` — /start without an invite, /help, /language;
2. :mod:`handlers.fallback` — last: an unknown command gets a hint.
"""

from __future__ import annotations

from bot.context import PulsoApplication
from handlers import common, fallback
from handlers.menu import publish_commands

__all__ = ["publish_commands", "register_all"]


def register_all(application: PulsoApplication) -> None:
    common.register(application)
    fallback.register(application)
