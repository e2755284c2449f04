"""Invitations and reminders are rendered from what their batch loaded: a batch holding
several rounds' messages renders each one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.rounds import NewRound
from tests.e2e.harness import RunningBot
from tests.e2e.test_rounds_lifecycle import people, wait_sent

pytestmark = pytest.mark.e2e


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
    assert (await pulso.services.rounds.tick()).opened == 2
    await wait_sent(pulso, lambda: all(len(u.messages) == 2 for u in users), timeout=30)
    async with pulso.services.db.read() as repos:
        counts = await repos.outbox.counts_by_round([first, first + 1])
    assert counts == {
        first: {("invitation", "sent"): 40},
        first + 1: {("invitation", "sent"): 40},
    }
