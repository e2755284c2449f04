"""bot/retries.py: which failures of a request are tried again, and which are not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.outbox import retries
from bot.outbox.retries import ENGINE_REQUEST, MAX_RETRIES, TransientRetries


class Script:
    """A request that fails as scripted, then answers {"ok": n}."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> dict[str, int]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"ok": self.calls}


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else RetryAfter.retry_after warns
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(retries.asyncio, "sleep", sleep)
    return slept


async def run(script: Script, endpoint: str = "sendMessage") -> object:
    return await TransientRetries().process_request(script, (), {}, endpoint, {}, None)


@pytest.mark.parametrize(
    ("failure", "waits"),
    [
        pytest.param(lambda: RetryAfter(timedelta(seconds=3)), [3.0], id="429-waits-retry-after"),
        pytest.param(lambda: NetworkError("Bad Gateway"), [0.5], id="5xx-backs-off"),
        pytest.param(TimedOut, [0.0], id="timeout-at-once"),
    ],
)
async def test_a_transient_failure_is_tried_again(
    failure: Callable[[], Exception], waits: list[float], no_waiting: list[float]
) -> None:
    script = Script(failure())
    assert await run(script) == {"ok": 2}
    assert no_waiting == waits


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: BadRequest("Chat not found"), id="400"),
        pytest.param(lambda: Forbidden("Forbidden: bot was blocked by the user"), id="403"),
        pytest.param(lambda: RetryAfter(timedelta(seconds=600)), id="429-too-long"),
    ],
)
async def test_a_lasting_failure_is_raised_at_once(failure: Callable[[], Exception]) -> None:
    error = failure()
    script = Script(error)
    with pytest.raises(type(error)):
        await run(script)
    assert script.calls == 1


async def test_it_gives_up_after_the_last_try() -> None:
    script = Script(*[NetworkError("Bad Gateway")] * (MAX_RETRIES + 1))
    with pytest.raises(NetworkError):
        await run(script)
    assert script.calls == MAX_RETRIES + 1


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        pytest.param("editMessageText", "Message is not modified: specified new...", id="edit"),
        pytest.param(
            "answerCallbackQuery",
            "Query is too old and response timeout expired or query id is invalid",
            id="callback",
        ),
    ],
)
async def test_a_timed_out_request_that_was_done_counts_as_done(
    endpoint: str, message: str
) -> None:
    assert await run(Script(TimedOut(), BadRequest(message)), endpoint) is True


async def test_without_a_timeout_first_that_400_is_an_error() -> None:
    with pytest.raises(BadRequest):
        await run(Script(BadRequest("Message is not modified: specified new...")))


async def test_the_delivery_engines_requests_pass_straight_through() -> None:
    script = Script(RetryAfter(timedelta(seconds=1)))
    token = ENGINE_REQUEST.set(True)
    try:
        with pytest.raises(RetryAfter):
            await run(script)
    finally:
        ENGINE_REQUEST.reset(token)
    assert script.calls == 1
