"""Data rights and free feedback: /privacy, /stop and /resume, coming back after blocking
the bot, /feedback for one or several commitments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.storage.schema import feedback, outbox
from handlers.callback_data import FeedbackAbout
from tests.e2e.harness import RunningBot, press
from tests.e2e.participant_steps import after, invitation, issue_invite, join, open_round

pytestmark = pytest.mark.e2e


async def test_privacy_says_what_is_stored_who_sees_it_and_what_remains(
    pulso: RunningBot,
) -> None:
    eve = pulso.person(7001, "Eve", language="en")
    notice = await after(eve, lambda: eve.send("/privacy"), "Your data in Pulso")
    for part in (
        "What we store",
        "Who sees what",
        "a figure from fewer than 3 people is not shown",
        "published once when a round closes",
        "/mydata",
        "/forget",
        "/stop",
        "What remains after /forget",
        "no link to you",
    ):
        assert part in notice.content
    ana = pulso.person(7002, "Ana")
    spanish = await after(ana, lambda: ana.send("/privacy"), "Tus datos en Pulso")
    assert "Qué queda después de /forget" in spanish.content
    for command in ("/mydata", "/forget", "/survey", "/stop"):
        refusal = await after(ana, lambda c=command: ana.send(c), "")
        assert refusal.content == "🚫 Este comando no está disponible para ti."


async def test_stop_cancels_what_was_owed_and_resume_brings_surveys_back(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(7003, "Ana")
    await join(pulso, ana, await issue_invite(pulso))
    # 22:30 in Mexico City: the invitation waits for the morning, pending in the outbox.
    pulso.clock.set(datetime(2026, 3, 3, 4, 30, tzinfo=UTC))
    await open_round(pulso, instrument="pulse")
    async with pulso.services.db.read() as repos:
        statuses = (await repos.conn.execute(sa.select(outbox.c.status))).scalars().all()
    assert statuses == ["pending"]

    stopped = await after(ana, lambda: ana.send("/stop"), "⏸")
    assert "ya no te enviaré invitaciones" in stopped.content
    again = await after(ana, lambda: ana.send("/stop"), "Ya habías pausado")
    assert "/resume" in again.content
    async with pulso.services.db.read() as repos:
        assert (await repos.participants.by_telegram_id(7003)).status == "stopped"
        statuses = (await repos.conn.execute(sa.select(outbox.c.status))).scalars().all()
    assert statuses == ["cancelled"]

    back = await after(ana, lambda: ana.send("/resume"), "Qué bueno que vuelves")
    assert "Tienes una encuesta abierta ahora mismo: escribe /survey" in back.content
    await after(ana, lambda: ana.send("/resume"), "Ya recibes invitaciones")
    async with pulso.services.db.read() as repos:
        assert (await repos.participants.by_telegram_id(7003)).status == "active"
    await after(ana, lambda: ana.send("/survey"), "Pregunta 1 de 2", live=True)


async def test_someone_who_blocked_the_bot_is_reachable_again_after_start(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(7004, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0005", "implementer"))
    async with pulso.services.db.write() as repos:
        person = await repos.participants.by_telegram_id(7004)
        await repos.participants.set_status(person.id, "unreachable", pulso.clock.now())
    welcome = await after(ana, lambda: ana.send("/start"), "Qué gusto verte de nuevo")
    assert "como persona implementadora" in welcome.content
    assert "Qué bueno que vuelves" in welcome.content
    assert "Hola! Soy Pulso" not in welcome.content  # not the stranger's welcome
    async with pulso.services.db.read() as repos:
        assert (await repos.participants.by_telegram_id(7004)).status == "active"
    plain = await after(ana, lambda: ana.send("/start"), "Qué gusto verte de nuevo")
    assert "Qué bueno que vuelves" not in plain.content
    stranger = pulso.person(7005, "Eve")
    hello = await after(stranger, lambda: stranger.send("/start"), "Soy Pulso")
    assert "liga de invitación" in hello.content


async def test_feedback_reaches_the_right_commitment(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    ana = pulso.person(7006, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    asked = await after(ana, lambda: ana.send("/feedback"), "Escribe en un mensaje")
    assert "Lomas de Polanco" in asked.content
    await after(ana, lambda: ana.send("Las mesas vecinales funcionan muy bien"), "quedó guardado")
    await join(pulso, ana, await issue_invite(pulso, "JAL0003", "beneficiary"))
    choose = await after(ana, lambda: ana.send("/feedback"), "¿Sobre qué compromiso")
    assert "/feedback JAL0001" in choose.content
    assert "/feedback JAL0003" in choose.content
    thanks = await after(
        ana, lambda: ana.send("/feedback jal0003 El registro no sirve, nadie me llamó"), "Gracias"
    )
    assert "Registro estatal de habilidades" in thanks.content
    too_long = await after(ana, lambda: ana.send("/feedback JAL0003 " + "a" * 2001), "caracteres")
    assert "2001 caracteres" in too_long.content
    async with pulso.services.db.read() as repos:
        rows = (
            await repos.conn.execute(
                sa.select(feedback.c.commitment_id, feedback.c.sentiment_label).order_by(
                    feedback.c.id
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("JAL0001", "pos"), ("JAL0003", "neg")]
    # With nothing awaited, a stray message gets a hint rather than silence.
    hint = await after(ana, lambda: ana.send("hola"), "No estoy esperando")
    assert "/feedback" in hint.content


async def status_becomes(pulso: RunningBot, user_id: int, status: str) -> None:
    """Wait (a few seconds at most) until the person's stored status is ``status``."""
    for _ in range(250):
        async with pulso.services.db.read() as repos:
            person = await repos.participants.by_telegram_id(user_id)
        assert person is not None
        if person.status == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{user_id} is {person.status}, not {status}")


async def test_blocking_and_unblocking_the_bot_is_noticed_at_once(
    pulso_any_db: RunningBot,
) -> None:
    """Telegram's my_chat_member update marks a person unreachable when they block the
    bot, and reachable again when they unblock it, without needing /start (issue 10, 11)."""
    pulso = pulso_any_db
    await pulso.import_example_plan()
    ana = pulso.person(7011, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    ana.block()
    await status_becomes(pulso, 7011, "unreachable")
    ana.unblock()
    await status_becomes(pulso, 7011, "active")
    # Reachable: a new round's invitation reaches her.
    await open_round(pulso, commitments=("JAL0001",), roles=("beneficiary",))
    await invitation(ana)
    # Someone who asked for no more surveys stays stopped across a block and an unblock.
    await after(ana, lambda: ana.send("/stop"), "")
    await status_becomes(pulso, 7011, "stopped")
    ana.block()
    ana.unblock()
    await after(ana, lambda: ana.send("/help"), "Lo que puedes hacer aquí")
    await status_becomes(pulso, 7011, "stopped")


async def test_feedback_offers_the_persons_commitments_as_buttons(
    pulso_any_db: RunningBot,
) -> None:
    pulso = pulso_any_db
    await pulso.import_example_plan()
    ana = pulso.person(7012, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    await join(pulso, ana, await issue_invite(pulso, "JAL0003", "beneficiary"))
    choose = await after(ana, lambda: ana.send("/feedback"), "¿Sobre qué compromiso")
    labels = [label for label in choose.button_texts() if label.startswith("JAL")]
    assert [label.split(" ")[0] for label in labels] == ["JAL0001", "JAL0003"]
    # A forged press for a commitment she is not in changes nothing.
    forged = await ana.press_data("e:JAL0002", message_id=choose.message_id)
    assert (await forged.wait_answer()).text == "Este botón ya no es válido."
    async with pulso.services.db.read() as repos:
        person = await repos.participants.by_telegram_id(7012)
        assert person is not None
        assert person.awaiting is None
    asked = await after(
        ana,
        lambda: press(ana, FeedbackAbout("JAL0003"), message_id=choose.message_id),
        "Escribe en un mensaje",
    )
    assert "Registro estatal de habilidades" in asked.content
    await after(ana, lambda: ana.send("Nadie me llamó del registro"), "quedó guardado")
    async with pulso.services.db.read() as repos:
        rows = (await repos.conn.execute(sa.select(feedback.c.commitment_id))).scalars().all()
    assert rows == ["JAL0003"]
