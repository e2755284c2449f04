"""Steps the participant end-to-end tests share: issue an invite, join, open a round.

Each step acts as a person or an admin would (commands, and button presses by
their meaning through :func:`tests.e2e.harness.press`, over the emulator) and
waits for what the bot shows in answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.rounds.service import NewRound
from botapi_emulator import ChatMessage, SimUser
from handlers.callback_data import Consent, Demographic, StartSurvey
from tests.e2e.harness import RunningBot, press, shows

_TOKEN = re.compile(r"start=([A-Za-z0-9_-]+)")


async def after(
    user: SimUser,
    action: Callable[[], Awaitable[object]],
    contains: str,
    *,
    live: bool = False,
    timeout: float = 5.0,
) -> ChatMessage:
    """Do ``action``, then wait for the bot's message (or edit) containing ``contains``
    (with ``live``: one that still has buttons, not an old question being retired)."""
    mark = user.chat.cursor
    await action()
    return await user.wait_for_message(
        timeout,
        predicate=lambda m: contains in m.content and (not live or bool(m.buttons)),
        since=mark,
    )


async def issue_invite(
    pulso: RunningBot, commitment: str = "JAL0001", role: str = "beneficiary", *args: int
) -> str:
    """An admin's /invite; returns the token of the deep link it answers with."""
    extra = " ".join(str(a) for a in args)
    reply = await after(
        pulso.admin,
        lambda: pulso.admin.send(f"/invite {commitment} {role} {extra}".strip()),
        "start=",
    )
    found = _TOKEN.search(reply.content)
    assert found is not None, reply.content
    return found.group(1)


async def consent(user: SimUser, token: str) -> None:
    """Open the invite and accept the privacy notice."""
    mark = user.chat.cursor
    await user.start(token)
    await user.wait_for_message(predicate=lambda m: shows(m, Consent), since=mark)
    await after(user, lambda: press(user, Consent(True, token)), "✅")


async def join(
    pulso: RunningBot,
    user: SimUser,
    token: str,
    *,
    english: bool = False,
) -> None:
    """Open the invite, accept, and skip every optional question still unanswered."""
    done = "All set" if english else "Listo: ya participas"
    mark = user.chat.cursor
    await consent(user, token)
    while True:
        shown = await user.wait_for_message(
            predicate=lambda m: done in m.content or shows(m, Demographic, code=None), since=mark
        )
        if done in shown.content:
            return
        mark = user.chat.cursor
        await press(user, Demographic, code=None)


async def open_round(
    pulso: RunningBot,
    instrument: str = "progress",
    commitments: tuple[str, ...] = ("JAL0001",),
    roles: tuple[str, ...] = ("beneficiary", "implementer"),
    days: int = 7,
) -> int:
    """A round opened now through the rounds service (invitations go out); its id."""
    created = await pulso.services.rounds.create(
        NewRound(
            instrument_id=instrument,
            commitment_ids=commitments,
            roles=roles,
            opens_at=pulso.clock.now(),
            duration=timedelta(days=days),
        ),
        actor=None,
    )
    return created.round.id


async def invitation(user: SimUser) -> ChatMessage:
    """Wait for a round's invitation (the message with its Start button)."""
    return await user.wait_for_message(10, predicate=lambda m: shows(m, StartSurvey), since=0)
