"""Closing the loop (issue 14): a round's flagged gap gets a public answer from the
commitment's responsible person, the Secretariat and the respondents receive it, the next
round asks the beneficiaries whether the promise happened, and /gap shows the promise's
outcome and whether the answer came on time; an answer never given is reported to the
Secretariat at its deadline. The real bot against the emulator, with the manual clock."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from botapi_emulator import ChatMessage, SimUser
from handlers.callback_data import (
    PromisePress,
    ReplyFinish,
    ReplyOpen,
    ReplyStance,
    encode,
)
from handlers.results import ResultsView
from handlers.site import build_site
from tests.e2e.harness import RunningBot, press, shows
from tests.e2e.participant_steps import after, open_round
from tests.e2e.test_insights import answer_round, respondents

pytestmark = pytest.mark.e2e

AGENCY = 700_001  # the Secretaría's contact, responsible for JAL0001
# Round 1 closes on March 5, 16:01 UTC (10:01 in Mexico City); RESPONSE_DAYS is 14.
DUE = datetime(2026, 3, 19, 16, 1, tzinfo=UTC)
GOVERNMENT = "Respuesta del gobierno"
PROMISE = "Instalaremos tomas de agua potable en la colonia"


async def beneficiaries(pulso: RunningBot) -> tuple[list[SimUser], SimUser]:
    return await respondents(pulso, first=8201)


async def close_round(pulso: RunningBot, days: int = 3) -> None:
    pulso.clock.advance(timedelta(days=days, minutes=1))
    assert (await pulso.tick()).closed == 1


async def grant_responsible(pulso: RunningBot) -> None:
    await after(
        pulso.admin,
        lambda: pulso.admin.send(f"/grant {AGENCY} responsible JAL0001"),
        "responde públicamente",
    )


async def step(user: SimUser, action, contains: str) -> ChatMessage:  # type: ignore[no-untyped-def]
    return await after(user, action, contains)


async def test_a_flagged_gap_gets_an_answer_that_the_next_round_checks(
    pulso_any_db: RunningBot, tmp_path: Path
) -> None:
    pulso = pulso_any_db
    await pulso.import_example_plan()
    agency = pulso.emulator.user(AGENCY, "Secretaría del Trabajo", started=True)
    await grant_responsible(pulso)
    # Only an admin may name who answers, and a forged grant changes nothing.
    stranger = pulso.person(8299, "Alguien")
    await after(stranger, lambda: stranger.send("/grant 8299 responsible JAL0001"), "")
    assert pulso.services.accountability.writers == frozenset({AGENCY})

    answered, silent = await beneficiaries(pulso)
    first = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await pulso.emulator.wait_until(lambda: all(u.messages for u in (*answered, silent)), 10)
    await answer_round(pulso, first, answered)
    await close_round(pulso)

    # The responsible person hears the commitment's published results, then the request.
    request = await agency.wait_for_message(15, predicate=lambda m: shows(m, ReplyOpen))
    assert "⚠️" in request.content  # the round flagged the gap
    assert "19 de marzo de 2026" in request.content, request.content  # March 5 + 14 days
    assert any("Cambio para las personas: 25/100" in m.content for m in agency.messages)

    # Someone else pressing the agency's button (a forged payload) changes nothing.
    nosy = answered[0]
    reply_id = int(request.buttons[0][0].callback_data.split(":")[1])
    await nosy.press_data(f"p:{reply_id}")
    await pulso.settle()
    async with pulso.services.db.read() as repos:
        assert (await repos.accountability.get(reply_id)).draft is None

    # The guided flow: the gap first, "we will act … by <date>".
    shown = await step(agency, lambda: press(agency, ReplyOpen), "Tema 1 de")
    assert "La brecha entre lo reportado" in shown.content
    await step(agency, lambda: press(agency, ReplyStance, stance="act"), "¿Qué harán?")
    await step(agency, lambda: agency.send(PROMISE), "¿Para qué fecha?")
    refused = await step(agency, lambda: agency.send("2026-02-30"), "No entendí la fecha")
    assert refused.content.startswith("No entendí")
    shown = await step(agency, lambda: agency.send("2026-03-20"), "Plazo:")
    # Then each main theme (from the snapshot): already done, with what was done.
    while not shows(shown, ReplyFinish):
        assert "El tema «" in shown.content, shown.content
        await step(agency, lambda: press(agency, ReplyStance, stance="done"), "¿Qué se hizo ya?")
        shown = await step(agency, lambda: agency.send("Se publicó el padrón en línea"), "Plazo:")
    assert "Revisa tu respuesta" in shown.content
    await step(agency, lambda: press(agency, ReplyFinish, publish=True), "Respuesta publicada")

    # The Secretariat and every respondent (not the one who never answered) receive it.
    chat = pulso.secretariat_chat
    await pulso.emulator.wait_until(
        lambda: (
            any("La dependencia respondió" in m.content for m in chat.messages)
            and all(
                any(
                    "answered what you said" in m.content
                    or "lo que tú y otras personas dijeron" in m.content
                    for m in u.messages
                )
                for u in answered
            )
        ),
        15,
    )
    published = next(m for m in chat.messages if "La dependencia respondió" in m.content)
    assert f"Actuaremos: {PROMISE} (para el 20 de marzo de 2026)" in published.content
    english = next(m for m in answered[3].messages if "answered what you said" in m.content)
    assert "We will act" in english.content  # in her language
    assert not any("respondió" in m.content for m in silent.messages)
    # Publishing again (a repeated press) sends nothing twice.
    await agency.press_data(encode(ReplyFinish(reply_id, True)))
    await pulso.settle()
    await pulso.services.delivery.idle()
    assert sum("La dependencia respondió" in m.content for m in chat.messages) == 1

    # Round 2, after the promised date: the beneficiaries are asked whether it happened.
    pulso.clock.set(datetime(2026, 3, 23, 16, 0, tzinfo=UTC))
    second = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await pulso.emulator.wait_until(
        lambda: all(any(shows(m, PromisePress) for m in u.messages) for u in answered), 15
    )
    asked = next(m for m in answered[0].messages if shows(m, PromisePress))
    assert PROMISE in asked.content
    assert "¿Ocurrió?" in asked.content
    for user, answer in zip(answered, ("yes", "yes", "yes", "partly"), strict=True):
        await step(user, lambda u=user, a=answer: press(u, PromisePress, answer=a), "")
    # A beneficiary cannot answer someone else's question.
    theirs = next(m for m in answered[1].messages if shows(m, PromisePress))
    forged = theirs.buttons[0][0].callback_data.replace(":yes", ":no")
    await silent.press_data(forged)
    await answer_round(pulso, second, answered)
    await close_round(pulso)

    # /gap: the promise's outcome (3 yes, 1 partly: kept) and the round-1 answer on time.
    gap = await step(
        pulso.admin, lambda: pulso.admin.send(f"/gap {second}"), "Respuesta del gobierno"
    )
    text = gap.content
    assert "JAL0001 · ronda 1: respondió a tiempo" in text
    assert "cumplidas 1, en parte 0, incumplidas 0" in text
    assert "verificada en la ronda 2: cumplida — sí 3, en parte 1, no 0, no sé 0" in text
    assert f"JAL0001 · ronda {second}: respuesta pendiente" in text

    # /trend shows it round by round too, and `pulso report` writes it as a file.
    trend = await step(pulso.admin, lambda: pulso.admin.send("/trend JAL0001"), GOVERNMENT)
    assert "JAL0001 · ronda 1: respondió a tiempo" in trend.content
    assert "cumplidas 1" in trend.content
    report = await ResultsView(pulso.services).report(second, "en")
    assert "JAL0001 · round 1: answered on time" in report["report.html"].decode()
    assert b",kept" in report["responses.csv"]

    # The Secretariat's /export carries the answers as a second file.
    mark = pulso.admin.chat.cursor
    await pulso.admin.send(f"/export {second}")
    answers = await pulso.admin.wait_for_message(
        predicate=lambda m: (
            m.kind == "document"
            and m.document is not None
            and "responses" in (m.document.filename or "")
        ),
        since=mark,
    )
    assert answers.document is not None
    assert b",kept" in answers.document.data

    # The public site shows the answer and the promise's outcome, and publishes them as
    # open data.
    files = await build_site(pulso.services, tmp_path / "site")
    page = files["es/c/JAL0001.html"].decode()
    assert "JAL0001 · ronda 1: respondió a tiempo" in page
    assert f"Actuaremos: {PROMISE} (para el 20 de marzo de 2026)" in page
    assert "verificada en la ronda 2: cumplida" in page
    rows = list(csv.DictReader(io.StringIO(files["data/responses.csv"].decode())))
    promise = next(r for r in rows if r["stance"] == "act")
    assert (promise["round"], promise["timeliness"], promise["promised_by"]) == (
        "1",
        "on_time",
        "2026-03-20",
    )
    assert (promise["yes"], promise["partly"], promise["outcome"]) == ("3", "1", "kept")
    from frictionless import validate

    report = validate(str(tmp_path / "site" / "data" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


async def test_an_answer_never_given_is_reported_to_the_secretariat_at_its_deadline(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    agency = pulso.emulator.user(AGENCY, "Secretaría del Trabajo", started=True)
    await grant_responsible(pulso)
    answered, _ = await beneficiaries(pulso)
    round_id = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await answer_round(pulso, round_id, answered)
    await close_round(pulso)
    await agency.wait_for_message(15, predicate=lambda m: shows(m, ReplyOpen))
    chat = pulso.secretariat_chat

    # /responses: pending, not overdue; a participant may not ask.
    pending = await step(pulso.admin, lambda: pulso.admin.send("/responses"), "pendientes")
    assert "plazo: 19 de marzo de 2026 (sin empezar)" in pending.content
    refused = await step(answered[0], lambda: answered[0].send("/responses"), "")
    assert "pendientes" not in refused.content

    # Reminders 3 days and 1 day before the deadline, each once.
    for days_left in (3, 1):
        pulso.clock.set(DUE - timedelta(days=days_left))
        await pulso.tick()
        await pulso.tick()
    await pulso.emulator.wait_until(
        lambda: sum("Recordatorio" in m.content for m in agency.messages) == 2, 10
    )
    assert not any("vencida" in m.content for m in chat.messages)

    # The deadline passes: the Secretariat is told, once.
    pulso.clock.set(DUE)
    await pulso.tick()
    await pulso.tick()
    overdue = await chat.wait_for_message(
        10, predicate=lambda m: "Respuesta vencida" in m.content, since=0
    )
    assert "JAL0001" in overdue.content
    assert "ronda 1" in overdue.content
    await pulso.services.delivery.idle()
    assert sum("Respuesta vencida" in m.content for m in chat.messages) == 1
    listed = await step(pulso.admin, lambda: pulso.admin.send("/responses"), "pendientes")
    assert "— vencida el 19 de marzo de 2026 (sin empezar)" in listed.content
    gap = await step(
        pulso.admin, lambda: pulso.admin.send(f"/gap {round_id}"), "Respuesta del gobierno"
    )
    assert "JAL0001 · ronda 1: ⏰ no respondió" in gap.content
