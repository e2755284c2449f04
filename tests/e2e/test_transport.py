"""The whole transport, end to end: getMe, polling, a command, buttons, a press, an edit,
a photo — the real Application over real HTTP against the emulator, on both databases."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.e2e.harness import RunningBot, tiny_png

pytestmark = pytest.mark.e2e


async def test_the_bot_introduces_itself_and_publishes_menus(pulso_any_db: RunningBot) -> None:
    emulator = pulso_any_db.emulator
    assert emulator.stats.by_method["getMe"] >= 1
    await emulator.wait_until(lambda: emulator.stats.by_method["getUpdates"] >= 1)
    spanish = [c.command for c in emulator.commands("all_private_chats", "es")]
    english = [c.command for c in emulator.commands("all_private_chats", "en")]
    assert spanish == english
    assert {"start", "help", "privacy", "survey", "mydata", "forget"} <= set(spanish)
    admin_menu = [c.command for c in emulator.commands({"type": "chat", "chat_id": 900_001}, "es")]
    assert {"newround", "grant", "summary"} <= set(admin_menu)


async def test_start_without_an_invite_is_a_bilingual_welcome(pulso_any_db: RunningBot) -> None:
    ana = pulso_any_db.person(1001, "Ana", language="en")
    await ana.send("/start")
    welcome = await ana.wait_for_message()
    assert "Hola" in welcome.content
    assert "Hi!" in welcome.content
    assert welcome.parse_mode == "HTML"


async def test_a_press_edits_the_message(pulso_any_db: RunningBot) -> None:
    ana = pulso_any_db.person(1002, "Ana", language="es")
    await ana.send("/language")
    question = await ana.wait_for_message()
    assert question.button_texts() == ["🇲🇽 Español", "🇬🇧 English"]
    press = await ana.press("🇬🇧 English")  # by its label: pins wording on purpose
    await press.wait_answer()
    await pulso_any_db.emulator.wait_until(
        lambda: bool(ana.chat.message(question.message_id).edits)
    )
    edited = ana.chat.message(question.message_id)
    assert edited.content == "Done: I will write to you in English."
    assert edited.buttons == []
    # A stranger's choice is remembered for the conversation, not stored.
    await ana.send("/help")
    help_text = await ana.wait_for_message()
    assert "What you can do here" in help_text.content


async def test_a_photo_goes_out(pulso: RunningBot) -> None:
    """Photos travel as multipart uploads; the chart module's output is one."""
    application = pulso.application
    assert application is not None
    ana = pulso.person(1003, "Ana")
    await ana.send("/help")
    await ana.wait_for_message()
    png = tiny_png()
    sent = await application.bot.send_photo(ana.id, photo=png, caption="<b>gráfica</b>")
    assert sent.photo
    photo = ana.chat.last_message
    assert photo is not None
    assert photo.photo is not None
    assert photo.photo.data == png
    assert photo.caption == "gráfica"


async def test_a_stranger_is_refused_staff_commands_and_nothing_changes(
    pulso: RunningBot,
) -> None:
    eve = pulso.person(1004, "Eve")
    await eve.send("/grant 1004 admin")
    refusal = await eve.wait_for_message()
    assert refusal.content == "🚫 Este comando no está disponible para ti."
    async with pulso.services.db.read() as repos:
        assert await repos.staff.roles_of(1004) == set()


async def test_an_admin_grants_and_revokes_a_role(pulso: RunningBot) -> None:
    admin = pulso.admin
    await admin.send("/grant 777 secretariat")
    assert "ahora tiene el rol" in (await admin.wait_for_message()).content
    await admin.send("/grant 777 nonsense")
    reply = await admin.wait_for_message()
    assert "secretariat" in reply.content
    assert "Uso:" in reply.content
    await admin.send("/revoke 777 secretariat")
    assert "ya no tiene" in (await admin.wait_for_message()).content
    async with pulso.services.db.read() as repos:
        assert await repos.staff.roles_of(777) == set()
        assert [e.action for e in await repos.audit.recent()] == ["revoke", "grant"]


async def test_an_unknown_command_gets_a_hint(pulso: RunningBot) -> None:
    ana = pulso.person(1005, "Ana")
    await ana.send("/nonsense")
    assert "/help" in (await ana.wait_for_message()).content


async def test_updates_of_every_kind_do_not_crash_the_bot(pulso: RunningBot) -> None:
    pulso.emulator.inject_update({"a_kind_from_the_future": {"id": 7}})
    ana = pulso.person(1006, "Ana")
    await ana.send("hola")
    await ana.send("/help")
    assert "Lo que puedes hacer" in (await ana.wait_for_message()).content


async def test_a_grant_or_revoke_changes_the_persons_menu_at_once(
    pulso_any_db: RunningBot,
) -> None:
    """The menu follows the roles: /grant gives the Secretariat's commands, /revoke takes
    them back, without waiting for a restart."""
    emulator = pulso_any_db.emulator
    admin = pulso_any_db.admin
    scope = {"type": "chat", "chat_id": 4242}

    def menu() -> set[str]:
        return {c.command for c in emulator.commands(scope, "es")}

    await admin.send("/grant 4242 secretariat")
    await emulator.wait_until(lambda: "summary" in menu())
    assert "grant" not in menu()  # the Secretariat's, not an admin's
    await admin.send("/revoke 4242 secretariat")
    await emulator.wait_until(lambda: "summary" not in menu())
    assert {"start", "help"} <= menu()


async def test_polling_outlives_a_database_that_refuses_to_store(
    pulso_any_db: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The inbox refuses the batch for a while (a trigger makes the database itself fail
    every insert, as a full disk or a restart would): nothing is confirmed to Telegram,
    polling goes on, and the message is handled once the database takes it again."""
    db = pulso_any_db.services.db
    if db.dialect == "sqlite":
        create = [
            "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        drop = ["DROP TRIGGER refuse_inbox"]
    else:
        create = [
            "CREATE FUNCTION refuse_inbox() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbox "
            "FOR EACH ROW EXECUTE FUNCTION refuse_inbox()",
        ]
        drop = ["DROP TRIGGER refuse_inbox ON inbox", "DROP FUNCTION refuse_inbox()"]
    async with db.write() as repos:
        for statement in create:
            await repos.conn.exec_driver_sql(statement)
    ana = pulso_any_db.person(1003, "Ana", language="en")
    emulator = pulso_any_db.emulator
    with caplog.at_level(logging.ERROR, logger="bot.intake.polling"):
        await ana.send("/start")
        for _ in range(200):  # at most 10 s: the poller retries after 0.1, 0.25 … s
            failures = [r for r in caplog.records if "storing 1 update(s) failed" in r.message]
            if len(failures) >= 2:
                break
            await asyncio.sleep(0.05)
    assert len(failures) >= 2, "the poller should retry the store, not stop"
    assert ana.chat.messages == []
    assert emulator.pending_updates == 1  # not confirmed: Telegram keeps it
    async with db.write() as repos:
        for statement in drop:
            await repos.conn.exec_driver_sql(statement)
    welcome = await ana.wait_for_message()
    assert "Hi!" in welcome.content
