"""The real python-telegram-bot against the emulator, over real HTTP.

These tests also pin the PTB behaviours the bot code relies on: which exception
each error answer becomes, how PTB words it, and that a read timeout surfaces
as ``TimedOut`` although the message was not sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from botapi_emulator import BotApiEmulator

from .conftest import tiny_png

CONSENT = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Sí, acepto", callback_data="consent:yes"),
            InlineKeyboardButton("No", callback_data="consent:no"),
        ]
    ]
)
PNG = tiny_png(3, 2)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The person sees a greeting with consent buttons."""
    assert update.message is not None
    assert update.effective_user is not None
    name = html.escape(update.effective_user.first_name)
    payload = " ".join(context.args or [])
    await update.message.reply_html(
        f"Hola <b>{name}</b> ({html.escape(payload)})", reply_markup=CONSENT
    )


async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The toast thanks the person; the message shows the choice without buttons."""
    query = update.callback_query
    assert query is not None
    await query.answer("¡Gracias!")
    await query.edit_message_text(f"Elegiste: <i>{query.data}</i>", parse_mode=ParseMode.HTML)


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The person gets a chart and a CSV."""
    assert update.message is not None
    await update.message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
    await update.message.reply_photo(PNG, caption="<b>Resumen</b> 3 &lt; 5", parse_mode="HTML")
    await update.message.reply_document(b"ronda,valor\n1,3\n", filename="ronda-1.csv")


@pytest.fixture
async def app(emu: BotApiEmulator) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    application = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    errors: list[object] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)

    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("report", report))
    application.add_handler(CallbackQueryHandler(consent, pattern=r"^consent:"))
    application.add_error_handler(on_error)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    assert errors == []


async def test_conversation_with_buttons_photo_and_document(
    app: Application[Any, Any, Any, Any, Any, Any], emu: BotApiEmulator
) -> None:
    ana = emu.user(1001, "Ana <3", language_code="es")
    await ana.send("/start abc")
    greeting = await ana.wait_for_message(timeout=5)
    assert greeting.text == "Hola Ana <3 (abc)"
    assert greeting.html == "Hola <b>Ana &lt;3</b> (abc)"
    assert greeting.button_texts() == ["Sí, acepto", "No"]

    press = await ana.press("Sí, acepto")
    answer = await press.wait_answer(timeout=5)
    assert answer.text == "¡Gracias!"
    edited = await ana.wait_for_message(timeout=5, predicate=lambda m: m.edit_date is not None)
    assert edited.message_id == greeting.message_id
    assert edited.text == "Elegiste: consent:yes"
    assert edited.buttons == []

    await ana.send("/report")
    await emu.wait_until(lambda: len(ana.messages) == 3, timeout=5)
    photo, document = ana.messages[1:]
    assert photo.photo is not None
    assert photo.photo.data == PNG
    assert (photo.photo.width, photo.photo.height) == (3, 2)
    assert photo.caption == "Resumen 3 < 5"
    assert document.document is not None
    assert document.document.filename == "ronda-1.csv"
    assert document.document.mime_type == "text/csv"
    assert document.document.data == b"ronda,valor\n1,3\n"
    assert ana.chat.actions == ["upload_photo"]
    assert ana.callback_answers == [answer]

    downloaded = await (await app.bot.get_file(photo.photo.file_id)).download_as_bytearray()
    assert bytes(downloaded) == PNG


async def test_redelivered_update_reaches_the_handler_again(
    app: Application[Any, Any, Any, Any, Any, Any], emu: BotApiEmulator
) -> None:
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)

    app.add_handler(CommandHandler("ping", record))
    ana = emu.user(1001, "Ana")
    sent = await ana.send("/ping")
    await emu.wait_until(lambda: len(seen) == 1, timeout=5)
    await emu.wait_for_updates_confirmed(timeout=5)
    emu.redeliver(sent["update_id"])
    await emu.wait_until(lambda: len(seen) == 2, timeout=5)
    assert seen == [sent["update_id"], sent["update_id"]]


async def test_commands_set_through_ptb(
    app: Application[Any, Any, Any, Any, Any, Any], emu: BotApiEmulator
) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Empezar"), BotCommand("help", "Ayuda")])
    await app.bot.set_my_commands(
        [BotCommand("help", "Help")], scope=BotCommandScopeAllPrivateChats(), language_code="en"
    )
    assert emu.commands() == [("start", "Empezar"), ("help", "Ayuda")]
    assert emu.commands("all_private_chats", "en") == [("help", "Help")]
    got = await app.bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="en")
    assert got == (BotCommand("help", "Help"),)


async def test_group_replies_quote_the_command(
    app: Application[Any, Any, Any, Any, Any, Any], emu: BotApiEmulator
) -> None:
    async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("Resumen")  # PTB quotes by default outside private chats

    app.add_handler(CommandHandler("summary", summary))
    group = emu.group(-1001, "Secretaría", type="group")
    ana = emu.user(1001, "Ana")
    await group.send(ana, "/summary@pulso_test_bot")
    reply = await group.wait_for_message(timeout=5)
    assert reply.reply_to is not None
    assert reply.reply_to.text == "/summary@pulso_test_bot"
    # An injected raw message in a known chat is recorded too, so it can be quoted.
    emu.inject_update(
        {
            "message": {
                "message_id": 50,
                "date": 1,
                "chat": group.chat.to_api(),
                "from": ana.to_api(),
                "text": "/summary",
                "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
            }
        }
    )
    reply = await group.wait_for_message(timeout=5)
    assert reply.reply_to is not None
    assert reply.reply_to.message_id == 50
    assert reply.message_id == 51


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as instance:
        yield instance


async def test_error_answers_become_ptb_exceptions(
    bot: Bot, emu: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else RetryAfter.retry_after warns
    ana = emu.user(1001, "Ana")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(ana.id, "hola")
    await ana.send("hola")
    ana.block(notify=False)
    with pytest.raises(Forbidden) as blocked:
        await bot.send_message(ana.id, "hola")
    assert blocked.value.message == "Forbidden: bot was blocked by the user"
    ana.unblock(notify=False)
    # PTB strips "Bad Request: " and .capitalize()s the rest (lower-casing all but the
    # first letter): match on lower-case text.
    with pytest.raises(BadRequest) as not_found:
        await bot.send_message(999, "hola")
    assert not_found.value.message == "Chat not found"
    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await bot.send_message(
            ana.id,
            "x",
            reply_markup=InlineKeyboardMarkup.from_button(
                InlineKeyboardButton("x", callback_data="x" * 65)
            ),
        )
    with pytest.raises(BadRequest, match=r"^Can't parse entities: unescaped"):
        await bot.send_message(ana.id, "Tom & Jerry", parse_mode="HTML")
    emu.faults.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(ana.id, "hola")
    assert flood.value.retry_after == dt.timedelta(seconds=3)
    emu.faults.fail_next("sendMessage", kind="5xx")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ana.id, "hola")
    assert ana.messages == []
    assert (await bot.send_message(ana.id, "por fin")).text == "por fin"


async def test_bad_token_and_unknown_method(bot: Bot, emu: BotApiEmulator) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    with pytest.raises(InvalidToken):
        async with Bot("123456:WRONG", base_url=emu.base_url):
            pass


async def test_read_timeout_fault_is_timed_out_in_ptb(emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana", started=True)
    emu.faults.fail_next("sendMessage", kind="timeout", hold=1.0)
    async with Bot(emu.token, base_url=emu.base_url) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(ana.id, "hola", read_timeout=0.1)
        assert ana.messages == []
        # A lost answer: PTB also sees TimedOut, but the message was delivered.
        emu.faults.fail_next("sendMessage", kind="lost", hold=1.0)
        with pytest.raises(TimedOut):
            await bot.send_message(ana.id, "hola", read_timeout=0.1)
        assert ana.texts() == ["hola"]


async def test_two_pollers_conflict(bot: Bot, emu: BotApiEmulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.05)
    async with Bot(emu.token, base_url=emu.base_url) as other:
        await other.get_updates(timeout=0)
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first
