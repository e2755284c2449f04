"""The aiohttp transport (bot/transport.py) against the emulator: PTB's own Bot over it,
errors translated as PTB expects, multipart uploads, timeouts and refused connections."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.outbox.transport import AiohttpRequest
from botapi_emulator import BotApiEmulator
from tests.e2e.harness import TOKEN, tiny_png

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """As build_application does: RetryAfter.retry_after as a timedelta."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="pulso_test_bot") as emu:
        yield emu
        assert emu.internal_errors == []


def bot_for(emulator: BotApiEmulator, **timeouts: float) -> Bot:
    return Bot(
        TOKEN,
        base_url=emulator.base_url,
        base_file_url=emulator.base_file_url,
        request=AiohttpRequest(connection_pool_size=8, **timeouts),
    )


async def test_messages_buttons_and_answers(emulator: BotApiEmulator) -> None:
    ana = emulator.user(1001, "Ana", started=True)
    async with bot_for(emulator) as bot:
        assert (await bot.get_me()).username == "pulso_test_bot"
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="c:y")]])
        sent = await bot.send_message(
            ana.id, "<b>¿Cómo va?</b> ñ &amp; más", parse_mode="HTML", reply_markup=keyboard
        )
    assert sent.message_id == ana.last_message.message_id
    assert ana.last_message.content == "¿Cómo va? ñ & más"
    assert ana.last_message.button_texts() == ["Sí"]


async def test_multipart_uploads(emulator: BotApiEmulator) -> None:
    ana = emulator.user(1002, "Ana", started=True)
    png = tiny_png()
    async with bot_for(emulator) as bot:
        await bot.send_photo(ana.id, photo=png, caption="gráfica")
        await bot.send_document(ana.id, document=b"a,b\n1,2\n", filename="ronda.csv")
    photo, document = ana.messages
    assert photo.photo is not None
    assert photo.photo.data == png
    assert photo.caption == "gráfica"
    assert document.document is not None
    assert document.document.data == b"a,b\n1,2\n"
    assert document.document.filename == "ronda.csv"


async def test_telegram_errors_become_ptbs(emulator: BotApiEmulator) -> None:
    blocked = emulator.user(1003, "Bea", started=True)
    blocked.block(notify=False)
    async with bot_for(emulator) as bot:
        with pytest.raises(Forbidden):
            await bot.send_message(blocked.id, "hola")
        with pytest.raises(BadRequest):
            await bot.send_message(424242, "hola")
        emulator.faults.fail_next("sendMessage", kind="429", retry_after=3)
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(blocked.id, "hola")
        assert raised.value.retry_after.total_seconds() == 3
        emulator.faults.fail_next("sendMessage", kind="5xx")
        with pytest.raises(NetworkError):
            await bot.send_message(blocked.id, "hola")


async def test_a_held_request_times_out(emulator: BotApiEmulator) -> None:
    ana = emulator.user(1004, "Ana", started=True)
    async with bot_for(emulator, read_timeout=0.3) as bot:
        emulator.faults.fail_next("sendMessage", kind="timeout", hold=2)
        with pytest.raises(TimedOut):
            await bot.send_message(ana.id, "hola")
        # The "lost" fault: delivered, but the answer never came in time.
        emulator.faults.fail_next("sendMessage", kind="lost", hold=2)
        with pytest.raises(TimedOut):
            await bot.send_message(ana.id, "hola")
    assert ana.texts() == ["hola"]


async def test_a_refused_connection_is_a_network_error() -> None:
    bot = Bot(TOKEN, base_url="http://127.0.0.1:9/bot", request=AiohttpRequest())
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await bot.get_me()
        assert not isinstance(raised.value, TimedOut)
    finally:
        await bot.request.shutdown()


async def test_an_uninitialized_transport_says_so() -> None:
    with pytest.raises(RuntimeError):
        await AiohttpRequest().do_request("http://127.0.0.1:9/", "POST")
