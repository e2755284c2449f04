"""Simulated respondents for the stress suites: they answer, remember what, and know what the
bot acknowledged.

:class:`Respondent` is a :class:`botapi_emulator.simulation.SimulatedRespondent` that

* answers deterministically (the same question always gets the same answer, so a
  question shown twice — after a crash — cannot make the expected value ambiguous);
* thinks a moment before each action (seeded), as people do;
* records every answer it gave (:attr:`Respondent.given`) and marks it
  *acknowledged* once the bot showed a newer screen that can only follow a stored
  answer: another question of the same survey, or the survey's recap;
* ignores an invitation or reminder for a survey it already started (it goes on
  with the question in front of it, as a person would);
* when its last action got no answer although the bot has been up for a while
  (the update was fetched by a process that was then killed: Telegram does not
  send it again), types ``/survey`` to see where it stands — what a person does
  when a button seems dead; and likewise when it has nothing left to do but never
  saw the thanks for a survey it answered to the end.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from bot.i18n import translator
from bot.storage.engine import Database
from bot.storage.schema import answers
from botapi_emulator import ChatMessage, SimUser
from botapi_emulator.simulation import (
    AnswerPolicy,
    Choice,
    Screen,
    SimulatedRespondent,
    SimulationError,
    SurveyPress,
)
from pulso.demo import read_payload

#: The Start buttons of invitations and reminders, in both languages.
OUTBOX_START_LABELS = frozenset(
    translator()(key, locale)
    for key in ("rounds.invitation.start", "rounds.reminder.continue")
    for locale in ("es", "en")
)
INVITATION_LABELS = frozenset(translator()("rounds.invitation.start", loc) for loc in ("es", "en"))
REMINDER_LABELS = frozenset(translator()("rounds.reminder.continue", loc) for loc in ("es", "en"))

Value = tuple[str, str | None]  # ("choice", code) | ("skip", None) | ("text", text)


def outbox_kind(message: ChatMessage) -> str | None:
    """``"invitation"`` or ``"reminder"`` for a round's message (by its first version's
    Start button), else None."""
    buttons = message.edits[0].buttons if message.edits else message.buttons
    for row in buttons:
        for button in row:
            if button.text in INVITATION_LABELS:
                return "invitation"
            if button.text in REMINDER_LABELS:
                return "reminder"
    return None


def deterministic_policy(seed: int, user_id: int) -> AnswerPolicy:
    """Always the same answer to the same question for this person; some skips and texts."""

    def draw(question: str) -> int:
        return zlib.crc32(f"{seed}:{user_id}:{question}".encode())

    def choose(question: str, codes: Sequence[str]) -> Choice:
        return codes[draw(question) % len(codes)]

    def write(question: str) -> str | None:
        value = draw(question)
        if value % 4 == 0:
            return None  # skipped if the question allows it
        return f"Respuesta {user_id} a «{question}» — ñ ✓ {value % 1000}"

    return AnswerPolicy(choose, write)


@dataclass
class Given:
    """One answer a respondent gave: its value, the newest bot message when it was given,
    and the message that acknowledged it (0: not yet)."""

    value: Value
    mark: int
    acked_by: int = 0

    @property
    def acked(self) -> bool:
        return self.acked_by > 0


class Respondent(SimulatedRespondent):
    """See the module docstring. ``up_since()`` says since when (monotonic) the bot has been
    up, or None while it is down; ``patience`` is how long a person waits for an answer
    from a running bot before typing ``/survey``."""

    def __init__(
        self,
        user: SimUser,
        *,
        seed: int,
        think: tuple[float, float] = (0.0, 0.0),
        up_since: Callable[[], float | None] = lambda: 0.0,
        patience: float = 2.5,
        quiet_timeout: float = 60.0,
        commands: bool = True,
    ) -> None:
        super().__init__(
            user, deterministic_policy(seed, user.id), read=read_payload, timeout=quiet_timeout
        )
        self.rng = random.Random(seed * 1_000_003 + user.id)
        self.think = think
        self.up_since = up_since
        self.patience = patience
        # False: a person who never types a command, only presses and answers (the bot
        # must bring every next question by itself, crash or not).
        self.commands = commands
        self.given: dict[tuple[int, str], Given] = {}
        self.completed: set[int] = set()
        self.reasked: list[tuple[int, str]] = []
        self.nudges = 0
        self.expecting = False
        self.last_action_at = time.monotonic()
        self.acted_on = 0  # the message of the last screen acted on

    # --- what the bot acknowledged -------------------------------------------------------

    def screen(self) -> Screen | None:
        for message in reversed(self.user.chat.messages):
            if message.deleted or not message.buttons:
                continue
            screen = Screen.of(message, self.read)
            if screen is None:
                return None
            starts = [d.response_id for _, d in screen.starts()]
            if (
                starts
                and len(starts) == len(screen.actions)
                and outbox_kind(message) is not None
                and all(r in self.worked_on for r in starts)
            ):
                continue  # an invitation or reminder for a survey under way
            self._observe(screen)
            return screen
        return None

    def observe(self) -> None:
        """Look at the chat now (acknowledgements are otherwise noted when the respondent
        next looks, which may be a moment later)."""
        self.screen()

    def _observe(self, screen: Screen) -> None:
        newer = screen.message.message_id
        presses = screen.survey_presses()
        shown = {(d.response_id, d.question) for _, d in presses}
        recaps = (
            {d.response_id for _, d in screen.starts()}
            if outbox_kind(screen.message) is None
            else set()
        )
        for (response, question), given in self.given.items():
            if given.acked or newer <= given.mark:
                continue
            if (response in recaps and not any(r == response for r, _ in shown)) or any(
                r == response and q != question for r, q in shown
            ):
                given.acked_by = newer
        for response in recaps:
            if not any(r == response for r, _ in shown) and response in self.worked_on:
                self.completed.add(response)

    def _give(self, screen: Screen, response: int, question: str, value: Value) -> None:
        mark = max((m.message_id for m in self.user.chat.messages), default=0)
        known = self.given.get((response, question))
        if known is None:
            self.given[(response, question)] = Given(value, mark)
            return
        assert known.value == value, (self.user.id, response, question, known.value, value)
        if known.acked and screen.message.message_id > known.acked_by:
            # Shown anew after the bot had moved past it: the answer was forgotten.
            self.reasked.append((response, question))
        known.mark = mark

    # --- acting --------------------------------------------------------------------------

    async def _act(self, screen: Screen) -> None:
        low, high = self.think
        if high > 0:
            await asyncio.sleep(self.rng.uniform(low, high))
        self.expecting = True
        self.last_action_at = time.monotonic()
        self.acted_on = max(self.acted_on, screen.message.message_id)

    async def _press(self, screen: Screen, payload: str) -> None:
        await self._act(screen)
        data = self.read(payload)
        if isinstance(data, SurveyPress):
            if data.action == "answer":
                self._give(screen, data.response_id, data.question, ("choice", data.code))
            elif data.action == "skip":
                self._give(screen, data.response_id, data.question, ("skip", None))
            else:  # toggles and "done": the instruments the suites use have none
                raise SimulationError(f"unexpected survey action {data.action!r}")
        await super()._press(screen, payload)

    async def _answer_text(self, screen: Screen, presses: list[tuple[str, SurveyPress]]) -> None:
        question = presses[0][1]
        skip = next((p for p, d in presses if d.action == "skip"), None)
        text = self.policy.write(question.question)
        if text is None and skip is not None:
            await self._press(screen, skip)
        else:
            await self._act(screen)
            self._give(screen, question.response_id, question.question, ("text", text or "-"))
            await self.user.send(text or "-")
        self.answered += 1
        self.worked_on.add(question.response_id)

    async def _next_screen(
        self, before: tuple[int, tuple[str, ...]] | None, accept: Callable[[Screen], bool]
    ) -> Screen:
        chat = self.user.chat
        quiet_since = time.monotonic()
        while True:
            mark = chat.cursor
            current = self.screen()
            if (
                current is not None
                and current.signature != before
                # An older message whose buttons a crash left live is not the answer.
                and current.message.message_id >= self.acted_on
                and accept(current)
            ):
                self.expecting = False
                return current
            try:
                await chat.wait_for_message(0.5, since=mark)
                quiet_since = time.monotonic()
            except TimeoutError:
                now = time.monotonic()
                up = self.up_since()
                if (
                    self.commands
                    and self.expecting
                    and up is not None
                    and now - max(up, self.last_action_at) >= self.patience
                ):
                    # Nothing came of the last action although the bot is running.
                    self.nudges += 1
                    self.last_action_at = now
                    await self.user.send("/survey")
                elif now - quiet_since > self.timeout:
                    raise SimulationError(
                        f"user {self.user.id}: nothing to press after {self.timeout:g}s"
                    ) from None

    # --- the whole run -------------------------------------------------------------------

    def has_work(self, screen: Screen) -> bool:
        """A screen offering a question, or a survey not yet worked on."""
        if screen.survey_presses():
            return True
        return any(d.response_id not in self.worked_on for _, d in screen.starts())

    async def run(self) -> None:
        """Answer whatever is offered, for as long as the test lets it (cancel to stop)."""
        while True:
            try:
                await self.take_surveys()
                if self.commands and self.worked_on - self.completed:
                    # A survey it answered to the end without seeing the thanks (the
                    # process that stored the last answer died before replying, and
                    # something else came in meanwhile): /survey shows where it stands.
                    await self.user.send("/survey")
                    self.nudges += 1
                await self._next_screen(None, self.has_work)
            except SimulationError:
                continue  # a long quiet spell: keep waiting, the test decides when it is over


async def stored_answers(db: Database) -> dict[tuple[int, str], Value]:
    """Every answer row as (response, question) → the value a respondent would have given."""
    async with db.read() as repos:
        rows = (
            await repos.conn.execute(
                sa.select(
                    answers.c.response_id,
                    answers.c.question_id,
                    answers.c.choice,
                    answers.c.text,
                    answers.c.skipped,
                )
            )
        ).all()
    found: dict[tuple[int, str], tuple[str, str | None]] = {}
    for response_id, question_id, choice, text, skipped in rows:
        key = (int(response_id), str(question_id))
        assert key not in found, f"answer stored twice: {key}"
        if skipped:
            found[key] = ("skip", None)
        elif text is not None:
            found[key] = ("text", text)
        else:
            found[key] = ("choice", choice)
    return found
