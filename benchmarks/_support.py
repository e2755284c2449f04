"""What the load benchmark needs around the bot: databases, bulk data, and bot processes.

* :func:`fresh_database` — a new SQLite file or a new PostgreSQL database, migrated,
  and a way to drop it;
* :func:`add_participants` — people who consented and joined, written in bulk
  through the schema (no onboarding conversation), spread over the plan's
  commitments, about 85 % beneficiaries as in a real plan;
* :class:`BotProcess` — a bot as an operating-system process, pinned to a core,
  with its CPU time and memory read from ``/proc`` (psutil is not a dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from bot.storage.engine import Database
from bot.storage.schema import memberships, participants

PG_URL = os.environ.get(
    "PULSO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def fresh_database(kind: str, folder: Path) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A URL to an empty database of ``kind`` (sqlite or postgresql) and how to drop it."""
    if kind == "sqlite":
        path = folder / "pulso.db"

        async def remove() -> None:
            # A temporary folder's files; nothing else waits on this loop meanwhile.
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240

        return f"sqlite+aiosqlite:///{path}", remove
    name = f"pulso_load_{uuid.uuid4().hex[:8]}"
    admin = Database.from_url(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.close()
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    async def drop() -> None:
        admin = Database.from_url(PG_URL, isolation_level="AUTOCOMMIT")
        async with admin.engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.close()

    return url, drop


def role_of(index: int) -> str:
    """About 85 % beneficiaries, the rest implementers (as in the aggregation benchmark)."""
    return "implementer" if index % 7 == 3 else "beneficiary"


async def add_participants(
    db: Database,
    user_ids: Sequence[int],
    commitment_ids: Sequence[str],
    now: datetime,
    *,
    language: str = "es",
) -> None:
    """Active participants with one membership each, commitments taken in turn."""
    chunk = 5_000
    for start in range(0, len(user_ids), chunk):
        part = user_ids[start : start + chunk]
        async with db.write() as repos:
            await repos.conn.execute(
                sa.insert(participants),
                [
                    {
                        "telegram_user_id": u,
                        "chat_id": u,
                        "language": language,
                        "status": "active",
                        "consented_at": now,
                        "demographics": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for u in part
                ],
            )
            rows = await repos.conn.execute(
                sa.select(participants.c.id, participants.c.telegram_user_id).where(
                    participants.c.telegram_user_id.in_(part)
                )
            )
            ids = {int(user): int(pid) for pid, user in rows}
            await repos.conn.execute(
                sa.insert(memberships),
                [
                    {
                        "participant_id": ids[u],
                        "commitment_id": commitment_ids[(start + i) % len(commitment_ids)],
                        "role": role_of(start + i),
                        "joined_at": now,
                    }
                    for i, u in enumerate(part)
                ],
            )


def _pin(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    if not cpus:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


class BotProcess:
    """``python -m …`` as a child process, pinned to ``cpus``, its standard error in a file."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        cpus: frozenset[int] | None,
    ) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.cpus = cpus
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        with self.log.open("ab") as err:
            # Our own interpreter and modules, with arguments the benchmark built.
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                *self.args,
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
                preexec_fn=_pin(self.cpus),  # only os.sched_setaffinity: safe before exec
            )

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (every thread)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_mb(self) -> tuple[float, float]:
        """``(VmRSS, VmHWM)`` in MB: resident memory now, and its peak so far."""
        values: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as an operator stops ``pulso run``; the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise


def bot_environment(**values: str) -> dict[str, str]:
    """The machine's environment minus any Pulso or Telegram settings, plus ``values``."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "PULSO_", "DATABASE_", "SEND_", "QUIET_"))
    }
    keep.update(values)
    return keep


# --- CPU time of processes that are not ours, and of the whole machine --------------------------


def pid_cpu_seconds(pid: int) -> float:
    """User + system CPU time of any process so far, from ``/proc/PID/stat`` (0 once gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU-seconds every core of the machine spent busy (not idle, not waiting for I/O)
    since boot, from ``/proc/stat``: whatever ran, ours or another's."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in first[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


async def postgres_backends_cpu(db: Database) -> dict[int, float]:
    """CPU-seconds so far of each PostgreSQL server process connected to ``db``'s database
    (the server runs on this machine): its share of the server's work, background
    writers aside."""
    async with db.read() as repos:
        pids = (
            await repos.conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        ).scalars()
        return {int(pid): pid_cpu_seconds(int(pid)) for pid in pids}


def cpu_spent(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU-seconds between two :func:`postgres_backends_cpu` readings (a process that
    started in between counts whole; one that ended loses its last stretch)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def answering_environment(
    token: str, base_url: str, database_url: str, **values: str
) -> dict[str, str]:
    """A bot's environment for the answering benchmarks, plus ``values``: the benchmark's
    pseudonym secret, quiet hours off, and the send rate lifted so that the
    invitations go out fast before the measuring starts (replies are not paced)."""
    return bot_environment(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=base_url,
        DATABASE_URL=database_url,
        PSEUDONYM_SECRET="load-benchmark-secret-0123456789",
        QUIET_HOURS="off",
        SEND_RATE_PER_SECOND="10000",
        **values,
    )


def add_think_argument(parser: argparse.ArgumentParser) -> None:
    """``--think LOW HIGH``: how long a paced person reads each question (as in ``load``)."""
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(1.0, 3.0),
        metavar=("LOW", "HIGH"),
        help="seconds a paced person reads each question (uniform; default 1 3)",
    )
