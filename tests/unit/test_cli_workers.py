"""``pulso run --workers N``: refused, with a clear reason on standard error (exit 2), where
several workers cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulso.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "WEBHOOK_URL", "WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org/pulso/telegram")
    monkeypatch.setenv("WEBHOOK_SECRET", "a-secret_1")
    return tmp_path / "absent.env"


def test_workers_on_sqlite_are_refused(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    code = main(["--env-file", str(env), "run", "--webhook", "--workers", "3"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--workers needs PostgreSQL" in err
    assert "docs/deployment.md" in err


def test_workers_without_webhook_are_refused(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://pulso@127.0.0.1/pulso")
    code = main(["--env-file", str(env), "run", "--workers", "2"])
    assert code == 2
    assert "--workers needs --webhook" in capsys.readouterr().err


def test_zero_workers_are_refused(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://pulso@127.0.0.1/pulso")
    assert main(["--env-file", str(env), "run", "--webhook", "--workers", "0"]) == 2
    assert "1 or more" in capsys.readouterr().err
