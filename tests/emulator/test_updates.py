"""getUpdates: offsets, limits, long-poll timeouts, allowed_updates, conflicts, redelivery."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Update

from botapi_emulator import BotApiEmulator, EmulatorError

from .conftest import Api


async def test_message_update_shape(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana", last_name="López", username="ana_l", language_code="es")
    sent = await ana.send("/start abc")
    status, body = await api("getUpdates")
    assert status == 200
    (raw,) = body["result"]
    assert raw == sent
    message = raw["message"]
    assert message["message_id"] == 1
    assert message["from"] == {
        "id": 1001,
        "is_bot": False,
        "first_name": "Ana",
        "last_name": "López",
        "username": "ana_l",
        "language_code": "es",
    }
    assert message["chat"] == {
        "id": 1001,
        "type": "private",
        "first_name": "Ana",
        "last_name": "López",
        "username": "ana_l",
    }
    assert isinstance(message["date"], int)
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    update = Update.de_json(raw, None)
    assert update.effective_message is not None
    assert update.effective_message.text == "/start abc"


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        pytest.param("hola", [], id="no-command"),
        pytest.param("/help@pulso_test_bot", [(0, 20)], id="addressed"),
        pytest.param("y/o", [], id="not-at-word-start"),
        pytest.param("¿/ayuda?", [(1, 6)], id="after-punctuation"),
        pytest.param("/a y /b", [(0, 2), (5, 2)], id="two"),
        pytest.param("🦜 /start", [(3, 6)], id="utf16-offset"),
    ],
)
async def test_bot_command_entities(
    emu: BotApiEmulator, text: str, entities: list[tuple[int, int]]
) -> None:
    update = await emu.user(1001).send(text)
    got = update["message"].get("entities", [])
    assert [(e["offset"], e["length"]) for e in got] == entities


async def test_offset_confirms_and_limit_caps(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana")
    ids = [(await ana.send(f"m{i}"))["update_id"] for i in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    _, body = await api("getUpdates", limit=2)
    assert [u["update_id"] for u in body["result"]] == [1, 2]
    _, body = await api("getUpdates", limit=2)  # nothing confirmed yet
    assert [u["update_id"] for u in body["result"]] == [1, 2]
    _, body = await api("getUpdates", offset=3)
    assert [u["update_id"] for u in body["result"]] == [3, 4, 5]
    assert emu.pending_updates == 3
    _, body = await api("getUpdates", offset=6)
    assert body["result"] == []
    assert emu.pending_updates == 0


async def test_negative_offset_keeps_the_last_ones(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana")
    for i in range(4):
        await ana.send(f"m{i}")
    _, body = await api("getUpdates", offset=-1)
    assert [u["update_id"] for u in body["result"]] == [4]


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    api: Api, emu: BotApiEmulator
) -> None:
    ana = emu.user(1001, "Ana")
    poll = asyncio.create_task(api("getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    started = time.monotonic()
    await ana.send("hola")
    status, body = await poll
    assert time.monotonic() - started < 1
    assert status == 200
    assert [u["message"]["text"] for u in body["result"]] == ["hola"]


async def test_long_poll_times_out_with_nothing(api: Api) -> None:
    started = time.monotonic()
    status, body = await api("getUpdates", timeout=0.2)
    assert status == 200
    assert body["result"] == []
    assert 0.15 < time.monotonic() - started < 2


async def test_second_poller_ends_the_first_with_409(api: Api) -> None:
    first = asyncio.create_task(api("getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(api("getUpdates", timeout=0.1))
    status, body = await first
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    assert (await second)[0] == 200


async def test_stop_ends_a_waiting_long_poll(api: Api, emu: BotApiEmulator) -> None:
    poll = asyncio.create_task(api("getUpdates", timeout=30))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await emu.stop()
    assert time.monotonic() - started < 2
    status, _ = await poll
    assert status == 200


async def test_allowed_updates_filter_and_persist(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana")
    await ana.send("hola")
    emu.inject_update({"channel_post": {"message_id": 1}})
    _, body = await api("getUpdates", allowed_updates=["channel_post"])
    assert [list(u)[1] for u in body["result"]] == ["channel_post"]
    await ana.send("otra")
    _, body = await api("getUpdates")  # the filter is remembered
    assert [list(u)[1] for u in body["result"]] == ["channel_post"]
    _, body = await api("getUpdates", allowed_updates=[])  # back to the default set
    assert body["result"][0]["channel_post"] == {"message_id": 1}


async def test_default_allowed_updates_skip_chat_member(api: Api, emu: BotApiEmulator) -> None:
    emu.inject_update({"chat_member": {}})
    emu.inject_update({"some_future_kind": {"x": 1}})
    _, body = await api("getUpdates")
    assert [u["update_id"] for u in body["result"]] == [2]


async def test_inject_assigns_update_id(emu: BotApiEmulator) -> None:
    stored = emu.inject_update({"update_id": 999, "my_chat_member": {"x": 1}})
    assert stored["update_id"] == 1
    assert emu.update(1) == stored
    with pytest.raises(EmulatorError):
        emu.inject_update({})


async def test_redeliver_keeps_the_update_id(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana")
    first = await ana.send("uno")
    await ana.send("dos")
    _, body = await api("getUpdates")
    _, body = await api("getUpdates", offset=body["result"][-1]["update_id"] + 1)
    assert body["result"] == []
    emu.redeliver(first["update_id"])
    # The bot's offset is already past it, yet it comes back once, same id and payload.
    _, body = await api("getUpdates", offset=3)
    assert body["result"] == [first]
    _, body = await api("getUpdates", offset=3)
    assert body["result"] == []
    with pytest.raises(KeyError):
        emu.redeliver(99)


async def test_delete_webhook_can_drop_pending(api: Api, emu: BotApiEmulator) -> None:
    await emu.user(1001).send("hola")
    status, body = await api("deleteWebhook", drop_pending_updates=True)
    assert (status, body["result"]) == (200, True)
    assert emu.pending_updates == 0


async def test_webhook_blocks_get_updates(api: Api) -> None:
    assert (await api("setWebhook", url="https://example.org/hook"))[0] == 200
    _, info = await api("getWebhookInfo")
    assert info["result"]["url"] == "https://example.org/hook"
    status, body = await api("getUpdates")
    assert status == 409
    assert "webhook is active" in body["description"]
    await api("deleteWebhook")
    assert (await api("getUpdates"))[0] == 200


async def test_wait_for_updates_confirmed(api: Api, emu: BotApiEmulator) -> None:
    await emu.user(1001).send("hola")

    async def bot() -> None:
        _, body = await api("getUpdates")
        await api("getUpdates", offset=body["result"][-1]["update_id"] + 1)

    task = asyncio.create_task(bot())
    await emu.wait_for_updates_confirmed(timeout=2)
    await task
