"""Several webhook workers on PostgreSQL: answers/s and p99 with 1, 2 and 3 workers, and what
the inbox costs per update (issue 11).

    python -m benchmarks workers                      # 1, 2 and 3 workers; about 3 minutes
    python -m benchmarks workers --workers 3 --burst-people 400 --paced-people 150
    python -m benchmarks workers --workers 1 --inbox-updates 3000

**Answers.** For each number of workers, from nothing: a new PostgreSQL database
with the example plan, the participants and an open ``progress`` round; the
emulator in ``deliver_webhooks`` mode (it POSTs each update with the secret
token until it gets 200, one chat's updates in order, as Telegram does); N
``python -m bot run --webhook --port P`` processes, not pinned (they share the
machine's cores with PostgreSQL and with this process); in front of them nginx
with ``docs/deployment.md``'s site if nginx is installed, else
:class:`RoundRobin`, a small proxy in this process doing what that site's
``upstream`` does. The leader sends the invitations at a lifted rate before
anything is measured; everyone presses Start (not measured). Then two phases,
each with people of its own, answering as in ``python -m benchmarks load``:

* **paced**: ``--paced-people`` people at once, each reading every question for
  ``--think`` seconds: a fixed offered load, where p99 means something;
* **all at once**: ``--burst-people`` people, each answering the moment the
  question appears: the workers saturated, so the answers/s are the ceiling
  (the latencies are then mostly queueing).

Latency is taken at the emulator: from the moment a press or a text is queued
(before the emulator POSTs it) to the moment the bot's next question (or the
recap) arrives. CPU time over each phase: of the workers (``/proc/PID/stat``),
of the PostgreSQL server processes connected to the database, of this process
(emulator, people, proxy), and of the whole machine (``/proc/stat``: what is
none of these is other work on the shared machine).

**The inbox's cost per update.** The bot has no path without the inbox, so it is
replayed: once the first run's workers have stopped, updates they stored are
stored again under new ids, one at a time, through the bot's own code
(``UpdateRepository``, :class:`bot.cluster.Cluster`) on that database, step by
step as a webhook worker takes them. Wall time, this process's CPU and the
server processes' CPU per update for each step; the claim in the handler's
transaction is what the path before the inbox paid too (``processed_updates``),
the other steps are what the inbox adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import aiohttp
import sqlalchemy as sa
from aiohttp import web

from benchmarks._support import (
    BotProcess,
    add_think_argument,
    answering_environment,
    cpu_spent,
    fresh_database,
    machine_busy_seconds,
    pid_cpu_seconds,
    postgres_backends_cpu,
)
from benchmarks.load import (
    ANSWER_TIMEOUT,
    TOKEN,
    Pace,
    PhaseResult,
    PhaseSpec,
    TimedRespondent,
    _pool,
    _prepare_round,
    timed_respondents,
)
from bot.storage.engine import Database
from botapi_emulator import BotApiEmulator
from botapi_emulator.webhook import SECRET_HEADER
from tests.e2e.nginx import NGINX, Nginx, free_ports, site_from_docs
from tests.e2e.test_workers_nginx import health

FIRST_PERSON = 3_000_001
SECRET = "workers-benchmark_secret-1"
HOOK_PATH = "/pulso/telegram"  # the location of docs/deployment.md's nginx site
#: Replayed updates get ids this far above the stored ones.
REPLAY_OFFSET = 1_000_000_000


# --- in front of the workers -------------------------------------------------------------------


class Front(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def front_cpu_seconds(front: Front) -> float:
    """nginx's CPU time so far, its master and its worker process (the round-robin proxy's
    is this process's)."""
    if not isinstance(front, Nginx) or front.process is None:
        return 0.0
    pid = front.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return pid_cpu_seconds(pid) + sum(pid_cpu_seconds(int(child)) for child in children)


class RoundRobin:
    """What nginx's ``upstream`` does, for a machine without nginx: each POST goes to the
    next worker in turn, and on to the one after when a worker refuses the connection or
    answers 502 or 503 (``proxy_next_upstream``). Runs in this process, so its CPU is
    counted with the emulator's."""

    def __init__(self, worker_ports: Sequence[int], listen: int) -> None:
        self.ports = list(worker_ports)
        self.listen = listen
        self._next = itertools.cycle(self.ports)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
        )
        app = web.Application()
        app.router.add_post(HOOK_PATH, self.forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.listen).start()

    async def forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {
            SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
            "Content-Type": request.content_type,
        }
        for _ in self.ports:
            url = f"http://127.0.0.1:{next(self._next)}{HOOK_PATH}"
            try:
                async with self._session.post(url, data=body, headers=headers) as answer:
                    if answer.status not in (502, 503):
                        return web.Response(status=answer.status, body=await answer.read())
            except (aiohttp.ClientError, OSError):
                continue
        return web.Response(status=502)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


def nginx_binary() -> str | None:
    return NGINX if os.path.exists(NGINX) else shutil.which("nginx")


def front_of(
    worker_ports: Sequence[int], listen: int, folder: Path, *, nginx: bool
) -> tuple[Front, str]:
    """nginx with the documented site if wanted and installed, else :class:`RoundRobin`."""
    binary = nginx_binary() if nginx else None
    if binary is not None:
        return Nginx(binary, folder / "nginx", site_from_docs(worker_ports, listen)), "nginx"
    return RoundRobin(worker_ports, listen), "a round-robin proxy in this process (no nginx)"


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Phase:
    """One phase of one run: the answers (workers' CPU as ``bot_cpu``) and everyone's CPU."""

    result: PhaseResult
    worker_cpu: list[float]  # each worker's CPU-seconds
    postgres_cpu: float
    front_cpu: float  # nginx's (0 for the round-robin proxy: counted in ``driver_cpu``)
    machine_cpu: float  # every core, whatever ran
    load: float  # one-minute load average at the end

    def cores(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.result.seconds if self.result.seconds > 0 else 0.0

    @property
    def other_cpu(self) -> float:
        """What ran on the machine that was none of ours (other engineers' work)."""
        ours = self.result.bot_cpu + self.postgres_cpu + self.result.driver_cpu + self.front_cpu
        return max(0.0, self.machine_cpu - ours)

    def limit(self) -> str:
        """Which resource ran out, read from the CPU times."""
        cores = os.cpu_count() or 1
        busiest = max(self.worker_cpu)
        if self.cores(self.result.driver_cpu) >= 0.9:
            return "this process (emulator and people): one core, full"
        if self.cores(self.machine_cpu) >= 0.9 * cores:
            ours = {
                "the workers": self.result.bot_cpu,
                "PostgreSQL": self.postgres_cpu,
                "the emulator and people": self.result.driver_cpu,
                "nginx": self.front_cpu,
            }
            top = max(ours, key=lambda k: ours[k])
            return (
                f"the machine's {cores} cores, full: {self.cores(self.other_cpu):.2f} of them "
                f"to other work, of ours most to {top}"
            )
        if self.cores(busiest) >= 0.9:
            return "a worker's core, full"
        return "no CPU full: waits (database commits, hand-offs)"


@dataclass
class Run:
    workers: int
    front: str
    invitations_seconds: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    errors: str = ""
    #: The database, kept for the inbox's replay (else dropped already), and how to drop it.
    kept: tuple[str, Callable[[], Awaitable[None]]] | None = None


async def measure_phase(
    spec: PhaseSpec,
    workers: Sequence[BotProcess],
    front: Front,
    db: Database,
    group: list[TimedRespondent],
) -> Phase:
    """Everyone in ``group`` answers every question, ``spec.concurrency`` at once."""
    latencies: list[float] = []
    postgres0, front0 = await postgres_backends_cpu(db), front_cpu_seconds(front)
    workers0 = [w.cpu_seconds() for w in workers]
    driver0, machine0, began = time.process_time(), machine_busy_seconds(), time.perf_counter()
    await _pool(
        spec.concurrency,
        (
            functools.partial(r.answer_all, latencies, Pace(spec.think, random.Random(r.user.id)))
            for r in group
        ),
    )
    seconds = time.perf_counter() - began
    machine = machine_busy_seconds() - machine0
    proxy = front_cpu_seconds(front) - front0
    driver = time.process_time() - driver0
    each = [w.cpu_seconds() - c for w, c in zip(workers, workers0, strict=True)]
    postgres = cpu_spent(postgres0, await postgres_backends_cpu(db))
    answers = sum(r.answered for r in group)
    result = PhaseResult(
        f"{len(workers)}", spec, spec.people, answers, seconds, latencies, sum(each), driver
    )
    return Phase(result, each, postgres, proxy, machine, os.getloadavg()[0])


async def wait_ready(
    emulator: BotApiEmulator, workers: Sequence[BotProcess], ports: Sequence[int]
) -> None:
    """Until every worker answers ``/healthz``, one leads and the webhook is set."""
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as session:
        while True:
            for worker in workers:
                assert worker.process is not None
                if worker.process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not start; see {worker.log}")
            reports = [await health(session, port) for port in ports]
            up = [r for r in reports if r is not None]
            webhook = emulator.webhook is not None and emulator.webhook.config is not None
            if len(up) == len(ports) and any(r.get("leader") for r in up) and webhook:
                return
            await asyncio.sleep(0.2)


async def run_workers(count: int, args: argparse.Namespace, folder: Path) -> Run:
    """One run with ``count`` workers, from a new database (see the module docstring)."""
    specs = [
        PhaseSpec("paced", args.paced_people, args.paced_people, tuple(args.think)),
        PhaseSpec("all at once", args.burst_people, args.burst_people, None),
    ]
    ids = list(range(FIRST_PERSON, FIRST_PERSON + sum(s.people for s in specs)))
    url, drop = await fresh_database("postgresql", folder)
    *ports, listen = free_ports(count + 1)
    front, name = front_of(ports, listen, folder / f"front-{count}", nginx=not args.no_nginx)
    run = Run(count, name)
    emulator = BotApiEmulator(
        token=TOKEN, bot_username="load_bot", request_log_size=0, deliver_webhooks=True
    )
    await emulator.start()
    workers: list[BotProcess] = []
    try:
        await _prepare_round(url, ids)
        users = [emulator.user(u, f"P{u}", started=True) for u in ids]
        env = answering_environment(
            TOKEN,
            emulator.base_url,
            url,
            WEBHOOK_URL=f"http://127.0.0.1:{listen}{HOOK_PATH}",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
        )
        workers = [
            BotProcess(
                ["bot", "--log-level", "WARNING", "run", "--webhook", "--port", str(port)],
                env=env,
                cwd=folder,
                log=folder / f"worker-{count}-{port}.log",
                cpus=None,
            )
            for port in ports
        ]
        await front.start()
        began = time.perf_counter()
        await asyncio.gather(*(w.start() for w in workers))
        await wait_ready(emulator, workers, ports)
        await asyncio.gather(*(u.wait_for_message(ANSWER_TIMEOUT, since=0) for u in users))
        run.invitations_seconds = time.perf_counter() - began
        await asyncio.sleep(1.0)  # the last invitations' outcomes commit
        db = Database.from_url(url)
        try:
            respondents = timed_respondents(users)
            for spec in specs:
                group, respondents = respondents[: spec.people], respondents[spec.people :]
                await _pool(100, (r.begin for r in group))  # not measured
                run.phases.append(await measure_phase(spec, workers, front, db, group))
        finally:
            await db.close()
    except Exception as exc:
        run.errors += f"{exc!r}; "
    finally:
        codes = await asyncio.gather(*(w.stop() for w in workers if w.process is not None))
        if any(codes):
            run.errors += f"workers exited {codes}; "
        await front.stop()
        if emulator.stats.errors:
            run.errors += f"emulator errors {dict(emulator.stats.errors)}; "
        await emulator.stop()
        if count == args.replay_on and args.inbox_updates:
            run.kept = (url, drop)
        else:
            await drop()
    return run


# --- the inbox, replayed ----------------------------------------------------------------------


@dataclass
class Step:
    """One step of taking an update through the inbox: totals over the replay."""

    name: str
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0


class Meter:
    """Times steps: wall clock, this process's CPU, and the server processes' CPU (by
    ``/proc``, whose 10 ms ticks even out over hundreds of updates)."""

    def __init__(self, server_pids: Sequence[int]) -> None:
        self.pids = list(server_pids)

    def _server(self) -> float:
        return sum(pid_cpu_seconds(pid) for pid in self.pids)

    @contextlib.asynccontextmanager
    async def timing(self, step: Step) -> AsyncIterator[None]:
        server, client, wall = self._server(), time.process_time(), time.perf_counter()
        yield
        step.wall += time.perf_counter() - wall
        step.client_cpu += time.process_time() - client
        step.server_cpu += self._server() - server


async def replay_inbox(url: str, count: int) -> tuple[int, list[Step]]:
    """Up to ``count`` stored updates taken through the inbox again, one at a time (see
    the module docstring); how many, and each step's totals."""
    from bot.cluster import Cluster, notify_sql
    from bot.intake.dispatcher import MAX_CONCURRENT
    from bot.storage.schema import inbox

    async def nothing() -> None:
        return None

    db = Database.from_url(url)
    try:
        async with db.read() as repos:
            stored = (
                await repos.conn.execute(
                    sa.select(inbox.c.payload)
                    .where(inbox.c.payload.is_not(None))
                    .order_by(inbox.c.update_id)
                    .limit(count)
                )
            ).scalars()
            updates = [dict(u, update_id=int(u["update_id"]) + REPLAY_OFFSET) for u in stored]
        cluster = Cluster(db, lead=nothing, follow=nothing, heard=lambda _: None)
        logging.getLogger("bot.cluster").setLevel(logging.ERROR)  # its leadership is moot
        await cluster.start()
        steps = [
            Step("stored and committed, before the 200"),
            Step("read by the dispatcher"),
            Step("chat locked, its oldest update read again"),
            Step("claimed in the handler's transaction (before the inbox: processed_updates)"),
            Step("chat unlocked"),
            Step("finished, if no handler claimed it (commit without fsync; not an answer)"),
        ]
        store, read, lock, claim, unlock, finish = steps
        meter = Meter([])
        try:
            for number, update in enumerate(updates):
                if number == 20:  # warmed up: every connection of the pool is open
                    meter = Meter(list(await postgres_backends_cpu(db)))
                    for step in steps:
                        step.wall = step.client_cpu = step.server_cpu = 0.0
                now = datetime.now(UTC)
                update_id = int(update["update_id"])
                async with meter.timing(store), db.write() as repos:
                    await repos.updates.receive([update], now)
                    await repos.conn.execute(sa.text(notify_sql("inbox")))
                async with meter.timing(read), db.read() as repos:
                    waiting = await repos.updates.pending(MAX_CONCURRENT * 4 + 16)
                item = next(i for i in waiting if i.update_id == update_id)
                key = cluster.key_of(item.chat_id, item.update_id)
                async with meter.timing(lock):
                    await cluster.lock_chats({key})
                    async with db.read() as repos:
                        chats = [item.chat_id] if item.chat_id is not None else []
                        chatless = [] if chats else [item.update_id]
                        await repos.updates.oldest_pending(chats, chatless)
                async with db.write() as repos, meter.timing(claim):
                    await repos.updates.claim(update_id, now)
                async with meter.timing(unlock):
                    await cluster.unlock({key})
                # As for an update no handler claimed: a no-op here, as it was claimed.
                async with meter.timing(finish), db.write(durability="process") as repos:
                    await repos.updates.finish(update_id, now)
        finally:
            await cluster.stop()
        return max(0, len(updates) - 20), steps
    finally:
        await db.close()


# --- the command -------------------------------------------------------------------------------


def _print_runs(runs: Sequence[Run]) -> None:
    print(
        f"{'workers':>7} {'phase':<12}{'people':>7}{'answers':>8}{'s':>6}{'per s':>7}"
        f"{'p50 ms':>8}{'p99 ms':>8} | cores busy:{'workers':>8}{'(max 1)':>8}{'PG':>6}"
        f"{'nginx':>6}{'driver':>7}{'other':>6}{'all':>6} | CPU ms/answer:{'workers':>8}{'PG':>6}"
        f"{'load':>6}"
    )
    for run in runs:
        for phase in run.phases:
            r = phase.result
            print(
                f"{run.workers:>7} {r.spec.label:<12}{r.people:>7}{r.updates:>8}"
                f"{r.seconds:>6.1f}{r.per_second:>7.1f}{r.percentile(0.5):>8.0f}"
                f"{r.percentile(0.99):>8.0f} |            {phase.cores(r.bot_cpu):>8.2f}"
                f"{phase.cores(max(phase.worker_cpu)):>8.2f}"
                f"{phase.cores(phase.postgres_cpu):>6.2f}{phase.cores(phase.front_cpu):>6.2f}"
                f"{phase.cores(r.driver_cpu):>7.2f}"
                f"{phase.cores(phase.other_cpu):>6.2f}{phase.cores(phase.machine_cpu):>6.2f} |"
                f"               {r.cpu_ms:>8.1f}"
                f"{1000 * phase.postgres_cpu / max(r.updates, 1):>6.1f}{phase.load:>6.2f}"
            )
    for run in runs:
        limits = "; ".join(f"{p.result.spec.label}: {p.limit()}" for p in run.phases)
        print(
            f"{run.workers} worker(s) behind {run.front}; invitations to everyone "
            f"{run.invitations_seconds:.1f} s after the start; limit: {limits}"
        )
        if run.errors:
            print(f"problems with {run.workers} worker(s): {run.errors}")


def _print_inbox(count: int, steps: Sequence[Step], runs: Sequence[Run]) -> None:
    print(f"the inbox, replayed: {count} stored updates, one at a time, per update")
    print(f"{'step':<78}{'wall ms':>8}{'client CPU ms':>14}{'server CPU ms':>14}")
    n = max(count, 1)
    for step in steps:
        print(
            f"{step.name:<78}{1000 * step.wall / n:>8.2f}{1000 * step.client_cpu / n:>14.2f}"
            f"{1000 * step.server_cpu / n:>14.2f}"
        )
    # An answer's handler claims its update, so the dispatcher does not finish it.
    added = [s for s in steps if not s.name.startswith(("claimed", "finished"))]
    wall = 1000 * sum(s.wall for s in added) / n
    cpu = 1000 * sum(s.client_cpu + s.server_cpu for s in added) / n
    print(f"{'what the inbox adds to an answer (all but the claim and the finish)':<78}", end="")
    print(f"{wall:>8.2f}", end="")
    print(f"{1000 * sum(s.client_cpu for s in added) / n:>14.2f}", end="")
    print(f"{1000 * sum(s.server_cpu for s in added) / n:>14.2f}")
    for run in runs:
        for phase in run.phases:
            r = phase.result
            whole = 1000 * (r.bot_cpu + phase.postgres_cpu) / max(r.updates, 1)
            print(
                f"against {run.workers} worker(s), {r.spec.label}: {whole:.1f} ms of CPU "
                f"(workers + PostgreSQL) per answer, of which the inbox about {cpu:.1f} ms "
                f"({cpu / whole:.0%}) taken one at a time, an upper bound: under load one "
                "read and one lock serve several updates; but with N workers each stored "
                "update wakes N dispatchers, each reading the inbox"
            )


async def _main(args: argparse.Namespace, folder: Path) -> int:
    runs: list[Run] = []
    status = 0
    for count in args.workers:
        print(f"-- {count} worker(s); load average {os.getloadavg()[0]:.2f}", flush=True)
        run = await run_workers(count, args, folder)
        runs.append(run)
        status |= bool(run.errors)
    _print_runs(runs)
    for run in runs:
        if run.kept is None:
            continue
        url, drop = run.kept
        try:
            replayed, steps = await replay_inbox(url, args.inbox_updates)
            _print_inbox(replayed, steps, [run])
        finally:
            await drop()
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return status


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks workers", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2, 3], help="runs, by workers (1 2 3)"
    )
    parser.add_argument(
        "--paced-people", type=int, default=40, help="answering at a person's pace (40)"
    )
    add_think_argument(parser)
    parser.add_argument(
        "--burst-people", type=int, default=100, help="answering all at once (100)"
    )
    parser.add_argument(
        "--inbox-updates", type=int, default=500, help="updates replayed through the inbox"
    )
    parser.add_argument(
        "--replay-on", type=int, default=1, help="replay on this run's database (1 worker)"
    )
    parser.add_argument("--no-nginx", action="store_true", help="the round-robin proxy")
    args = parser.parse_args(argv)
    print(
        f"{os.cpu_count()} cores, not pinned; Python {sys.version.split()[0]}; PostgreSQL "
        f"webhook workers; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="pulso-workers-") as name:
        return asyncio.run(_main(args, Path(name)))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
