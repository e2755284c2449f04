"""Load benchmarks: answering under load, against a bare echo bot; memory at 100,000 people.

    python -m benchmarks load                         # both parts, on SQLite
    python -m benchmarks load --db postgresql
    python -m benchmarks load --only answers --people 2000 --paced-people 500
    python -m benchmarks load --only memory --participants 100000
    python -m benchmarks load --profile /tmp/prof     # py-spy of the bot in each phase

**Answers.** The bot runs as its own process (``python -m bot run``, with
``TELEGRAM_API_BASE_URL`` at the emulator), pinned to one core; the emulator and
the simulated people run in this process, on the other core. Participants are
written in bulk and a round of the ``progress`` survey is opened for all of
them (invitations go out at a lifted rate before anything is measured). Each
simulated person presses Start on the invitation (not measured), then answers
every question like a person (:class:`botapi_emulator.simulation.SimulatedRespondent`'s
reading of the screen, :class:`~botapi_emulator.simulation.AnswerPolicy` choices, about
80 % of the optional texts written, the rest skipped). Two phases:

* **100 at people's pace**: ``--paced-people`` people, 100 of them answering at
  any moment (one who finishes hands over to the next), each reading every
  question for 1–3 s (``--think``) before answering it — faster than people
  read these questions, so about 50 answers/s; this is where latency means
  something (goal: p99 ≤ 50 ms);
* **all at once**: ``--people`` people answering at the same time, each next
  answer as soon as the question appears: the bot saturated, so the answers/s
  are its ceiling (the latencies are then mostly queueing).

Latency is measured at the emulator: from the moment the press (or the text)
is queued for the bot's ``getUpdates`` to the moment the emulator records the
bot's next question (or the recap). Then, in the same run and against the same
emulator, a bare python-telegram-bot echo bot (:mod:`benchmarks._echo_bot`) is
started the same way and driven the same way (people sending texts, each
waiting for the echo before writing again), and its updates/s are reported. Last, the
floor bot (:mod:`benchmarks._floor_bot`): the least a PTB bot can do per answer while
storing it before replying — one committed row, an answered button and the next question
drawn in the pressed message — driven the same way, each person pressing as many times as
Pulso's answered on average; a goal the floor cannot reach on this machine, no bot can.

**Memory.** ``--participants`` people written in bulk; the bot started; an
admin sends ``/newround progress all all now 7d quiet=off`` so the bot itself
snapshots every response and outbox row, then starts sending at the default
rate. The bot's resident memory is sampled from ``/proc/PID/status`` (VmRSS,
and the kernel's own peak, VmHWM) the whole time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from benchmarks._support import (
    BotProcess,
    add_participants,
    add_think_argument,
    answering_environment,
    bot_environment,
    fresh_database,
)
from botapi_emulator import BotApiEmulator, ChatMessage, SimUser
from botapi_emulator.simulation import AnswerPolicy, SimulatedRespondent
from pulso.demo import read_payload

EXAMPLE_PLAN = Path(__file__).resolve().parent.parent / "surveys/data/plans/jalisco-2016.yaml"
TOKEN = "123456:LOAD-BENCHMARK"
ADMIN_ID = 900_001
FIRST_RESPONDENT = 2_000_001
FIRST_ECHO_USER = 5_000_001
FIRST_FLOOR_USER = 6_000_001
FIRST_MEMBER = 10_000_001
ANSWER_TIMEOUT = 120.0
TEXTS = (
    "Nadie nos avisó del padrón, puro anuncio.",
    "Nos tomaron en cuenta y ya se ven resultados.",
    "No sirvió para nada, seguimos igual en el campo.",
    "Hay más información y la respuesta fue rápida.",
    "Nothing changed for us, we never heard back.",
    "Things improved and they listened to us.",
)


# --- measuring one exchange at the emulator ------------------------------------------------


async def _next_reply(user: SimUser, after: int, mark: int) -> float:
    """Wait for the bot's next screen in the user's chat: a new message (id above
    ``after``), or message ``after`` itself redrawn with buttons (the next question drawn
    in the pressed message; an edit that only retires its buttons does not count). The
    moment the emulator recorded it: the predicate runs inside the emulator's handling of
    the bot's request, so the time is the emulator's, not when this task wakes up."""
    arrived: list[float] = []

    def newer(message: ChatMessage) -> bool:
        if message.message_id > after or (message.message_id == after and message.buttons):
            arrived.append(time.perf_counter())
            return True
        return False

    await user.chat.wait_for_message(ANSWER_TIMEOUT, predicate=newer, since=mark)
    return arrived[0]


@dataclass
class Pace:
    """How long a person reads before each answer: uniform in ``think`` seconds, or not at
    all (``None``: the next answer as soon as the question appears)."""

    think: tuple[float, float] | None
    rng: random.Random

    async def wait(self) -> None:
        if self.think is not None:
            await asyncio.sleep(self.rng.uniform(*self.think))


class TimedRespondent(SimulatedRespondent):
    """A simulated respondent that times each answer from the press to the next question."""

    async def begin(self) -> None:
        """Press Start on the invitation and wait for the first question."""
        chat = self.user.chat
        screen = self.screen()
        assert screen is not None, f"user {self.user.id}: no invitation"
        assert screen.starts(), f"user {self.user.id}: no Start button"
        payload, start = screen.starts()[0]
        self.worked_on.add(start.response_id)
        mark, newest = chat.cursor, screen.message.message_id
        await self._press(screen, payload)
        while True:
            await _next_reply(self.user, newest, mark)
            newest, mark = max(m.message_id for m in chat.messages), chat.cursor
            shown = self.screen()
            if shown is not None and shown.message.message_id == newest:
                return

    async def answer_all(self, latencies: list[float], pace: Pace) -> None:
        """Answer question after question until the recap; one latency per answer."""
        while True:
            await pace.wait()
            screen = self.screen()
            assert screen is not None, f"user {self.user.id}: nothing on screen"
            presses = screen.survey_presses()
            if not presses:
                return  # the recap: only "change my answers" is left
            choices = [(p, d) for p, d in presses if d.action == "answer"]
            chat, shown = self.user.chat, screen.message.message_id
            mark = chat.cursor
            began = time.perf_counter()
            if choices:
                codes = [d.code for _, d in choices if d.code is not None]
                picked = self.policy.choose(choices[0][1].question, codes)
                payload = next((p for p, d in choices if d.code == picked), choices[0][0])
                await self._press(screen, payload)
            else:  # a text question: write, or skip it
                text = self.policy.write(presses[0][1].question)
                skip = next((p for p, d in presses if d.action == "skip"), None)
                if text is None and skip is not None:
                    await self._press(screen, skip)
                else:
                    await self.user.send(text or "-")
            latencies.append(await _next_reply(self.user, shown, mark) - began)
            self.answered += 1


class EchoPerson:
    """Someone who writes to the echo bot and waits for the echo before writing again."""

    def __init__(self, user: SimUser, messages: int) -> None:
        self.user = user
        self.messages = messages

    async def chat(self, latencies: list[float], pace: Pace) -> None:
        for number in range(self.messages):
            await pace.wait()
            mark = self.user.chat.cursor
            began = time.perf_counter()
            update = await self.user.send(f"{TEXTS[number % len(TEXTS)]} #{number}")
            sent = int(update["message"]["message_id"])
            latencies.append(await _next_reply(self.user, sent, mark) - began)


class FloorPerson:
    """Someone answering the floor bot's questions (:mod:`benchmarks._floor_bot`): a text
    brings the first question, then each press is timed until the next is drawn."""

    def __init__(self, user: SimUser, messages: int) -> None:
        self.user = user
        self.messages = messages

    async def chat(self, latencies: list[float], pace: Pace) -> None:
        chat = self.user.chat
        mark = chat.cursor
        await self.user.send("hola")  # not measured, as Pulso's Start is not
        shown = await chat.wait_for_message(
            ANSWER_TIMEOUT, predicate=lambda m: bool(m.buttons), since=mark
        )
        for number in range(1, self.messages + 1):
            await pace.wait()
            mark = chat.cursor
            began = time.perf_counter()
            choice = 1 + (self.user.id + number) % 5
            await self.user.press_data(f"a:{number}:{choice}", message_id=shown.message_id)
            latencies.append(await _next_reply(self.user, shown.message_id, mark) - began)


def timed_respondents(users: Sequence[SimUser]) -> list[TimedRespondent]:
    """One timed respondent per user, each answering at random from a fixed seed."""
    seeds = random.Random(7)
    return [
        TimedRespondent(u, AnswerPolicy.random(seeds.randrange(1 << 30), TEXTS), read=read_payload)
        for u in users
    ]


async def _pool(concurrency: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run the jobs with at most ``concurrency`` of them under way."""
    queue = list(jobs)
    queue.reverse()

    async def worker() -> None:
        while queue:
            await queue.pop()()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(queue)))))


# --- processes --------------------------------------------------------------------------------


@dataclass
class Cores:
    """Which cores the bot under test and this process (emulator and people) run on."""

    bot: frozenset[int] | None
    driver: frozenset[int] | None

    @classmethod
    def split(cls, pin: bool) -> Cores:
        available = sorted(os.sched_getaffinity(0))
        if not pin or len(available) < 2:
            return cls(None, None)
        return cls(frozenset(available[-1:]), frozenset(available[:-1]))

    def describe(self) -> str:
        if self.bot is None or self.driver is None:
            return "not pinned"
        return f"bot on core {min(self.bot)}, emulator and people on {sorted(self.driver)}"


class Profiler:
    """``py-spy record`` attached to the bot for one phase (``--profile DIR``)."""

    def __init__(self, folder: Path | None, *, native: bool = False) -> None:
        self.folder = folder
        self.native = native
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, pid: int, name: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(self.folder / f"{name}.txt"),
            *(["--native"] if self.native else []),
        ]
        self.process = subprocess.Popen(  # noqa: S603 - a fixed tool and our own arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(0.5)  # let it attach before the phase begins

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(2)  # SIGINT: py-spy writes what it sampled
        self.process.wait(30)
        self.process = None


# --- the answers benchmark ---------------------------------------------------------------------


@dataclass
class PhaseResult:
    bot: str
    spec: PhaseSpec
    people: int
    updates: int
    seconds: float
    latencies: list[float]
    bot_cpu: float  # CPU-seconds the bot's process used during the phase
    driver_cpu: float  # CPU-seconds this process (emulator and people) used

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms(self) -> float:
        """The bot's CPU time per update, in milliseconds."""
        return 1000 * self.bot_cpu / self.updates if self.updates else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class AnswersResult:
    database: str
    phases: list[PhaseResult] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    invitations_seconds: float = 0.0
    errors: str = ""


@contextlib.contextmanager
def _driver_without_pauses(*, collect: bool = False) -> Iterator[None]:
    """Keep this process's garbage collector from stalling the measurement.

    Latency is timed at the emulator, which runs here: a full collection of this
    process's heap (100–310 ms, measured with ``gc.callbacks``, once the emulator holds
    thousands of requests) stalls it, and the stall counted as the bot's — it was the
    paced p99. What exists before the phase is frozen out of the collector
    (``gc.freeze``); during a short phase the collector is off (``collect=False``), during
    a long one it only sees what the phase made."""
    gc.collect()
    gc.freeze()
    if not collect:
        gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def _measured(
    bot: BotProcess,
    profiler: Profiler,
    name: str,
    spec: PhaseSpec,
    profile_name: str,
    run: Callable[[list[float]], Awaitable[int]],
) -> PhaseResult:
    latencies: list[float] = []
    profiler.start(bot.pid, profile_name)
    with _driver_without_pauses():
        cpu0, driver0, began = bot.cpu_seconds(), time.process_time(), time.perf_counter()
        count = await run(latencies)
        seconds = time.perf_counter() - began
    bot_cpu, driver_cpu = bot.cpu_seconds() - cpu0, time.process_time() - driver0
    profiler.stop()
    return PhaseResult(name, spec, spec.people, count, seconds, latencies, bot_cpu, driver_cpu)


async def _prepare_round(url: str, user_ids: Sequence[int]) -> None:
    """Plan, participants and an open ``progress`` round for all, written in this process."""
    from bot.plans import import_plan
    from bot.rounds.service import NewRound
    from bot.settings import load_settings
    from pulso.bootstrap import open_services
    from surveys.loader import load_plan

    settings = load_settings(
        env_file=None,
        overrides={
            "telegram_bot_token": TOKEN,
            "database_url": url,
            "pseudonym_secret": "load-benchmark-secret-0123456789",
        },
    )
    services = await open_services(settings)
    try:
        now = datetime.now(UTC)
        plan = load_plan(EXAMPLE_PLAN)
        await import_plan(services.db, plan, source_file=None, actor=None, now=now)
        commitments = [c.id for c in plan.plan.commitments]
        await add_participants(services.db, user_ids, commitments, now)
        await services.rounds.create(
            NewRound(
                instrument_id="progress",
                commitment_ids=None,
                roles=("beneficiary", "implementer"),
                opens_at=now,
                duration=timedelta(days=7),
                quiet_hours="off",
            ),
            actor=None,
        )
    finally:
        await services.db.close()


async def _wait_ready(emulator: BotApiEmulator, bot: BotProcess, timeout: float = 60.0) -> None:
    """Until the bot polls for updates (it is up), or fail with its log."""
    before = emulator.stats.by_method["getUpdates"]
    deadline = time.monotonic() + timeout
    while emulator.stats.by_method["getUpdates"] <= before:
        assert bot.process is not None
        if bot.process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the bot did not start; see {bot.log}")
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class PhaseSpec:
    label: str
    concurrency: int
    people: int
    think: tuple[float, float] | None


def _phases(args: argparse.Namespace) -> list[PhaseSpec]:
    low, high = args.think
    return [
        PhaseSpec("100 at people's pace", 100, args.paced_people, (low, high)),
        PhaseSpec("all at once", args.people, args.people, None),
    ]


async def run_answers(args: argparse.Namespace, cores: Cores, folder: Path) -> AnswersResult:
    result = AnswersResult(args.db)
    profiler = Profiler(Path(args.profile) if args.profile else None, native=args.native)
    specs = _phases(args)
    respondent_ids = list(
        range(FIRST_RESPONDENT, FIRST_RESPONDENT + sum(spec.people for spec in specs))
    )
    url, drop = await fresh_database(args.db, folder)
    emulator = BotApiEmulator(token=TOKEN, bot_username="load_bot", request_log_size=0)
    await emulator.start()
    try:
        await _prepare_round(url, respondent_ids)
        users = [emulator.user(u, f"P{u}", started=True) for u in respondent_ids]
        env = answering_environment(TOKEN, emulator.base_url, url)
        pulso = BotProcess(
            ["bot", "--log-level", "WARNING", "run"],
            env=env,
            cwd=folder,
            log=folder / "pulso.log",
            cpus=cores.bot,
        )
        await pulso.start()
        began = time.perf_counter()
        try:
            await _wait_ready(emulator, pulso)
            await asyncio.gather(*(u.wait_for_message(ANSWER_TIMEOUT, since=0) for u in users))
            result.invitations_seconds = time.perf_counter() - began
            await asyncio.sleep(1.0)  # let the outcomes of the last invitations commit
            respondents = timed_respondents(users)
            for spec in specs:
                group, respondents = respondents[: spec.people], respondents[spec.people :]
                # Not measured: everyone presses Start and sees the first question.
                await _pool(100, (r.begin for r in group))

                async def answer(
                    latencies: list[float],
                    group: list[TimedRespondent] = group,
                    spec: PhaseSpec = spec,
                ) -> int:
                    await _pool(
                        spec.concurrency,
                        (
                            functools.partial(
                                r.answer_all, latencies, Pace(spec.think, random.Random(r.user.id))
                            )
                            for r in group
                        ),
                    )
                    return sum(r.answered for r in group)

                name = f"pulso-{args.db}-{spec.concurrency}"
                result.phases.append(await _measured(pulso, profiler, "Pulso", spec, name, answer))
            result.peak_rss_mb = pulso.memory_mb()[1]
        finally:
            code = await pulso.stop()
            if code != 0:
                result.errors += f"pulso exited {code}; "
        for yardstick in _yardsticks(emulator, folder):
            await _run_yardstick(emulator, cores, folder, result, profiler, yardstick)
        errors = emulator.stats.errors
        if errors:
            result.errors += f"emulator errors {dict(errors)}; "
        if emulator.internal_errors:
            result.errors += f"emulator bugs {emulator.internal_errors[:3]}; "
    finally:
        await emulator.stop()
        await drop()
    return result


class Yardstick(Protocol):
    """A person driving one of the yardstick bots: ``messages`` updates, each timed."""

    user: SimUser
    messages: int

    async def chat(self, latencies: list[float], pace: Pace) -> None: ...


@dataclass(frozen=True)
class YardstickBot:
    """A bare bot run the same way as Pulso, to compare Pulso's figures with."""

    name: str
    args: tuple[str, ...]
    person: Callable[[SimUser, int], Yardstick]
    first_user: int


def _yardsticks(emulator: BotApiEmulator, folder: Path) -> list[YardstickBot]:
    return [
        YardstickBot(
            "echo", ("benchmarks._echo_bot", TOKEN, emulator.base_url), EchoPerson, FIRST_ECHO_USER
        ),
        YardstickBot(
            "floor",
            ("benchmarks._floor_bot", TOKEN, emulator.base_url, str(folder / "floor.sqlite3")),
            FloorPerson,
            FIRST_FLOOR_USER,
        ),
    ]


async def _run_yardstick(
    emulator: BotApiEmulator,
    cores: Cores,
    folder: Path,
    result: AnswersResult,
    profiler: Profiler,
    yardstick: YardstickBot,
) -> None:
    """A bare bot on the same emulator, through the same phases as Pulso's."""
    process = BotProcess(
        list(yardstick.args),
        env=bot_environment(),
        cwd=folder,
        log=folder / f"{yardstick.name}.log",
        cpus=cores.bot,
    )
    await process.start()
    try:
        await _wait_ready(emulator, process)
        next_id = yardstick.first_user
        for pulso in [p for p in result.phases if p.bot == "Pulso"]:
            spec = pulso.spec
            # As many updates per person as answers per Pulso respondent, on average.
            per_person = max(1, round(pulso.updates / pulso.people))
            people = [
                yardstick.person(
                    emulator.user(next_id + i, f"Y{next_id + i}", started=True), per_person
                )
                for i in range(spec.people)
            ]
            next_id += spec.people

            async def chat(
                latencies: list[float], people: list[Yardstick] = people, spec: PhaseSpec = spec
            ) -> int:
                await _pool(
                    spec.concurrency,
                    (
                        functools.partial(
                            p.chat, latencies, Pace(spec.think, random.Random(p.user.id))
                        )
                        for p in people
                    ),
                )
                return sum(p.messages for p in people)

            name = f"{yardstick.name}-{spec.concurrency}"
            result.phases.append(
                await _measured(process, profiler, yardstick.name, spec, name, chat)
            )
    finally:
        code = await process.stop()
        if code != 0:
            result.errors += f"{yardstick.name} exited {code}; "


# --- the memory benchmark ----------------------------------------------------------------------


@dataclass
class MemoryResult:
    database: str
    participants: int
    idle_rss_mb: float
    peak_rss_mb: float
    open_seconds: float  # from /newround to the admin's answer (the snapshot committed)
    sent: int  # invitations the emulator received within the window
    window_seconds: float
    errors: str = ""


async def _prepare_members(url: str, count: int) -> None:
    from bot.plans import import_plan
    from bot.storage.engine import Database
    from bot.storage.migrate import upgrade
    from surveys.loader import load_plan

    db = Database.from_url(url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        plan = load_plan(EXAMPLE_PLAN)
        await import_plan(db, plan, source_file=None, actor=None, now=now)
        ids = list(range(FIRST_MEMBER, FIRST_MEMBER + count))
        await add_participants(db, ids, [c.id for c in plan.plan.commitments], now)
    finally:
        await db.close()


async def run_memory(args: argparse.Namespace, cores: Cores, folder: Path) -> MemoryResult:
    count = args.participants
    url, drop = await fresh_database(args.db, folder)
    emulator = BotApiEmulator(token=TOKEN, bot_username="load_bot", request_log_size=0)
    await emulator.start()
    errors = ""
    try:
        await _prepare_members(url, count)
        for user_id in range(FIRST_MEMBER, FIRST_MEMBER + count):
            emulator.user(user_id, f"M{user_id}", started=True)
        admin = emulator.user(ADMIN_ID, "Admin")
        env = bot_environment(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=emulator.base_url,
            DATABASE_URL=url,
            ADMIN_IDS=str(ADMIN_ID),
            PSEUDONYM_SECRET="load-benchmark-secret-0123456789",
        )
        bot = BotProcess(
            ["bot", "--log-level", "WARNING", "run"],
            env=env,
            cwd=folder,
            log=folder / "memory.log",
            cpus=cores.bot,
        )
        await bot.start()
        peak = 0.0

        async def sample() -> None:
            nonlocal peak
            while True:
                try:
                    peak = max(peak, bot.memory_mb()[1])
                except (FileNotFoundError, KeyError, ProcessLookupError):
                    return
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        try:
            await _wait_ready(emulator, bot)
            await asyncio.sleep(2.0)  # settled: the scheduler's first tick is done
            idle = bot.memory_mb()[0]
            mark = admin.chat.cursor
            began = time.perf_counter()
            await admin.send("/newround progress all all now 7d quiet=off")
            await admin.wait_for_message(600, since=mark)
            opened = time.perf_counter() - began
            await asyncio.sleep(args.memory_window)
            sent = emulator.stats.by_method["sendMessage"] - 1  # minus the admin's answer
            peak = max(peak, bot.memory_mb()[1])
        finally:
            sampler.cancel()
            code = await bot.stop()
            if code != 0:
                errors += f"bot exited {code}; "
    finally:
        await emulator.stop()
        await drop()
    return MemoryResult(args.db, count, idle, peak, opened, sent, args.memory_window, errors)


# --- the big round -----------------------------------------------------------------------------


@dataclass
class BigRoundResult:
    database: str
    participants: int
    answering: int
    rate: float
    #: When each invitation arrived (emulator clock, seconds after /newround).
    invited_at: list[float] = field(default_factory=list)
    #: (when the answer's next question arrived, latency), seconds after /newround.
    answers: list[tuple[float, float]] = field(default_factory=list)
    unfinished: int = 0
    bot_cpu: float = 0.0
    seconds: float = 0.0
    errors: str = ""

    @property
    def fanout_ratio(self) -> float:
        """Invitations per second between the first and the last ÷ the rate set."""
        times = sorted(self.invited_at)
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0]) / self.rate


class StampedLatencies(list[float]):
    """Latencies that also remember when each was taken (for figures over time)."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def append(self, value: float) -> None:
        super().append(value)
        self.at.append(time.perf_counter())


async def run_big_round(args: argparse.Namespace, cores: Cores, folder: Path) -> BigRoundResult:
    """A round opened to ``--big-participants`` people at ``--big-rate`` invitations/s;
    ``--big-answering`` of them answer at a person's pace as their invitation arrives."""
    count, rate = args.big_participants, args.big_rate
    result = BigRoundResult(args.db, count, 0, rate)
    url, drop = await fresh_database(args.db, folder)
    emulator = BotApiEmulator(token=TOKEN, bot_username="load_bot", request_log_size=0)
    await emulator.start()
    try:
        await _prepare_members(url, count)
        users = [
            emulator.user(u, f"M{u}", started=True)
            for u in range(FIRST_MEMBER, FIRST_MEMBER + count)
        ]
        admin = emulator.user(ADMIN_ID, "Admin")
        rng = random.Random(12)
        answering = set(rng.sample(range(count), round(count * args.big_answering)))
        result.answering = len(answering)
        env = bot_environment(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=emulator.base_url,
            DATABASE_URL=url,
            ADMIN_IDS=str(ADMIN_ID),
            PSEUDONYM_SECRET="load-benchmark-secret-0123456789",
            SEND_RATE_PER_SECOND=str(rate),
        )
        bot = BotProcess(
            ["bot", "--log-level", "WARNING", "run"],
            env=env,
            cwd=folder,
            log=folder / "biground.log",
            cpus=cores.bot,
        )
        await bot.start()
        try:
            await _wait_ready(emulator, bot)
            await asyncio.sleep(2.0)
            expected = count / rate
            # Past this moment, whoever is still answering is counted as unfinished.
            deadline = expected * 1.5 + 90.0
            with _driver_without_pauses(collect=True):
                mark = admin.chat.cursor
                cpu0 = bot.cpu_seconds()
                began = time.perf_counter()
                await admin.send("/newround progress all all now 7d quiet=off")
                await admin.wait_for_message(120, since=mark)

                async def person(index: int, user: SimUser) -> None:
                    arrived = await _next_reply(user, 0, 0)
                    result.invited_at.append(arrived - began)
                    if index not in answering:
                        return
                    respondent = TimedRespondent(
                        user, AnswerPolicy.random(rng.randrange(1 << 30), TEXTS), read=read_payload
                    )
                    pace = Pace(args.think, random.Random(user.id))
                    await pace.wait()  # reading the invitation
                    pressed = time.perf_counter()
                    await respondent.begin()
                    latencies.append(time.perf_counter() - pressed)
                    await respondent.answer_all(latencies, pace)

                latencies = StampedLatencies()
                tasks = [asyncio.create_task(person(i, u)) for i, u in enumerate(users)]
                done, late = await asyncio.wait(tasks, timeout=deadline)
            for task in late:
                task.cancel()
            result.unfinished = len(late)
            failures = [t.exception() for t in done if t.exception() is not None]
            if failures:
                result.errors += f"{len(failures)} people failed, e.g. {failures[0]!r}; "
            result.seconds = time.perf_counter() - began
            result.bot_cpu = bot.cpu_seconds() - cpu0
            result.answers = [
                (at - began, v) for at, v in zip(latencies.at, latencies, strict=True)
            ]
        finally:
            code = await bot.stop()
            if code != 0:
                result.errors += f"bot exited {code}; "
    finally:
        await emulator.stop()
        await drop()
    return result


def _print_big_round(result: BigRoundResult, step: float = 10.0) -> None:
    print(
        f"big round on {result.database}: {result.participants:,} participants, "
        f"SEND_RATE_PER_SECOND={result.rate:g}, {result.answering:,} answering at a "
        f"person's pace; {len(result.answers):,} answers in {result.seconds:.0f} s, bot CPU "
        f"{result.bot_cpu / max(result.seconds, 1e-9):.0%}, "
        f"{1000 * result.bot_cpu / max(len(result.answers), 1):.1f} ms per answer "
        "(sending included)"
    )
    print(
        f"{'from s':>7}{'to s':>6}{'invited/s':>11}{'÷ rate':>8}{'answers':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    end = max([*result.invited_at, *(at for at, _ in result.answers), 0.0])
    start = 0.0
    while start < end:
        stop = start + step
        invited = sum(1 for t in result.invited_at if start <= t < stop)
        window = sorted(v for at, v in result.answers if start <= at < stop)
        p50 = f"{1000 * window[len(window) // 2]:.0f}" if window else "—"
        p99 = (
            f"{1000 * window[min(len(window) - 1, int(len(window) * 0.99))]:.0f}"
            if window
            else "—"
        )
        print(
            f"{start:>7.0f}{stop:>6.0f}{invited / step:>11.1f}{invited / step / result.rate:>8.2f}"
            f"{len(window):>9}{p50:>9}{p99:>9}"
        )
        start = stop
    ordered = sorted(v for _, v in result.answers)
    if ordered:
        median = 1000 * ordered[len(ordered) // 2]
        worst = 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(
            f"fan-out {result.fanout_ratio:.3f} × the rate (goal ≥ 0.97); answers p50 / p99 "
            f"{median:.0f} / {worst:.0f} ms overall (goal p99 ≤ 250 ms throughout); "
            f"{result.unfinished} people still answering at the deadline"
        )
    if result.errors:
        print(f"problems: {result.errors}")


# --- the command -------------------------------------------------------------------------------


def _print_answers(result: AnswersResult) -> None:
    print(
        f"answers on {result.database}: invitations to everyone in "
        f"{result.invitations_seconds:.1f} s; Pulso's peak RSS {result.peak_rss_mb:.0f} MB"
    )
    print(
        f"{'bot':<7}{'phase':<22}{'people':>7}{'updates':>9}{'s':>7}{'per s':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'bot CPU':>9}{'CPU ms/upd':>11}{'driver CPU':>11}"
    )
    for p in result.phases:
        print(
            f"{p.bot:<7}{p.spec.label:<22}{p.people:>7}{p.updates:>9}"
            f"{p.seconds:>7.1f}{p.per_second:>8.0f}{p.percentile(0.5):>8.1f}"
            f"{p.percentile(0.99):>8.1f}{p.bot_cpu / p.seconds:>9.0%}{p.cpu_ms:>11.2f}"
            f"{p.driver_cpu / p.seconds:>11.0%}"
        )
    for spec in dict.fromkeys(p.spec for p in result.phases):
        by_bot = {p.bot: p for p in result.phases if p.spec == spec}
        pulso, echo, floor = (by_bot.get(name) for name in ("Pulso", "echo", "floor"))
        if pulso and echo:
            ratio = pulso.per_second / echo.per_second
            print(
                f"{spec.label}: Pulso answers/s ÷ echo updates/s = {ratio:.2f}; "
                f"Pulso p50 / p99 {pulso.percentile(0.5):.1f} / {pulso.percentile(0.99):.1f} ms"
            )
        if floor and echo and pulso:
            print(
                f"{spec.label}: floor answers/s ÷ echo updates/s = "
                f"{floor.per_second / echo.per_second:.2f}; CPU ms per answer: floor "
                f"{floor.cpu_ms:.2f}, Pulso {pulso.cpu_ms:.2f} "
                f"({pulso.cpu_ms / floor.cpu_ms:.1f} × the floor)"
            )
    if result.errors:
        print(f"problems: {result.errors}")


def _print_memory(result: MemoryResult) -> None:
    print(
        f"memory on {result.database}: {result.participants:,} participants; bot idle "
        f"{result.idle_rss_mb:.0f} MB, peak {result.peak_rss_mb:.0f} MB (goal ≤ 120 MB); "
        f"/newround answered in {result.open_seconds:.1f} s (goal ≤ 2 s); "
        f"{result.sent:,} invitations sent in the next {result.window_seconds:.0f} s"
    )
    if result.errors:
        print(f"problems: {result.errors}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--only", choices=["answers", "memory", "biground"])
    parser.add_argument("--people", type=int, default=2000, help="answering all at once")
    parser.add_argument(
        "--paced-people", type=int, default=500, help="answering 100 at a time, at people's pace"
    )
    add_think_argument(parser)
    parser.add_argument("--participants", type=int, default=100_000, help="memory: people")
    parser.add_argument(
        "--memory-window", type=float, default=20.0, help="memory: seconds of sending watched"
    )
    parser.add_argument(
        "--big-participants", type=int, default=10_000, help="big round: people (default 10000)"
    )
    parser.add_argument(
        "--big-rate", type=float, default=100.0, help="big round: SEND_RATE_PER_SECOND (100)"
    )
    parser.add_argument(
        "--big-answering", type=float, default=0.6, help="big round: share answering (0.6)"
    )
    parser.add_argument("--profile", help="folder for py-spy profiles of each phase")
    parser.add_argument(
        "--native", action="store_true", help="profile C frames too (SQLite, the parser…)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    args = parser.parse_args(argv)
    cores = Cores.split(not args.no_pin)
    if cores.driver is not None:
        os.sched_setaffinity(0, cores.driver)
    print(
        f"{os.cpu_count()} cores ({cores.describe()}), Python {sys.version.split()[0]}",
        flush=True,
    )
    status = 0
    with tempfile.TemporaryDirectory(prefix="pulso-load-") as name:
        folder = Path(name)
        if args.only in (None, "answers"):
            answers = asyncio.run(run_answers(args, cores, folder))
            _print_answers(answers)
            status |= bool(answers.errors)
        if args.only in (None, "memory"):
            memory = asyncio.run(run_memory(args, cores, folder))
            _print_memory(memory)
            status |= bool(memory.errors)
        if args.only in (None, "biground"):
            big = asyncio.run(run_big_round(args, cores, folder))
            _print_big_round(big)
            status |= bool(big.errors)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
