"""Crash points: ``pulso run`` killed at the two instants where work used to be lost.

The random kills of ``test_crash.py`` land anywhere; these land exactly where
issue 11 found losses, by a ``sitecustomize`` on the bot process's path that
SIGKILLs it at the Nth time it passes one point (the bot's own code is not
changed for the test):

* **intake** — right after a batch from ``getUpdates`` is committed to the
  inbox, before any of it is handled (and before Telegram is told, by the next
  offset, that it arrived); in webhook mode, right after one update is
  committed, before Telegram has its 200 (so it sends the update again);
* **reply** — right after a survey move commits (the survey's introduction and
  first question, or an answer and the next question), before the reply is
  sent.

Each run kills the bot at a sequence of such points, restarting it on the same
database after each death, and the respondents are people who never type a
command: they only press and answer what the bot sends. Checked: nothing lost
(every acknowledged answer stored with its value), nothing applied twice
(every answer stored once), and every respondent finishes every survey — the
owed reply comes from the outbox after the grace, the pending updates from the
inbox. On SQLite and on PostgreSQL in polling mode, and on PostgreSQL in webhook mode.
"""

from __future__ import annotations

import asyncio
import random
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage.schema import responses
from botapi_emulator import BotApiEmulator
from botapi_emulator.errors import EmulatorTimeoutError
from pulso.bootstrap import open_services
from tests.e2e.harness import TOKEN, e2e_settings
from tests.e2e.nginx import free_ports
from tests.e2e.process import bot_environment
from tests.stress.respondents import Respondent, stored_answers
from tests.stress.test_crash import (
    CrashingBot,
    Form,
    database,
    integrity,
    open_rounds,
    prepare,
    transcripts,
    unacknowledged_losses,
)

pytestmark = [pytest.mark.stress, pytest.mark.e2e]

#: Where the process dies: (point, after how many passes), one death per pair.
SHORT = (("intake", 2), ("reply", 3), ("reply", 1))
FULL = (("intake", 2), ("reply", 3), ("reply", 1), ("intake", 4), ("reply", 6)) * 4

HOOK = textwrap.dedent(
    """
    # Injected by tests/stress/test_crash_points.py: SIGKILL at the Nth pass of one point.
    import os, signal

    _point, _, _nth = os.environ.get("PULSO_TEST_CRASH_AT", "").partition(":")
    if _point:
        _left = [int(_nth)]

        def _maybe_die():
            _left[0] -= 1
            if _left[0] == 0:
                os.kill(os.getpid(), signal.SIGKILL)

        if _point == "intake":
            import bot.intake.polling as _polling

            _store = _polling.Poller._store

            async def _store_then_die(self, batch):
                await _store(self, batch)
                _maybe_die()

            _polling.Poller._store = _store_then_die

            import pulso.webhook as _webhook

            _receive = _webhook.WebhookServer.receive

            async def _receive_then_die(self, request):
                # Stored and committed; Telegram has not had its 200 yet.
                response = await _receive(self, request)
                if response.status == 200:
                    _maybe_die()
                return response

            _webhook.WebhookServer.receive = _receive_then_die
        elif _point == "reply":
            import bot.journey.answering as _answering

            _apply = _answering.fresh_or_replay

            async def _commit_then_die(*args, **kwargs):
                result = await _apply(*args, **kwargs)
                _maybe_die()
                return result

            _answering.fresh_or_replay = _commit_then_die
    """
)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
        pytest.param("postgresql-webhook", id="postgresql-webhook", marks=pytest.mark.postgres),
    ],
)
async def test_sigkill_after_intake_and_between_commit_and_reply(
    kind: str, tmp_path: Path, stress_figures, stress_seed: int, stress_full: bool
) -> None:
    database_kind, _, mode = kind.partition("-")
    webhook_port = free_ports(1)[0] if mode == "webhook" else None
    points = FULL if stress_full else SHORT
    form = Form(
        people=16 if stress_full else 8,
        respond=1.0,
        kills=len(points),
        rounds=(("progress", 3600.0),),
        rate=30,
        kill_after=(0, 0),
        think=(0.02, 0.15),
    )
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    rng = random.Random(stress_seed)
    async with (
        database(database_kind, tmp_path) as url,
        BotApiEmulator(
            token=TOKEN,
            bot_username="pulso_test_bot",
            request_log_size=10**6,
            deliver_webhooks=webhook_port is not None,
        ) as emu,
    ):
        services = await open_services(e2e_settings(url))
        tasks: list[asyncio.Task[None]] = []
        bot: CrashingBot | None = None
        try:
            ids = await prepare(services, emu, form.people)
            base = bot_environment(emu, url, QUIET_HOURS="off", REPLY_GRACE_SECONDS="1")
            base["PYTHONPATH"] = str(hook_dir)
            if webhook_port is not None:
                base.update(
                    WEBHOOK_URL=f"http://127.0.0.1:{webhook_port}/pulso/telegram",
                    WEBHOOK_SECRET="crash-points_secret-1",
                    WEBHOOK_LISTEN="127.0.0.1",
                )
            bot = CrashingBot(emu, base, tmp_path, webhook_port=webhook_port)
            people = [
                Respondent(
                    emu.users[user_id],
                    seed=stress_seed,
                    think=form.think,
                    up_since=bot.up_since,
                    quiet_timeout=600,
                    commands=False,
                )
                for user_id in ids
            ]
            (round_id,) = await open_rounds(services, form)
            async with services.db.read() as repos:
                expected = set(
                    (
                        await repos.conn.execute(
                            sa.select(responses.c.id).where(responses.c.round_id == round_id)
                        )
                    ).scalars()
                )

            def finished() -> bool:
                for task in tasks:
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        raise AssertionError("a respondent failed") from task.exception()
                for person in people:
                    person.observe()
                return expected <= set().union(*(p.completed for p in people))

            deaths: dict[str, int] = {"intake": 0, "reply": 0}
            tasks = [asyncio.create_task(person.run()) for person in people]
            for point, nth in points:
                bot.env = {**base, "PULSO_TEST_CRASH_AT": f"{point}:{nth + rng.randint(0, 2)}"}
                await bot.start()
                if not await bot.exited(30):
                    break  # everything was answered before the point came again
                deaths[point] += 1
                lost = unacknowledged_losses(people, await stored_answers(services.db))
                assert lost == [], f"after a death at {point}: {lost}\n" + transcripts(
                    emu, [u for u, *_ in lost]
                )
                assert await integrity(services, quick=True) == []
            bot.env = base
            if not bot.running:
                await bot.start()
            try:
                await emu.wait_until(finished, timeout=180 if stress_full else 90)
            except EmulatorTimeoutError:
                done = set().union(*(p.completed for p in people))
                stuck = sorted(expected - done)
                raise AssertionError(
                    f"responses never finished: {stuck}\n" + transcripts(emu, ids)
                ) from None

            stored = await stored_answers(services.db)
            given = {key: g.value for p in people for key, g in p.given.items()}
            # The race issue 11 left open, kept visible should it come back: a person shown
            # a text question again after a crash retypes their answer just as the bot
            # moves on, and the retyped text is stored as the next text question's answer
            # (closed by lost replies waiting for the person's unhandled updates, and by
            # superseded ones never being sent). Counted apart, reported as XFAIL;
            # everything else must hold exactly.
            misplaced = sorted(
                key
                for key, value in stored.items()
                if value[0] == "text"
                and given.get(key) != value
                and any(given.get((key[0], other)) == value for (r, other) in given if r == key[0])
            )
            for key in misplaced:
                given.pop(key, None)
                stored.pop(key, None)
            # Every answer once, with its value, and nothing else.
            wrong = sorted(
                {k[0] for k in given.keys() ^ stored.keys()}
                | {k[0] for k in given.keys() & stored.keys() if given[k] != stored[k]}
            )
            whose = [p.user.id for p in people if any(r in wrong for r, _ in p.given)]
            assert given == stored, f"responses {wrong}:\n" + transcripts(emu, whose)
            assert [p.user.id for p in people if p.nudges] == []  # nobody typed a command
            assert await integrity(services, quick=False) == []
            assert await bot.terminate() == 0
            if misplaced:
                pytest.xfail(f"retyped texts stored as the next question's answer: {misplaced}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if bot is not None and bot.running:
                await bot.kill()
            await services.db.close()
    stress_figures.add(f"crash points ({kind}): deaths after intake", deaths["intake"])
    stress_figures.add(f"crash points ({kind}): deaths between commit and reply", deaths["reply"])
    stress_figures.add("lost", 0)
