"""The webhook's answers, against a real database (SQLite and PostgreSQL): 200 only once the
update is in the inbox; a wrong secret 403 and nothing stored; a body too large or not an
update 400; a failed write 503 (Telegram sends it again)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from bot.storage.engine import Database
from pulso.webhook import MAX_BODY_BYTES, SECRET_HEADER, WebhookServer
from tests.e2e.harness import e2e_settings

SECRET = "the-secret_1"
PATH = "/pulso/telegram"


def update(update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 77, "type": "private"},
            "from": {"id": 77, "is_bot": False, "first_name": "Ana"},
            "text": "hola",
        },
    }


@pytest.fixture
async def hook(
    db: Database, clock: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], list[list[int]]]]:
    woken: list[list[int]] = []
    services = SimpleNamespace(db=db, clock=clock)
    intake = SimpleNamespace(
        services=services,
        cluster=None,
        dispatcher=SimpleNamespace(offer=lambda items: woken.append([i.update_id for i in items])),
        application=None,
    )
    settings: Settings = e2e_settings("sqlite+aiosqlite:///:memory:")
    server = WebhookServer(
        intake,  # type: ignore[arg-type]
        settings,
        url=f"https://bot.example.org{PATH}",
        secret=SECRET,
        register=False,
    )
    async with TestClient(TestServer(server.app())) as client:
        yield client, woken


async def inbox_ids(db: Database) -> list[int]:
    async with db.read() as repos:
        return [item.update_id for item in await repos.updates.pending(100)]


async def test_an_update_is_answered_200_once_stored(db: Database, hook) -> None:
    client, woken = hook
    answer = await client.post(PATH, json=update(5), headers={SECRET_HEADER: SECRET})
    assert answer.status == 200
    assert await inbox_ids(db) == [5]
    assert woken == [[5]]  # handed to the dispatcher as stored
    again = await client.post(PATH, json=update(5), headers={SECRET_HEADER: SECRET})
    assert again.status == 200  # a redelivery: stored once, nothing new to handle
    assert await inbox_ids(db) == [5]
    assert woken == [[5], []]


@pytest.mark.parametrize("secret", ["wrong", "", None])
async def test_a_wrong_secret_gets_403_and_changes_nothing(
    db: Database, hook, secret: str | None
) -> None:
    client, woken = hook
    headers = {} if secret is None else {SECRET_HEADER: secret}
    answer = await client.post(PATH, json=update(6), headers=headers)
    assert answer.status == 403
    assert await inbox_ids(db) == []
    assert woken == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"message": {}}',
        b'{"update_id": "7"}',
        b"\xff\xfe",
        b"x" * (MAX_BODY_BYTES + 1),
    ],
    ids=["malformed", "a list", "no id", "id not a number", "not utf-8", "oversized"],
)
async def test_a_body_that_is_not_an_update_gets_400(db: Database, hook, body: bytes) -> None:
    client, _ = hook
    answer = await client.post(
        PATH,
        data=io.BytesIO(body),
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert answer.status == 400
    assert await inbox_ids(db) == []


async def test_a_failed_write_gets_503_so_telegram_sends_it_again(
    db: Database, hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = hook
    from bot.storage.repositories.machinery import UpdateRepository

    async def broken(*_: object, **__: object) -> list[object]:
        raise OSError("disk full")

    monkeypatch.setattr(UpdateRepository, "store", broken)
    answer = await client.post(PATH, json=update(8), headers={SECRET_HEADER: SECRET})
    assert answer.status == 503
    monkeypatch.undo()
    assert await inbox_ids(db) == []


async def test_healthz_says_the_database_answers(hook) -> None:
    client, _ = hook
    answer = await client.get("/healthz")
    assert answer.status == 200
    report = await answer.json()
    assert report["database"] == "ok"
    assert report["leader"] is True
    assert report["backlog"] == 0
