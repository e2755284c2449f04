"""The whole journey, in Spanish and in English: invite → consent → demographics → the
``progress`` survey → recap → revise one answer → /mydata → /forget.

The Spanish journey presses buttons by what they mean (their payload); the English one
presses them by their labels: it pins the English wording on purpose."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from bot.storage.schema import answers, feedback, invite_redemptions, participants, responses
from botapi_emulator import SimUser
from handlers.callback_data import (
    CallbackData,
    ConfirmForget,
    Consent,
    Demographic,
    StartSurvey,
    SurveyPress,
)
from tests.e2e.harness import RunningBot, press
from tests.e2e.participant_steps import after, invitation, issue_invite, open_round

pytestmark = pytest.mark.e2e


async def answer(
    user: SimUser, wanted: str | CallbackData | type[CallbackData], expect: str, **fields: Any
) -> None:
    """Press the button meaning ``wanted`` (see :func:`press`; a string is a label) on the
    newest question and wait for ``expect`` to appear."""
    if isinstance(wanted, str):
        await after(user, lambda: user.press(wanted), expect)
    else:
        await after(user, lambda: press(user, wanted, **fields), expect)


async def stored_answers(pulso: RunningBot) -> dict[str, tuple[str | None, str | None, bool]]:
    async with pulso.services.db.read() as repos:
        rows = await repos.conn.execute(
            sa.select(answers.c.question_id, answers.c.choice, answers.c.text, answers.c.skipped)
        )
        return {r.question_id: (r.choice, r.text, r.skipped) for r in rows}


async def test_the_whole_journey_in_spanish(pulso_any_db: RunningBot) -> None:
    pulso = pulso_any_db
    await pulso.import_example_plan()
    token = await issue_invite(pulso, "JAL0001", "beneficiary", 5, 30)
    ana = pulso.person(3001, "Ana", language="es-MX")

    # The first thing she sees is the privacy notice with its consent buttons; nothing
    # about her is stored yet.
    notice = await after(ana, lambda: ana.start(token), "Antes de empezar")
    assert "Lomas de Polanco" in notice.content
    assert "menos de 3" in notice.content  # MIN_GROUP_SIZE in the harness
    assert notice.button_texts() == ["✅ Acepto participar", "No, gracias"]
    async with pulso.services.db.read() as repos:
        assert await repos.participants.by_telegram_id(3001) is None

    # Consent, then the optional questions: one answered, one skipped, one answered.
    first = await after(ana, lambda: press(ana, Consent(True, token)), "Pregunta opcional 1 de 3")
    assert "preguntas opcionales" in first.content
    assert first.button_texts()[-1:] == ["Prefiero no responder"]
    await answer(ana, Demographic("age_band", "30_44"), "Pregunta opcional 2 de 3")
    answered = ana.chat.message(first.message_id)
    assert "✅ 30 a 44 años" in answered.content
    assert answered.buttons == []
    await answer(ana, Demographic("gender", None), "Pregunta opcional 3 de 3")
    welcome = await after(
        ana, lambda: press(ana, Demographic("municipality", "zapopan")), "Listo: ya participas"
    )
    assert "persona beneficiaria" in welcome.content
    async with pulso.services.db.read() as repos:
        person = await repos.participants.by_telegram_id(3001)
        assert person is not None
        assert person.language == "es"
        assert dict(person.demographics) == {
            "age_band": "30_44",
            "gender": None,
            "municipality": "zapopan",
        }

    # A round opens: the invitation's Start button begins the survey.
    await open_round(pulso)
    start = await invitation(ana)
    intro = await after(ana, lambda: press(ana, StartSurvey), "Preguntas: de 6 a 7")
    assert "¿Cómo va el compromiso?" in intro.content
    assert ana.chat.message(start.message_id).buttons == []
    question = await ana.wait_for_message(predicate=lambda m: "Pregunta 1 de 6" in m.content)
    assert question.button_texts()[:2] == ["Empeoró", "No cambió"]

    await answer(ana, SurveyPress, "Pregunta 2 de 6", question="change", code="marginal")
    # `consulted` opens `response`
    await answer(ana, SurveyPress, "Pregunta 3 de 7", question="say", code="consulted")
    await answer(ana, SurveyPress, "Pregunta 4 de 7", question="response", code="acted")
    await answer(ana, SurveyPress, "Pregunta 3 de 7", action="back")  # back, then keep
    await answer(ana, SurveyPress, "Pregunta 4 de 7", action="done")
    await answer(ana, SurveyPress, "Pregunta 5 de 7", question="trust", code="more")
    text_question = ana.chat.last_message
    assert text_question is not None
    assert "Escribe tu respuesta" in text_question.content
    await after(ana, lambda: ana.send("Hay más luz en el parque <y> vigilancia & mesas"), "6 de 7")
    retired = ana.chat.message(text_question.message_id)
    assert "«Hay más luz en el parque <y> vigilancia & mesas»" in retired.content
    assert retired.buttons == []
    await answer(ana, SurveyPress, "Pregunta 7 de 7", action="skip")
    recap = await after(
        ana, lambda: press(ana, SurveyPress, question="may_quote", code="yes"), "Tus respuestas"
    )
    assert "Gracias" in recap.content
    assert "→ Marginal" in recap.content
    assert "→ omitida" in recap.content
    assert "<y> vigilancia & mesas" in recap.content
    assert recap.button_texts() == ["✏️ Cambiar mis respuestas"]
    assert await stored_answers(pulso) == {
        "change": ("marginal", None, False),
        "say": ("consulted", None, False),
        "response": ("acted", None, False),
        "trust": ("more", None, False),
        "what_changed": (None, "Hay más luz en el parque <y> vigilancia & mesas", False),
        "should_change": (None, None, True),
        "may_quote": ("yes", None, False),
    }

    # Revise one answer: `say` → "none", which no longer opens `response`.
    first_again = await after(ana, lambda: press(ana, StartSurvey), "1 de 7")
    assert "Cambiando tus respuestas" in first_again.content
    assert "✅ Marginal" in first_again.button_texts()
    await answer(ana, SurveyPress, "Pregunta 2 de 7", action="done")
    await answer(ana, SurveyPress, "Pregunta 3 de 6", question="say", code="none")
    for expected in ("4 de 6", "5 de 6", "6 de 6"):
        await answer(ana, SurveyPress, expected, action="done")
    revised = await after(
        ana, lambda: press(ana, SurveyPress, action="done"), "Tus cambios quedaron"
    )
    assert "No me tomaron en cuenta" in revised.content
    stored = await stored_answers(pulso)
    assert stored["say"] == ("none", None, False)
    assert "response" not in stored

    # /mydata: a file in her language with what is stored about her.
    document = await after(ana, lambda: ana.send("/mydata"), "todo lo que Pulso guarda")
    assert document.document is not None
    assert document.document.filename == "pulso-mis-datos.txt"
    content = document.document.data.decode()
    assert "Identificador de Telegram: 3001" in content
    assert "30 a 44 años" in content
    assert "(preferiste no responder)" in content
    assert "Hay más luz en el parque <y> vigilancia & mesas" in content

    # /forget: confirm, then nothing identifies her. The round is still open and has
    # published nothing, so what she answered in it goes with her (docs/privacy.md).
    await after(ana, lambda: ana.send("/forget"), "¿Borrar tus datos?")
    await after(ana, lambda: press(ana, ConfirmForget(True)), "borramos tus datos")
    async with pulso.services.db.read() as repos:
        conn = repos.conn
        assert (
            await conn.execute(sa.select(sa.func.count()).select_from(participants))
        ).scalar() == 0
        assert (
            await conn.execute(sa.select(sa.func.count()).select_from(invite_redemptions))
        ).scalar() == 0
        linked = await conn.execute(
            sa.select(responses.c.participant_id).where(responses.c.participant_id.is_not(None))
        )
        assert linked.all() == []
        assert (await conn.execute(sa.select(sa.func.count()).select_from(feedback))).scalar() == 0
    assert len(await stored_answers(pulso)) == 0


async def test_the_whole_journey_in_english_as_an_implementer(pulso: RunningBot) -> None:
    """Pins wording on purpose: Bob presses every button by its English label."""
    await pulso.import_example_plan()
    token = await issue_invite(pulso, "JAL0002", "implementer")
    bob = pulso.person(3002, "Bob", language="en-GB")

    notice = await after(bob, lambda: bob.start(token), "Before we start")
    assert "as an implementer" in notice.content
    assert "A figure from fewer than 3 people is not published" in notice.content
    await after(bob, lambda: bob.press("✅ I agree to take part"), "Optional question 1 of 3")
    await answer(bob, "60 or older", "Optional question 2 of 3")
    await answer(bob, "I'd rather not say", "Optional question 3 of 3")
    welcome = await after(bob, lambda: bob.press("I'd rather not say"), "All set")
    assert "as an implementer" in welcome.content
    assert "/mydata" in welcome.content

    await open_round(pulso, commitments=("JAL0002",))
    assert (await invitation(bob)).button_texts() == ["▶️ Start"]
    intro = await after(bob, lambda: bob.press("▶️ Start"), "Questions: 6")
    assert "you answer as an implementer" in intro.content
    first = await bob.wait_for_message(predicate=lambda m: "Question 1 of 6" in m.content)
    # The IRM completion scale: short labels, two to a row; no Back on the first question.
    assert [[b.text for b in row] for row in first.buttons] == [
        ["Not started", "Limited"],
        ["Substantial", "Complete"],
    ]
    await answer(bob, "Substantial", "Question 2 of 6")
    await answer(bob, "Major", "Question 3 of 6")
    await answer(bob, "We decided together", "Question 4 of 6")
    await after(bob, lambda: bob.send("Progress is real but slow"), "Question 5 of 6")
    await answer(bob, "Skip ⏭", "Question 6 of 6")
    recap = await after(bob, lambda: bob.press("No"), "Your answers")
    assert "Thank you!" in recap.content
    assert "→ Substantial" in recap.content
    assert "→ skipped" in recap.content
    assert "You can change your answers until March 9, 2026, 10:00" in recap.content

    await after(bob, lambda: bob.press("✏️ Change my answers"), "Changing your answers")
    await answer(bob, "Keep ➡️", "Question 2 of 6")
    await answer(bob, "Outstanding", "Question 3 of 6")
    for expected in ("4 of 6", "5 of 6", "6 of 6"):
        await answer(bob, "Keep ➡️", expected)
    await after(bob, lambda: bob.press("Keep ➡️"), "Your changes are saved")
    assert (await stored_answers(pulso))["change"] == ("outstanding", None, False)

    document = await after(bob, lambda: bob.send("/mydata"), "everything Pulso stores")
    assert document.document is not None
    assert document.document.filename == "pulso-my-data.txt"
    content = document.document.data.decode()
    assert "Telegram id: 3002" in content
    assert "as an implementer" in content
    assert "Progress is real but slow" in content

    # Changing one's mind is harmless; confirming deletes.
    await after(bob, lambda: bob.send("/forget"), "Delete your data?")
    await after(bob, lambda: bob.press("No, keep it"), "nothing was deleted")
    async with pulso.services.db.read() as repos:
        assert await repos.participants.by_telegram_id(3002) is not None
    await after(bob, lambda: bob.send("/forget"), "Delete your data?")
    await after(bob, lambda: bob.press("🗑 Yes, delete my data"), "your data is deleted")
    async with pulso.services.db.read() as repos:
        assert await repos.participants.by_telegram_id(3002) is None
        forgotten = await repos.audit.recent(action="forget")
    assert forgotten[0].actor is None
    # The round is still open: it has published nothing, so his answers go with him.
    assert forgotten[0].details == {
        "responses_deleted": 1,
        "responses_unlinked": 0,
        "feedback_deleted": 0,
    }
    # He is a stranger again: participant commands are refused, nothing changes.
    refusal = await after(bob, lambda: bob.send("/survey"), "")
    assert "not available" in refusal.content
