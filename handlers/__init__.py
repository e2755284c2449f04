"""The Telegram edge: parse an update, check the caller's role, call a service, reply.

Each module registers its own handlers (``register(application)``);
:func:`register_all` calls them in this order, which matters because within
a handler group the first matching handler wins:

1. :mod:`handlers.participant` — /start with an invite (before the plain
   /start), consent, onboarding, the survey's buttons and text answers,
   /survey, /feedback, /privacy and the data-rights commands;
2. :mod:`handlers.common` — /start without an invite, /help, /language;
3. :mod:`handlers.secretariat` — /summary, /gap, /trend, /export, /official;
4. :mod:`handlers.rounds` — /newround (and its wizard), /schedule, /rounds …;
5. :mod:`handlers.invites` — /invite, /revokeinvite;
6. :mod:`handlers.admin` — /grant, /revoke;
7. :mod:`handlers.fallback` — last: an unknown command gets a hint.
"""

from __future__ import annotations

from bot.context import PulsoApplication
from handlers import admin, common, fallback, invites, participant, rounds, secretariat
from handlers.menu import publish_commands

__all__ = ["publish_commands", "register_all"]


def register_all(application: PulsoApplication) -> None:
    participant.register(application)
    common.register(application)
    secretariat.register(application)
    rounds.register(application)
    invites.register(application)
    admin.register(application)
    fallback.register(application)
