"""The whole journey, in Spanish and in English: invite → consent → demographics → the
``progress`` survey → recap → revise one answer → /mydata → /forget."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.emulator import SimUser
from bot.storage.schema import answers, feedback, invite_redemptions, participants, responses
from tests.e2e.harness import RunningBot
from tests.e2e.participant_steps import after, invitation, issue_invite, open_round

pytestmark = pytest.mark.e2e


async def answer(user: SimUser, label: str, expect: str) -> None:
    """Press ``label`` on the newest question and wait for ``expect`` to appear."""
    await after(user, lambda: user.press(label), expect)


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
    first = await after(ana, lambda: ana.press("✅ Acepto participar"), "Pregunta opcional 1 de 3")
    assert "preguntas opcionales" in first.content
    assert first.button_texts()[-1:] == ["Prefiero no responder"]
    await answer(ana, "30 a 44 años", "Pregunta opcional 2 de 3")
    answered = ana.chat.message(first.message_id)
    assert "✅ 30 a 44 años" in answered.content
    assert answered.buttons == []
    await answer(ana, "Prefiero no responder", "Pregunta opcional 3 de 3")
    welcome = await after(ana, lambda: ana.press("Zapopan"), "Listo: ya participas")
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
    intro = await after(ana, lambda: ana.press("▶️ Comenzar"), "Preguntas: de 6 a 7")
    assert "¿Cómo va el compromiso?" in intro.content
    assert ana.chat.message(start.message_id).buttons == []
    question = await ana.wait_for_message(predicate=lambda m: "Pregunta 1 de 6" in m.content)
    assert question.button_texts()[:2] == ["Empeoró", "No cambió"]

    await answer(ana, "Marginal", "Pregunta 2 de 6")
    await answer(ana, "Me pidieron mi opinión", "Pregunta 3 de 7")  # opens `response`
    await answer(ana, "Me respondieron y actuaron en consecuencia", "Pregunta 4 de 7")
    await answer(ana, "⬅️ Atrás", "Pregunta 3 de 7")  # back, then keep
    await answer(ana, "Conservar ➡️", "Pregunta 4 de 7")
    await answer(ana, "Más que antes", "Pregunta 5 de 7")
    text_question = ana.chat.last_message
    assert text_question is not None
    assert "Escribe tu respuesta" in text_question.content
    await after(ana, lambda: ana.send("Hay más luz en el parque <y> vigilancia & mesas"), "6 de 7")
    retired = ana.chat.message(text_question.message_id)
    assert "«Hay más luz en el parque <y> vigilancia & mesas»" in retired.content
    assert retired.buttons == []
    await answer(ana, "Omitir ⏭", "Pregunta 7 de 7")
    recap = await after(ana, lambda: ana.press("Sí"), "Tus respuestas")
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
    first_again = await after(ana, lambda: ana.press("✏️ Cambiar mis respuestas"), "1 de 7")
    assert "Cambiando tus respuestas" in first_again.content
    assert "✅ Marginal" in first_again.button_texts()
    await answer(ana, "Conservar ➡️", "Pregunta 2 de 7")
    await answer(ana, "No me tomaron en cuenta", "Pregunta 3 de 6")
    for expected in ("4 de 6", "5 de 6", "6 de 6"):
        await answer(ana, "Conservar ➡️", expected)
    revised = await after(ana, lambda: ana.press("Conservar ➡️"), "Tus cambios quedaron")
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

    # /forget: confirm, then nothing identifies her; her answers stay, unlinked.
    await after(ana, lambda: ana.send("/forget"), "¿Borrar tus datos?")
    await after(ana, lambda: ana.press("🗑 Sí, borrar mis datos"), "borramos tus datos")
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
    assert len(await stored_answers(pulso)) == 6
