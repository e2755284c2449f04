"""Typed settings, read from the environment and ``.env`` when :func:`load_settings` is called.

Nothing here runs at import time: ``main`` loads the settings once and hands
them down. A missing or malformed value becomes a :class:`SettingsError`
whose message names the variable and what is expected, so the command line
can print one line instead of a traceback.

Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///pulso.db"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is meant for the operator."""


def _split_ids(value: object) -> object:
    """Accept ``"1, 2,3"`` (the environment's form) as well as a list of ints."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


IdList = Annotated[list[int], NoDecode, BeforeValidator(_split_ids)]

# What each variable expects, in words, for the one-line error an operator sees.
_EXPECTED: dict[str, str] = {
    "telegram_bot_token": "the token @BotFather gave you, like 123456:ABC-DEF…",
    "telegram_api_base_url": "an http(s) URL of a Bot API server, like http://127.0.0.1:8081/bot",
    "database_url": "a SQLAlchemy URL: sqlite+aiosqlite:///pulso.db or "
    "postgresql+asyncpg://user@host/db",
    "admin_ids": "comma-separated Telegram user ids, like 11111,22222",
    "secretariat_chat_ids": "comma-separated Telegram chat ids, like -1001234567890",
    "timezone": "an IANA time zone name, like America/Mexico_City",
    "default_language": "es or en",
    "min_group_size": "a whole number of at least 2",
    "pseudonym_secret": "a random string of at least 16 characters",
    "send_rate_per_second": "a number of messages per second above 0 (Telegram allows about 30)",
    "reply_grace_seconds": "seconds from 0.5 to 600",
    "quiet_hours": "HH:MM-HH:MM in local time, like 21:00-08:00, or 'off'",
    "gap_threshold_points": "a number of points between 0 and 100",
    "response_days": "a whole number of days from 1 to 90",
    "webhook_url": "the public https URL Telegram should post updates to",
    "webhook_listen": "the address the webhook server binds to, like 127.0.0.1",
    "webhook_port": "a port number from 1 to 65535",
    "webhook_secret": "1-256 characters of A-Z, a-z, 0-9, _ and -",
}


class Settings(BaseSettings):
    """Pulso's operator-facing settings (DESIGN.md, "Operator surface")."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: IdList = Field(default_factory=list)
    secretariat_chat_ids: IdList = Field(default_factory=list)
    timezone: str = "America/Mexico_City"
    default_language: Literal["es", "en"] = "es"
    min_group_size: int = Field(default=5, ge=2)
    pseudonym_secret: SecretStr | None = None
    send_rate_per_second: float = Field(default=30.0, gt=0, le=10_000)
    # How long a reply written with its change waits for the handler to send it before
    # the outbox sends it instead (a crash between the commit and the send).
    reply_grace_seconds: float = Field(default=20.0, ge=0.5, le=600)
    quiet_hours: str = "21:00-08:00"
    gap_threshold_points: float = Field(default=30.0, ge=0, le=100)
    # Days a commitment's responsible people have to answer a closed round's results.
    response_days: int = Field(default=14, ge=1, le=90)
    # The public results site (docs/site.md): rebuilt here at every round close when set.
    site_dir: Path | None = None
    # `pulso run --webhook`: Telegram posts updates to WEBHOOK_URL, which a reverse
    # proxy forwards to WEBHOOK_LISTEN:WEBHOOK_PORT.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None

    @field_validator("site_dir", mode="before")
    @classmethod
    def _check_site_dir(cls, value: object) -> object:
        # SITE_DIR= (empty, as in .env.example) means no site, never the current folder.
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("bad characters")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        raw = value.get_secret_value()
        bot_id, _, secret = raw.partition(":")
        if not bot_id.isdigit() or len(secret) < 4:
            raise ValueError("malformed token")
        return value

    @field_validator("pseudonym_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("too short")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("unsupported driver")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def quiet_window(self) -> tuple[int, int] | None:
        """Quiet hours as minutes after local midnight ``(start, end)``, or None when off."""
        return parse_quiet_hours(self.quiet_hours)

    def require_token(self) -> str:
        """The bot token, or a :class:`SettingsError` telling the operator how to get one."""
        if self.telegram_bot_token is None:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: talk to @BotFather on Telegram (/newbot), "
                "then put TELEGRAM_BOT_TOKEN=<token> in .env or the environment "
                "(or try `pulso demo`, which needs no token)"
            )
        return self.telegram_bot_token.get_secret_value()

    def require_webhook(self) -> tuple[str, str]:
        """The webhook URL and secret token for ``pulso run --webhook``."""
        if self.webhook_url is None:
            raise SettingsError(
                "WEBHOOK_URL is not set: `pulso run --webhook` needs the public https URL "
                "Telegram should post updates to (or run without --webhook to use long polling)"
            )
        if self.webhook_secret is None:
            raise SettingsError(
                "WEBHOOK_SECRET is not set: expected " + _EXPECTED["webhook_secret"] + "; "
                "Telegram sends it with every update so strangers cannot post fake ones"
            )
        return self.webhook_url, self.webhook_secret.get_secret_value()

    def require_pseudonym_secret(self) -> bytes:
        if self.pseudonym_secret is None:
            raise SettingsError(
                "PSEUDONYM_SECRET is not set: expected "
                f"{_EXPECTED['pseudonym_secret']} (keep it; changing it changes every pseudonym)"
            )
        return self.pseudonym_secret.get_secret_value().encode()


def parse_quiet_hours(value: str) -> tuple[int, int] | None:
    """``"21:00-08:00"`` → ``(1260, 480)``; ``"off"`` → None. Raises ValueError otherwise."""
    if value.strip().lower() in {"off", "none", ""}:
        return None
    try:
        start_text, end_text = value.split("-")
        start = _minutes(start_text)
        end = _minutes(end_text)
    except ValueError as exc:
        raise ValueError("expected HH:MM-HH:MM") from exc
    if start == end:
        raise ValueError("start and end are the same")
    return start, end


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError("out of range")
    return h * 60 + m


def load_settings(
    env_file: Path | str | None = ".env", overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read the settings; raise :class:`SettingsError` naming the first bad variable."""
    try:
        return Settings(_env_file=env_file, **dict(overrides or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        expected = _EXPECTED.get(field, error["msg"])
        raise SettingsError(f"{field.upper()} is malformed: expected {expected}") from None
