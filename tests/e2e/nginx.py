"""nginx in front of webhook workers, for the tests: a config written to a folder, run in
the foreground.

The site is the one ``docs/deployment.md`` shows (:func:`site_block`), with the
test's ports; :func:`nginx_or_skip` skips a test when nginx is not installed
(Debian: ``apt-get install nginx``) and fails it under CI, where ``.ci/run``
installs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import pytest

NGINX = os.environ.get("PULSO_TEST_NGINX", "/usr/sbin/nginx")
#: Why nginx tests were skipped in this run (the summary's last lines say so).
skipped: list[str] = []


def nginx_or_skip() -> str:
    """The nginx binary; skips (fails under CI) when there is none."""
    path = NGINX if os.path.exists(NGINX) else shutil.which("nginx")
    if path:
        return path
    message = f"nginx is not installed ({NGINX} is missing; Debian: apt-get install nginx)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the nginx test (.ci/run installs it)")
    skipped.append(message)
    pytest.skip(message)


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def config(folder: Path, site: str) -> str:
    """A whole nginx.conf around ``site`` (an ``upstream`` and a ``server`` block), with
    every file nginx writes inside ``folder``."""
    return f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site}
}}
"""


class Nginx:
    """``nginx -p folder -c folder/nginx.conf``, in the foreground."""

    def __init__(self, binary: str, folder: Path, site: str) -> None:
        self.binary = binary
        self.folder = folder
        self.site = site
        self.process: asyncio.subprocess.Process | None = None
        self._err: IO[bytes] | None = None

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._err = (self.folder / "stderr.log").open("wb")
        conf = self.folder / "nginx.conf"
        conf.write_text(config(self.folder, self.site))
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            "-p",
            str(self.folder),
            "-c",
            str(conf),
            "-e",
            str(self.folder / "error.log"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._err,
        )

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 10)
        if self._err is not None:
            self._err.close()
            self._err = None

    def log(self) -> str:
        parts = [self.folder / "error.log", self.folder / "stderr.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())


DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def fenced(markdown: str, language: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    blocks, inside, current = [], False, []
    for line in markdown.splitlines():
        if not inside and line.strip() == f"```{language}":
            inside, current = True, []
        elif inside and line.strip() == "```":
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    return blocks


def site_from_docs(worker_ports: Sequence[int], listen_port: int) -> str:
    """The nginx site of ``docs/deployment.md``, word for word, but for three things a
    test cannot have: its ``upstream`` servers are ``worker_ports``, it listens on
    ``127.0.0.1:listen_port`` and it speaks plain HTTP (no certificate lines)."""
    (site,) = fenced(DEPLOYMENT.read_text(), "nginx")
    lines = []
    servers = iter(worker_ports)
    for line in site.splitlines():
        stripped = line.strip()
        if stripped.startswith("server 127.0.0.1:"):
            port = next(servers, None)
            if port is None:
                continue
            rest = stripped.split(None, 2)[2] if len(stripped.split(None, 2)) > 2 else ";"
            line = f"    server 127.0.0.1:{port} {rest}".rstrip()
        elif stripped.startswith("listen "):
            line = f"    listen 127.0.0.1:{listen_port};"
        elif stripped.startswith(("ssl_certificate", "ssl_protocols")):
            continue
        lines.append(line)
    for port in servers:  # more workers than the document shows
        lines.insert(1, f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;")
    return "\n".join(lines)
