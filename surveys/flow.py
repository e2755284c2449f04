"""The survey flow: where a person stands in a response, which input may change it, and how.

Pure: the response is read through :class:`ResponseView` (the fields the flow
needs, whatever stores them), the time is passed in, and nothing is written.
The journey service (:mod:`bot.journey`) loads a :class:`SurveyState`, asks
:func:`check_move` whether a button press or a text may change it, asks
:func:`decide` what the move does, and stores the :class:`Decision`::

    Move ─► check_move(state, move, participant_id, now) ─► Question   (or Refusal)
                   │ the presser owns the response; the round is open and before
                   │ its deadline; the question is the one in front of them; the
                   │ action fits the question; the option exists
                   ▼
            decide(state, question, move) ─► Decision(save, delete, cursor, show, …)

A response's ``cursor`` is the question in front of the person while they walk
back through answered questions or revise a completed survey (``None`` means
"the next unanswered one").

A :class:`Refusal` is how the flow says no: it carries the :class:`Notice` to
show, and the service turns it into a reply (it is not a
:class:`~surveys.errors.PulsoError`, and never reaches the edge). Onboarding's
demographic questions are walked the same way, one at a time
(:func:`next_demographic`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar

from surveys.answers import Answer, clean_text, validate_answer
from surveys.errors import AnswerError, InvalidOption, UnknownQuestion, WrongAnswerKind
from surveys.instruments import Instrument, Question, QuestionType, Role
from surveys.plan import ActionPlan, DemographicQuestion


@dataclass(frozen=True, slots=True)
class Notice:
    """A short translated message: a toast for a button, a message otherwise.

    ``params`` may hold datetimes; the edge writes them in the person's
    language and the local time zone.
    """

    key: str
    params: Mapping[str, object] = field(default_factory=dict)


STALE = Notice("error.stale_button")

Action = Literal["answer", "toggle", "done", "skip", "back", "text"]


@dataclass(frozen=True, slots=True)
class Move:
    """One input to a response: a button (answer, toggle, done, skip, back) or a text."""

    action: Action
    question_id: str
    code: str | None = None
    text: str | None = None


class Refusal(Exception):
    """A move that may not change anything; ``notice`` says why."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.key)
        self.notice = notice


class ResponseView(Protocol):
    """What the flow reads of a stored response (and of its round)."""

    @property
    def participant_id(self) -> int | None: ...
    @property
    def role(self) -> str: ...
    @property
    def status(self) -> str: ...  # pending, started or completed
    @property
    def cursor(self) -> str | None: ...
    @property
    def round_status(self) -> str: ...
    @property
    def round_closes_at(self) -> datetime: ...
    @property
    def round_closed_at(self) -> datetime | None: ...


R = TypeVar("R", bound=ResponseView)


@dataclass(frozen=True, slots=True)
class SurveyState(Generic[R]):
    """One response as stored: its row, its instrument and its answers."""

    response: R
    instrument: Instrument
    answers: Mapping[str, Answer]

    @property
    def role(self) -> Role:
        return Role(self.response.role)

    @property
    def revising(self) -> bool:
        """A completed survey walked through again (answers may change until the deadline)."""
        return self.response.status == "completed"

    def asked(self) -> tuple[Question, ...]:
        return self.instrument.applicable(self.role, self.answers)

    def current(self) -> Question | None:
        """The question in front of the person, or None (not started, or nothing to do)."""
        status = self.response.status
        if status == "pending":
            return None
        cursor = self.response.cursor
        if cursor is not None:
            for question in self.asked():
                if question.id == cursor:
                    return question
        if status == "completed":
            return None
        return self.instrument.next_question(self.role, self.answers)

    def position(self, question: Question) -> tuple[int, int]:
        """The question's number among those asked, and how many are asked."""
        return self.instrument.position(self.role, self.answers, question.id)

    def can_go_back(self, question: Question) -> bool:
        return self.instrument.previous_question(self.role, self.answers, question.id) is not None

    def repeats_earlier_text(self, question: Question, text: str) -> bool:
        """Whether ``text`` is, word for word, the answer already stored for a text
        question asked before ``question``: a person retyping an answer the bot had
        taken but not yet acknowledged, not an answer to ``question``."""
        cleaned = clean_text(text)
        for earlier in self.asked():
            if earlier.id == question.id:
                return False
            stored = self.answers.get(earlier.id)
            if earlier.type is QuestionType.TEXT and stored is not None and stored.text == cleaned:
                return True
        return False

    def recap_items(self) -> tuple[tuple[Question, Answer | None], ...]:
        return tuple((q, self.answers.get(q.id)) for q in self.asked())


def belongs(state: SurveyState[R] | None, participant_id: int | None) -> bool:
    """Whether the response is this person's (a forgotten one, unlinked, is nobody's)."""
    return (
        state is not None
        and participant_id is not None
        and state.response.participant_id == participant_id
    )


def check_open(response: ResponseView, now: datetime) -> None:
    """Refuse input to a round that is no longer open (or whose deadline passed)."""
    if response.round_status == "cancelled":
        raise Refusal(Notice("journey.survey.cancelled"))
    if response.round_status != "open" or now >= response.round_closes_at:
        closed_on = response.round_closed_at or response.round_closes_at
        raise Refusal(Notice("journey.survey.closed", {"closed_on": closed_on}))


def check_move(
    state: SurveyState[R] | None, move: Move, *, participant_id: int | None, now: datetime
) -> Question:
    """The one gate for survey input; returns the question the move is about.

    Refuses (changing nothing) unless: the response exists and belongs to the
    person; its round is open and before its deadline; the question is in the
    survey for their role and is the one in front of them (answered questions
    are only in front of them while they go back or revise); the action fits
    the question (options for choices, toggles for multiple choice, skips for
    optional questions, a previous question to go back to) and the option is
    one of the question's. A forged or stale press gets ``error.stale_button``.
    """
    if state is None or not belongs(state, participant_id):
        raise Refusal(STALE)
    check_open(state.response, now)
    try:
        question = state.instrument.question(move.question_id)
    except UnknownQuestion:
        raise Refusal(STALE) from None
    current = state.current()
    if state.role not in question.roles or current is None or current.id != question.id:
        raise Refusal(STALE)
    kind = question.type
    has_option = move.code is not None and question.option(move.code) is not None
    fits = {
        "answer": kind not in (QuestionType.MULTI, QuestionType.TEXT) and has_option,
        "toggle": kind is QuestionType.MULTI and has_option,
        "done": kind is QuestionType.MULTI or question.id in state.answers,
        "skip": not question.required,
        "back": state.can_go_back(question),
        "text": kind is QuestionType.TEXT and move.text is not None,
    }[move.action]
    if not fits:
        raise Refusal(STALE)
    return question


@dataclass(frozen=True, slots=True)
class Decision:
    """What a checked move does to a response."""

    save: Answer | None  # the answer to store (None: nothing new to store)
    delete: tuple[str, ...]  # answers to drop: no longer asked, or a multiple choice emptied
    answers: Mapping[str, Answer]  # every answer after the move
    cursor: str | None
    show: Question | None  # what to show next; None: the survey (or the revision) is over
    in_place: bool  # redraw the pressed message (back, toggles) rather than move on
    complete: bool  # the move finished a survey that was not completed yet


def _user_error(error: AnswerError) -> Refusal:
    # A code that is not an option, or codes sent to a text question, can only
    # come from a forged or stale button; the rest is the person's to fix.
    if isinstance(error, InvalidOption | WrongAnswerKind):
        return Refusal(STALE)
    return Refusal(Notice(error.key, error.params))


def decide(state: SurveyState[R], question: Question, move: Move) -> Decision:
    """What ``move`` (already checked by :func:`check_move`) does.

    * back: show the previous asked question (the cursor walks back);
    * toggle: add or remove one option of a multiple choice, stay on it;
    * answer, text, skip, done (keep the answer / finish a multiple choice):
      store the answer, drop answers to questions it no longer opens, and move
      forward — to the next question if it is answered already or the person
      is revising (the walk goes on), else to the next unanswered one. Past the
      last question a first pass completes and a revision ends.
    """
    instrument, role = state.instrument, state.role
    answers = dict(state.answers)
    if move.action == "back":
        previous = instrument.previous_question(role, answers, question.id)
        assert previous is not None  # check_move made sure
        return Decision(None, (), answers, previous.id, previous, True, False)
    try:
        if move.action == "toggle":
            return _toggle(state, question, move)
        new = _settled_answer(state, question, move)
    except AnswerError as error:
        raise _user_error(error) from None
    answers[question.id] = new
    asked = instrument.applicable(role, answers)
    asked_ids = {q.id for q in asked}
    dropped = tuple(sorted(qid for qid in answers if qid not in asked_ids))
    for qid in dropped:
        del answers[qid]
    order = [q.id for q in asked]
    later = asked[order.index(question.id) + 1 :]
    following = later[0] if later else None
    if following is not None and (state.revising or following.id in answers):
        cursor: str | None = following.id
        show: Question | None = following
    else:
        cursor = None
        show = None if state.revising else instrument.next_question(role, answers)
    changed = state.answers.get(question.id) != new
    return Decision(
        save=new if changed else None,
        delete=dropped,
        answers=answers,
        cursor=cursor,
        show=show,
        in_place=False,
        complete=show is None and not state.revising,
    )


def _toggle(state: SurveyState[R], question: Question, move: Move) -> Decision:
    assert move.code is not None
    answers = dict(state.answers)
    old = answers.get(question.id)
    codes = list(old.codes) if old is not None else []
    if move.code in codes:
        codes.remove(move.code)
    else:
        codes.append(move.code)
    if not codes:
        answers.pop(question.id, None)
        dropped = (question.id,) if old is not None else ()
        return Decision(None, dropped, answers, question.id, question, True, False)
    new = validate_answer(question, codes)
    answers[question.id] = new
    return Decision(new, (), answers, question.id, question, True, False)


def _settled_answer(state: SurveyState[R], question: Question, move: Move) -> Answer:
    if move.action == "answer":
        return validate_answer(question, move.code)
    if move.action == "text":
        return validate_answer(question, move.text)
    if move.action == "skip":
        return Answer.skip(question.id)
    # done: keep what is there; an empty optional multiple choice counts as skipped
    stored = state.answers.get(question.id)
    return stored if stored is not None else validate_answer(question, None)


# --- onboarding's demographic questions ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemographicStep:
    """A demographic question to ask, and where it stands among the plan's."""

    question: DemographicQuestion
    number: int
    total: int


def next_demographic(
    plan: ActionPlan | None, demographics: Mapping[str, str | None]
) -> DemographicStep | None:
    """The first demographic question of the plan not answered or skipped yet."""
    questions = plan.demographics if plan is not None else ()
    for index, question in enumerate(questions, start=1):
        if question.id not in demographics:
            return DemographicStep(question, index, len(questions))
    return None
