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
    ) -> None:
        self.intake = intake
        self.services = intake.services
        self.settings = settings
        self.url = url
        self.path = urlsplit(url).path or "/"
        self.secret = secret
        self.register = register
        self.stored = 0
        self._runner: web.AppRunner | None = None
        #: Whether this worker holds the leadership (scheduler, delivery); set by the
        #: worker loop. None: a single process, which always does both.
        self.leader: bool | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.webhook_listen, self.settings.webhook_port)
        await site.start()
        if self.register:
            await self.intake.application.bot.set_webhook(
                self.url,
                secret_token=self.secret,
                max_connections=MAX_CONNECTIONS,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        log.info(
            "webhook listening on %s:%d", self.settings.webhook_listen, self.settings.webhook_port
        )

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
            async with self.services.db.write(urgent=True) as repos:
                await repos.updates.receive([update], self.services.clock.now())
        except Exception as exc:  # not stored: no 200, so Telegram sends it again
            log.error("storing update %d failed: %s", update["update_id"], describe_exception(exc))
            return web.Response(status=503, text="try again")
        self.stored += 1
        self.intake.dispatcher.wake()
        return web.Response(status=200)

    async def health(self, request: web.Request) -> web.Response:
        report: dict[str, Any] = {"database": "ok", "leader": self.leader}
        try:
            async with self.services.db.read() as repos:
                await repos.conn.execute(sa.text("SELECT 1"))
        except Exception as exc:
            report["database"] = describe_exception(exc)
            return web.json_response(report, status=503)
        return web.json_response(report)


def _strict_json(text: str) -> Any:
    return json.loads(text)
