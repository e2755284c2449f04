"""Answering: every question type's buttons and rules, several surveys one after another,
and a round that closed."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from bot.storage.schema import answer_choices, answers
from botapi_emulator import ChatMessage, SimUser
from handlers.callback_data import CallbackData, StartSurvey, SurveyPress
from surveys.instruments import Instrument
from tests.e2e.harness import RunningBot, press
from tests.e2e.participant_steps import after, invitation, issue_invite, join, open_round
from tests.factories import add_instrument

pytestmark = pytest.mark.e2e


def _text(es: str, en: str) -> dict[str, str]:
    return {"es": es, "en": en}


EVERY_TYPE = Instrument.model_validate(
    {
        "id": "everytype",
        "version": 1,
        "title": _text("Todas las preguntas", "Every question"),
        "intro": _text("Una de cada tipo.", "One of each type."),
        "outro": _text("¡Listo, gracias!", "Done, thank you!"),
        "questions": [
            {"id": "agree", "type": "likert5", "text": _text("¿Va bien?", "Going well?")},
            {"id": "score", "type": "rating", "text": _text("Califica de 0 a 10", "Rate 0-10")},
            {
                "id": "colors",
                "type": "multi",
                "max_choices": 2,
                "text": _text("¿Qué colores? <usa los botones>", "Which colours?"),
                "options": [
                    {"code": "red", "label": _text("Rojo", "Red")},
                    {"code": "green", "label": _text("Verde", "Green")},
                    {"code": "blue", "label": _text("Azul", "Blue")},
                ],
            },
            {"id": "again", "type": "yes_no", "required": False, "text": _text("¿Otra?", "More?")},
            {
                "id": "why",
                "type": "text",
                "required": False,
                "max_length": 20,
                "text": _text("¿Por qué?", "Why?"),
            },
            {
                "id": "level",
                "type": "single",
                "text": _text("¿Nivel?", "Level?"),
                "options": [
                    {"code": "low", "label": _text("Bajo", "Low"), "score": 0},
                    {"code": "high", "label": _text("Alto", "High"), "score": 100},
                ],
            },
        ],
    }
)


def rows(message: ChatMessage) -> list[list[str]]:
    return [[button.text for button in row] for row in message.buttons]


async def toast(user: SimUser, wanted: type[CallbackData], **fields: Any) -> str | None:
    pressed = await press(user, wanted, **fields)
    return (await pressed.wait_answer()).text


async def test_every_question_type_has_fitting_buttons_and_rules(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    await add_instrument(pulso.services.db, pulso.clock.now(), EVERY_TYPE)
    ana = pulso.person(5001, "Ana")
    await join(pulso, ana, await issue_invite(pulso))
    await open_round(pulso, instrument="everytype")
    await invitation(ana)
    likert = await after(ana, lambda: press(ana, StartSurvey), "Pregunta 1 de 6")
    assert rows(likert) == [
        ["Totalmente en desacuerdo"],
        ["En desacuerdo"],
        ["Ni de acuerdo ni en desacuerdo"],
        ["De acuerdo"],
        ["Totalmente de acuerdo"],
    ]
    rating = await after(
        ana, lambda: press(ana, SurveyPress, question="agree", code="4"), "Pregunta 2 de 6"
    )
    assert rows(rating) == [
        ["0", "1", "2", "3", "4", "5"],
        ["6", "7", "8", "9", "10"],
        ["⬅️ Atrás"],
    ]
    multi = await after(
        ana, lambda: press(ana, SurveyPress, question="score", code="7"), "Pregunta 3 de 6"
    )
    assert "&lt;usa los botones&gt;" in (multi.html or "")
    assert "hasta 2" in multi.content
    assert rows(multi) == [["⬜ Rojo"], ["⬜ Verde"], ["⬜ Azul"], ["✔️ Listo"], ["⬅️ Atrás"]]

    # A required multiple choice needs a choice; toggles redraw the same message.
    assert await toast(ana, SurveyPress, action="done") == "Esta pregunta necesita una respuesta."
    await after(
        ana, lambda: press(ana, SurveyPress, action="toggle", code="red"), "Pregunta 3 de 6"
    )
    await after(
        ana, lambda: press(ana, SurveyPress, action="toggle", code="blue"), "Pregunta 3 de 6"
    )
    redrawn = ana.chat.message(multi.message_id)
    assert rows(redrawn)[:3] == [["✅ Rojo"], ["⬜ Verde"], ["✅ Azul"]]
    assert await toast(ana, SurveyPress, action="toggle", code="green") == (
        "Elegiste 3 opciones; en esta pregunta caben como máximo 2."
    )
    yes_no = await after(ana, lambda: press(ana, SurveyPress, action="done"), "Pregunta 4 de 6")
    assert "✅ Rojo, Azul" in ana.chat.message(multi.message_id).content
    assert rows(yes_no) == [["Sí", "No"], ["⬅️ Atrás", "Omitir ⏭"]]

    text = await after(ana, lambda: press(ana, SurveyPress, action="skip"), "Pregunta 5 de 6")
    assert "hasta 20 caracteres" in text.content
    # A text question takes a message; a too-long one is refused with a clear message.
    too_long = await after(ana, lambda: ana.send("x" * 25), "caracteres")
    assert too_long.content == (
        "Tu respuesta tiene 25 caracteres y caben como máximo 20. ¿Puedes acortarla?"
    )
    single = await after(ana, lambda: ana.send("Porque sí"), "Pregunta 6 de 6")
    # A text where buttons are expected: a hint, then the question again with its
    # buttons (never a pointer to a message the person may not have).
    mark = ana.chat.cursor
    again = await after(ana, lambda: ana.send("Alto"), "Pregunta 6 de 6", live=True)
    shown = [m.content for m in ana.chat.events[mark:]]
    hint = next(i for i, c in enumerate(shown) if "se contesta con los botones" in c)
    assert shown[-1] == again.content
    assert hint < len(shown) - 1
    assert not ana.chat.message(single.message_id).buttons  # the old prompt is retired
    recap = await after(
        ana, lambda: press(ana, SurveyPress, question="level", code="high"), "Tus respuestas"
    )
    assert "¡Listo, gracias!" in recap.content
    assert "→ Rojo, Azul" in recap.content

    async with pulso.services.db.read() as repos:
        stored = {
            row.question_id: (row.choice, row.score, row.text, row.skipped)
            for row in await repos.conn.execute(sa.select(answers))
        }
        codes = sorted(
            (await repos.conn.execute(sa.select(answer_choices.c.code))).scalars().all()
        )
    assert stored == {
        "agree": ("4", 75.0, None, False),
        "score": ("7", 70.0, None, False),
        "colors": (None, None, None, False),
        "again": (None, None, None, True),
        "why": (None, None, "Porque sí", False),
        "level": ("high", 100.0, None, False),
    }
    assert codes == ["blue", "red"]
    assert single.message_id != recap.message_id


async def test_several_surveys_come_one_after_another(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(5002, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    await join(pulso, ana, await issue_invite(pulso, "JAL0003", "beneficiary"))
    await open_round(pulso, instrument="pulse", commitments=("JAL0001", "JAL0003"))
    await invitation(ana)
    first = await after(ana, lambda: press(ana, StartSurvey), "Pregunta 1 de 2")
    async with pulso.services.db.read() as repos:
        mine = await repos.responses.of_participant(1)
    assert [r.status for r in mine] == ["started", "pending"]

    # Starting the second one now is not allowed to mix them: finish the first.
    mark = ana.chat.cursor
    await ana.press_data(f"s:{mine[1].id}")
    busy = await ana.wait_for_message(
        predicate=lambda m: "Primero terminemos" in m.content, since=mark
    )
    assert "Lomas de Polanco" in busy.content
    again = await ana.wait_for_message(
        predicate=lambda m: "Pregunta 1 de 2" in m.content and bool(m.buttons), since=mark
    )
    assert again.message_id != first.message_id
    assert ana.chat.message(first.message_id).buttons == []  # one live question, not two

    await after(
        ana, lambda: press(ana, SurveyPress, question="progress", code="8"), "Pregunta 2 de 2"
    )
    recap = await after(ana, lambda: press(ana, SurveyPress, action="skip"), "Tus respuestas")
    assert "Tienes otra encuesta pendiente" in recap.content
    assert recap.button_texts() == ["✏️ Cambiar mis respuestas", "▶️ Siguiente encuesta"]
    mark = ana.chat.cursor
    await after(ana, lambda: press(ana, StartSurvey(mine[1].id)), "Pregunta 1 de 2")
    intro = await ana.wait_for_message(predicate=lambda m: "Preguntas: 2" in m.content, since=mark)
    assert "Registro estatal de habilidades" in intro.content

    # Revising the first survey waits too, while the second one is under way.
    mark = ana.chat.cursor
    await ana.press_data(f"s:{mine[0].id}")
    await ana.wait_for_message(predicate=lambda m: "Primero terminemos" in m.content, since=mark)
    await ana.wait_for_message(predicate=lambda m: bool(m.button("3")), since=mark)

    # /feedback waits for a text, but going on with the survey ends that wait: the next
    # text answers the survey's text question (the last one, whose buttons then go).
    await after(ana, lambda: ana.send("/feedback JAL0003"), "Escribe en un mensaje")
    note = await after(
        ana,
        lambda: press(ana, SurveyPress, question="progress", code="3"),
        "Pregunta 2 de 2",
        live=True,
    )
    assert note.button_texts() == ["⬅️ Atrás", "Omitir ⏭"]
    last = await after(ana, lambda: ana.send("Falta difusión"), "Tus respuestas")
    assert "otra encuesta" not in last.content
    assert "→ Falta difusión" in last.content
    assert ana.chat.message(note.message_id).buttons == []
    async with pulso.services.db.read() as repos:
        assert [r.status for r in await repos.responses.of_participant(1)] == [
            "completed",
            "completed",
        ]
        assert await repos.responses.feedback_of(1) == []


async def test_a_closed_round_says_when_it_closed_and_changes_nothing(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(5003, "Ana", language="en")
    await join(pulso, ana, await issue_invite(pulso), english=True)
    round_id = await open_round(pulso, instrument="pulse")
    assert (await invitation(ana)).button_texts() == ["▶️ Start"]
    await after(ana, lambda: press(ana, StartSurvey), "Question 1 of 2")
    await pulso.services.rounds.close(round_id, actor=None)
    assert (
        await toast(ana, SurveyPress, question="progress", code="5")
        == "⌛ This round closed on March 2, 2026, 10:00; it no longer takes answers."
    )
    closed = await after(ana, lambda: ana.send("/survey"), "no open surveys")
    assert closed.buttons == []
    async with pulso.services.db.read() as repos:
        assert (
            await repos.conn.execute(sa.select(sa.func.count()).select_from(answers))
        ).scalar() == 0
