"""The webhook: Telegram POSTs each update here; it is stored, then answered 200.

Telegram takes a 200 as "received" and will not send that update again, so the
answer waits for the inbox's commit (:mod:`bot.intake`); a crash before it
means no 200, and Telegram retries. A request without the secret token that
``setWebhook`` was given gets 403 and changes nothing; a body that is too large
or not an update gets 400. ``GET /healthz`` says whether the database answers
(and, with several workers, whether this one leads). Any number of workers on
one PostgreSQL may listen behind a reverse proxy (``docs/deployment.md``).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import sqlalchemy as sa
from aiohttp import web
from telegram import Update

from bot.cluster import LEADER_KEY, notify_sql, worker_name
from bot.logs import describe_exception
from bot.settings import Settings

if TYPE_CHECKING:
    from pulso.app import Intake

log = logging.getLogger(__name__)

#: Telegram's updates are a few kilobytes; anything near this is not one.
MAX_BODY_BYTES: Final = 1 << 20
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
#: Connections Telegram may open to us at once (setWebhook's max_connections).
MAX_CONNECTIONS: Final = 40


class WebhookServer:
    """The HTTP side of one worker (see the module docstring)."""

    def __init__(
        self,
        intake: Intake,
        settings: Settings,
        *,
        url: str,
        secret: str,
        register: bool = True,
        port: int | None = None,
    ) -> None:
        self.intake = intake
        self.services = intake.services
        self.settings = settings
        self.url = url
        self.path = urlsplit(url).path or "/"
        self.secret = secret
        self.register = register
        self.port = port if port is not None else settings.webhook_port
        self.stored = 0
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.webhook_listen, self.port)
        await site.start()
        if self.register:
            await self.intake.application.bot.set_webhook(
                self.url,
                secret_token=self.secret,
                max_connections=MAX_CONNECTIONS,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        log.info("webhook listening on %s:%d", self.settings.webhook_listen, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            update = await request.json(loads=_strict_json)
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=400, text="too large")
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="not an update")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            async with self.services.db.write() as repos:
                new = await repos.updates.store([update], self.services.clock.now())
                if self.intake.cluster is not None:  # wakes every worker, at the commit
                    await repos.conn.execute(sa.text(notify_sql("inbox")))
        except Exception as exc:  # not stored: no 200, so Telegram sends it again
            log.error("storing update %d failed: %s", update["update_id"], describe_exception(exc))
            return web.Response(status=503, text="try again")
        self.stored += 1
        self.intake.dispatcher.offer(new)
        return web.Response(status=200)

    async def health(self, request: web.Request) -> web.Response:
        """``{"database": "ok", "leader": …, "worker": …, "backlog": …}``; 503 when the
        database does not answer or (several workers) this worker lost its coordination
        connection. ``leader``: whether this worker runs the scheduler and the delivery
        engine (always, alone); ``leader_alive``: whether some worker does."""
        cluster = self.intake.cluster
        report: dict[str, Any] = {
            "database": "ok",
            "worker": worker_name(),
            "leader": True if cluster is None else cluster.leader,
        }
        try:
            async with self.services.db.read() as repos:
                await repos.conn.execute(sa.text("SELECT 1"))
                report["backlog"] = await repos.updates.backlog()
                if cluster is not None:
                    a, b = LEADER_KEY
                    held = await repos.conn.scalar(sa.text(LEADER_HELD), {"a": a, "b": b})
                    report["leader_alive"] = bool(held)
        except Exception as exc:
            report["database"] = describe_exception(exc)
            return web.json_response(report, status=503)
        if cluster is not None and not cluster.connected:
            report["coordination"] = "connection lost"
            return web.json_response(report, status=503)
        return web.json_response(report)


#: Whether some session holds the leader's advisory lock (two-key form: objsubid 2).
LEADER_HELD: Final = (
    "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = CAST(:a AS int)::oid AND objid = CAST(:b AS int)::oid AND objsubid = 2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _strict_json(text: str) -> Any:
    return json.loads(text)
