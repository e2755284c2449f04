"""Simulated respondents (used by the demo, benchmarks and stress suites) really answer."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from bot.storage.schema import responses
from botapi_emulator.simulation import AnswerPolicy, SimulatedRespondent
from pulso.demo import read_payload
from surveys.instruments import Role
from surveys.invites import InviteRequest
from tests.e2e.harness import RunningBot
from tests.e2e.participant_steps import open_round

pytestmark = pytest.mark.e2e


async def test_simulated_people_join_and_complete_the_progress_survey(pulso: RunningBot) -> None:
    await pulso.import_example_plan()
    journey = pulso.services.journey
    beneficiaries = await journey.create_invite(
        InviteRequest("JAL0004", Role.BENEFICIARY, uses=10), actor=None
    )
    implementers = await journey.create_invite(
        InviteRequest("JAL0004", Role.IMPLEMENTER, uses=10), actor=None
    )
    gap = AnswerPolicy.fixed(
        {"change": "no_change", "completion": "complete", "say": "informed", "may_quote": "yes"},
        {"what_changed": "Nada cambió en el campo, puro anuncio"},
    )
    people = [
        SimulatedRespondent(
            pulso.person(7000 + i, language="es" if i % 2 else "en"), gap, read=read_payload
        )
        for i in range(4)
    ]
    await asyncio.gather(
        *(
            person.join((implementers if i == 0 else beneficiaries).token)
            for i, person in enumerate(people)
        )
    )
    await open_round(pulso, commitments=("JAL0004",))
    # People take the survey from their invitation: each waits until it has it.
    await asyncio.wait_for(
        asyncio.gather(*(person.wait_for_invitation() for person in people)), timeout=15
    )
    finished = await asyncio.gather(*(person.take_surveys() for person in people))
    assert finished == [1, 1, 1, 1]
    async with pulso.services.db.read() as repos:
        statuses = (await repos.conn.execute(sa.select(responses.c.status))).scalars().all()
    assert statuses == ["completed"] * 4
    assert all(person.answered >= 5 for person in people)
