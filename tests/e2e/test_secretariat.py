"""The Secretariat's commands against the real bot: /summary, /gap, /trend, /export, and the
admins' /official; refusals for everyone else; malformed arguments answered with usage."""

from __future__ import annotations

import csv
import io
import re

import pytest

from botapi_emulator import ChatMessage, SimGroup, SimUser
from tests.e2e.harness import ADMIN_ID, RunningBot
from tests.e2e.participant_steps import open_round
from tests.e2e.test_insights import answer_round, respondents

pytestmark = pytest.mark.e2e

SECRETARY = 900_777


async def says(
    pulso: RunningBot, who: SimUser, text: str, *, chat: SimGroup | None = None, count: int = 1
) -> list[ChatMessage]:
    """``who`` sends ``text`` (in a group, or privately); the bot's next ``count`` messages."""
    log = chat.chat if chat is not None else who.chat
    mark = log.cursor
    if chat is not None:
        await chat.send(who, text)
    else:
        await who.send(text)
    await pulso.emulator.wait_until(lambda: len(log.events) - mark >= count, timeout=15)
    return log.events[mark : mark + count]


async def closed_round(pulso: RunningBot) -> tuple[int, list[SimUser]]:
    """The example plan, four beneficiaries of JAL0001 who answered, the round closed."""
    await pulso.import_example_plan()
    answered, _ = await respondents(pulso)
    round_id = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await answer_round(pulso, round_id, answered)
    await says(pulso, pulso.admin, f"/closeround {round_id}")
    # The summary's texts go first, one a second to the group, then its charts (drawn
    # in a thread): on a busy machine that has taken over 15 s.
    await pulso.emulator.wait_until(
        lambda: any(m.kind == "photo" for m in pulso.secretariat_chat.messages), timeout=40
    )
    await pulso.services.delivery.idle()
    return round_id, answered


async def test_the_secretariat_reads_the_results(pulso_any_db: RunningBot) -> None:
    pulso = pulso_any_db
    group = pulso.secretariat_chat
    admin = pulso.admin
    (nothing,) = await says(pulso, admin, "/summary", chat=group)
    assert "Todavía no cierra ninguna ronda" in nothing.content

    round_id, answered = await closed_round(pulso)

    text, gap_chart, tone_chart = await says(pulso, admin, "/summary", chat=group, count=3)
    assert f"Resultados de la ronda {round_id}" in text.content
    assert (gap_chart.kind, tone_chart.kind) == ("photo", "photo")

    (detail,) = await says(pulso, admin, f"/summary jal0001 {round_id}", chat=group)
    assert "JAL0001 · " in detail.content
    assert "No cambió 2 (50 %)" in detail.content
    assert "respuesta mediana: No cambió" in detail.content

    gap_text, gap_photo = await says(pulso, admin, "/gap", chat=group, count=2)
    assert gap_text.content.index("JAL0001") < gap_text.content.index("JAL0002")
    assert (
        "oficial 100 % · implementación no se preguntó · beneficiarias 25/100" in gap_text.content
    )
    assert "brecha +75 puntos" in gap_text.content
    assert gap_photo.kind == "photo"

    trend_text, trend_photo = await says(pulso, admin, "/trend JAL0001", chat=group, count=2)
    assert f"Ronda {round_id}" in trend_text.content
    assert trend_photo.kind == "photo"

    # Privacy rule: the Secretariat's export is the published figures, nothing more.
    (figures,) = await says(pulso, admin, "/export", chat=group)
    assert figures.document is not None
    assert figures.document.filename == f"pulso-round-{round_id}-figures.csv"
    published = list(csv.DictReader(io.StringIO(figures.document.data.decode("utf-8-sig"))))
    assert {r["commitment"] for r in published} == {"JAL0001"}
    assert "pseudonym" not in published[0]
    assert "text" not in published[0]
    change = next(
        r for r in published if r["figure"] == "outcome_index" and r["role"] == "beneficiary"
    )
    assert (change["value"], change["people"]) == ("25.00", "4")

    # Privacy rule: the answer file is for admins, in a private chat, and audited.
    (refused,) = await says(pulso, admin, f"/export {round_id} answers", chat=group)
    assert "chat privado" in refused.content
    (document,) = await says(pulso, admin, f"/export {round_id} answers")
    assert document.document is not None
    assert document.document.filename == f"pulso-round-{round_id}-answers.csv"
    content = document.document.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 4 * 5 + 1  # five answers each, and one `response`
    assert {r["commitment"] for r in rows} == {"JAL0001"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["pseudonym"]) for r in rows)
    assert len({r["pseudonym"] for r in rows}) == 4
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["answered_at"]) for r in rows)
    for user in answered:
        assert str(user.id) not in content  # Telegram ids never leave the bot
        assert user.first_name not in content
    async with pulso.services.db.read() as repos:
        audited = await repos.audit.recent(action="export_answers")
    assert [(e.actor, e.details["round"], e.details["rows"]) for e in audited] == [
        (ADMIN_ID, round_id, 21)
    ]


async def test_staff_output_stays_in_staff_chats(pulso: RunningBot) -> None:
    """Privacy rule: staff output goes only to staff's private chats and the Secretariat's
    chats; in any other group a staff command is refused and changes nothing."""
    await closed_round(pulso)
    elsewhere = pulso.emulator.group(-100_555, "Vecinos de la colonia", type="supergroup")
    for command in (
        "/summary",
        "/gap",
        "/trend JAL0001",
        "/export",
        "/rounds",
        "/official JAL0001 5",
    ):
        (refusal,) = await says(pulso, pulso.admin, command, chat=elsewhere)
        assert "solo funcionan en un chat privado" in refusal.content, command
    async with pulso.services.db.read() as repos:
        assert (await repos.plans.official_figures())["JAL0001"].percent == 100


async def test_an_open_round_shows_who_took_part_not_what_they_said(pulso: RunningBot) -> None:
    """Privacy rule: while a round is open, staff see counts of who took part only."""
    await pulso.import_example_plan()
    answered, _ = await respondents(pulso)
    round_id = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await answer_round(pulso, round_id, answered)
    (progress,) = await says(pulso, pulso.admin, f"/summary {round_id}")
    assert "4 de 5 personas completaron" in progress.content
    assert "/100" not in progress.content
    for command in (f"/summary {round_id} JAL0001", f"/gap {round_id}", f"/export {round_id}"):
        (refusal,) = await says(pulso, pulso.admin, command)
        assert f"La ronda {round_id} sigue abierta" in refusal.content, command


async def test_admins_record_the_official_figure(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    admin = pulso.admin
    (done,) = await says(pulso, admin, "/official jal0002 62,5%")
    assert done.content == "✅ Avance oficial de JAL0002: 62.5 % (antes 95 %)."
    async with pulso.services.db.read() as repos:
        figure = (await repos.plans.official_figures())["JAL0002"]
        audit = await repos.audit.recent(action="official")
    assert (figure.percent, figure.source, figure.recorded_by) == (62.5, "/official", ADMIN_ID)
    assert audit[0].details == {"commitment": "JAL0002", "percent": 62.5, "previous": 95.0}

    (unknown,) = await says(pulso, admin, "/official JAL0099 50")
    assert "JAL0099" in unknown.content
    (bad,) = await says(pulso, admin, "/official JAL0002 150")
    assert "de 0 a 100" in bad.content
    assert "Uso: /official COMPROMISO PORCENTAJE" in bad.content
    (usage,) = await says(pulso, admin, "/official")
    assert usage.content.startswith("Uso: /official")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("/summary 1 2", "Uso: /summary", id="summary-two-rounds"),
        pytest.param("/summary 999", "No existe la ronda 999", id="summary-unknown-round"),
        pytest.param("/summary JAL0099", "JAL0099", id="summary-unknown-commitment"),
        pytest.param("/gap JAL0001", "Uso: /gap", id="gap-commitment"),
        pytest.param("/trend", "Uso: /trend", id="trend-without-commitment"),
        pytest.param("/trend JAL0099", "JAL0099", id="trend-unknown-commitment"),
        pytest.param("/export x", "Uso: /export", id="export-usage"),
        pytest.param("/export 999", "No existe la ronda 999", id="export-unknown-round"),
    ],
)
async def test_malformed_commands_say_what_was_expected(
    pulso: RunningBot, command: str, expected: str
) -> None:
    await pulso.import_example_plan()
    (answer,) = await says(pulso, pulso.admin, command)
    assert expected in answer.content


async def test_only_staff_may_read_results_and_only_admins_record_figures(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    stranger = pulso.person(555, "Extraña")
    for command in ("/summary", "/gap", "/trend JAL0001", "/export", "/official JAL0001 10"):
        (refusal,) = await says(pulso, stranger, command)
        assert refusal.content == "🚫 Este comando no está disponible para ti."
    async with pulso.services.db.write() as repos:
        await repos.staff.grant(
            SECRETARY, "secretariat", granted_by=ADMIN_ID, now=pulso.clock.now()
        )
    secretary = pulso.person(SECRETARY, "Secretaria")
    (allowed,) = await says(pulso, secretary, "/summary")
    assert "Todavía no cierra ninguna ronda" in allowed.content
    (refused,) = await says(pulso, secretary, "/official JAL0001 10")
    assert refused.content == "🚫 Este comando no está disponible para ti."
    async with pulso.services.db.read() as repos:
        assert (await repos.plans.official_figures())["JAL0001"].percent == 100
