"""A round closes: the Secretariat's chat gets the summary and its charts, and each respondent
their results, in their language (the real path: the rounds service closes the round at its
deadline, the insights service queues, the delivery engine sends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from botapi_emulator import SimUser
from handlers.results import ResultsView
from tests.e2e.harness import RunningBot
from tests.e2e.participant_steps import open_round
from tests.factories import add_participant, answer_response

pytestmark = pytest.mark.e2e

# MIN_GROUP_SIZE is 3 in the harness. Four beneficiaries answer, one never does.
ANSWERS = [
    {"change": "no_change", "say": "none", "trust": "less",
     "what_changed": "Nada cambió, no hay agua potable", "may_quote": "yes"},
    {"change": "no_change", "say": "informed", "trust": "same",
     "what_changed": "Sigue sin agua potable la colonia", "may_quote": "yes"},
    {"change": "worsened", "say": "none", "trust": "less",
     "what_changed": "Peor que antes, el agua potable no llega", "may_quote": "no"},
    {"change": "marginal", "say": "consulted", "response": "replied", "trust": "same",
     "what_changed": "Things improved a little with the water", "may_quote": "yes"},
]  # fmt: skip


async def respondents(pulso: RunningBot, first: int = 8101) -> tuple[list[SimUser], SimUser]:
    """Five beneficiaries of JAL0001 (one in English); four will answer, one never does."""
    users = []
    for n in range(5):
        user_id = first + n
        language = "en" if n == 3 else "es"
        await add_participant(pulso.services.db, pulso.clock.now(), user_id, language=language)
        users.append(pulso.emulator.user(user_id, f"Persona {n}", started=True))
    return users[:4], users[4]


async def answer_round(pulso: RunningBot, round_id: int, users: list[SimUser]) -> None:
    """Each of ``users`` answers the round as ANSWERS says, in order."""
    async with pulso.services.db.read() as repos:
        ids = [(await repos.participants.by_telegram_id(u.id)).id for u in users]
    for participant_id, given in zip(ids, ANSWERS, strict=True):
        await answer_response(
            pulso.services.db,
            pulso.clock.now(),
            round_id=round_id,
            participant_id=participant_id,
            answers_given=given,
        )


async def test_a_closing_round_posts_the_summary_and_the_results(pulso_any_db: RunningBot) -> None:
    pulso = pulso_any_db
    await pulso.import_example_plan()
    answered, silent = await respondents(pulso)
    round_id = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await pulso.emulator.wait_until(
        lambda: all(u.messages for u in (*answered, silent)), timeout=10
    )
    await answer_round(pulso, round_id, answered)

    # While the round is open, the Secretariat sees who took part, not what they said
    # (privacy rule: published results are a snapshot taken at close).
    so_far = (await ResultsView(pulso.services).summary("en", round_id)).plain_text()
    assert "Still open: participation as of March 2, 2026, 10:00." in so_far
    assert "4 of 5 people completed the survey (80%)" in so_far
    assert "published once, when the round closes" in so_far
    assert "/100" not in so_far
    assert "agua" not in so_far
    assert "%" not in so_far.split("(80%)")[1]

    # The deadline passes; the rounds service closes the round and hands it to insights.
    pulso.clock.advance(timedelta(days=3, minutes=1))
    assert (await pulso.tick()).closed == 1
    chat = pulso.secretariat_chat
    await pulso.emulator.wait_until(
        lambda: (
            any(m.kind == "photo" for m in chat.messages)
            and all(
                any("Resultados" in m.content or "Results" in m.content for m in u.messages)
                for u in answered
            )
        ),
        timeout=15,
    )
    await pulso.services.delivery.idle()

    summary = next(m for m in chat.messages if "Resultados de la ronda" in m.content)
    text = summary.content
    assert f"Resultados de la ronda {round_id} · ¿Cómo va el compromiso?" in text
    assert "4 de 5 personas completaron la encuesta (80 %)" in text
    # change: 25 + 25 + 0 + 50 = 100 / 4 = 25; the official 100 % stands against it.
    assert "Cambio para las personas: 25/100" in text
    assert "Respuesta del gobierno: menos de 3 respuestas" in text  # one answer
    assert "agua potable (3)" in text
    assert "⚠️" in text
    photos = [m for m in chat.messages if m.kind == "photo"]
    assert len(photos) == 2  # the gap and the tone of comments
    assert photos[0].photo is not None
    assert photos[0].photo.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Lo reportado y lo percibido" in photos[0].content

    results = {u.id: next(m for m in u.messages if "📊" in m.content).content for u in answered}
    assert "Cambio para las personas: 25/100" in results[answered[0].id]
    assert "4 personas respondieron" in results[answered[0].id]
    assert "Change for people: 25/100" in results[answered[3].id]  # in her language
    assert not any("📊" in m.content for m in silent.messages)  # she did not answer

    # Closing again, or a repeated hand-off, sends nothing twice.
    assert await pulso.services.insights.on_round_closed(round_id) == 0
    async with pulso.services.db.read() as repos:
        counts = await repos.outbox.counts_by_round([round_id])
    assert counts[round_id][("summary", "sent")] == 1
    assert counts[round_id][("results", "sent")] == 4


async def test_a_round_that_keeps_results_to_itself_sends_none(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    answered, _ = await respondents(pulso)
    round_id = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    async with pulso.services.db.write() as repos:
        from bot.storage.schema import rounds

        await repos.conn.execute(
            rounds.update().where(rounds.c.id == round_id).values(send_results=False)
        )
    await answer_round(pulso, round_id, answered)
    assert "cerrada" in await _admin_says(pulso, f"/closeround {round_id}")
    await pulso.emulator.wait_until(
        lambda: any(m.kind == "photo" for m in pulso.secretariat_chat.messages), timeout=15
    )
    await pulso.services.delivery.idle()
    async with pulso.services.db.read() as repos:
        counts = await repos.outbox.counts_by_round([round_id])
    assert ("results", "sent") not in counts[round_id]
    assert not any("📊" in m.content for u in answered for m in u.messages)


async def _admin_says(pulso: RunningBot, text: str) -> str:
    mark = pulso.admin.chat.cursor
    await pulso.admin.send(text)
    return (await pulso.admin.wait_for_message(since=mark)).content
