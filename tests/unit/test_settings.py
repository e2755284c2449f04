"""Settings: defaults, parsing and one-line errors naming the variable."""

from __future__ import annotations

import pytest

from bot.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings, parse_quiet_hours


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "DATABASE_URL",
        "ADMIN_IDS",
        "SECRETARIAT_CHAT_IDS",
        "TIMEZONE",
        "DEFAULT_LANGUAGE",
        "MIN_GROUP_SIZE",
        "PSEUDONYM_SECRET",
        "SEND_RATE_PER_SECOND",
        "QUIET_HOURS",
        "GAP_THRESHOLD_POINTS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing() -> None:
    settings = load_settings(env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.timezone == "America/Mexico_City"
    assert settings.default_language == "es"
    assert settings.min_group_size == 5
    assert settings.send_rate_per_second == 30
    assert settings.admin_ids == []
    assert settings.telegram_bot_token is None


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCdefGHI")
    monkeypatch.setenv("ADMIN_IDS", " 11, 22 ,33")
    monkeypatch.setenv("SECRETARIAT_CHAT_IDS", "-1001234567890")
    monkeypatch.setenv("PSEUDONYM_SECRET", "s" * 20)
    settings = load_settings(env_file=None)
    assert settings.require_token() == "123456:ABCdefGHI"
    assert settings.admin_ids == [11, 22, 33]
    assert settings.secretariat_chat_ids == [-1001234567890]
    assert settings.require_pseudonym_secret() == b"s" * 20
    assert "ABCdef" not in repr(settings)


def test_env_file_is_read(tmp_path) -> None:
    env = tmp_path / ".env"
    env.write_text("DEFAULT_LANGUAGE=en\nMIN_GROUP_SIZE=7\n", encoding="utf-8")
    settings = load_settings(env_file=env)
    assert (settings.default_language, settings.min_group_size) == ("en", 7)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        pytest.param(
            "TELEGRAM_BOT_TOKEN", "nonsense", "TELEGRAM_BOT_TOKEN is malformed", id="token"
        ),
        pytest.param("ADMIN_IDS", "12,abc", "ADMIN_IDS is malformed", id="admin-ids"),
        pytest.param("TIMEZONE", "Mars/Olympus", "TIMEZONE is malformed", id="timezone"),
        pytest.param("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE is malformed", id="language"),
        pytest.param("MIN_GROUP_SIZE", "1", "MIN_GROUP_SIZE is malformed", id="group-size"),
        pytest.param("DATABASE_URL", "mysql://x", "DATABASE_URL is malformed", id="database"),
        pytest.param("PSEUDONYM_SECRET", "short", "PSEUDONYM_SECRET is malformed", id="secret"),
        pytest.param("SEND_RATE_PER_SECOND", "0", "SEND_RATE_PER_SECOND is malformed", id="rate"),
        pytest.param("QUIET_HOURS", "9pm-8am", "QUIET_HOURS is malformed", id="quiet"),
        pytest.param(
            "TELEGRAM_API_BASE_URL",
            "localhost:8081",
            "TELEGRAM_API_BASE_URL is malformed",
            id="url",
        ),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "expected" in message
    assert "\n" not in message


def test_a_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(SettingsError, match="BotFather"):
        load_settings(env_file=None).require_token()


def test_the_token_never_appears_in_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "12:x")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert "12:x" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "window"),
    [
        pytest.param("21:00-08:00", (1260, 480), id="overnight"),
        pytest.param("13:30-14:00", (810, 840), id="daytime"),
        pytest.param("off", None, id="off"),
    ],
)
def test_quiet_hours(text: str, window: tuple[int, int] | None) -> None:
    assert parse_quiet_hours(text) == window
