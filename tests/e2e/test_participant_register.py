"""The participant's experience, reviewed as a person would (issue 14): the optional
questions about oneself never arrive in the same moment as a survey invitation, and every
Spanish text a participant reads speaks one register, «tú»."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handlers.callback_data import StartSurvey
from surveys.loader import load_instrument, load_plan
from tests.e2e.harness import EXAMPLE_PLAN, RunningBot, shows
from tests.e2e.participant_steps import issue_invite, join, open_round

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
    assert (await pulso.services.rounds.tick()).opened in (0, 1)  # open before she joins
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
