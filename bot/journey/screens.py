"""What the journey asks the edge to show: typed screens and replies, never texts.

:mod:`handlers.keyboards` turns each of these into a text and its buttons;
nothing here knows a callback payload, a message or a language. A
:class:`Notice` is a message id with its params (from :mod:`surveys.flow`,
which refuses moves with one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.storage.repositories.invites import Invite
from bot.storage.repositories.responses import Response
from surveys.answers import Answer
from surveys.flow import DemographicStep, Notice, SurveyState
from surveys.instruments import Instrument, Question, Role
from surveys.plan import Commitment

# --- invites (admins) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A new invite and its token (shown once: only the hash is stored)."""

    token: str
    invite: Invite
    commitment: Commitment


@dataclass(frozen=True, slots=True)
class RevokedResult:
    invite: Invite
    commitment: Commitment | None
    already: bool  # it had been revoked before


# --- onboarding ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InviteOffer:
    """A usable invite: show the privacy notice with consent buttons carrying ``token``."""

    token: str
    commitment: Commitment
    role: Role


@dataclass(frozen=True, slots=True)
class Welcome:
    """The end of onboarding: the commitment and role joined, and what happens next."""

    commitment: Commitment
    role: Role
    open_surveys: int


@dataclass(frozen=True, slots=True)
class AlreadyJoined:
    """``/start`` with an invite this person already used: nothing to do but say so."""

    commitment: Commitment
    role: Role
    resumed: bool  # they had stopped (or blocked the bot) and will get surveys again
    open_surveys: int


@dataclass(frozen=True, slots=True)
class Joined:
    """Consent recorded: ask the first demographic question, or welcome them."""

    commitment: Commitment
    role: Role
    next_demographic: DemographicStep | None
    welcome: Welcome | None


@dataclass(frozen=True, slots=True)
class DemographicReply:
    """After a demographic press: the answered question (to retire), then what comes next."""

    answered: DemographicStep | None = None
    value: str | None = None
    next_demographic: DemographicStep | None = None
    welcome: Welcome | None = None
    notice: Notice | None = None


@dataclass(frozen=True, slots=True)
class ReturningParticipant:
    """A participant's plain ``/start``: where they take part and whether they were resumed."""

    memberships: tuple[tuple[Commitment, Role], ...]
    resumed: bool
    open_surveys: int


# --- surveys ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyContext:
    """What every screen of one response needs to say where it belongs."""

    response_id: int
    round_id: int
    instrument: Instrument
    commitment: Commitment
    role: Role
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class IntroScreen:
    survey: SurveyContext
    fewest: int  # questions asked if no answer opens a conditional one
    most: int  # questions asked if every conditional one opens


@dataclass(frozen=True, slots=True)
class QuestionScreen:
    """A question with its buttons; ``answer`` is what is stored for it so far."""

    survey: SurveyContext
    question: Question
    number: int
    total: int
    answer: Answer | None
    can_back: bool
    revising: bool
    #: The question just answered, shown above this one when the pressed message is
    #: redrawn as the next question (one Bot API call instead of an edit and a send).
    answered: AnsweredScreen | None = None


@dataclass(frozen=True, slots=True)
class AnsweredScreen:
    """A question that was answered: its text and the answer, without buttons."""

    survey: SurveyContext
    question: Question
    number: int
    total: int
    answer: Answer


@dataclass(frozen=True, slots=True)
class PendingSurvey:
    response_id: int
    instrument: Instrument
    commitment: Commitment


@dataclass(frozen=True, slots=True)
class RecapScreen:
    """Thanks, the answers, the deadline for changes, and the next survey if any."""

    survey: SurveyContext
    items: tuple[tuple[Question, Answer | None], ...]
    revised: bool  # the end of a revision rather than of a first pass
    next_survey: PendingSurvey | None


@dataclass(frozen=True, slots=True)
class CompletedList:
    """/survey when every open survey is done: each one, with a button to revise it."""

    surveys: tuple[SurveyContext, ...]


@dataclass(frozen=True, slots=True)
class MessageScreen:
    """A notice sent as a message of its own."""

    notice: Notice


Screen = IntroScreen | QuestionScreen | RecapScreen | CompletedList | MessageScreen


@dataclass(frozen=True, slots=True)
class Retire:
    """Edit a message that holds buttons: show ``screen`` in it, or just drop the buttons."""

    message_id: int
    screen: AnsweredScreen | None = None


@dataclass(frozen=True, slots=True)
class SurveyReply:
    """What to show after a survey action, in order: the toast (buttons only; otherwise
    a message), the retired messages, the pressed message redrawn in place, new messages.

    The last :class:`QuestionScreen` sent becomes the response's prompt: report its
    message id with :meth:`bot.journey.JourneyService.record_prompt`. ``owed`` names
    the outbox row written with the change, which sends the current question if
    this reply never goes out (a crash after the commit); report the reply sent
    with :meth:`bot.journey.JourneyService.reply_sent`.
    """

    notice: Notice | None = None
    retire: tuple[Retire, ...] = ()
    replace: QuestionScreen | None = None
    send: tuple[Screen, ...] = ()
    owed: str | None = None


def question_screen(
    state: SurveyState[Response],
    survey: SurveyContext,
    question: Question,
    *,
    answered: AnsweredScreen | None = None,
) -> QuestionScreen:
    """``question`` with its buttons, where it stands, and its stored answer (and, above
    it, the question ``answered`` just before, when both share one message)."""
    number, total = state.position(question)
    return QuestionScreen(
        survey=survey,
        question=question,
        number=number,
        total=total,
        answer=state.answers.get(question.id),
        can_back=state.can_go_back(question),
        revising=state.revising,
        answered=answered,
    )


def answered_screen(
    state: SurveyState[Response], survey: SurveyContext, question: Question
) -> AnsweredScreen | None:
    """``question`` and its answer, to retire its buttons; None if it has no answer
    (or is no longer asked)."""
    answer = state.answers.get(question.id)
    if answer is None or question not in state.asked():
        return None
    number, total = state.position(question)
    return AnsweredScreen(survey, question, number, total, answer)


# --- feedback and data rights -------------------------------------------------------------

FeedbackStage = Literal["thanks", "write", "choose", "no_commitment", "too_long"]


@dataclass(frozen=True, slots=True)
class FeedbackReply:
    """What /feedback (or the text that follows it) leads to."""

    stage: FeedbackStage
    commitment: Commitment | None = None
    choices: tuple[Commitment, ...] = ()
    length: int = 0


@dataclass(frozen=True, slots=True)
class Forgotten:
    """/forget confirmed and done; the messages whose buttons must go."""

    prompts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """/stop or /resume: whether it changed anything, and the surveys open right now."""

    changed: bool
    open_surveys: int
