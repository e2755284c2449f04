"""What an invitation or a reminder says is decided when it is sent, not when its batch was
claimed: a person who stops or finishes meanwhile gets nothing, and a batch holding several
rounds' messages renders each one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.rounds.service import NewRound
from handlers.callback_data import StartSurvey, SurveyPress
from tests.e2e.harness import RunningBot, press, shows
from tests.e2e.test_rounds_lifecycle import admin_says, people, wait_sent
from tests.factories import complete_responses

pytestmark = pytest.mark.e2e

H = timedelta(hours=1)


async def test_no_reminder_for_someone_who_stops_while_it_waits_to_be_sent(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    luis, ana = await people(pulso, 2)
    await admin_says(pulso, "/newround pulse JAL0001 all now 7d")
    await wait_sent(pulso, lambda: bool(ana.messages) and bool(luis.messages))
    # Both reminders are claimed in one batch; Luis's is refused with a 429, and every
    # send pauses for two seconds, during which Ana says /stop.
    pulso.emulator.faults.fail_next("sendMessage", kind="429", retry_after=2)
    pulso.clock.advance(48 * H + timedelta(minutes=1))
    assert (await pulso.tick()).reminded == 2
    await pulso.emulator.wait_until(lambda: pulso.emulator.faults.injected["429"] == 1)
    await ana.send("/stop")
    stopped = await ana.wait_for_message()
    assert "⏸" in stopped.content
    await wait_sent(pulso, lambda: len(luis.messages) == 2)
    assert [m for m in ana.messages if "Recordatorio" in m.content] == []


async def test_no_reminder_for_someone_who_finishes_while_it_waits_to_be_sent(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    luis, ana = await people(pulso, 2)
    await admin_says(pulso, "/newround pulse JAL0001 all now 7d")
    await wait_sent(pulso, lambda: bool(ana.messages) and bool(luis.messages))
    await press(ana, StartSurvey)
    rating = await ana.wait_for_message(predicate=lambda m: shows(m, SurveyPress, code="8"))
    await press(ana, SurveyPress, message_id=rating.message_id, code="8")
    await ana.wait_for_message(predicate=lambda m: shows(m, SurveyPress, action="skip"))
    pulso.emulator.faults.fail_next("sendMessage", kind="429", retry_after=2)
    pulso.clock.advance(48 * H + timedelta(minutes=1))
    assert (await pulso.tick()).reminded == 2
    await pulso.emulator.wait_until(lambda: pulso.emulator.faults.injected["429"] == 1)
    await press(ana, SurveyPress, action="skip")  # the last question: Ana is done
    await ana.wait_for_message(predicate=lambda m: "🙏" in m.content)
    await wait_sent(pulso, lambda: len(luis.messages) == 2)
    assert [m for m in ana.messages if "Recordatorio" in m.content] == []


async def test_one_batch_with_two_rounds_renders_every_message(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana, luis = await people(pulso, 2)
    first = await open_round(pulso, "pulse")
    await wait_sent(pulso, lambda: bool(ana.messages) and bool(luis.messages))
    async with pulso.services.db.write() as repos:  # Ana has answered the first round
        participant = await repos.participants.by_telegram_id(ana.id)
    await complete_responses(pulso.services.db, first, participant.id, pulso.clock.now())
    # Two days later the first round's reminder (to Luis) and a second round's invitations
    # (to both) are owed at once and go out in one batch.
    pulso.clock.advance(48 * H + timedelta(minutes=1))
    await open_round(pulso, "progress", tick=False)
    pulso.clock.advance(timedelta(minutes=1))
    await pulso.tick()
    await wait_sent(pulso, lambda: len(ana.messages) == 2 and len(luis.messages) == 3)
    assert "¿Cómo va el compromiso?" in ana.messages[1].content
    assert sorted(m.content[:14] for m in luis.messages[1:]) == [
        "⏰ Recordatorio",
        "📋 ¿Cómo va el ",
    ]
    async with pulso.services.db.read() as repos:
        counts = await repos.outbox.counts_by_round([first, first + 1])
    assert counts[first + 1] == {("invitation", "sent"): 2}
    assert counts[first][("reminder", "sent")] == 1


async def open_round(pulso: RunningBot, instrument: str, *, tick: bool = True) -> int:
    """A round of ``instrument`` for JAL0001's beneficiaries, opening now; ``tick=False``:
    opening in a minute, when the test moves the clock and ticks, with whatever else is
    due then."""
    now = pulso.clock.now()
    created = await pulso.services.rounds.create(
        NewRound(
            instrument_id=instrument,
            commitment_ids=("JAL0001",),
            roles=("beneficiary",),
            opens_at=now if tick else now + timedelta(minutes=1),
            duration=timedelta(days=7),
        ),
        actor=None,
    )
    return created.round.id


async def test_two_rounds_opened_at_once_invite_everyone_to_both(pulso: RunningBot) -> None:
    # 40 people × 2 rounds: the second batch (30 at 30/s) holds the end of the first round
    # and the start of the second, so its people have other rows in both rounds.
    await pulso.import_example_plan()
    users = await people(pulso, 40)
    first = await open_round(pulso, "pulse", tick=False)
    await open_round(pulso, "progress", tick=False)
    pulso.clock.advance(timedelta(minutes=1))
    assert (await pulso.tick()).opened == 2
    await wait_sent(pulso, lambda: all(len(u.messages) == 2 for u in users), timeout=30)
    async with pulso.services.db.read() as repos:
        counts = await repos.outbox.counts_by_round([first, first + 1])
    assert counts == {
        first: {("invitation", "sent"): 40},
        first + 1: {("invitation", "sent"): 40},
    }
