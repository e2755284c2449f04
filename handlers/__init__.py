"""The Telegram edge: parse an update, check the caller's role, call a service, reply.

Each module registers its own handlers (``register(application)``);
:func:`register_all` calls them in this order, which matters because within
a handler group the first matching handler wins. Before all of them,
:func:`ignore_edits` (group :data:`EDITS_GROUP`, the first) stops every edited
message or post: a command or an answer is read once, when it is sent, and an
edit of it does nothing (docs/operations.md). One gate here instead of a filter
on each handler, because PTB's ``CommandHandler`` and ``MessageHandler`` take
edits by default and a handler added later would too.

1. :mod:`handlers.participant` — /start with an invite (before the plain
   /start), consent, onboarding, the survey's buttons and text answers,
   /survey, /feedback, /privacy and the data-rights commands;
2. :mod:`handlers.common` — /start without an invite, /help, /language;
3. :mod:`handlers.secretariat` — /summary, /gap, /trend, /export, /official;
4. :mod:`handlers.rounds` — /newround (and its wizard), /schedule, /rounds …;
5. :mod:`handlers.invites` — /invite, /revokeinvite;
6. :mod:`handlers.admin` — /grant, /revoke;
7. :mod:`handlers.accountability` — /respond, /responses, the reply flow's buttons, and
   (group 0, before the participant's texts in group 1) the text of a reply being
   written; the "did it happen?" buttons;
8. :mod:`handlers.fallback` — last: an unknown command gets a hint, and a button
   press no handler took (its payload type is routed nowhere) is called stale.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from handlers import (
    accountability,
    admin,
    common,
    fallback,
    invites,
    participant,
    rounds,
    secretariat,
)
from handlers.context import PulsoApplication, PulsoContext
from handlers.menu import publish_commands

__all__ = ["EDITS_GROUP", "ignore_edits", "publish_commands", "register_all"]

#: The handler group of the edit gate: before every other (participant's is -1).
EDITS_GROUP = -100


async def _edit_ignored(update: Update, context: PulsoContext) -> None:
    """An edited message or post: no handler after this one sees it."""
    raise ApplicationHandlerStop


def ignore_edits(application: PulsoApplication) -> None:
    """Stop every edit (``edited_message``, ``edited_channel_post``, business edits)
    before any handler: editing ``/newround`` must not open a second round."""
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED, _edit_ignored), group=EDITS_GROUP
    )


def register_all(application: PulsoApplication) -> None:
    ignore_edits(application)
    participant.register(application)
    common.register(application)
    secretariat.register(application)
    rounds.register(application)
    invites.register(application)
    admin.register(application)
    accountability.register(application)
    fallback.register(application)
