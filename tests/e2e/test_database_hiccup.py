"""The database fails for a moment while a person answers: the answer is not lost.

The real bot on the real PostgreSQL server. Another session holds the person's response
row (as a long report or a migration might), so the answer's transaction waits on it; the
waiting backend is then terminated, as a server restart or a failover ends every session.
Before, the error handler apologised and the update was marked done: the answer the person
had given was gone, and they had to notice and press again. Now the update is handled
again a moment later (``bot.intake.dispatcher.retry_later``): no apology, the answer
stored once, and the next question shown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from bot.storage.engine import Database
from bot.storage.schema import answers, responses
from handlers.callback_data import StartSurvey, SurveyPress
from tests.conftest import (
    drop_postgres_database,
    make_postgres_database_url,
    terminate_backend_where,
)
from tests.e2e.harness import RunningBot, press, running_bot
from tests.e2e.participant_steps import after, invitation, issue_invite, join, open_round

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
async def pulso_on_postgresql() -> AsyncIterator[tuple[RunningBot, str]]:
    url, name = await make_postgres_database_url()
    try:
        async with running_bot(url) as harness:
            yield harness, url
    finally:
        await drop_postgres_database(name)


async def test_an_answer_whose_connection_is_cut_is_handled_again_not_lost(
    pulso_on_postgresql: tuple[RunningBot, str],
) -> None:
    pulso, url = pulso_on_postgresql
    await pulso.import_example_plan()
    ana = pulso.person(5101, "Ana")
    await join(pulso, ana, await issue_invite(pulso, "JAL0001", "beneficiary"))
    await open_round(pulso, instrument="pulse", commitments=("JAL0001",))
    await invitation(ana)
    await after(ana, lambda: press(ana, StartSurvey), "Pregunta 1 de 2")
    async with pulso.services.db.read() as repos:
        (response,) = await repos.responses.of_participant(1)

    other = Database.from_url(url)  # another program's session, not the bot's
    try:
        async with other.engine.connect() as holder:
            await holder.execute(
                sa.select(responses.c.id).where(responses.c.id == response.id).with_for_update()
            )
            mark = ana.chat.cursor
            await press(ana, SurveyPress, question="progress", code="8")
            # One of the bot's sessions waits for the held row: end it.
            await terminate_backend_where(
                other, "datname = current_database() AND wait_event_type = 'Lock'"
            )
            await holder.rollback()  # the row is free for the next try
        shown = await ana.wait_for_message(
            10, predicate=lambda m: "Pregunta 2 de 2" in m.content and bool(m.buttons), since=mark
        )
    finally:
        await other.close()
    assert shown is not None
    assert not any("Algo salió mal" in text for text in ana.texts())
    async with pulso.services.db.read() as repos:
        stored = await repos.conn.execute(
            sa.select(answers.c.choice, answers.c.score).where(
                answers.c.response_id == response.id, answers.c.question_id == "progress"
            )
        )
        assert len(stored.all()) == 1
        assert await repos.updates.backlog() == 0
