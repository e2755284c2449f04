"""What must never happen to a participant's data: kept without consent, changed by a
forged or stale button, stored twice from a redelivered update, lost in a restart."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.storage.schema import answers, feedback, invites, memberships, participants
from botapi_emulator import SimUser
from handlers.callback_data import Consent, StartSurvey, SurveyPress
from tests.e2e.harness import RunningBot, press
from tests.e2e.participant_steps import after, consent, invitation, issue_invite, join, open_round

pytestmark = pytest.mark.e2e


async def count(pulso: RunningBot, table: sa.Table) -> int:
    async with pulso.services.db.read() as repos:
        found = await repos.conn.execute(sa.select(sa.func.count()).select_from(table))
        return int(found.scalar_one())


async def stored(pulso: RunningBot) -> dict[str, str | None]:
    async with pulso.services.db.read() as repos:
        rows = await repos.conn.execute(sa.select(answers.c.question_id, answers.c.choice))
        return {row.question_id: row.choice for row in rows}


async def toast(user: SimUser, data: str, message_id: int | None = None) -> str | None:
    press = await user.press_data(data, message_id=message_id)
    return (await press.wait_answer()).text


async def response_id(pulso: RunningBot, participant_id: int = 1) -> int:
    async with pulso.services.db.read() as repos:
        return (await repos.responses.of_participant(participant_id))[0].id


async def test_declining_keeps_nothing(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    token = await issue_invite(pulso, "JAL0001", "beneficiary", 3)
    eva = pulso.person(6001, "Eva")
    await after(eva, lambda: eva.start(token), "¿Aceptas participar?")
    declined = await after(eva, lambda: press(eva, Consent(False, token)), "no guardamos nada")
    assert declined.buttons == []
    assert await count(pulso, participants) == 0
    async with pulso.services.db.read() as repos:
        uses = (await repos.conn.execute(sa.select(invites.c.uses))).scalar_one()
    assert uses == 0
    # She may change her mind with the same link.
    await consent(eva, token)
    assert await count(pulso, participants) == 1


async def test_opening_a_used_invite_again_is_harmless(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    token = await issue_invite(pulso, "JAL0001", "beneficiary", 1)
    ana = pulso.person(6002, "Ana")
    await join(pulso, ana, token)
    again = await after(ana, lambda: ana.start(token), "Ya participas")
    assert again.buttons == []
    assert await count(pulso, memberships) == 1
    async with pulso.services.db.read() as repos:
        assert (await repos.conn.execute(sa.select(invites.c.uses))).scalar_one() == 1


async def test_forged_and_stale_presses_change_nothing(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana, eve = pulso.person(6003, "Ana"), pulso.person(6004, "Eve")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    await join(pulso, eve, await issue_invite(pulso, "JAL0002", "beneficiary"))
    await open_round(pulso, commitments=("JAL0001", "JAL0002"))
    await invitation(ana)
    first = await after(ana, lambda: press(ana, StartSurvey), "Pregunta 1 de 6")
    mine = await response_id(pulso)
    stale = "Este botón ya no es válido."

    # Someone else's response, a question not in front of her, an option that does
    # not exist, a skip of a required question, a back from the first question, an
    # unknown response, a payload Pulso never makes.
    assert await toast(eve, f"a:{mine}:change:marginal") == stale
    assert await toast(ana, f"a:{mine}:say:decided") == stale
    assert await toast(ana, f"a:{mine}:change:excellent") == stale
    assert await toast(ana, f"a:{mine}:completion:complete") == stale  # implementers only
    assert await toast(ana, f"k:{mine}:change") == stale
    assert await toast(ana, f"b:{mine}:change") == stale
    assert await toast(ana, f"m:{mine}:change:marginal") == stale
    assert await toast(ana, "a:999999:change:marginal") == stale
    assert await toast(ana, f"a:{mine}:change") == stale
    assert await stored(pulso) == {}

    # A stale press: the first question's button, pressed again after she moved on.
    await after(
        ana, lambda: press(ana, SurveyPress, question="change", code="marginal"), "Pregunta 2 de 6"
    )
    assert await toast(ana, f"a:{mine}:change:worsened", first.message_id) == stale
    assert await stored(pulso) == {"change": "marginal"}
    # A forged Start for someone else's survey starts nothing.
    async with pulso.services.db.read() as repos:
        evas = (await repos.responses.of_participant(2))[0]
    assert await toast(ana, f"s:{evas.id}") == stale
    async with pulso.services.db.read() as repos:
        assert (await repos.responses.get(evas.id)).status == "pending"


async def test_a_redelivered_update_is_not_applied_twice(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(6005, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    await open_round(pulso)
    await invitation(ana)
    await after(ana, lambda: press(ana, StartSurvey), "Pregunta 1 de 6")
    first = await press(ana, SurveyPress, question="change", code="marginal")
    await ana.wait_for_message(predicate=lambda m: "Pregunta 2 de 6" in m.content)
    # She goes back and changes her mind; then Telegram redelivers her first press.
    await after(ana, lambda: press(ana, SurveyPress, action="back"), "Pregunta 1 de 6")
    await after(
        ana, lambda: press(ana, SurveyPress, question="change", code="major"), "Pregunta 2 de 6"
    )
    sent = len(ana.messages)
    pulso.emulator.redeliver(first.update_id)
    await pulso.settle()
    await first.wait_answer()
    assert await stored(pulso) == {"change": "major"}
    assert len(ana.messages) == sent  # the reply went out the first time: nothing more

    # A feedback message redelivered is stored once.
    await after(ana, lambda: ana.send("/feedback"), "Escribe en un mensaje")
    update = await ana.send("Las mesas vecinales sirven")
    await ana.wait_for_message(predicate=lambda m: "quedó guardado" in m.content)
    sent = len(ana.messages)
    pulso.emulator.redeliver(update["update_id"])
    await pulso.settle()
    assert await count(pulso, feedback) == 1
    # The redelivered text is not mistaken for an answer either.
    assert await stored(pulso) == {"change": "major"}
    assert len(ana.messages) == sent


async def test_a_restart_mid_survey_resumes_at_the_right_question(
    pulso_any_db: RunningBot,
) -> None:
    pulso = pulso_any_db
    await pulso.import_example_plan()
    ana = pulso.person(6006, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    await open_round(pulso)
    await invitation(ana)
    await after(ana, lambda: press(ana, StartSurvey), "Pregunta 1 de 6")
    await after(
        ana, lambda: press(ana, SurveyPress, question="change", code="major"), "Pregunta 2 de 6"
    )
    third = await after(
        ana, lambda: press(ana, SurveyPress, question="say", code="informed"), "Pregunta 3 de 6"
    )

    await pulso.restart()

    # The buttons she has still work, and /survey shows the same question.
    resumed = await after(ana, lambda: ana.send("/survey"), "Pregunta 3 de 6", live=True)
    assert "¿cuánto confías hoy" in resumed.content
    assert ana.chat.message(third.message_id).buttons == []  # one live question at a time
    await after(
        ana, lambda: press(ana, SurveyPress, question="trust", code="more"), "Pregunta 4 de 6"
    )
    assert await stored(pulso) == {"change": "major", "say": "informed", "trust": "more"}
