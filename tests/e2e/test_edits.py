"""An edited message never runs a command again (issue 10, defect 6).

Telegram sends an ``edited_message`` update when a person edits what they
wrote, and PTB's ``CommandHandler`` takes those too. Pulso ignores every edit
(docs/operations.md): the command already ran when it was sent; an edit is not
read and gets no reply.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.storage.schema import feedback, invites, outbox, rounds
from botapi_emulator import SimUser
from tests.e2e.harness import RunningBot
from tests.e2e.participant_steps import after, issue_invite, join

pytestmark = pytest.mark.e2e


async def count(pulso: RunningBot, table: sa.Table) -> int:
    async with pulso.services.db.read() as repos:
        return int(
            (await repos.conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
        )


async def edited(user: SimUser, message_id: int, text: str) -> None:
    """Edit a message, then wait until the bot has handled the edit: a /help sent after
    it in the same chat is answered only after it (one chat's updates run in order).
    Nothing but the help reply may arrive meanwhile."""
    replies = len(user.messages)
    await user.edit(message_id, text)
    await after(user, lambda: user.send("/help"), "Lo que puedes hacer aquí")
    assert len(user.messages) == replies + 1, user.texts()[replies:]


async def test_editing_a_command_runs_nothing(pulso_any_db: RunningBot) -> None:
    pulso = pulso_any_db
    admin = pulso.admin
    await pulso.example_plan_with_people(3, 8100)

    # /newround, then edited: one round, one fan-out.
    sent = await admin.send("/newround pulse JAL0001 all now 7d")
    await admin.wait_for_message(predicate=lambda m: "ronda" in m.content.lower())
    await pulso.services.delivery.idle()
    await pulso.settle()
    before = (await count(pulso, rounds), await count(pulso, outbox))
    assert before == (1, 3)
    await edited(admin, sent["message"]["message_id"], "/newround pulse JAL0001 all now 7d")
    await pulso.services.delivery.idle()
    assert (await count(pulso, rounds), await count(pulso, outbox)) == before

    # /invite, then edited: one link minted.
    sent = await admin.send("/invite JAL0002 beneficiary")
    await admin.wait_for_message(predicate=lambda m: "start=" in m.content)
    assert await count(pulso, invites) == 1
    await edited(admin, sent["message"]["message_id"], "/invite JAL0002 implementer")
    assert await count(pulso, invites) == 1


async def test_an_edited_feedback_does_not_take_the_next_message(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(8201, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    sent = await ana.send("/feedback")
    await ana.wait_for_message(predicate=lambda m: "Escribe en un mensaje" in m.content)
    await after(ana, lambda: ana.send("Las mesas vecinales funcionan"), "quedó guardado")
    # The edit used to reach /feedback with update.message None: it asked for a comment
    # again, and the person's next message (a survey's text answer) was stored as feedback.
    await edited(ana, sent["message"]["message_id"], "/feedback")
    async with pulso.services.db.read() as repos:
        person = await repos.participants.by_telegram_id(8201)
        assert person is not None
        assert person.awaiting is None
    await after(ana, lambda: ana.send("hola"), "No estoy esperando")
    assert await count(pulso, feedback) == 1
