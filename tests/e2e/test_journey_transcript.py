"""A whole participant journey, as the person reads it, in Spanish and in English — kept in
``docs/journey.md`` for reviewers (issue 14).

The journey: the invitation link, the privacy notice, the optional questions, the
welcome; a round's invitation and its survey to the recap; the results at the close;
the agency's public answer; the next round's invitation and its question about the
promise. Every message is the real bot's, against the emulator with the manual clock.
The test fails when the doc's transcript is not what the bot says today; to refresh it::

    PULSO_WRITE_TRANSCRIPT=1 python -m pytest tests/e2e/test_journey_transcript.py
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from botapi_emulator import ChatMessage, SimUser
from handlers.callback_data import (
    Consent,
    Demographic,
    PromisePress,
    ReplyFinish,
    ReplyOpen,
    ReplyStance,
    StartSurvey,
    SurveyPress,
    decode,
)
from tests.e2e.harness import RunningBot, press, shows
from tests.e2e.participant_steps import issue_invite, open_round
from tests.e2e.test_insights import ANSWERS
from tests.factories import add_participant, answer_response

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs/journey.md"
AGENCY = 700_002
TEXTS = {
    "es": (
        "Hay más luz en el parque, pero el agua sigue sin llegar",
        "Instalaremos tomas de agua en la colonia",
        "Abrimos una mesa de trabajo con vecinas y vecinos",
    ),
    "en": (
        "There is more light in the park, but still no water",
        "We will install water taps in the neighbourhood",
        "We opened a working table with the neighbours",
    ),
}


class Transcript:
    """What one person sees, message by message, and what they do."""

    def __init__(self, pulso: RunningBot, user: SimUser) -> None:
        self.pulso = pulso
        self.user = user
        self.lines: list[str] = []
        self.seen = 0
        self.drawn: dict[int, list[str]] = {}  # each message as last written down

    async def settle(self) -> None:
        for _ in range(3):
            await self.pulso.settle()
            await self.pulso.services.delivery.idle()

    async def shown(self) -> list[ChatMessage]:
        """The bot's messages new or edited since the last look, written down (an edited
        one marked ✏️: the message above it, redrawn)."""
        await self.settle()
        new = [m for m in self.user.messages if m.message_id > self.seen]
        for message in self.user.messages:
            drawn = self._draw(message)
            if message.message_id > self.seen:
                mark = "🤖 "
            elif self.drawn.get(message.message_id, drawn) != drawn:
                mark = "🤖✏️ "
            else:
                continue
            self.lines += [line if line.startswith("   [") else mark + line for line in drawn]
            self.lines.append("")
            self.drawn[message.message_id] = drawn
        if new:
            self.seen = new[-1].message_id
        return new

    @staticmethod
    def _draw(message: ChatMessage) -> list[str]:
        text = re.sub(r"start=[A-Za-z0-9_-]+", "start=…", message.content.strip())
        rows = [" ".join(f"[{b.text}]" for b in row) for row in message.buttons]
        return text.splitlines() + ["   " + row for row in rows]

    async def does(self, what: str, action) -> list[ChatMessage]:  # type: ignore[no-untyped-def]
        self.lines.append(f"👤 {what}")
        self.lines.append("")
        await action()
        return await self.shown()

    def note(self, text: str) -> None:
        self.lines += [f"— {text} —", ""]

    async def press(self, wanted, **fields) -> list[ChatMessage]:  # type: ignore[no-untyped-def]
        newest = self.user.chat.newest_with_button(
            lambda b: b.callback_data is not None and _fits(b.callback_data, wanted, fields)
        )
        assert newest is not None, (wanted, fields)
        label = next(
            b.text
            for row in newest.buttons
            for b in row
            if b.callback_data is not None and _fits(b.callback_data, wanted, fields)
        )
        return await self.does(f"[{label}]", lambda: press(self.user, wanted, **fields))


def _fits(data: str, wanted, fields) -> bool:  # type: ignore[no-untyped-def]
    decoded = decode(data)
    if not isinstance(wanted, type):
        return decoded == wanted
    return isinstance(decoded, wanted) and all(getattr(decoded, k) == v for k, v in fields.items())


async def answer_survey(journey: Transcript, text: str) -> None:
    """Press each question's first option (a text question gets ``text``) to the recap."""
    for _ in range(12):
        current = journey.user.chat.last_message
        assert current is not None
        if shows(current, StartSurvey):
            return  # the recap, with its "change my answers" button
        answers = [
            decode(b.callback_data)
            for row in current.buttons
            for b in row
            if b.callback_data and isinstance(decode(b.callback_data), SurveyPress)
        ]
        choices = [a for a in answers if isinstance(a, SurveyPress) and a.action == "answer"]
        if choices:
            await journey.press(choices[-1] if len(choices) > 2 else choices[0])
        else:
            await journey.does(text, lambda: journey.user.send(text))
    raise AssertionError("the survey did not end")


async def whole_journey(pulso: RunningBot, language: str) -> list[str]:
    await pulso.import_example_plan()
    answer_text, promise, done = TEXTS[language]
    person = pulso.person(3201, "Ana" if language == "es" else "Anne", language=language)
    journey = Transcript(pulso, person)
    token = await issue_invite(pulso, "JAL0001", "beneficiary")
    await journey.does("/start (the invitation link)", lambda: person.start(token))
    await journey.press(Consent(True, token))
    await journey.press(Demographic, code="30_44")
    await journey.press(Demographic, code=None)
    await journey.press(Demographic, code="zapopan")

    # Two neighbours answer too, so the results can be shown (MIN_GROUP_SIZE is 3 here).
    others = []
    for n in range(2):
        await add_participant(pulso.services.db, pulso.clock.now(), 3300 + n)
        pulso.emulator.user(3300 + n, f"P{n}", started=True)
        others.append(3300 + n)
    agency = pulso.emulator.user(AGENCY, "Agency", language_code=language, started=True)
    await pulso.services.accountability.grant(None, AGENCY, "JAL0001")

    journey.note("a round opens")
    first = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await pulso.tick()
    await journey.shown()
    await journey.press(StartSurvey)
    await answer_survey(journey, answer_text)
    async with pulso.services.db.read() as repos:
        ids = [(await repos.participants.by_telegram_id(u)).id for u in others]
    for participant_id, given in zip(ids, ANSWERS, strict=False):
        await answer_response(
            pulso.services.db,
            pulso.clock.now(),
            round_id=first,
            participant_id=participant_id,
            answers_given=given,
        )

    journey.note("the round closes")
    pulso.clock.set(datetime(2026, 3, 5, 16, 1, tzinfo=UTC))
    await pulso.tick()
    await journey.shown()

    journey.note("the agency responsible for the commitment publishes its answer")
    await pulso.settle()
    await press(agency, ReplyOpen)
    await pulso.settle()
    stance = "act"
    for _ in range(12):
        await pulso.settle()
        await pulso.services.delivery.idle()
        last = agency.chat.last_message
        assert last is not None
        if shows(last, ReplyFinish):
            await press(agency, ReplyFinish, publish=True)
            break
        if shows(last, ReplyStance):
            # The first subject (the flagged gap) gets a promise; the themes, what was done.
            stance = (
                "act"
                if ("Tema 1 de" in last.content or "Subject 1 of" in last.content)
                else "done"
            )
            await press(agency, ReplyStance, stance=stance)
        elif "AAAA-MM-DD" in last.content or "YYYY-MM-DD" in last.content:
            await agency.send("2026-03-20")
        else:
            await agency.send(promise if stance == "act" else done)
    await journey.shown()

    journey.note("after the promised date, the next round opens")
    pulso.clock.set(datetime(2026, 3, 23, 16, 0, tzinfo=UTC))
    await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
    await pulso.tick()
    await journey.shown()
    await journey.press(PromisePress, answer="partly")
    return journey.lines


def doc_section(language: str) -> tuple[str, str, str]:
    """The doc before, inside and after the transcript markers of ``language``."""
    text = DOC.read_text()
    begin, end = f"<!-- transcript:{language} -->", f"<!-- /transcript:{language} -->"
    head, _, rest = text.partition(begin)
    inside, _, tail = rest.partition(end)
    assert rest, f"docs/journey.md has no {begin} … {end} section"
    return head + begin, inside, end + tail


@pytest.mark.parametrize("language", ["es", "en"])
async def test_the_journey_transcript_in_the_docs_is_what_the_bot_says(
    pulso: RunningBot, language: str
) -> None:
    lines = await whole_journey(pulso, language)
    written = "\n```text\n" + "\n".join(lines).rstrip() + "\n```\n"
    head, inside, tail = doc_section(language)
    if os.environ.get("PULSO_WRITE_TRANSCRIPT"):
        DOC.write_text(head + written + tail)
        return
    assert inside == written, (
        "docs/journey.md's transcript is out of date: "
        "PULSO_WRITE_TRANSCRIPT=1 python -m pytest tests/e2e/test_journey_transcript.py"
    )
