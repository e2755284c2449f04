"""A round's life with a controllable clock: scheduled opening, reminders only to those who
have not finished, quiet hours, deadline close, recurring schedules, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from botapi_emulator import SimUser
from handlers.callback_data import StartSurvey, SurveyPress
from tests.e2e.harness import ADMIN_ID, RunningBot, press, shows
from tests.factories import add_participant, complete_responses

pytestmark = pytest.mark.e2e

H = timedelta(hours=1)
D = timedelta(days=1)


async def people(pulso: RunningBot, count: int, first_id: int = 7001) -> list[SimUser]:
    """``count`` participants of JAL0001 as beneficiaries, who have talked to the bot."""
    users = []
    for user_id in range(first_id, first_id + count):
        await add_participant(pulso.services.db, pulso.clock.now(), user_id)
        users.append(pulso.emulator.user(user_id, f"Persona {user_id}", started=True))
    return users


async def admin_says(pulso: RunningBot, text: str) -> str:
    await pulso.admin.send(text)
    return (await pulso.admin.wait_for_message()).content


async def invitations(user: SimUser) -> list[str]:
    return [m.content for m in user.messages if "📋" in m.content]


async def wait_sent(pulso: RunningBot, predicate, timeout: float = 10.0) -> None:
    await pulso.emulator.wait_until(predicate, timeout=timeout)
    await pulso.services.delivery.idle()


async def test_a_scheduled_round_opens_on_time_and_invites_everyone_once(
    pulso_any_db: RunningBot,
) -> None:
    pulso = pulso_any_db
    await pulso.import_example_plan()
    ana, luis = await people(pulso, 2)
    reply = await admin_says(pulso, "/newround pulse JAL0001 beneficiary 2026-03-03 09:00 7d")
    assert "programada" in reply
    assert "2026-03-03 09:00" in reply
    assert "2026-03-10 09:00" in reply
    assert "2 persona(s)" in reply

    await pulso.tick()
    assert ana.messages == []

    pulso.clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))  # 09:00 in Mexico City
    report = await pulso.tick()
    assert report.opened == 1
    await wait_sent(pulso, lambda: bool(ana.messages) and bool(luis.messages))
    invitation = ana.messages[0]
    assert "Pulso rápido" in invitation.content
    assert "Lomas de Polanco" in invitation.content
    assert "2026-03-10 09:00" in invitation.content
    assert invitation.parse_mode == "HTML"
    assert invitation.button_texts() == ["▶️ Comenzar"]
    assert invitation.buttons[0][0].callback_data.startswith("s:")

    # A repeated tick, or a late one, changes nothing.
    assert (await pulso.tick()).opened == 0
    await pulso.services.delivery.idle()
    assert len(ana.messages) == len(luis.messages) == 1
    async with pulso.services.db.read() as repos:
        round_ = (await repos.rounds.recent())[0]
        assert round_.status == "open"
        counts = await repos.outbox.counts_by_round([round_.id])
        assert counts[round_.id] == {("invitation", "sent"): 2}
        actions = [e.action for e in await repos.audit.recent()]
    assert "round_create" in actions


async def test_reminders_go_only_to_those_who_have_not_finished(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana, luis = await people(pulso, 2)
    assert "abierta" in await admin_says(pulso, "/newround pulse JAL0001 all now 7d")
    await wait_sent(pulso, lambda: bool(ana.messages) and bool(luis.messages))
    # Ana answers the survey through the invitation's Start button (the journey's flow).
    await press(ana, StartSurvey)
    rating = await ana.wait_for_message(predicate=lambda m: shows(m, SurveyPress, code="8"))
    await press(ana, SurveyPress, message_id=rating.message_id, code="8")
    await ana.wait_for_message(predicate=lambda m: shows(m, SurveyPress, action="skip"))
    await press(ana, SurveyPress, action="skip")
    await ana.wait_for_message(predicate=lambda m: "🙏" in m.content)
    async with pulso.services.db.read() as repos:
        round_id = (await repos.rounds.recent())[0].id
        assert (await repos.responses.progress([round_id]))[round_id]["completed"] == 1
    sent_to_ana = len(ana.messages)

    pulso.clock.advance(48 * H + timedelta(minutes=1))
    assert (await pulso.tick()).reminded == 1
    await wait_sent(pulso, lambda: len(luis.messages) == 2)
    assert "Recordatorio" in luis.messages[1].content
    assert luis.messages[1].button_texts() == ["▶️ Continuar"]
    assert len(ana.messages) == sent_to_ana


async def test_invitations_wait_for_the_end_of_quiet_hours(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    (ana,) = await people(pulso, 1)
    pulso.clock.set(datetime(2026, 3, 3, 4, 0, tzinfo=UTC))  # 22:00 in Mexico City
    assert "abierta" in await admin_says(pulso, "/newround pulse JAL0001 all now 7d")
    await pulso.tick()
    await pulso.services.delivery.idle()
    assert ana.messages == []
    async with pulso.services.db.read() as repos:
        assert await repos.outbox.next_due_at() == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)

    pulso.clock.set(datetime(2026, 3, 3, 14, 0, tzinfo=UTC))  # 08:00
    await pulso.tick()
    await wait_sent(pulso, lambda: bool(ana.messages))
    assert "Pulso rápido" in ana.messages[0].content


async def test_the_deadline_closes_the_round_and_tells_the_secretariat(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana, luis, eva = await people(pulso, 3)
    await admin_says(pulso, "/newround pulse JAL0001 all now 3d reminders=none")
    await wait_sent(pulso, lambda: all(p.messages for p in (ana, luis, eva)))
    async with pulso.services.db.read() as repos:
        round_id = (await repos.rounds.recent())[0].id
        ana_id = (await repos.participants.by_telegram_id(ana.id)).id
    await complete_responses(pulso.services.db, round_id, ana_id, pulso.clock.now())

    pulso.clock.advance(3 * D)
    assert (await pulso.tick()).closed == 1
    chat = pulso.secretariat_chat
    line = f"🔒 La ronda {round_id} cerró: 1 de 3 respuestas completas."
    # The closing line comes first; the insights' full summary may follow it.
    await wait_sent(pulso, lambda: line in [m.content for m in chat.messages])
    assert chat.messages[0].content == line
    async with pulso.services.db.read() as repos:
        assert (await repos.rounds.get(round_id)).status == "closed"
    assert "cerrada" in await admin_says(pulso, f"/closeround {round_id}")


async def test_a_recurring_schedule_creates_rounds(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    (ana,) = await people(pulso, 1)
    reply = await admin_says(pulso, '/schedule pulse JAL0001 beneficiary "0 9 * * tue" 2d')
    assert "Ronda periódica" in reply
    assert "2026-03-03 09:00" in reply
    assert "2026-03-03 09:00" in await admin_says(pulso, "/schedules")

    pulso.clock.set(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    report = await pulso.tick()
    assert (report.created, report.opened) == (1, 1)
    await wait_sent(pulso, lambda: bool(ana.messages))
    # A week later (the first round long closed) the next one; missed firings make one round.
    pulso.clock.set(datetime(2026, 3, 17, 15, 30, tzinfo=UTC))
    report = await pulso.tick()
    assert (report.created, report.opened, report.closed) == (1, 1, 1)
    async with pulso.services.db.read() as repos:
        made = await repos.rounds.recent()
        schedule = (await repos.rounds.schedules())[0]
    assert [r.status for r in made] == ["open", "closed"]
    assert made[0].opens_at == datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    assert schedule.next_fire_at == datetime(2026, 3, 24, 15, 0, tzinfo=UTC)

    assert "ya no creará" in await admin_says(pulso, f"/unschedule {schedule.id}")
    assert "No hay rondas periódicas" in await admin_says(pulso, "/schedules")


async def test_cancelling_withdraws_what_was_not_sent(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    (ana,) = await people(pulso, 1)
    await admin_says(pulso, "/newround pulse JAL0001 all 2026-03-04 09:00 7d")
    async with pulso.services.db.read() as repos:
        round_id = (await repos.rounds.recent())[0].id
    assert "cancelada" in await admin_says(pulso, f"/cancelround {round_id}")
    pulso.clock.set(datetime(2026, 3, 4, 16, 0, tzinfo=UTC))
    assert (await pulso.tick()).opened == 0
    await pulso.services.delivery.idle()
    assert ana.messages == []
    reply = await admin_says(pulso, f"/cancelround {round_id}")
    assert "está cancelada" in reply


async def test_rounds_lists_live_counts(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    users = await people(pulso, 3)
    await admin_says(pulso, "/newround pulse JAL0001 all now 7d")
    await wait_sent(pulso, lambda: all(u.messages for u in users))
    listing = await admin_says(pulso, "/rounds")
    assert "abierta" in listing
    assert "🎯 3 · 📬 3 · ▶️ 0 · ✅ 0 · ⚠️ 0 · 🚫 0" in listing


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param("/newround pulse", "Uso:", id="too-few"),
        pytest.param("/newround pulse JAL0001 all someday 7d", "La apertura debe ser", id="opens"),
        pytest.param("/newround pulse JAL0001 admins now 7d", "Los roles deben", id="roles"),
        pytest.param("/newround pulse JAL0001 all now 7w", "La duración debe", id="duration"),
        pytest.param("/newround nope JAL0001 all now 7d", "nope", id="unknown-survey"),
        pytest.param("/newround pulse JAL9999 all now 7d", "JAL9999", id="unknown-commitment"),
        pytest.param('/schedule pulse all all "* * * * *" 7d', "cron", id="cron-too-often"),
        pytest.param("/closeround x", "Uso:", id="close-usage"),
        pytest.param("/closeround 99", "No existe la ronda 99", id="close-unknown"),
    ],
)
async def test_malformed_commands_say_what_was_wrong(
    pulso: RunningBot, command: str, expected: str
) -> None:
    await pulso.import_example_plan()
    assert expected in await admin_says(pulso, command)
    async with pulso.services.db.read() as repos:
        assert await repos.rounds.recent() == []


@pytest.mark.parametrize(
    "command",
    [
        "/newround pulse all all now 7d",
        "/newround",
        '/schedule pulse all all "0 9 * * mon" 7d',
        "/rounds",
        "/closeround 1",
        "/cancelround 1",
        "/schedules",
        "/unschedule 1",
    ],
)
async def test_only_admins_may_touch_rounds(pulso: RunningBot, command: str) -> None:
    await pulso.import_example_plan()
    eve = pulso.person(8001, "Eve")
    await eve.send(command)
    assert (await eve.wait_for_message()).content == "🚫 Este comando no está disponible para ti."
    async with pulso.services.db.read() as repos:
        assert await repos.rounds.recent() == []
        assert await repos.rounds.schedules() == []
        assert ADMIN_ID not in [e.actor for e in await repos.audit.recent()]


async def test_no_reminder_after_stop(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana, luis = await people(pulso, 2)
    await admin_says(pulso, "/newround pulse JAL0001 all now 7d")
    await wait_sent(pulso, lambda: bool(ana.messages) and bool(luis.messages))
    await ana.send("/stop")  # the journey's command: no more surveys for Ana
    await ana.wait_for_message()
    async with pulso.services.db.read() as repos:
        assert (await repos.participants.by_telegram_id(ana.id)).status == "stopped"
    sent_to_ana = len(ana.messages)

    pulso.clock.advance(48 * H + timedelta(minutes=1))
    assert (await pulso.tick()).reminded == 1  # Luis only
    await wait_sent(pulso, lambda: len(luis.messages) == 2)
    assert len(ana.messages) == sent_to_ana
