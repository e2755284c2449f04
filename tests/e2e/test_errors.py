"""When something breaks inside a handler: one redacted log line and an apology."""

from __future__ import annotations

import logging

import pytest

from handlers.callback_data import ChooseLanguage
from tests.e2e.harness import TOKEN, RunningBot, press

pytestmark = pytest.mark.e2e


async def test_a_failing_handler_apologises_and_logs_no_secrets(
    pulso: RunningBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail: ana@example.org said «mi casa»")

    monkeypatch.setattr(pulso.services.people, "set_language", broken)
    ana = pulso.person(12_345_678, "Ana", language="en")
    await ana.send("/language")
    await ana.wait_for_message()
    with caplog.at_level(logging.ERROR, logger="pulso.app"):
        mark = ana.chat.cursor
        await press(ana, ChooseLanguage("es"))
        apology = await ana.wait_for_message(since=mark, predicate=lambda m: "wrong" in m.content)
    assert apology.content.startswith("😕 Something went wrong on our side.")
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1
    logged = caplog.text
    assert "RuntimeError" in logged
    for secret in (TOKEN, "ana@example.org", "mi casa", "12345678"):
        assert secret not in logged
