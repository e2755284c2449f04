"""Sending, editing and deleting messages; keyboards; callback queries; chats."""

from __future__ import annotations

import asyncio

import pytest
from telegram import CallbackQuery, ChatFullInfo, ChatMember, Message, Update

from botapi_emulator import (
    BotApiEmulator,
    ButtonNotFoundError,
    EmulatorError,
    EmulatorTimeoutError,
)

from .conftest import Api, http_client, tiny_png

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


def keyboard(*rows: list[tuple[str, str]]) -> dict[str, object]:
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows
        ]
    }


@pytest.fixture
async def ana(emu: BotApiEmulator):
    user = emu.user(1001, "Ana", language_code="es")
    await user.send("/start")
    return user


async def test_send_message_result_is_a_ptb_message(api: Api, ana, emu: BotApiEmulator) -> None:
    status, body = await api("sendMessage", chat_id=ana.id, text="<i>Hola</i>", parse_mode="HTML")
    assert status == 200
    message = Message.de_json(body["result"], None)
    assert message.message_id == 2  # the user's /start was 1: one sequence per chat
    assert message.from_user is not None
    assert message.from_user.id == emu.bot_id
    assert message.chat.id == ana.id
    assert message.text == "Hola"
    assert message.entities[0].type == "italic"
    recorded = ana.last_message
    assert recorded.raw_text == "<i>Hola</i>"
    assert recorded.html == "<i>Hola</i>"
    assert recorded.parse_mode == "HTML"
    assert ana.texts() == ["Hola"]


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        pytest.param({"chat_id": 777}, 400, "Bad Request: chat not found", id="unknown-chat"),
        pytest.param({"chat_id": "@nadie"}, 400, "Bad Request: chat not found", id="unknown-name"),
        pytest.param({"text": ""}, 400, "Bad Request: message text is empty", id="empty"),
        pytest.param({"text": " \n "}, 400, "Bad Request: message text is empty", id="blank"),
        pytest.param(
            {"text": "<b></b>", "parse_mode": "HTML"},
            400,
            "Bad Request: message text is empty",
            id="empty-after-tags",
        ),
        pytest.param({"text": "x" * 4097}, 400, "Bad Request: message is too long", id="long"),
        pytest.param(
            {"text": "Tom & Jerry", "parse_mode": "HTML"},
            400,
            "Bad Request: can't parse entities: Unescaped",
            id="unescaped-user-text",
        ),
        pytest.param(
            {"text": "a<br>b", "parse_mode": "HTML"},
            400,
            'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 1',
            id="br",
        ),
        pytest.param(
            {"text": "x", "parse_mode": "Bogus"},
            400,
            "Bad Request: unsupported parse_mode",
            id="mode",
        ),
        pytest.param(
            {"reply_markup": keyboard([("x", "d" * 65)])},
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            id="callback-data-65-bytes",
        ),
        pytest.param(
            {"reply_markup": keyboard([("x", "ñ" * 33)])},
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            id="callback-data-66-utf8-bytes",
        ),
        pytest.param(
            {"reply_markup": keyboard([("x", "")])},
            400,
            "Bad Request: BUTTON_DATA_INVALID",
            id="callback-data-empty",
        ),
        pytest.param(
            {"reply_markup": {"inline_keyboard": [[{"text": "x"}]]}},
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed",
            id="button-without-action",
        ),
        pytest.param(
            {
                "reply_markup": {
                    "inline_keyboard": [
                        [{"text": "x", "url": "https://a.b", "callback_data": "c"}]
                    ]
                }
            },
            400,
            "Bad Request: can't parse inline keyboard button: a button must have exactly one",
            id="button-with-two-actions",
        ),
        pytest.param(
            {"reply_markup": {"inline_keyboard": [[{"text": "x", "url": "javascript:alert(1)"}]]}},
            400,
            "Bad Request: BUTTON_URL_INVALID",
            id="bad-url",
        ),
        pytest.param(
            {"reply_markup": {"inline_keyboard": {"text": "x"}}},
            400,
            'Bad Request: Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array',
            id="not-rows",
        ),
        pytest.param(
            {"reply_markup": "{nope"},
            400,
            "Bad Request: can't parse reply keyboard markup JSON object",
            id="markup-not-json",
        ),
        pytest.param(
            {"reply_parameters": {"message_id": 99}},
            400,
            "Bad Request: message to be replied not found",
            id="reply-to-missing",
        ),
    ],
)
async def test_send_message_errors(
    api: Api, ana, params: dict[str, object], status: int, description: str
) -> None:
    sent = {"chat_id": ana.id, "text": "hola", **params}
    got_status, body = await api("sendMessage", **sent)
    assert (got_status, body["ok"], body["error_code"]) == (status, False, status)
    assert body["description"].startswith(description)
    assert ana.last_message is None  # nothing was recorded


async def test_callback_data_of_64_utf8_bytes_is_fine(api: Api, ana) -> None:
    status, _ = await api(
        "sendMessage", chat_id=ana.id, text="x", reply_markup=keyboard([("x", "ñ" * 32)])
    )
    assert status == 200


async def test_length_limit_counts_plain_text(api: Api, ana) -> None:
    text = "<b>" + "x" * 4096 + "</b>"
    status, _ = await api("sendMessage", chat_id=ana.id, text=text, parse_mode="HTML")
    assert status == 200
    assert ana.last_message.raw_text == text
    assert len(ana.last_message.text) == 4096


async def test_text_is_trimmed_like_telegram(api: Api, ana) -> None:
    _, body = await api("sendMessage", chat_id=ana.id, text="\n <b>hola</b> \n", parse_mode="HTML")
    assert body["result"]["text"] == "hola"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]


async def test_lenient_html_mode(api: Api) -> None:
    async with BotApiEmulator(strict_html=False) as emu:
        emu.user(1001, started=True)
        async with http_client() as client:
            response = await client.post(
                f"{emu.base_url}{emu.token}/sendMessage",
                data={"chat_id": "1001", "text": "Tom & Jerry", "parse_mode": "HTML"},
            )
        assert response.status_code == 200
        assert emu.chat(1001).texts() == ["Tom & Jerry"]


async def test_user_who_never_started_cannot_be_written_to(api: Api, emu: BotApiEmulator) -> None:
    emu.user(1002, "Beto")
    status, body = await api("sendMessage", chat_id=1002, text="hola")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )
    emu.user(1003, "Caro", started=True)
    assert (await api("sendMessage", chat_id=1003, text="hola"))[0] == 200


async def test_blocked_user_gets_403_and_bot_is_told(api: Api, ana, emu: BotApiEmulator) -> None:
    await api("getUpdates", offset=100)  # drop the /start
    ana.block()
    calls: list[tuple[str, dict[str, object]]] = [
        ("sendMessage", {"text": "hola"}),
        ("sendPhoto", {"photo": tiny_png()}),
        ("sendChatAction", {"action": "typing"}),
    ]
    for method, params in calls:
        status, body = await api(method, chat_id=ana.id, **params)
        assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    _, body = await api("getUpdates")
    update = Update.de_json(body["result"][0], None)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == ChatMember.BANNED
    with pytest.raises(EmulatorError, match="blocked the bot"):
        await ana.send("hola")
    ana.unblock()
    assert (await api("sendMessage", chat_id=ana.id, text="de nuevo"))[0] == 200


async def test_deactivated_user(api: Api, ana) -> None:
    ana.deactivate()
    status, body = await api("sendMessage", chat_id=ana.id, text="hola")
    assert (status, body["description"]) == (403, "Forbidden: user is deactivated")


async def test_reply_keyboard_and_removal(api: Api, ana) -> None:
    markup = {"keyboard": [["Sí", {"text": "No"}]], "resize_keyboard": True}
    _, body = await api("sendMessage", chat_id=ana.id, text="¿Sí o no?", reply_markup=markup)
    assert "reply_markup" not in body["result"]  # only inline keyboards are echoed
    assert ana.chat.reply_keyboard == [["Sí", "No"]]
    await api("sendMessage", chat_id=ana.id, text="ok", reply_markup={"remove_keyboard": True})
    assert ana.chat.reply_keyboard is None


async def test_reply_parameters(api: Api, ana) -> None:
    _, body = await api(
        "sendMessage", chat_id=ana.id, text="respuesta", reply_parameters={"message_id": 1}
    )
    assert body["result"]["reply_to_message"]["text"] == "/start"
    status, _ = await api(
        "sendMessage",
        chat_id=ana.id,
        text="x",
        reply_parameters={"message_id": 99, "allow_sending_without_reply": True},
    )
    assert status == 200


async def test_edit_text_keeps_history_and_drops_keyboard(api: Api, ana) -> None:
    _, body = await api(
        "sendMessage", chat_id=ana.id, text="¿Listo?", reply_markup=keyboard([("Sí", "y")])
    )
    message_id = body["result"]["message_id"]
    status, body = await api(
        "editMessageText",
        chat_id=ana.id,
        message_id=message_id,
        text="<b>Listo</b>",
        parse_mode="HTML",
    )
    assert status == 200
    edited = Message.de_json(body["result"], None)
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # no reply_markup in the edit removes the keyboard
    message = ana.chat.message(message_id)
    assert message.text == "Listo"
    assert [v.text for v in message.edits] == ["¿Listo?"]
    assert message.edits[0].buttons[0][0].text == "Sí"
    assert message.buttons == []


async def test_edit_errors(api: Api, ana) -> None:
    _, body = await api(
        "sendMessage", chat_id=ana.id, text="hola", reply_markup=keyboard([("a", "a")])
    )
    mid = body["result"]["message_id"]
    status, body = await api(
        "editMessageText",
        chat_id=ana.id,
        message_id=mid,
        text="hola",
        reply_markup=keyboard([("a", "a")]),
    )
    assert (status, body["description"]) == (400, NOT_MODIFIED)
    status, body = await api(
        "editMessageReplyMarkup",
        chat_id=ana.id,
        message_id=mid,
        reply_markup=keyboard([("a", "a")]),
    )
    assert (status, body["description"]) == (400, NOT_MODIFIED)
    status, body = await api("editMessageText", chat_id=ana.id, message_id=999, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    status, body = await api("editMessageText", chat_id=ana.id, message_id=1, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message can't be edited")
    status, body = await api(
        "editMessageText", chat_id=ana.id, message_id=mid, text="a&b", parse_mode="HTML"
    )
    assert status == 400
    assert "can't parse entities" in body["description"]


async def test_edit_reply_markup(api: Api, ana) -> None:
    _, body = await api(
        "sendMessage", chat_id=ana.id, text="hola", reply_markup=keyboard([("a", "a")])
    )
    mid = body["result"]["message_id"]
    status, body = await api(
        "editMessageReplyMarkup",
        chat_id=ana.id,
        message_id=mid,
        reply_markup=keyboard([("b", "b")]),
    )
    assert status == 200
    assert ana.chat.message(mid).button_texts() == ["b"]
    status, body = await api("editMessageReplyMarkup", chat_id=ana.id, message_id=mid)
    assert status == 200
    assert "reply_markup" not in body["result"]
    status, body = await api("editMessageReplyMarkup", chat_id=ana.id, message_id=mid)
    assert (status, body["description"]) == (400, NOT_MODIFIED)


async def test_delete_message(api: Api, ana) -> None:
    _, body = await api("sendMessage", chat_id=ana.id, text="borrame")
    mid = body["result"]["message_id"]
    assert (await api("deleteMessage", chat_id=ana.id, message_id=mid)) == (
        200,
        {"ok": True, "result": True},
    )
    assert ana.chat.message(mid).deleted
    assert ana.last_message is None
    assert ana.texts() == []
    status, body = await api("deleteMessage", chat_id=ana.id, message_id=mid)
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")
    status, body = await api("editMessageText", chat_id=ana.id, message_id=mid, text="x")
    assert body["description"] == "Bad Request: message to edit not found"


async def test_press_builds_a_real_callback_query(api: Api, ana, emu: BotApiEmulator) -> None:
    _, body = await api(
        "sendMessage",
        chat_id=ana.id,
        text="¿Acepta?",
        reply_markup=keyboard([("Sí, acepto", "c:y"), ("No", "c:n")]),
    )
    await api("getUpdates", offset=100)
    press = await ana.press("Sí, acepto")
    _, got = await api("getUpdates")
    update = Update.de_json(got["result"][0], None)
    query = update.callback_query
    assert isinstance(query, CallbackQuery)
    assert query.id == press.query_id
    assert query.data == "c:y"
    assert query.from_user.id == ana.id
    assert query.chat_instance
    assert isinstance(query.message, Message)
    assert query.message.message_id == body["result"]["message_id"]
    assert query.message.reply_markup is not None
    assert query.message.reply_markup.inline_keyboard[0][1].text == "No"
    assert not press.answered

    status, _ = await api(
        "answerCallbackQuery", callback_query_id=press.query_id, text="¡Gracias!", show_alert=True
    )
    assert status == 200
    answer = await press.wait_answer(timeout=1)
    assert (answer.text, answer.show_alert, answer.data) == ("¡Gracias!", True, "c:y")
    assert ana.callback_answers == [answer]

    status, body = await api("answerCallbackQuery", callback_query_id=press.query_id)
    assert (status, body["description"]) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    status, body = await api("answerCallbackQuery", callback_query_id="12345")
    assert status == 400


async def test_answer_text_limit(api: Api, ana) -> None:
    await api("sendMessage", chat_id=ana.id, text="x", reply_markup=keyboard([("a", "a")]))
    press = await ana.press("a")
    status, _ = await api("answerCallbackQuery", callback_query_id=press.query_id, text="x" * 201)
    assert status == 400
    assert not press.answered  # a failed answer leaves the query answerable
    assert (await api("answerCallbackQuery", callback_query_id=press.query_id, text="x" * 200))[
        0
    ] == 200


async def test_callback_query_ttl() -> None:
    async with BotApiEmulator(callback_query_ttl=0.0) as emu:
        ana = emu.user(1001, started=True)
        async with http_client(base_url=emu.url) as client:
            await client.post(
                f"/bot{emu.token}/sendMessage",
                json={"chat_id": 1001, "text": "x", "reply_markup": keyboard([("a", "a")])},
            )
            press = await ana.press("a")
            await asyncio.sleep(0.01)
            response = await client.post(
                f"/bot{emu.token}/answerCallbackQuery", json={"callback_query_id": press.query_id}
            )
        assert response.status_code == 400


async def test_press_finds_newest_message_and_explains_misses(api: Api, ana) -> None:
    await api(
        "sendMessage", chat_id=ana.id, text="uno", reply_markup=keyboard([("Siguiente", "n:1")])
    )
    await api(
        "sendMessage",
        chat_id=ana.id,
        text="dos",
        reply_markup=keyboard([("Siguiente", "n:2"), ("Salir", "q")]),
    )
    press = await ana.press("Siguiente")
    assert press.data == "n:2"
    older = await ana.press("Siguiente", message_id=2)
    assert older.data == "n:1"
    with pytest.raises(ButtonNotFoundError) as caught:
        await ana.press("Tal vez")
    assert "Siguiente" in str(caught.value)
    assert "Salir" in str(caught.value)
    with pytest.raises(ButtonNotFoundError):
        await ana.press("Salir", message_id=2)


async def test_press_data_forges_anything(api: Api, ana) -> None:
    await api("sendMessage", chat_id=ana.id, text="x", reply_markup=keyboard([("a", "a:1")]))
    press = await ana.press_data("a:999:q1:3")
    assert press.update["callback_query"]["data"] == "a:999:q1:3"
    assert press.message.text == "x"


async def test_url_buttons_cannot_be_pressed(api: Api, ana) -> None:
    markup = {"inline_keyboard": [[{"text": "Web", "url": "https://ogp.gob.mx"}]]}
    await api("sendMessage", chat_id=ana.id, text="x", reply_markup=markup)
    assert ana.last_message.buttons[0][0].url == "https://ogp.gob.mx"
    with pytest.raises(EmulatorError, match="url button"):
        await ana.press("Web")


async def test_user_edit_sends_edited_message(api: Api, ana) -> None:
    update = await ana.edit(1, "/start otra")
    edited = Update.de_json(update, None).edited_message
    assert edited is not None
    assert edited.text == "/start otra"
    assert edited.edit_date is not None
    await api("sendMessage", chat_id=ana.id, text="x")
    with pytest.raises(EmulatorError, match="the bot's"):
        await ana.edit(2, "no es mío")


async def test_wait_for_message_sees_sends_and_edits(api: Api, ana) -> None:
    waiter = asyncio.create_task(ana.wait_for_message(timeout=2))
    await asyncio.sleep(0)
    _, body = await api("sendMessage", chat_id=ana.id, text="uno")
    assert (await waiter).text == "uno"
    cursor = ana.chat.cursor
    await api(
        "editMessageText", chat_id=ana.id, message_id=body["result"]["message_id"], text="uno bis"
    )
    await api("sendMessage", chat_id=ana.id, text="dos")
    assert (await ana.wait_for_message(since=cursor)).text == "uno bis"
    found = await ana.wait_for_message(since=cursor, predicate=lambda m: m.text == "dos")
    assert found.text == "dos"


async def test_wait_for_message_timeout_says_what_happened(api: Api, ana) -> None:
    await api("sendMessage", chat_id=ana.id, text="la última")
    await api("sendMessage", chat_id=ana.id, text="<b>rota", parse_mode="HTML")
    with pytest.raises(EmulatorTimeoutError) as caught:
        await ana.wait_for_message(timeout=0.05)
    text = str(caught.value)
    assert "la última" in text
    assert "can't parse entities" in text


async def test_wait_until(api: Api, ana, emu: BotApiEmulator) -> None:
    async def later() -> None:
        for i in range(3):
            await api("sendMessage", chat_id=ana.id, text=f"m{i}")

    task = asyncio.create_task(later())
    await emu.wait_until(lambda: len(ana.messages) == 3, timeout=2)
    await task
    with pytest.raises(EmulatorTimeoutError, match="sendMessage -> 200"):
        await emu.wait_until(lambda: len(ana.messages) == 4, timeout=0.05)


async def test_send_photo_and_document(api: Api, ana, emu: BotApiEmulator) -> None:
    png = tiny_png(4, 3)
    status, body = await api(
        "sendPhoto",
        chat_id=ana.id,
        photo=png,
        caption="<b>Gráfica</b>",
        parse_mode="HTML",
        reply_markup=keyboard([("Más", "m")]),
    )
    assert status == 200, body
    photo_message = Message.de_json(body["result"], None)
    assert photo_message.caption == "Gráfica"
    assert photo_message.caption_entities[0].type == "bold"
    assert (photo_message.photo[-1].width, photo_message.photo[-1].height) == (4, 3)
    recorded = ana.last_message
    assert recorded.kind == "photo"
    assert recorded.photo.data == png
    assert recorded.content == "Gráfica"
    assert recorded.button_texts() == ["Más"]

    file_id = body["result"]["photo"][-1]["file_id"]
    status, again = await api("sendPhoto", chat_id=ana.id, photo=file_id)
    assert status == 200
    assert again["result"]["photo"][-1]["file_id"] == file_id
    assert emu.file(file_id).data == png

    status, body = await api("sendDocument", chat_id=ana.id, document=b"a,b\n", filename="r.csv")
    assert status == 200
    document = Message.de_json(body["result"], None).document
    assert document is not None
    assert document.file_name == "r.csv"


@pytest.mark.parametrize(
    ("method", "params", "description"),
    [
        pytest.param(
            "sendPhoto",
            {"photo": b"not an image"},
            "Bad Request: IMAGE_PROCESS_FAILED",
            id="not-image",
        ),
        pytest.param(
            "sendPhoto", {}, "Bad Request: there is no photo in the request", id="no-photo"
        ),
        pytest.param(
            "sendPhoto",
            {"photo": "AgACnope"},
            "Bad Request: wrong file identifier/HTTP URL specified",
            id="bad-id",
        ),
        pytest.param(
            "sendPhoto",
            {"photo": tiny_png(), "caption": "x" * 1025},
            "Bad Request: message caption is too long",
            id="long-caption",
        ),
        pytest.param(
            "sendDocument",
            {"document": b""},
            "Bad Request: file must be non-empty",
            id="empty-doc",
        ),
        pytest.param(
            "sendChatAction",
            {"action": "dancing"},
            "Bad Request: wrong parameter action in request",
            id="action",
        ),
    ],
)
async def test_media_errors(
    api: Api, ana, method: str, params: dict[str, object], description: str
) -> None:
    status, body = await api(method, chat_id=ana.id, **params)
    assert (status, body["description"]) == (400, description)


async def test_document_file_id_is_not_a_photo(api: Api, ana) -> None:
    _, body = await api("sendDocument", chat_id=ana.id, document=b"x", filename="x.txt")
    status, body = await api(
        "sendPhoto", chat_id=ana.id, photo=body["result"]["document"]["file_id"]
    )
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't use file of type Document as Photo",
    )


async def test_chat_actions_are_recorded(api: Api, ana) -> None:
    assert (await api("sendChatAction", chat_id=ana.id, action="typing"))[0] == 200
    assert ana.chat.actions == ["typing"]


async def test_get_chat_and_members_parse_in_ptb(api: Api, ana, emu: BotApiEmulator) -> None:
    group = emu.group(-100123, "Secretaría", username="secretaria")
    await group.send(ana, "/summary")
    for chat_id in (ana.id, group.id, "@secretaria"):
        status, body = await api("getChat", chat_id=chat_id)
        assert status == 200
        ChatFullInfo.de_json(body["result"], None)
    for chat_id, user_id, expected in [
        (ana.id, ana.id, "member"),
        (group.id, ana.id, "member"),
        (group.id, emu.bot_id, "member"),
    ]:
        _, body = await api("getChatMember", chat_id=chat_id, user_id=user_id)
        assert ChatMember.de_json(body["result"], None).status == expected
    admin_group = emu.group(-100999, "Admins", bot_is_admin=True)
    _, body = await api("getChatMember", chat_id=admin_group.id, user_id=emu.bot_id)
    assert ChatMember.de_json(body["result"], None).status == "administrator"
    assert (await api("getChatMemberCount", chat_id=group.id))[1]["result"] == 2


async def test_group_messages_and_privacy_mode(api: Api, ana, emu: BotApiEmulator) -> None:
    group = emu.group(-100123, "Secretaría")
    await api("getUpdates", offset=100)
    assert await group.send(ana, "buenos días") is None  # privacy mode: not for the bot
    command = await group.send(ana, "/summary@pulso_test_bot 3")
    assert command is not None
    assert await group.send(ana, "/summary@otro_bot") is None
    _, body = await api("getUpdates")
    (update,) = [Update.de_json(u, None) for u in body["result"]]
    assert update.effective_chat is not None
    assert update.effective_message is not None
    assert update.effective_chat.type == "supergroup"
    assert update.effective_chat.title == "Secretaría"
    assert update.effective_message.entities[0].length == len("/summary@pulso_test_bot")
    _, body = await api("sendMessage", chat_id=group.id, text="Resumen")
    assert body["result"]["from"]["id"] == emu.bot_id
    assert group.texts() == ["Resumen"]
    assert len(group.chat.history) == 4


async def test_bot_removed_from_group(api: Api, ana, emu: BotApiEmulator) -> None:
    group = emu.group(-100123, "Secretaría")
    group.remove_bot(by=ana)
    status, body = await api("sendMessage", chat_id=group.id, text="x")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot was kicked from the supergroup chat",
    )
    _, body = await api("getUpdates", offset=2)
    member_update = Update.de_json(body["result"][0], None).my_chat_member
    assert member_update is not None
    assert member_update.new_chat_member.status == "kicked"


async def test_channel_posts(api: Api, emu: BotApiEmulator) -> None:
    channel = emu.group(-100555, "Avisos", type="channel")
    update = await channel.post("Nueva ronda")
    post = Update.de_json(update, None).channel_post
    assert post is not None
    assert post.sender_chat is not None
    assert post.sender_chat.id == channel.id
    _, body = await api("sendMessage", chat_id=channel.id, text="Resultados")
    message = Message.de_json(body["result"], None)
    assert message.from_user is None
    assert message.sender_chat is not None
    assert message.sender_chat.id == channel.id


async def test_commands_per_scope_and_language(api: Api, emu: BotApiEmulator) -> None:
    commands = [
        {"command": "start", "description": "Empezar"},
        {"command": "help", "description": "Ayuda"},
    ]
    assert (await api("setMyCommands", commands=commands))[0] == 200
    english = [{"command": "help", "description": "Help"}]
    scope = {"type": "all_private_chats"}
    assert (await api("setMyCommands", commands=english, scope=scope, language_code="en"))[
        0
    ] == 200
    assert [c.command for c in emu.commands()] == ["start", "help"]
    assert emu.commands("all_private_chats", "en") == [("help", "Help")]
    assert emu.commands(scope) == []
    _, body = await api("getMyCommands", scope=scope, language_code="en")
    assert body["result"] == english
    await api("deleteMyCommands", scope=scope, language_code="en")
    assert emu.commands(scope, "en") == []
    status, body = await api("setMyCommands", commands=[{"command": "Start!", "description": "x"}])
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")


@pytest.mark.parametrize(
    "method",
    [
        "logOut",
        "close",
        "setChatMenuButton",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
    ],
)
async def test_simple_methods_succeed(api: Api, method: str) -> None:
    assert await api(method) == (200, {"ok": True, "result": True})
