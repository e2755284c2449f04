"""The HTTP side: routes, tokens, body encodings, answer shapes."""

from __future__ import annotations

import json

import httpx
import pytest
from telegram import InputFile, Message, User

from botapi_emulator import BotApiEmulator

from .conftest import Api, http_client, tiny_png


async def test_get_me_is_a_bot_user(api: Api, emu: BotApiEmulator) -> None:
    status, body = await api("getMe")
    assert status == 200
    assert body["ok"] is True
    user = User.de_json(body["result"], None)
    assert user.id == 123456
    assert user.is_bot
    assert user.username == "pulso_test_bot"
    assert body["result"] == emu.bot_user


async def test_wrong_token_is_401(http: httpx.AsyncClient) -> None:
    response = await http.post("/bot999:nope/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_404(http: httpx.AsyncClient, emu: BotApiEmulator) -> None:
    response = await http.post(f"/bot{emu.token}/sendTelepathy")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


@pytest.mark.parametrize("name", ["getMe", "getme", "GETME", "GetMe"])
async def test_method_names_are_case_insensitive(
    http: httpx.AsyncClient, emu: BotApiEmulator, name: str
) -> None:
    response = await http.get(f"/bot{emu.token}/{name}")
    assert response.status_code == 200
    assert emu.stats.by_method["getMe"] == 1


async def test_form_encoding_as_ptb_sends_it(api: Api, emu: BotApiEmulator) -> None:
    ana = emu.user(1001, "Ana")
    await ana.send("hola")
    markup = {"inline_keyboard": [[{"text": "Sí", "callback_data": "a:1:q1:1"}]]}
    status, body = await api(
        "sendMessage",
        chat_id=1001,
        text="<b>¿Listo?</b>",
        parse_mode="HTML",
        reply_markup=markup,
        disable_notification=True,
        link_preview_options={"is_disabled": True},
    )
    assert status == 200, body
    message = ana.last_message
    assert message is not None
    assert message.text == "¿Listo?"
    assert message.disable_notification is True
    assert message.link_preview_options == {"is_disabled": True}
    assert body["result"]["reply_markup"] == markup
    assert emu.requests[-1].params["chat_id"] == "1001"  # numbers arrive as strings


async def test_json_body(http: httpx.AsyncClient, emu: BotApiEmulator) -> None:
    emu.user(1001, "Ana", started=True)
    response = await http.post(
        f"/bot{emu.token}/sendMessage",
        json={"chat_id": 1001, "text": "hola", "reply_markup": {"remove_keyboard": True}},
    )
    assert response.status_code == 200
    assert response.json()["result"]["text"] == "hola"


async def test_query_string_parameters(http: httpx.AsyncClient, emu: BotApiEmulator) -> None:
    emu.user(1001, "Ana", started=True)
    response = await http.get(
        f"/bot{emu.token}/sendMessage", params={"chat_id": "1001", "text": "por GET"}
    )
    assert response.status_code == 200
    assert emu.chat(1001).texts() == ["por GET"]


async def test_malformed_json_body_is_400(http: httpx.AsyncClient, emu: BotApiEmulator) -> None:
    response = await http.post(
        f"/bot{emu.token}/getMe",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["description"].startswith("Bad Request: ")


async def test_multipart_upload_with_attach_reference(api: Api, emu: BotApiEmulator) -> None:
    emu.user(1001, "Ana", started=True)
    png = tiny_png(3, 2)
    # PTB's attach:// form: the parameter names the part that carries the bytes.
    status, body = await api(
        "sendPhoto", chat_id=1001, photo=InputFile(png, filename="chart.png", attach=True)
    )
    assert status == 200, body
    message = Message.de_json(body["result"], None)
    assert message.photo[-1].width == 3
    assert message.photo[-1].height == 2
    photo = emu.chat(1001).messages[-1].photo
    assert photo is not None
    assert photo.data == png


async def test_multipart_text_fields_keep_unicode(api: Api, emu: BotApiEmulator) -> None:
    emu.user(1001, "Ana", started=True)
    status, body = await api(
        "sendDocument",
        chat_id=1001,
        document=InputFile(b"id,respuesta\n1,s\xc3\xad\n", filename="exportación ronda 1.csv"),
        caption="Exportación <b>¡lista!</b>",
        parse_mode="HTML",
    )
    assert status == 200, body
    sent = emu.chat(1001).messages[-1]
    assert sent.document is not None
    assert sent.document.filename == "exportación ronda 1.csv"
    assert sent.document.mime_type == "text/csv"
    assert sent.caption == "Exportación ¡lista!"
    assert body["result"]["document"]["file_name"] == "exportación ronda 1.csv"


async def test_file_download(http: httpx.AsyncClient, api: Api, emu: BotApiEmulator) -> None:
    emu.user(1001, "Ana", started=True)
    _, sent = await api("sendDocument", chat_id=1001, document=InputFile(b"abc", filename="a.txt"))
    file_id = sent["result"]["document"]["file_id"]
    status, got = await api("getFile", file_id=file_id)
    assert status == 200
    response = await http.get(f"/file/bot{emu.token}/{got['result']['file_path']}")
    assert response.content == b"abc"
    assert (await http.get(f"/file/bot{emu.token}/documents/nope")).status_code == 404
    assert (await http.get(f"/file/botWRONG/{got['result']['file_path']}")).status_code == 401


async def test_answers_are_compact_utf8_json(http: httpx.AsyncClient, emu: BotApiEmulator) -> None:
    emu.user(1001, "Ana", started=True)
    response = await http.post(
        f"/bot{emu.token}/sendMessage", data={"chat_id": "1001", "text": "¿Sí?"}
    )
    assert response.headers["content-type"].startswith("application/json")
    assert "¿Sí?".encode() in response.content
    assert json.loads(response.content)["ok"] is True


async def test_request_log_and_stats(api: Api, emu: BotApiEmulator) -> None:
    await api("getMe")
    await api("sendMessage", chat_id=42, text="x")
    assert emu.stats.total == 2
    assert emu.stats.by_method == {"getMe": 1, "sendMessage": 1}
    assert emu.stats.errors == {400: 1}
    last = emu.requests[-1]
    assert (last.method, last.status, last.description) == (
        "sendMessage",
        400,
        "Bad Request: chat not found",
    )
    assert "sendMessage=1" in emu.stats.summary()


async def test_request_log_is_bounded() -> None:
    async with BotApiEmulator(request_log_size=3) as emu, http_client() as client:
        for _ in range(5):
            await client.post(f"{emu.base_url}{emu.token}/getMe")
        assert len(emu.requests) == 3
        assert emu.stats.total == 5


async def test_restart_on_same_object(emu: BotApiEmulator) -> None:
    first = emu.url
    await emu.stop()
    stopped = emu.running
    await emu.start()
    assert (stopped, emu.running) == (False, True)
    assert emu.url.startswith("http://127.0.0.1:")
    assert first.startswith("http://127.0.0.1:")
