"""``docs/deployment.md`` followed word for word, so no step exists only on paper.

What a test machine can run is run as the document writes it: the nginx site
(``nginx -t`` on it, with local ports and no TLS — the 3-worker test serves
traffic through it), ``pulso db upgrade``, each systemd unit's ``ExecStart``
line with ``%i`` filled in (``pulso`` is this checkout's), the health check
``curl`` line with its port, and the way back to polling (``pulso run``). Only
``systemctl`` lines are left out: they start the same commands.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import signal
import sys
from pathlib import Path

import pytest

from botapi_emulator import BotApiEmulator
from tests.conftest import drop_postgres_database, make_postgres_database_url
from tests.e2e.harness import TOKEN
from tests.e2e.nginx import DEPLOYMENT, config, fenced, free_ports, nginx_or_skip, site_from_docs
from tests.e2e.process import bot_environment

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
DOC = DEPLOYMENT.read_text()


def shell_lines() -> list[str]:
    return [line for block in fenced(DOC, "sh") for line in block.splitlines() if line.strip()]


def pulso_argv(command: str) -> list[str]:
    """A document's ``pulso …`` (or ``…/bin/pulso …``) as this checkout runs it."""
    words = shlex.split(command)
    assert words[0].endswith("pulso"), command
    return [sys.executable, "-m", "bot", *words[1:]]


async def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


async def test_the_nginx_site_is_valid_as_written(tmp_path: Path) -> None:
    binary = nginx_or_skip()
    *workers, listen = free_ports(4)
    conf = tmp_path / "nginx.conf"
    conf.write_text(config(tmp_path, site_from_docs(workers, listen)))
    code, out = await run([binary, "-t", "-p", str(tmp_path), "-c", str(conf)], env={})
    assert code == 0, out
    assert "proxy_next_upstream error timeout http_502 http_503 non_idempotent;" in DOC


@pytest.mark.timeout(120)
async def test_the_documented_commands_run_as_written(tmp_path: Path) -> None:
    url, name = await make_postgres_database_url()
    try:
        async with BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot") as emulator:
            (port,) = free_ports(1)
            env = bot_environment(
                emulator,
                url,
                WEBHOOK_URL=f"http://127.0.0.1:{port}/pulso/telegram",
                WEBHOOK_SECRET="doc-secret_1",
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
            )
            lines = shell_lines()
            # The schema, before the workers start.
            assert "pulso db upgrade" in lines
            code, out = await run(pulso_argv("pulso db upgrade"), env)
            assert code == 0, out
            # A worker, as its systemd unit starts it.
            (unit,) = fenced(DOC, "ini")
            (exec_start,) = [
                line.split("=", 1)[1]
                for line in unit.splitlines()
                if line.startswith("ExecStart=")
            ]
            assert "%i" in exec_start
            worker_log = (tmp_path / "worker.log").open("wb")
            worker = await asyncio.create_subprocess_exec(
                *pulso_argv(exec_start.replace("%i", str(port))),
                env=env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=worker_log,
            )
            try:
                # The health check, as written but for the port.
                (curl,) = [line for line in lines if line.startswith("curl ")]
                curl = curl.replace(":8443/", f":{port}/")
                for _ in range(150):
                    code, out = await run(shlex.split(curl), env)
                    if code == 0:
                        break
                    await asyncio.sleep(0.2)
                assert code == 0, out + (tmp_path / "worker.log").read_text()
                report = json.loads(out)
                assert report["database"] == "ok"
                assert report["leader"] is True
                assert report["leader_alive"] is True
                # The shape the document shows.
                (shown,) = fenced(DOC, "json")
                assert set(json.loads(shown)) == set(report)
                assert emulator.core.webhook_url.endswith("/pulso/telegram")
            finally:
                worker.send_signal(signal.SIGTERM)  # systemd's KillSignal
                code = await asyncio.wait_for(worker.wait(), 20)
                worker_log.close()
                assert code == 0
            # Going back to polling: `pulso run` deletes the webhook and polls.
            assert "`pulso run`" in DOC
            polling = await asyncio.create_subprocess_exec(
                *pulso_argv("pulso run"),
                env=env,
                cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await emulator.wait_until(lambda: emulator.core.webhook_url == "", timeout=30)
                await emulator.wait_until(
                    lambda: emulator.stats.by_method.get("getUpdates", 0) > 0, timeout=30
                )
            finally:
                polling.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(polling.wait(), 20) == 0
    finally:
        await drop_postgres_database(name)
