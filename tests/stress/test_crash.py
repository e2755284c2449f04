"""Crash suite: ``pulso run`` killed with SIGKILL at random moments, restarted, until done.

The bot runs as a real process (``python -m bot run``) against the emulator in
this process. Rounds open for a group of participants; the invitations fan out
at a slow pace while simulated respondents (:mod:`tests.stress.respondents`)
answer, and a reminder comes due in the middle. The bot is killed at seeded
random moments (``PULSO_STRESS_SEED``) during all of that and restarted on the
same database each time; after the last restart everything is let finish.

Checked after every kill, with the bot dead and so the database still:

* every answer the bot acknowledged (the respondent saw the next question or the
  recap after it) is stored, with the value given;
* SQLite passes ``PRAGMA quick_check`` and ``PRAGMA foreign_key_check``;
* the next process says it recovered exactly the rows left ``sending``.

Checked at the end, from the database and the emulator's request log:

* every answer given is stored exactly once with its value, and nothing else is;
* every targeted participant got one invitation per round, and everyone the
  reminder was queued for got it once (a cancelled reminder: none); the only
  duplicates allowed are messages whose row was in flight (``sending``) at a
  kill *and* had been accepted by Telegram before it — the double-send window of
  ``docs/rounds.md`` — and each is reported;
* ``PRAGMA integrity_check`` and ``foreign_key_check`` pass, no process logged an
  error, and the last one is still running and stops cleanly on SIGTERM.

Short form (the normal run): a few kills on SQLite, and on PostgreSQL.
``PULSO_STRESS=full``: 32 kills on SQLite and 12 on PostgreSQL, more people and
three rounds. See ``docs/stress.md``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
import sqlalchemy as sa

from bot.plans import import_plan
from bot.rounds.service import NewRound
from bot.services import Services
from bot.storage.schema import outbox, participants, reminders, responses
from botapi_emulator import BotApiEmulator
from botapi_emulator.errors import EmulatorTimeoutError
from handlers.callback_data import StartSurvey, decode
from pulso.bootstrap import open_services
from surveys.loader import load_plan
from tests.conftest import drop_postgres_database, make_postgres_database_url
from tests.e2e.harness import EXAMPLE_PLAN, TOKEN, e2e_settings
from tests.e2e.process import bot_environment
from tests.factories import add_participant
from tests.stress.conftest import STRESS_FULL
from tests.stress.respondents import (
    INVITATION_LABELS,
    REMINDER_LABELS,
    Respondent,
    stored_answers,
)

FIRST_ID = 60_001
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Form:
    """How hard one run pushes."""

    people: int
    respond: float  # share of people who answer
    kills: int
    rounds: tuple[tuple[str, float], ...]  # (instrument, reminder seconds after the start)
    rate: int  # SEND_RATE_PER_SECOND: slow, so the fan-out spans several kills
    kill_after: tuple[float, float]  # seconds the bot is up before a kill
    think: tuple[float, float]  # a respondent's pause before each action


FORMS = {
    ("sqlite", False): Form(30, 0.7, 4, (("progress", 9.0),), 12, (0.4, 1.8), (0.05, 0.3)),
    ("postgresql", False): Form(16, 0.75, 2, (("pulse", 5.0),), 12, (0.4, 1.5), (0.05, 0.3)),
    ("sqlite", True): Form(
        120,
        0.6,
        32,
        (("progress", 25.0), ("pulse", 60.0), ("progress", 95.0)),
        8,
        (0.3, 2.2),
        (0.2, 1.0),
    ),
    ("postgresql", True): Form(
        60, 0.6, 12, (("progress", 20.0), ("pulse", 45.0)), 8, (0.3, 2.2), (0.2, 1.0)
    ),
}


class CrashingBot:
    """``python -m bot run``, started and killed again and again; each generation's
    standard error goes to its own file."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        env: dict[str, str],
        logs: Path,
        *,
        webhook_port: int | None = None,
    ) -> None:
        self.emulator = emulator
        self.env = env
        self.logs = logs
        # In webhook mode (``pulso run --webhook --port P``) the bot is up once it has
        # called setWebhook; in polling mode, deleteWebhook is its last call before polling.
        self.args = ("--webhook", "--port", str(webhook_port)) if webhook_port else ()
        self.ready_call = "setWebhook" if webhook_port else "deleteWebhook"
        self.generation = 0
        self.process: asyncio.subprocess.Process | None = None
        self.up_at: float | None = None
        self._stderr: IO[bytes] | None = None

    def up_since(self) -> float | None:
        return self.up_at

    def log(self, generation: int) -> str:
        return (self.logs / f"bot-{generation}.log").read_text(errors="replace")

    async def start(self) -> None:
        self.generation += 1
        calls = self.emulator.stats.by_method[self.ready_call]
        self._stderr = (self.logs / f"bot-{self.generation}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            *self.args,
            env=self.env,
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._stderr,
        )
        # The services are up by the time the bot makes this call.
        await self.emulator.wait_until(
            lambda: self.emulator.stats.by_method[self.ready_call] > calls, timeout=60
        )
        self.up_at = time.monotonic()

    async def kill(self) -> float:
        """SIGKILL; returns the moment (monotonic) it was sent."""
        assert self.process is not None
        killed_at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.up_at = None
        self._close_log()
        return killed_at

    async def exited(self, timeout: float) -> bool:
        """Whether the process ended by itself within ``timeout`` seconds (a crash point)."""
        assert self.process is not None
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            return False
        self.up_at = None
        self._close_log()
        return True

    async def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), 15)
        self.up_at = None
        self._close_log()
        return code

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def _close_log(self) -> None:
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


@dataclass
class Kill:
    at: float
    generation: int
    in_flight: dict[str, int]  # dedupe key → outbox id of rows left `sending`
    fanning_out: bool
    answering: bool
    restarted_at: float = 0.0  # when the next process was started


@dataclass
class Run:
    """What happened, for the checks and the figures."""

    kills: list[Kill] = field(default_factory=list)
    spans: list[float] = field(default_factory=list)  # kill − Telegram's answer, per duplicate


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}"
        return
    url, name = await make_postgres_database_url()
    try:
        yield url
    finally:
        await drop_postgres_database(name)


async def prepare(services: Services, emulator: BotApiEmulator, count: int) -> list[int]:
    """The example plan and ``count`` participants of JAL0001 who have talked to the bot."""
    now = datetime.now(UTC)
    await import_plan(services.db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=now)
    ids = list(range(FIRST_ID, FIRST_ID + count))
    for user_id in ids:
        await add_participant(services.db, now, user_id)
        emulator.user(user_id, f"P{user_id}", started=True)
    return ids


async def open_rounds(services: Services, form: Form) -> list[int]:
    """The form's rounds, opened now (their invitations queued), each with one reminder."""
    now = datetime.now(UTC)
    created = []
    for instrument, remind_after in form.rounds:
        result = await services.rounds.create(
            NewRound(
                instrument_id=instrument,
                commitment_ids=("JAL0001",),
                roles=("beneficiary",),
                opens_at=now,
                duration=timedelta(days=7),
                reminder_offsets=(timedelta(seconds=remind_after),),
                quiet_hours="off",
            ),
            actor=None,
        )
        created.append(result.round.id)
    return created


async def sending_rows(services: Services) -> dict[str, int]:
    async with services.db.read() as repos:
        rows = await repos.conn.execute(
            sa.select(outbox.c.dedupe_key, outbox.c.id).where(outbox.c.status == "sending")
        )
        return {str(key): int(row_id) for key, row_id in rows}


async def owed(services: Services) -> int:
    """Outbox rows not settled yet, plus reminders not yet queued."""
    async with services.db.read() as repos:
        unsent = await repos.conn.scalar(
            sa.select(sa.func.count())
            .select_from(outbox)
            .where(outbox.c.status.in_(("pending", "sending")))
        )
        waiting = await repos.conn.scalar(
            sa.select(sa.func.count())
            .select_from(reminders)
            .where(reminders.c.status == "pending")
        )
    return int(unsent or 0) + int(waiting or 0)


async def integrity(services: Services, *, quick: bool) -> list[str]:
    """SQLite's own checks; empty when the file is sound (PostgreSQL: nothing to run)."""
    if services.db.dialect != "sqlite":
        return []
    problems: list[str] = []
    async with services.db.read() as repos:
        check = "quick_check" if quick else "integrity_check"
        result = [r[0] for r in (await repos.conn.exec_driver_sql(f"PRAGMA {check}")).all()]
        if result != ["ok"]:
            problems += [f"{check}: {line}" for line in result]
        problems += [
            f"foreign_key_check: {tuple(r)}"
            for r in (await repos.conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
        ]
    return problems


def unacknowledged_losses(
    people: list[Respondent], stored: dict[tuple[int, str], tuple[str, str | None]]
) -> list[tuple[int, tuple[int, str], tuple[str, str | None], tuple[str, str | None] | None]]:
    """Acknowledged answers missing from the database or stored with another value:
    (user, (response, question), given, stored)."""
    lost = []
    for person in people:
        person.observe()
        for key, given in person.given.items():
            if given.acked and stored.get(key) != given.value:
                lost.append((person.user.id, key, given.value, stored.get(key)))
    return lost


def round_messages(emulator: BotApiEmulator) -> dict[tuple[int, str], list[float]]:
    """(response id, kind) → the moments Telegram accepted each such message, from the
    emulator's request log (invitations and reminders, told by their Start buttons)."""
    sent: dict[tuple[int, str], list[float]] = {}
    for record in emulator.requests:
        if record.method.lower() != "sendmessage" or not record.ok:
            continue
        markup = record.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not isinstance(markup, dict):
            continue
        for row in markup.get("inline_keyboard", []):
            for button in row:
                label = button.get("text")
                kind = (
                    "invitation"
                    if label in INVITATION_LABELS
                    else "reminder"
                    if label in REMINDER_LABELS
                    else None
                )
                data = decode(button.get("callback_data"))
                if kind is not None and isinstance(data, StartSurvey):
                    sent.setdefault((data.response_id, kind), []).append(record.at)
    return sent


def window_spans(run: Run, dedupe_key: str, accepted: list[float]) -> list[float] | None:
    """For a message sent more than once: each repeat must follow a kill that left its row
    in flight (``sending``), with the earlier copy accepted before the next process started
    (so the killed one sent it) and the repeat after — the documented double-send window.
    Returns, per repeat, the span from the earlier copy's acceptance to the kill (negative:
    Telegram finished a request the process sent just before the signal); None if a repeat
    is not explained so."""
    spans = []
    for earlier, repeat in itertools.pairwise(accepted):
        kill = next(
            (
                k
                for k in run.kills
                if dedupe_key in k.in_flight and earlier < k.restarted_at <= repeat
            ),
            None,
        )
        if kill is None:
            return None
        spans.append(kill.at - earlier)
    return spans


def transcript(emulator: BotApiEmulator, user_id: int) -> str:
    """One chat as it went, for failure messages: messages (first version's buttons, and
    the buttons still live) and the person's presses with the bot's answers."""
    lines = [f"--- chat {user_id}"]
    for message in emulator.chat(user_id).history:
        first = message.edits[0] if message.edits else message
        was = [b.callback_data for row in first.buttons for b in row]
        live = [b.callback_data for row in message.buttons for b in row]
        text = (first.text or "").split("\n", 1)[0][:50]
        who = "bot" if message.from_bot else "person"
        lines.append(f"#{message.message_id} {who}: {text!r} buttons {was} live {live}")
    for press in emulator.users[user_id].presses:
        answer = press.answer.text if press.answer is not None else None
        lines.append(f"press {press.data} on #{press.message.message_id}: {answer!r}")
    return "\n".join(lines)


def transcripts(emulator: BotApiEmulator, user_ids: list[int]) -> str:
    return "\n".join(transcript(emulator, u) for u in sorted(set(user_ids))[:3])


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
@pytest.mark.timeout(1200 if STRESS_FULL else 150)
async def test_sigkill_during_fan_out_and_answering(
    kind: str, tmp_path: Path, stress_figures, stress_seed: int, stress_full: bool
) -> None:
    form = FORMS[(kind, stress_full)]
    rng = random.Random(stress_seed)
    run = Run()
    async with (
        database(kind, tmp_path) as url,
        BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot", request_log_size=10**7) as emu,
    ):
        services = await open_services(e2e_settings(url))
        tasks: list[asyncio.Task[None]] = []
        bot: CrashingBot | None = None
        try:
            ids = await prepare(services, emu, form.people)
            env = bot_environment(emu, url, SEND_RATE_PER_SECOND=str(form.rate), QUIET_HOURS="off")
            bot = CrashingBot(emu, env, tmp_path)
            answering = sorted(rng.sample(ids, round(len(ids) * form.respond)))
            people = [
                Respondent(
                    emu.users[user_id],
                    seed=stress_seed,
                    think=form.think,
                    up_since=bot.up_since,
                    quiet_timeout=600,
                )
                for user_id in answering
            ]
            round_ids = await open_rounds(services, form)
            async with services.db.read() as repos:
                targets = {
                    (int(r), int(p)): int(rid)
                    for rid, r, p in await repos.conn.execute(
                        sa.select(
                            responses.c.id, responses.c.round_id, participants.c.telegram_user_id
                        ).join(participants, participants.c.id == responses.c.participant_id)
                    )
                }
            assert len(targets) == len(ids) * len(round_ids)
            expected = {targets[(r, p.user.id)] for r in round_ids for p in people}

            await bot.start()
            tasks = [asyncio.create_task(person.run()) for person in people]

            def finished() -> bool:
                for task in tasks:
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        raise AssertionError("a respondent failed") from task.exception()
                for person in people:
                    person.observe()
                return all(r in set().union(*(p.completed for p in people)) for r in expected)

            # --- the kills ---------------------------------------------------------------
            for _ in range(form.kills):
                await asyncio.sleep(rng.uniform(*form.kill_after))  # the chaos schedule
                killed_at = await bot.kill()
                in_flight = await sending_rows(services)
                still_owed = await owed(services)
                run.kills.append(
                    Kill(
                        killed_at,
                        bot.generation,
                        in_flight,
                        fanning_out=still_owed > 0,
                        answering=not finished(),
                    )
                )
                lost = unacknowledged_losses(people, await stored_answers(services.db))
                assert lost == [], f"after kill {len(run.kills)}: {lost}\n" + transcripts(
                    emu, [u for u, *_ in lost]
                )
                problems = await integrity(services, quick=True)
                assert problems == [], f"after kill {len(run.kills)}: {problems}"
                run.kills[-1].restarted_at = time.monotonic()
                await bot.start()

            # --- let everything finish ----------------------------------------------------
            try:
                await emu.wait_until(finished, timeout=300 if stress_full else 90)
            except EmulatorTimeoutError:
                done = set().union(*(p.completed for p in people))
                stuck = {r for r in expected if r not in done}
                owners = {targets[key]: key for key in targets}
                async with services.db.read() as repos:
                    states = dict(
                        (
                            await repos.conn.execute(
                                sa.select(responses.c.id, responses.c.status).where(
                                    responses.c.id.in_(stuck)
                                )
                            )
                        ).all()
                    )
                described = [
                    f"response {r} (round {owners[r][0]}, user {owners[r][1]}): {states.get(r)}"
                    for r in sorted(stuck)
                ]
                raise AssertionError(
                    f"{len(stuck)} surveys never finished: {described}\n"
                    + transcripts(emu, [owners[r][1] for r in stuck])
                ) from None
            deadline = time.monotonic() + (300 if stress_full else 60)
            while await owed(services):
                assert time.monotonic() < deadline, "the outbox did not drain"
                await asyncio.sleep(0.25)
            assert bot.running, "the bot stopped by itself"
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            tasks = []
            assert await bot.terminate() == 0
            generations = bot.generation
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if bot is not None and bot.running:
                await bot.kill()
            await services.db.close()

        # --- the checks, with everything stopped ------------------------------------------
        services = await open_services(e2e_settings(url))
        try:
            stored = await stored_answers(services.db)
            async with services.db.read() as repos:
                rows = (
                    await repos.conn.execute(
                        sa.select(
                            outbox.c.dedupe_key,
                            outbox.c.kind,
                            outbox.c.status,
                            outbox.c.round_id,
                            participants.c.telegram_user_id,
                        )
                        .join(participants, participants.c.id == outbox.c.participant_id)
                        # A round's messages; a survey move's owed replies are checked by
                        # the answers (test_crash_points.py kills between the two).
                        .where(outbox.c.kind.in_(("invitation", "reminder")))
                    )
                ).all()
                reminder_states = Counter(
                    (await repos.conn.execute(sa.select(reminders.c.status))).scalars()
                )
                response_status = dict(
                    (await repos.conn.execute(sa.select(responses.c.id, responses.c.status))).all()
                )
                statuses = Counter(response_status.values())
            problems = await integrity(services, quick=False)
        finally:
            await services.db.close()

    # Each process after a kill recovered exactly what the kill left in flight.
    for kill in run.kills:
        log = bot.log(kill.generation + 1)
        if kill.in_flight:
            assert f"delivery: {len(kill.in_flight)} messages were being sent" in log
        else:
            assert "were being sent when the bot stopped" not in log
    for generation in range(1, generations + 1):
        log = bot.log(generation)
        assert " ERROR " not in log, f"process {generation}:\n{log}"
        assert "Traceback" not in log, f"process {generation}:\n{log}"

    # Answers: everything given was acknowledged and is stored once, with its value; nothing
    # else is stored.
    given = {key: g for person in people for key, g in person.given.items()}
    lost = [key for key, g in given.items() if stored.get(key) != g.value]
    unacked = [key for key, g in given.items() if not g.acked]
    extra = sorted(set(stored) - set(given))
    reasked = [(person.user.id, key) for person in people for key in person.reasked]
    assert statuses["completed"] == len(expected)

    # Invitations and reminders: every one owed arrived; duplicates only in the window.
    messages = round_messages(emu)
    missed: list[str] = []
    duplicates: list[str] = []
    outside: list[str] = []
    for dedupe_key, row_kind, status, round_id, user_id in rows:
        response_id = targets[(round_id, user_id)]
        accepted = messages.get((response_id, row_kind), [])
        if status != "sent":
            # A reminder is cancelled once its survey is done; so is an invitation still
            # waiting in a slow fan-out when its person found the survey by /survey and
            # finished it first.
            allowed = row_kind == "reminder" or response_status[response_id] == "completed"
            assert status == "cancelled", (dedupe_key, status)
            assert allowed, (dedupe_key, status, response_status[response_id])
            assert accepted == [], f"{dedupe_key} is {status} but was sent"
            continue
        if not accepted:
            missed.append(dedupe_key)
        elif len(accepted) > 1:
            duplicates += [dedupe_key] * (len(accepted) - 1)
            spans = window_spans(run, dedupe_key, accepted)
            if spans is None:
                kills = [
                    (round(k.at, 3), round(k.restarted_at, 3), dedupe_key in k.in_flight)
                    for k in run.kills
                ]
                outside.append(f"{dedupe_key}: accepted at {accepted}; kills {kills}")
            else:
                run.spans += spans
    invited = {(r, u) for _, k, s, r, u in rows if k == "invitation"}
    assert invited == set(targets), "someone targeted has no invitation row"
    assert reminder_states == {"enqueued": len(round_ids)}

    during = sum(1 for k in run.kills if k.fanning_out or k.answering)
    stress_figures.add("kills survived", len(run.kills))
    stress_figures.add(
        f"crash ({kind}): kills during fan-out", sum(k.fanning_out for k in run.kills)
    )
    stress_figures.add(
        f"crash ({kind}): kills during answering", sum(k.answering for k in run.kills)
    )
    stress_figures.add(
        f"crash ({kind}): rows in flight at kills", sum(len(k.in_flight) for k in run.kills)
    )
    stress_figures.add("updates handled", emu.core.updates.next_update_id - 1)
    stress_figures.add("lost", len(lost) + len(missed))
    if run.spans:
        stress_figures.add("duplicated", len(run.spans), inside_window=True)
        print(
            f"\ncrash ({kind}): {len(run.spans)} duplicate(s) inside the window; the kill came "
            + ", ".join(f"{1000 * s:+.1f} ms" for s in sorted(run.spans))
            + " after Telegram accepted the earlier copy"
        )
    if len(duplicates) > len(run.spans):
        stress_figures.add("duplicated", len(duplicates) - len(run.spans), inside_window=False)

    owner = {response_id: user_id for (_, user_id), response_id in targets.items()}
    assert lost == [], f"answers lost or changed: {lost}\n" + transcripts(
        emu, [owner[r] for r, _ in lost]
    )
    assert unacked == [], f"answers never acknowledged: {unacked}\n" + transcripts(
        emu, [owner[r] for r, _ in unacked]
    )
    assert extra == [], f"answers nobody gave: {extra}"
    assert reasked == [], f"acknowledged questions asked again: {reasked}\n" + transcripts(
        emu, [u for u, _ in reasked]
    )
    assert missed == [], f"owed but never sent: {missed}"
    assert outside == [], f"duplicates outside the documented window: {outside}"
    assert problems == []
    assert during == len(run.kills), "a kill came when nothing was under way"
