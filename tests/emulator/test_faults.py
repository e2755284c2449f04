"""Fault injection: 429, 5xx, timeouts, lost answers, latency, flood limits, getUpdates."""

from __future__ import annotations

import time

import httpx
import pytest

from botapi_emulator import BotApiEmulator
from botapi_emulator.faults import FaultInjector

from .conftest import Api, http_client


@pytest.fixture
async def ana(emu: BotApiEmulator):
    return emu.user(1001, "Ana", started=True)


async def test_429_has_retry_after_and_sends_nothing(api: Api, ana, emu: BotApiEmulator) -> None:
    emu.faults.fail_next("sendMessage", retry_after=7)
    status, body = await api("sendMessage", chat_id=ana.id, text="hola")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert ana.messages == []
    assert emu.faults.injected["429"] == 1
    assert emu.requests[-1].fault == "429"
    assert (await api("sendMessage", chat_id=ana.id, text="hola"))[0] == 200
    assert ana.texts() == ["hola"]


async def test_scripted_5xx_for_several_calls(api: Api, ana, emu: BotApiEmulator) -> None:
    emu.faults.fail_next("sendmessage", count=2, kind="5xx", status=503)
    statuses = [(await api("sendMessage", chat_id=ana.id, text=f"m{i}"))[0] for i in range(3)]
    assert statuses == [503, 503, 200]
    assert ana.texts() == ["m2"]
    assert emu.stats.errors[503] == 2


async def test_random_faults_are_deterministic_with_a_seed(
    api: Api, ana, emu: BotApiEmulator
) -> None:
    async def run() -> list[int]:
        emu.faults.configure(seed=42, rate_429=0.3, rate_5xx=0.2)
        return [(await api("sendMessage", chat_id=ana.id, text="x"))[0] for _ in range(40)]

    first = await run()
    second = await run()
    assert first == second
    assert {200, 429, 502} <= set(first)
    assert emu.faults.injected["429"] == 2 * first.count(429)
    assert len(ana.messages) == 2 * first.count(200)


async def test_faults_only_hit_the_chosen_methods(api: Api, ana, emu: BotApiEmulator) -> None:
    emu.faults.configure(seed=1, rate_429=1.0, methods={"sendPhoto"})
    assert (await api("sendMessage", chat_id=ana.id, text="x"))[0] == 200
    assert (await api("getMe"))[0] == 200
    emu.faults.configure(seed=1, rate_5xx=1.0)  # default: the sending/editing methods
    assert (await api("getMe"))[0] == 200
    assert (await api("sendMessage", chat_id=ana.id, text="x"))[0] == 502
    emu.faults.clear()
    assert (await api("sendMessage", chat_id=ana.id, text="x"))[0] == 200


async def test_latency(api: Api, ana, emu: BotApiEmulator) -> None:
    emu.faults.configure(latency=0.1)
    started = time.monotonic()
    assert (await api("sendMessage", chat_id=ana.id, text="x"))[0] == 200
    assert time.monotonic() - started >= 0.09
    assert emu.faults.injected["latency"] == 1


async def test_timeout_is_not_applied(emu: BotApiEmulator, ana) -> None:
    emu.faults.fail_next("sendMessage", kind="timeout", hold=0.5)
    async with http_client(base_url=emu.url, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                f"/bot{emu.token}/sendMessage", data={"chat_id": "1001", "text": "x"}
            )
    await emu.wait_until(lambda: emu.stats.total == 1, timeout=2)
    assert ana.messages == []
    assert emu.faults.injected["timeout"] == 1


async def test_lost_answer_is_applied(emu: BotApiEmulator, ana) -> None:
    emu.faults.fail_next("sendMessage", kind="lost", hold=0.5)
    async with http_client(base_url=emu.url, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                f"/bot{emu.token}/sendMessage", data={"chat_id": "1001", "text": "x"}
            )
    assert ana.texts() == ["x"]  # delivered although the client saw a timeout
    assert emu.faults.injected["lost"] == 1


async def test_held_requests_end_when_the_emulator_stops(emu: BotApiEmulator, ana) -> None:
    emu.faults.fail_next("sendMessage", kind="timeout", hold=30)
    async with http_client(base_url=emu.url, timeout=0.1) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                f"/bot{emu.token}/sendMessage", data={"chat_id": "1001", "text": "x"}
            )
    started = time.monotonic()
    await emu.stop()
    assert time.monotonic() - started < 2


async def test_fail_get_updates_by_count(api: Api, emu: BotApiEmulator) -> None:
    emu.faults.fail_get_updates(count=2)
    statuses = [(await api("getUpdates"))[0] for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert emu.faults.injected["get_updates"] == 2


async def test_fail_get_updates_for_a_while(api: Api, emu: BotApiEmulator) -> None:
    # A clock the test moves: on a busy machine a real 0.2 s window can close before
    # the first request is even answered.
    now = [1000.0]
    emu.faults = FaultInjector(clock=lambda: now[0])
    emu.faults.fail_get_updates(seconds=0.2)
    assert (await api("getUpdates"))[0] == 502
    now[0] += 0.19
    assert (await api("getUpdates"))[0] == 502
    now[0] += 0.02
    assert (await api("getUpdates"))[0] == 200


async def test_flood_limits(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, started=True)
    beto = emu.user(1002, started=True)
    emu.faults.flood_limits(global_per_second=3, per_chat_per_second=2, per_group_per_minute=None)
    assert [(await api("sendMessage", chat_id=ana.id, text="x"))[0] for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert (await api("sendMessage", chat_id=beto.id, text="x"))[0] == 200
    status, body = await api("sendMessage", chat_id=beto.id, text="x")
    assert status == 429  # the global limit of 3 per second
    assert body["parameters"]["retry_after"] >= 1
    assert emu.faults.injected["flood"] == 2
    assert len(ana.messages) + len(beto.messages) == 3
    assert (await api("editMessageText", chat_id=ana.id, message_id=1, text="y"))[0] == 200


def test_configure_validates() -> None:
    emu = BotApiEmulator()
    with pytest.raises(ValueError, match="add up"):
        emu.faults.configure(rate_429=0.7, rate_5xx=0.7)
    with pytest.raises(ValueError, match="kind"):
        emu.faults.fail_next("sendMessage", kind="explode")
    with pytest.raises(ValueError, match="count, seconds"):
        emu.faults.fail_get_updates()
