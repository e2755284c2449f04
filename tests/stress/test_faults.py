"""Fault matrix: Telegram misbehaving in each way it can, alone and all together.

Each case runs the real bot (in this process, over HTTP, on SQLite) against an
emulator injecting one kind of fault — 429 with ``retry_after``, 5xx answers,
read timeouts, slow answers, people who blocked the bot, a ``getUpdates`` that
fails for a while — or all of them at once, seeded by ``PULSO_STRESS_SEED``.
A round fans out to a few dozen people while some of them answer it
(:mod:`tests.stress.respondents`). The bot must keep running and converge:

* every reachable participant is invited exactly once; the blocked ones are
  marked unreachable and their invitations too;
* every answer given is stored once, with its value (and acknowledged: the
  person got to the end of the survey);
* after ``getUpdates`` failures PTB's updater polls again and nothing is left
  unconfirmed;
* nothing is logged at ERROR (an unhandled error in a handler logs
  ``handling update … failed``), and afterwards the bot still answers a command.

Short form: 30 people, 6 answering, each case once. ``PULSO_STRESS=full``: 80
people, 20 answering, harsher rates, each case with two seeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.rounds.service import NewRound
from bot.storage.schema import outbox, participants
from tests.e2e.harness import RunningBot, running_bot
from tests.stress.conftest import STRESS_FULL, STRESS_SEED
from tests.stress.respondents import Respondent, stored_answers

FIRST_ID = 70_001
PEOPLE = 80 if STRESS_FULL else 30
ANSWERING = 20 if STRESS_FULL else 6
#: Sends per second: high, so a case takes seconds; the faults are what is under test.
RATE = 200
HARSH = 1.5 if STRESS_FULL else 1.0


@dataclass(frozen=True)
class Faults:
    """What goes wrong in one case."""

    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0  # held past the client's read timeout, not performed
    latency: tuple[float, float] | None = None
    blocked: int = 0  # people who blocked the bot before the round
    updates_down: float = 0.0  # seconds getUpdates fails, once people are answering

    def configure(self, pulso: RunningBot, seed: int) -> None:
        pulso.emulator.faults.configure(
            seed=seed,
            rate_429=min(0.3, self.rate_429 * HARSH),
            retry_after=self.retry_after,
            rate_5xx=min(0.3, self.rate_5xx * HARSH),
            rate_timeout=min(0.2, self.rate_timeout * HARSH),
            hold=6.0,  # the bot's read timeout is 5 s
            latency=self.latency,
        )
        # One of each kind for sure, whatever the draws: the round's first sends.
        for kind, rate in (("429", self.rate_429), ("5xx", self.rate_5xx)):
            if rate:
                pulso.emulator.faults.fail_next("sendMessage", kind=kind)
        if self.rate_timeout:
            pulso.emulator.faults.fail_next("sendMessage", kind="timeout", hold=6.0)


ALL = Faults(
    rate_429=0.03,
    rate_5xx=0.05,
    rate_timeout=0.01,
    latency=(0.0, 0.2),
    blocked=4,
    updates_down=2.0,
)
CASES = [
    pytest.param(Faults(rate_429=0.06, retry_after=1), id="429-retry-after"),
    pytest.param(Faults(rate_5xx=0.1), id="5xx"),
    pytest.param(Faults(rate_timeout=0.025), id="read-timeouts"),
    pytest.param(Faults(latency=(0.05, 0.4)), id="slow-answers"),
    pytest.param(Faults(blocked=5), id="blocked-users"),
    pytest.param(Faults(updates_down=3.0), id="getUpdates-down"),
    pytest.param(ALL, id="all-together"),
]
SEEDS = [0, 1] if STRESS_FULL else [0]


async def open_round(pulso: RunningBot) -> int:
    created = await pulso.services.rounds.create(
        NewRound(
            instrument_id="pulse",
            commitment_ids=("JAL0001",),
            roles=("beneficiary",),
            opens_at=pulso.clock.now(),
            duration=timedelta(days=7),
            reminder_offsets=(),
            quiet_hours="off",
        ),
        actor=None,
    )
    return created.round.id


async def settled(pulso: RunningBot, timeout: float) -> dict[tuple[int, str], str]:
    """Wait until no outbox row is pending or being sent; (chat, kind) → status."""
    deadline = time.monotonic() + timeout
    while True:
        async with pulso.services.db.read() as repos:
            rows = (
                await repos.conn.execute(
                    sa.select(outbox.c.chat_id, outbox.c.kind, outbox.c.status)
                )
            ).all()
        if all(status not in ("pending", "sending") for _, _, status in rows):
            return {(int(chat), kind): status for chat, kind, status in rows}
        assert time.monotonic() < deadline, f"the outbox did not settle: {rows}"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed+{s}")
@pytest.mark.parametrize("faults", CASES)
@pytest.mark.timeout(300 if STRESS_FULL else 90)
async def test_the_bot_converges_under_faults(
    faults: Faults,
    seed: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stress_figures,
) -> None:
    caplog.set_level(logging.WARNING)
    seed = STRESS_SEED + seed
    async with running_bot(
        f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}",
        send_rate_per_second=RATE,
        quiet_hours="off",
    ) as pulso:
        emu = pulso.emulator
        ids = await pulso.example_plan_with_people(PEOPLE, FIRST_ID)
        blocked = ids[-faults.blocked :] if faults.blocked else []
        for n, user_id in enumerate(blocked):
            emu.users[user_id].block(notify=n % 2 == 0)  # Telegram does not always say
        started = time.monotonic()
        people = [
            Respondent(emu.users[user_id], seed=seed, up_since=lambda: started)
            for user_id in ids[:ANSWERING]
        ]
        faults.configure(pulso, seed)
        round_id = await open_round(pulso)
        answering = [asyncio.create_task(person.take_surveys()) for person in people]
        if faults.updates_down:
            # Once the first invitations are out, getUpdates fails for a while.
            await emu.wait_until(lambda: any(emu.chat(i).messages for i in ids[:ANSWERING]))
            emu.faults.fail_get_updates(seconds=faults.updates_down)
        try:
            _, waiting = await asyncio.wait(answering, timeout=120 if STRESS_FULL else 60)
            if waiting:
                from tests.stress.test_crash import transcripts

                stuck = [p.user.id for p, t in zip(people, answering, strict=True) if t in waiting]
                raise AssertionError(
                    f"respondents never finished: {stuck}\n" + transcripts(emu, stuck)
                )
            done = [task.result() for task in answering]
        finally:
            for task in answering:
                task.cancel()
        statuses = await settled(pulso, 60)
        injected = dict(emu.faults.injected)
        emu.faults.clear()
        await pulso.settle()

        # Still running: a command is answered.
        await pulso.admin.send("/rounds")
        listing = await pulso.admin.wait_for_message(timeout=10)
        assert f"#{round_id}" in listing.content or str(round_id) in listing.content

        stored = await stored_answers(pulso.services.db)
        async with pulso.services.db.read() as repos:
            people_status = dict(
                (
                    await repos.conn.execute(
                        sa.select(participants.c.telegram_user_id, participants.c.status)
                    )
                ).all()
            )

    for kind, count in injected.items():
        stress_figures.add(f"faults injected: {kind}", count)
    stress_figures.add("updates handled", emu.core.updates.next_update_id - 1)

    reachable = [i for i in ids if i not in blocked]
    invitations = {i: sum(1 for m in emu.chat(i).messages if "📋" in m.content) for i in ids}
    missing = [i for i in reachable if invitations[i] == 0]
    twice = [i for i in reachable if invitations[i] > 1]
    stress_figures.add("lost", len(missing))
    if twice:
        stress_figures.add("duplicated", len(twice), inside_window=False)
    assert missing == []
    assert twice == []
    assert all(statuses[(i, "invitation")] == "sent" for i in reachable)
    for n, user_id in enumerate(blocked):
        assert invitations[user_id] == 0
        told = n % 2 == 0
        # Told by my_chat_member in time, the bot queues them no invitation at all, or
        # withdraws the one queued; not told, the invitation meets a 403.
        expected = {None, "unreachable", "cancelled"} if told else {"unreachable"}
        assert statuses.get((user_id, "invitation")) in expected
        assert people_status[user_id] == "unreachable"

    # Every answer given is stored once with its value, acknowledged, and nothing else is.
    assert done == [1] * len(people)
    given = {key: g for person in people for key, g in person.given.items()}
    assert [key for key, g in given.items() if not g.acked] == []
    assert {key: g.value for key, g in given.items()} == stored
    assert emu.pending_updates == 0
    if faults.updates_down:
        assert injected["get_updates"] > 0
    # The poller logs each failed getUpdates at WARNING, and polls again; nothing is
    # logged at ERROR.
    polls = [
        r
        for r in caplog.records
        if r.name == "bot.intake.polling" and r.getMessage().startswith("getUpdates failed")
    ]
    assert len(polls) == injected.get("get_updates", 0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    refused = [f"{q.method} {q.status} {q.params}" for q in emu.requests if not q.ok][:10]
    assert errors == [], "\n".join([*(f"{r.name}: {r.getMessage()}" for r in errors), *refused])
    for kind, rate in (
        ("429", faults.rate_429),
        ("5xx", faults.rate_5xx),
        ("timeout", faults.rate_timeout),
        ("latency", 1.0 if faults.latency else 0.0),
    ):
        assert (injected.get(kind, 0) > 0) == (rate > 0), (kind, injected)
