"""The participant's experience, reviewed as a person would (issue 14): the optional
questions about oneself never arrive in the same moment as a survey invitation, and every
Spanish text a participant reads speaks one register, «tú»."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from handlers.callback_data import Demographic, StartSurvey
from surveys.loader import load_instrument, load_plan
from tests.e2e.harness import EXAMPLE_PLAN, RunningBot, press, shows
from tests.e2e.participant_steps import consent, issue_invite, join, open_round

ROOT = Path(__file__).resolve().parents[2]
#: «usted» forms that would creep into texts written for «tú» (a third person's «su» —
#: «el compromiso … su respuesta» — is not one: only forms addressed to the reader).
USTED = re.compile(
    r"\busted\b|\b(su|sus) (nombre|opinión|experiencia|palabras|trabajo|comunidad)\b|"
    r"\b(podrá|confía|identificarle|permite citar|escríbalo|escríbala|elija|revise|diga)\b",
    re.IGNORECASE,
)


@pytest.mark.e2e
async def test_an_open_rounds_invitation_waits_for_the_optional_questions(
    pulso: RunningBot,
) -> None:
    await pulso.import_example_plan()
    await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    assert (await pulso.tick()).opened in (0, 1)  # open before she joins
    token = await issue_invite(pulso, "JAL0001", "beneficiary")
    lucia = pulso.person(3101, "Lucía")
    # She is asked about herself, one question at a time (each skipped here), and
    # invited only afterwards.
    await join(pulso, lucia, token)
    done = "Listo: ya participas"
    invitation = await lucia.wait_for_message(
        10, predicate=lambda m: shows(m, StartSurvey), since=0
    )
    welcome = next(m for m in lucia.messages if done in m.content)
    questions = [m for m in lucia.messages if "Pregunta opcional" in m.content]
    assert len(questions) == 3
    assert max(q.message_id for q in questions) < welcome.message_id < invitation.message_id


def spanish_texts() -> list[tuple[str, str]]:
    """Every Spanish text a participant may read that comes from a file: the participant
    and core catalogs, the replies' catalog, the instruments and the plan's questions."""
    found: list[tuple[str, str]] = []
    for name in ("participant", "core", "accountability", "rounds", "invites"):
        path = ROOT / f"bot/locales/es/LC_MESSAGES/{name}.po"
        found += [
            (f"{name}.po", line)
            for line in path.read_text().splitlines()
            if line.startswith(("msgstr", '"'))  # the texts, not the keys or comments
        ]
    for path in sorted((ROOT / "surveys/data/instruments").glob("*.yaml")):
        instrument = load_instrument(path)
        found += [(path.name, instrument.intro.es), (path.name, instrument.outro.es)]
        for question in instrument.questions:
            found.append((f"{path.name}:{question.id}", question.text.es))
    plan = load_plan(EXAMPLE_PLAN).plan
    found += [(f"plan:{q.id}", q.text.es) for q in plan.demographics]
    return found


def test_spanish_speaks_one_register_to_participants() -> None:
    mixed = [(where, text) for where, text in spanish_texts() if USTED.search(text)]
    assert mixed == []


@pytest.mark.e2e
async def test_a_round_opening_mid_onboarding_invites_after_the_optional_questions(
    pulso: RunningBot,
) -> None:
    """The other order: she is being asked about herself when a round opens and its
    invitations go out; hers waits until she has answered (or skipped) the last one."""
    await pulso.import_example_plan()
    token = await issue_invite(pulso, "JAL0001", "beneficiary")
    lucia = pulso.person(3102, "Lucía")
    await consent(lucia, token)
    await lucia.wait_for_message(predicate=lambda m: shows(m, Demographic, code=None), since=0)
    await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await pulso.settle()
    await asyncio.sleep(1.5)  # the fan-out has had its chance to send
    assert not any(shows(m, StartSurvey) for m in lucia.messages)
    for _ in range(3):
        mark = lucia.chat.cursor
        await press(lucia, Demographic, code=None)
        await lucia.wait_for_message(
            predicate=lambda m: (
                "Listo: ya participas" in m.content or shows(m, Demographic, code=None)
            ),
            since=mark,
        )
    invitation = await lucia.wait_for_message(
        10, predicate=lambda m: shows(m, StartSurvey), since=0
    )
    welcome = next(m for m in lucia.messages if "Listo: ya participas" in m.content)
    assert welcome.message_id < invitation.message_id
    assert sum(shows(m, StartSurvey) for m in lucia.messages) == 1  # invited once
