"""Simulated people who join and answer surveys through the emulator, like people.

Used by ``pulso demo``, the benchmarks and the stress suites. A
:class:`SimulatedRespondent` only does what a person in Telegram can do — open an
invite link, press the buttons on screen, type a text — and decides *what* to
press with an :class:`AnswerPolicy`. It recognises the screens by what their
buttons' payloads mean, not by their wording, so it works in any language and
survives copy changes.

What a payload means is the bot's business, so the caller passes a
:data:`PayloadReader`: a function from a button's callback data to one of the
meanings below (:class:`Consent`, :class:`Demographic`, :class:`StartSurvey`,
:class:`SurveyPress`), or None for a button a respondent leaves alone::

    def read(payload: str) -> Meaning | None:
        ...  # the bot's own decoder, translated to these meanings

    person = SimulatedRespondent(emu.user(1001, "Ana"), AnswerPolicy.random(seed=1), read=read)
    await person.join(invite_token)
    await person.take_surveys()
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from botapi_emulator.state import ChatMessage
from botapi_emulator.users import SimUser


@dataclass(frozen=True, slots=True)
class Consent:
    """Agree (or not) to take part, on the notice an invite link opens."""

    accepted: bool


@dataclass(frozen=True, slots=True)
class Demographic:
    """One option of an onboarding question (``code`` None: skip it)."""

    question: str
    code: str | None


@dataclass(frozen=True, slots=True)
class StartSurvey:
    """Start (or go back to) the survey of one response."""

    response_id: int


SurveyAction = Literal["answer", "toggle", "done", "skip", "back"]


@dataclass(frozen=True, slots=True)
class SurveyPress:
    """A button on a question: pick an option (``answer``), tick one of several
    (``toggle``, then ``done``), ``skip`` the question, or go ``back``."""

    action: SurveyAction
    response_id: int
    question: str
    code: str | None = None  # answer and toggle only


Meaning = Consent | Demographic | StartSurvey | SurveyPress
#: What a button's callback data means, or None when a respondent ignores it.
PayloadReader = Callable[[str], Meaning | None]

Choice = str | Sequence[str] | None  # an option code, several (multi), or None to skip


@dataclass(frozen=True)
class AnswerPolicy:
    """How one simulated person answers.

    ``choose(question_id, codes)`` picks from the codes on screen (None skips
    when the question allows it); ``write(question_id)`` returns a text for a
    text question, or None to skip it.
    """

    choose: Callable[[str, Sequence[str]], Choice]
    write: Callable[[str], str | None]

    @classmethod
    def random(cls, seed: int, texts: Sequence[str] = ()) -> AnswerPolicy:
        rng = random.Random(seed)

        def choose(_question: str, codes: Sequence[str]) -> Choice:
            return rng.choice(list(codes))

        def write(_question: str) -> str | None:
            return rng.choice(list(texts)) if texts and rng.random() < 0.8 else None

        return cls(choose, write)

    @classmethod
    def fixed(
        cls, answers: Mapping[str, Choice], texts: Mapping[str, str] | None = None
    ) -> AnswerPolicy:
        """Answer each question as given; anything not given: the first option or a skip."""
        written = texts or {}

        def choose(question: str, codes: Sequence[str]) -> Choice:
            wanted = answers.get(question)
            if wanted is None:
                return codes[0] if question not in answers else None
            if isinstance(wanted, str):
                return wanted if wanted in codes else codes[0]
            return [code for code in wanted if code in codes] or [codes[0]]

        return cls(choose, lambda question: written.get(question))


@dataclass(frozen=True)
class Screen:
    """The newest bot message with live buttons, and what its buttons mean."""

    message: ChatMessage
    actions: tuple[tuple[str, Meaning], ...]  # (the button's payload, its meaning)

    @property
    def signature(self) -> tuple[int, tuple[str, ...]]:
        return self.message.message_id, tuple(payload for payload, _ in self.actions)

    @classmethod
    def of(cls, message: ChatMessage, read: PayloadReader) -> Screen | None:
        """What ``message``'s buttons mean; None when ``read`` knows none of them."""
        actions = tuple(
            (button.callback_data, data)
            for row in message.buttons
            for button in row
            if button.callback_data is not None
            and (data := read(button.callback_data)) is not None
        )
        return cls(message, actions) if actions else None

    def survey_presses(self) -> list[tuple[str, SurveyPress]]:
        return [(p, d) for p, d in self.actions if isinstance(d, SurveyPress)]

    def starts(self) -> list[tuple[str, StartSurvey]]:
        return [(p, d) for p, d in self.actions if isinstance(d, StartSurvey)]


class SimulationError(RuntimeError):
    """The bot did not show what a person would need to go on."""


def _newer_than(message_id: int) -> Callable[[ChatMessage], bool]:
    return lambda message: message.message_id > message_id


@dataclass
class SimulatedRespondent:
    """One person: ``user`` in the emulator, answering by ``policy``; ``read`` tells what
    the bot's buttons mean; ``timeout`` is how long they wait for something to press."""

    user: SimUser
    policy: AnswerPolicy
    read: PayloadReader = field(kw_only=True)
    timeout: float = 15.0
    answered: int = 0
    worked_on: set[int] = field(default_factory=set)

    # --- reading the screen --------------------------------------------------------------

    def screen(self) -> Screen | None:
        """The newest message that still has buttons (older ones were retired)."""
        for message in reversed(self.user.chat.messages):
            if message.deleted or not message.buttons:
                continue
            return Screen.of(message, self.read)
        return None

    async def _next_screen(
        self, before: tuple[int, tuple[str, ...]] | None, accept: Callable[[Screen], bool]
    ) -> Screen:
        """Wait until a screen different from ``before`` that ``accept`` takes is shown."""
        chat = self.user.chat
        while True:
            mark = chat.cursor
            current = self.screen()
            if current is not None and current.signature != before and accept(current):
                return current
            try:
                await chat.wait_for_message(self.timeout, since=mark)
            except TimeoutError as exc:
                raise SimulationError(
                    f"user {self.user.id}: nothing to press after {self.timeout:g}s"
                ) from exc

    async def _press(self, screen: Screen, payload: str) -> None:
        await self.user.press_data(payload, message_id=screen.message.message_id)

    # --- joining -------------------------------------------------------------------------

    async def join(self, token: str, demographics: dict[str, str] | None = None) -> None:
        """Open the invite, consent, and answer (or skip) the optional questions."""
        chat = self.user.chat
        mark = chat.cursor
        await self.user.start(token)
        notice = await self._next_screen(
            None, lambda s: any(isinstance(d, Consent) for _, d in s.actions)
        )
        accept = next(p for p, d in notice.actions if isinstance(d, Consent) and d.accepted)
        newest = max((m.message_id for m in chat.messages), default=0)
        await self._press(notice, accept)
        answers = demographics or {}
        while True:
            # Each press brings one new message: the next question, or the welcome.
            message = await chat.wait_for_message(
                self.timeout, predicate=_newer_than(newest), since=mark
            )
            newest = message.message_id
            mark = chat.cursor
            choices = [
                (b.callback_data, data)
                for row in message.buttons
                for b in row
                if b.callback_data and isinstance(data := self.read(b.callback_data), Demographic)
            ]
            if not choices:
                return
            question = choices[0][1].question
            wanted = answers.get(question)
            payload = next(
                (p for p, d in choices if d.code == wanted),
                next(p for p, d in choices if d.code is None),
            )
            await self.user.press_data(payload, message_id=message.message_id)

    # --- answering -----------------------------------------------------------------------

    async def wait_for_invitation(self) -> None:
        """Wait until a survey this person has not answered in is offered to start.

        Invitations go out paced, after whatever the person saw before (the welcome,
        an optional question); starting :meth:`take_surveys` earlier would find
        nothing to do and return at once.
        """
        await self._next_screen(
            None, lambda s: any(d.response_id not in self.worked_on for _, d in s.starts())
        )

    async def take_surveys(self) -> int:
        """Answer every survey offered, starting from the invitation; returns how many.

        A Start button for a survey this person has not answered in yet (the
        invitation, "next survey") is pressed; one for a survey already answered
        in is the recap's "change my answers", which means: done.
        """
        before: tuple[int, tuple[str, ...]] | None = None
        while True:
            screen = await self._next_screen(before, lambda s: True)
            before = screen.signature
            presses = screen.survey_presses()
            choices = [(p, d) for p, d in presses if d.action in ("answer", "toggle")]
            fresh = [(p, d) for p, d in screen.starts() if d.response_id not in self.worked_on]
            if choices:
                await self._answer_choice(screen, choices)
            elif presses:
                # No options on screen but survey buttons (skip, back): a text question.
                await self._answer_text(screen, presses)
            elif fresh:
                await self._press(screen, fresh[0][0])
            else:
                return len(self.worked_on)

    async def _answer_choice(self, screen: Screen, choices: list[tuple[str, SurveyPress]]) -> None:
        question = choices[0][1].question
        response = choices[0][1].response_id
        codes = [d.code for _, d in choices if d.code is not None]
        picked = self.policy.choose(question, codes)
        toggles = [(p, d) for p, d in choices if d.action == "toggle"]
        if toggles:
            wanted = [picked] if isinstance(picked, str) else list(picked or [])
            for code in wanted:
                payload = next(p for p, d in toggles if d.code == code)
                await self._press(screen, payload)
                screen = await self._next_screen(screen.signature, lambda s: True)
            done = next(p for p, d in screen.survey_presses() if d.action in ("done", "skip"))
            await self._press(screen, done)
        elif picked is None:
            skip = next(
                (p for p, d in screen.survey_presses() if d.action == "skip"), choices[0][0]
            )
            await self._press(screen, skip)
        else:
            code = picked if isinstance(picked, str) else picked[0]
            payload = next((p for p, d in choices if d.code == code), choices[0][0])
            await self._press(screen, payload)
        self.answered += 1
        self.worked_on.add(response)

    async def _answer_text(self, screen: Screen, presses: list[tuple[str, SurveyPress]]) -> None:
        question = presses[0][1]
        skip = next((p for p, d in presses if d.action == "skip"), None)
        text = self.policy.write(question.question)
        if text is None and skip is not None:
            await self._press(screen, skip)
        else:
            await self.user.send(text or "-")
        self.answered += 1
        self.worked_on.add(question.response_id)
