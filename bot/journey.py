"""The participant's journey: invites, consent, onboarding, answering surveys, data rights.

Everything a beneficiary or an implementer does in a private chat goes through
:class:`JourneyService`. The handlers (:mod:`handlers.participant`,
:mod:`handlers.invites`) parse an update, call one method here and render what
it returns; :mod:`handlers.keyboards` turns the *screens* defined below into
texts and buttons. Nothing here knows a callback payload or a chat API call.

The path::

    invite link ─► /start TOKEN ─► privacy notice [accept] [decline → nothing kept]
                                        │ accept: the person, their membership and the
                                        ▼ invite's use, in one transaction
                        demographics, each skippable ─► "you joined X as Y"

    round opens ─► invitation [Start] ─► intro ─► question 1 … n ─► thanks + recap
                                                    │ [Back] [Skip] [Keep]
                   /survey: resume, or revise until the deadline (a walk through
                   the answers, each kept or changed)

Rules that hold everywhere:

* **Nothing before consent.** ``/start TOKEN`` only reads the invite. The
  person's row is written by the consent press, together with the use of the
  invite, so a declined or failed consent leaves no trace.
* **Write first, reply second.** Every method that changes something claims
  the update id in the same transaction (``repos.updates.claim``) and returns
  what to show only after the commit. A redelivered update changes nothing
  and gets the reply for the current state (:meth:`JourneyService._replay`).
* **One gate for survey input.** :func:`check_move` decides whether a button
  press or a text may change a response — the presser is the response's
  participant, the round is open and before its deadline, the question is in
  the survey for their role and is the one in front of them, the action fits
  the question, the option exists — and :func:`decide` what the move does.
  A refused move rolls its transaction back: it changes nothing.
* **One survey at a time.** A person with several open surveys (several
  commitments or rounds) is offered them one after another: a started survey
  must be finished before the next one starts, and each recap offers the
  next.

A response's ``cursor`` is the question in front of the person while they
walk back through answered questions or revise a completed survey (``None``
means "the next unanswered one"); ``prompt_message_id`` is the message that
holds the current question's buttons, retired (edited to show the answer,
buttons gone) when the question is answered.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from bot.access import Caller
from bot.i18n import Locale
from bot.storage.engine import Database
from bot.storage.repositories import Repos
from bot.storage.repositories.invites import Invite
from bot.storage.repositories.participants import Membership, Participant
from bot.storage.repositories.responses import Response, TextScore
from surveys.answers import Answer, clean_text, validate_answer, validate_demographic
from surveys.errors import (
    AnswerError,
    InvalidOption,
    PulsoError,
    UnknownCommitment,
    UnknownQuestion,
    WrongAnswerKind,
)
from surveys.instruments import Instrument, Question, QuestionType, Role
from surveys.plan import ActionPlan, Commitment, DemographicQuestion
from surveys.sentiment import get_analyzer

if TYPE_CHECKING:
    from bot.services import Services

# --- invites ------------------------------------------------------------------------------

#: 24 random bytes: 192 bits, 32 URL-safe characters (Telegram's deep-link limit is 64).
TOKEN_BYTES = 24
DEFAULT_INVITE_USES = 1
DEFAULT_INVITE_DAYS = 14
MAX_INVITE_USES = 10_000
MAX_INVITE_DAYS = 365
#: Free feedback may be longer than a survey's text answers, but still one message.
FEEDBACK_MAX_LENGTH = 2000

InviteProblem = Literal["unknown", "revoked", "expired", "used_up"]

_ROLE_WORDS: Mapping[str, Role] = {
    "beneficiary": Role.BENEFICIARY,
    "beneficiario": Role.BENEFICIARY,
    "beneficiaria": Role.BENEFICIARY,
    "implementer": Role.IMPLEMENTER,
    "implementador": Role.IMPLEMENTER,
    "implementadora": Role.IMPLEMENTER,
}


def new_token() -> str:
    """A fresh invite token (only its hash is stored)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: what the database keeps, so a leaked copy opens nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_link(bot_username: str, token: str) -> str:
    """The deep link that opens the bot with ``/start TOKEN``."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def token_from(text: str) -> str:
    """The token in a pasted deep link, or the text itself."""
    text = text.strip()
    if "start=" in text:
        text = text.split("start=", 1)[1]
    return text.split("&", 1)[0]


def invite_problem(invite: Invite | None, now: datetime) -> InviteProblem | None:
    """Why this invite cannot be used now, or None when it can."""
    if invite is None:
        return "unknown"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= now:
        return "expired"
    if invite.uses >= invite.max_uses:
        return "used_up"
    return None


class InviteError(PulsoError):
    """An invite that cannot be used; the person is told why and what to do."""

    key = "error.invite.invalid"
    template = "the invite cannot be used"


class UnknownInvite(InviteError):
    key = "error.invite.unknown"
    template = "no such invite"


class RevokedInvite(InviteError):
    key = "error.invite.revoked"
    template = "the invite was revoked"


class ExpiredInvite(InviteError):
    key = "error.invite.expired"
    template = "the invite expired"


class UsedUpInvite(InviteError):
    key = "error.invite.used_up"
    template = "the invite has no uses left"


_INVITE_ERRORS: Mapping[InviteProblem, type[InviteError]] = {
    "unknown": UnknownInvite,
    "revoked": RevokedInvite,
    "expired": ExpiredInvite,
    "used_up": UsedUpInvite,
}


class InviteArgumentError(PulsoError):
    """What an admin typed does not describe an invite."""

    key = "error.invite_request.invalid"
    template = "not an invite request"


class BadInviteRole(InviteArgumentError):
    key = "error.invite_request.role"
    template = "the role must be beneficiary or implementer"


class BadInviteUses(InviteArgumentError):
    key = "error.invite_request.uses"
    template = "uses must be a whole number from 1 to {max_uses}"

    def __init__(self) -> None:
        super().__init__(max_uses=MAX_INVITE_USES)


class BadInviteDays(InviteArgumentError):
    key = "error.invite_request.days"
    template = "days must be a whole number from 1 to {max_days}"

    def __init__(self) -> None:
        super().__init__(max_days=MAX_INVITE_DAYS)


@dataclass(frozen=True, slots=True)
class InviteRequest:
    commitment_id: str
    role: Role
    uses: int = DEFAULT_INVITE_USES
    days: int = DEFAULT_INVITE_DAYS


def parse_role(text: str) -> Role:
    """``beneficiary``/``implementer`` (or their Spanish forms); raises BadInviteRole."""
    role = _ROLE_WORDS.get(text.strip().lower())
    if role is None:
        raise BadInviteRole()
    return role


def _bounded(value: str | int | None, default: int, limit: int, error: type[PulsoError]) -> int:
    if value is None:
        return default
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= limit:
        raise error()
    return int(text)


def parse_invite_request(
    commitment: str, role: str, uses: str | int | None = None, days: str | int | None = None
) -> InviteRequest:
    """``COMMITMENT ROLE [USES] [DAYS]`` as typed by an admin; raises InviteArgumentError."""
    return InviteRequest(
        commitment_id=commitment.strip().upper(),
        role=parse_role(role),
        uses=_bounded(uses, DEFAULT_INVITE_USES, MAX_INVITE_USES, BadInviteUses),
        days=_bounded(days, DEFAULT_INVITE_DAYS, MAX_INVITE_DAYS, BadInviteDays),
    )


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


async def issue_invite(
    db: Database, request: InviteRequest, *, actor: int | None, now: datetime
) -> IssuedInvite:
    """Store a new invite to an active commitment (audited) and return its token, which
    exists nowhere else; raises UnknownCommitment. Used by /invite and ``pulso invite``."""
    token = new_token()
    async with db.write() as repos:
        active = {c.commitment.id: c.commitment for c in await repos.plans.commitments()}
        commitment = active.get(request.commitment_id)
        if commitment is None:
            raise UnknownCommitment(request.commitment_id)
        invite = await repos.invites.create(
            token_hash=hash_token(token),
            commitment_id=commitment.id,
            role=request.role.value,
            max_uses=request.uses,
            expires_at=now + timedelta(days=request.days),
            created_by=actor,
            now=now,
        )
        # The token itself never reaches the log: with it anyone could join.
        await repos.audit.record(
            actor,
            "invite",
            {
                "invite": invite.id,
                "commitment": commitment.id,
                "role": request.role.value,
                "uses": request.uses,
                "days": request.days,
            },
            now,
        )
    return IssuedInvite(token, invite, commitment)


# --- what the handlers show: onboarding ---------------------------------------------------


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
class DemographicStep:
    question: DemographicQuestion
    number: int
    total: int


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


# --- what the handlers show: surveys ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """A short translated message: a toast for a button, a message otherwise.

    ``params`` may hold datetimes; the edge writes them in the person's
    language and the local time zone.
    """

    key: str
    params: Mapping[str, object] = field(default_factory=dict)


STALE = Notice("error.stale_button")


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
    message id with :meth:`JourneyService.record_prompt`.
    """

    notice: Notice | None = None
    retire: tuple[Retire, ...] = ()
    replace: QuestionScreen | None = None
    send: tuple[Screen, ...] = ()


# --- the survey state machine (pure) ------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class SurveyState:
    """One response as stored: its row, its instrument and its answers."""

    response: Response
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

    def screen(self, survey: SurveyContext, question: Question) -> QuestionScreen:
        number, total = self.instrument.position(self.role, self.answers, question.id)
        return QuestionScreen(
            survey=survey,
            question=question,
            number=number,
            total=total,
            answer=self.answers.get(question.id),
            can_back=self.instrument.previous_question(self.role, self.answers, question.id)
            is not None,
            revising=self.revising,
        )

    def answered(self, survey: SurveyContext, question: Question) -> AnsweredScreen | None:
        answer = self.answers.get(question.id)
        if answer is None or question not in self.asked():
            return None
        number, total = self.instrument.position(self.role, self.answers, question.id)
        return AnsweredScreen(survey, question, number, total, answer)

    def recap_items(self) -> tuple[tuple[Question, Answer | None], ...]:
        return tuple((q, self.answers.get(q.id)) for q in self.asked())


def _under_way(responses: Sequence[Response]) -> list[Response]:
    """Responses being answered (a first pass) or revised, the most recently shown first:
    the one a text message answers and /survey continues."""
    found = [
        r
        for r in responses
        if r.status == "started" or (r.status == "completed" and r.cursor is not None)
    ]
    return sorted(found, key=lambda r: r.prompt_message_id or 0, reverse=True)


def _belongs(state: SurveyState | None, participant_id: int | None) -> bool:
    """Whether the response is this person's (a forgotten one, unlinked, is nobody's)."""
    return (
        state is not None
        and participant_id is not None
        and state.response.participant_id == participant_id
    )


def check_open(response: Response, now: datetime) -> None:
    """Refuse input to a round that is no longer open (or whose deadline passed)."""
    if response.round_status == "cancelled":
        raise Refusal(Notice("journey.survey.cancelled"))
    if response.round_status != "open" or now >= response.round_closes_at:
        closed_on = response.round_closed_at or response.round_closes_at
        raise Refusal(Notice("journey.survey.closed", {"closed_on": closed_on}))


def check_move(
    state: SurveyState | None, move: Move, *, participant_id: int | None, now: datetime
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
    if state is None or not _belongs(state, participant_id):
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
        "back": state.instrument.previous_question(state.role, state.answers, question.id)
        is not None,
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


def decide(state: SurveyState, question: Question, move: Move) -> Decision:
    """What ``move`` (already checked by :func:`check_move`) does; pure.

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


def _toggle(state: SurveyState, question: Question, move: Move) -> Decision:
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


def _settled_answer(state: SurveyState, question: Question, move: Move) -> Answer:
    if move.action == "answer":
        return validate_answer(question, move.code)
    if move.action == "text":
        return validate_answer(question, move.text)
    if move.action == "skip":
        return Answer.skip(question.id)
    # done: keep what is there; an empty optional multiple choice counts as skipped
    stored = state.answers.get(question.id)
    return stored if stored is not None else validate_answer(question, None)


def next_demographic(
    plan: ActionPlan | None, demographics: Mapping[str, str | None]
) -> DemographicStep | None:
    """The first demographic question of the plan not answered or skipped yet."""
    questions = plan.demographics if plan is not None else ()
    for index, question in enumerate(questions, start=1):
        if question.id not in demographics:
            return DemographicStep(question, index, len(questions))
    return None


# --- dates in the person's language ---------------------------------------------------------


def local_datetime(instant: datetime, locale: Locale, tz: ZoneInfo) -> str:
    """ "9 de marzo de 2026, 10:00" / "March 9, 2026, 10:00" on the local wall clock."""
    local = instant.astimezone(tz)
    babel_locale = "es_MX" if locale == "es" else "en_US"
    day = format_date(local.date(), format="long", locale=babel_locale)
    return f"{day}, {format_time(local.time(), format='HH:mm', locale=babel_locale)}"


# --- data rights ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forgotten:
    """/forget confirmed and done; the messages whose buttons must go."""

    prompts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """/stop or /resume: whether it changed anything, and the surveys open right now."""

    changed: bool
    open_surveys: int


@dataclass(frozen=True, slots=True)
class MyData:
    filename: str
    content: bytes


FeedbackStage = Literal["thanks", "write", "choose", "no_commitment", "too_long"]


@dataclass(frozen=True, slots=True)
class FeedbackReply:
    """What /feedback (or the text that follows it) leads to."""

    stage: FeedbackStage
    commitment: Commitment | None = None
    choices: tuple[Commitment, ...] = ()
    length: int = 0


class _Redelivered(Exception):
    """The update was applied before: reply for the current state, change nothing."""


_FEEDBACK = "feedback:"


class JourneyService:
    """The participant's path, one method per thing a person does (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # --- helpers -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.services.clock.now()

    async def _commitment(self, repos: Repos, commitment_id: str) -> Commitment:
        found = await repos.plans.commitment(commitment_id)
        if found is None:
            raise UnknownCommitment(commitment_id)
        return found

    async def _open_responses(self, repos: Repos, participant_id: int) -> list[Response]:
        """Responses in rounds that are open and before their deadline, oldest round first."""
        now = self._now()
        return [
            r
            for r in await repos.responses.of_participant(participant_id)
            if r.round_closes_at > now
        ]

    async def _open_survey_count(self, repos: Repos, participant_id: int) -> int:
        responses = await self._open_responses(repos, participant_id)
        return sum(1 for r in responses if r.status != "completed")

    async def _instrument(self, repos: Repos, response: Response) -> Instrument:
        return await self.services.instruments.get(response.instrument_pk, repos)

    async def _state(self, repos: Repos, response_id: int) -> SurveyState | None:
        response = await repos.responses.get(response_id)
        if response is None:
            return None
        instrument = await self._instrument(repos, response)
        answers = await repos.responses.answers(response_id)
        return SurveyState(response, instrument, answers)

    async def _context(self, repos: Repos, state: SurveyState) -> SurveyContext:
        response = state.response
        return SurveyContext(
            response_id=response.id,
            round_id=response.round_id,
            instrument=state.instrument,
            commitment=await self._commitment(repos, response.commitment_id),
            role=state.role,
            closes_at=response.round_closes_at,
        )

    async def _welcome(self, repos: Repos, participant_id: int) -> Welcome | None:
        memberships = await repos.participants.memberships_of(participant_id)
        if not memberships:
            return None
        newest = memberships[-1]
        return Welcome(
            commitment=await self._commitment(repos, newest.commitment_id),
            role=Role(newest.role),
            open_surveys=await self._open_survey_count(repos, participant_id),
        )

    # --- invites (admins and the command line) ------------------------------------------

    async def create_invite(self, request: InviteRequest, *, actor: int | None) -> IssuedInvite:
        """A new invite to an active commitment (audited); raises UnknownCommitment."""
        return await issue_invite(self.services.db, request, actor=actor, now=self._now())

    async def revoke_invite(self, token_or_link: str, *, actor: int | None) -> RevokedResult:
        """Make an invite unusable (audited); raises UnknownInvite."""
        now = self._now()
        token_hash = hash_token(token_from(token_or_link))
        async with self.services.db.write() as repos:
            before = await repos.invites.by_hash(token_hash)
            if before is None:
                raise UnknownInvite()
            invite = await repos.invites.revoke(token_hash, now)
            assert invite is not None
            already = before.revoked_at is not None
            if not already:
                await repos.audit.record(actor, "revoke_invite", {"invite": invite.id}, now)
            commitment = await repos.plans.commitment(invite.commitment_id)
        return RevokedResult(invite, commitment, already)

    # --- onboarding ---------------------------------------------------------------------

    async def open_invite(
        self, caller: Caller, token: str, *, update_id: int
    ) -> InviteOffer | AlreadyJoined:
        """``/start TOKEN``: the offer to show with the privacy notice, stored nowhere.

        A participant opening an invite they already used (or one for a commitment
        and role they already have) is told so, and resumed if they had stopped.
        Raises an :class:`InviteError` saying why an invite cannot be used.
        """
        now = self._now()
        async with self.services.db.read() as repos:
            invite = await repos.invites.by_hash(hash_token(token))
            commitment = await repos.plans.commitment(invite.commitment_id) if invite else None
            if invite is None or commitment is None:
                raise UnknownInvite()
            member = caller.participant is not None and await self._is_member(
                repos, caller.participant, invite
            )
        role = Role(invite.role)
        if member:
            assert caller.participant is not None
            change = await self._reactivate(caller.participant.id, update_id=update_id)
            return AlreadyJoined(commitment, role, change.changed, change.open_surveys)
        problem = invite_problem(invite, now)
        if problem is not None:
            raise _INVITE_ERRORS[problem]()
        return InviteOffer(token, commitment, role)

    async def _is_member(self, repos: Repos, participant: Participant, invite: Invite) -> bool:
        memberships = await repos.participants.memberships_of(participant.id)
        return any(
            m.commitment_id == invite.commitment_id and m.role == invite.role for m in memberships
        ) or await repos.invites.has_redeemed(invite.id, participant.id)

    async def consent(self, caller: Caller, token: str, *, update_id: int) -> Joined:
        """The consent button: record the person (if new), use the invite, join.

        All in one transaction: if the invite cannot be used any more (a race for
        its last use, a revocation meanwhile) nothing is written, not even the
        person. Raises an :class:`InviteError`. Declining needs no method: it
        stores nothing.
        """
        now = self._now()
        try:
            async with self.services.db.write() as repos:
                if not await repos.updates.claim(update_id, now):
                    raise _Redelivered
                membership, new = await self._join(repos, caller, token, now)
                joined = await self._joined(repos, membership)
        except _Redelivered:
            async with self.services.db.read() as repos:
                participant = await repos.participants.by_telegram_id(caller.user_id)
                invite = await repos.invites.by_hash(hash_token(token))
                memberships = (
                    await repos.participants.memberships_of(participant.id) if participant else []
                )
                found = [
                    m
                    for m in memberships
                    if invite is not None
                    and (m.commitment_id, m.role) == (invite.commitment_id, invite.role)
                ]
                if not found:
                    raise UnknownInvite() from None
                membership, new = found[0], True  # repeat the late-joiner call: idempotent
                joined = await self._joined(repos, membership)
        if new:
            await self.services.rounds.invite_late_joiner(
                membership.participant_id, membership.commitment_id, membership.role
            )
            if joined.welcome is not None:
                async with self.services.db.read() as repos:
                    count = await self._open_survey_count(repos, membership.participant_id)
                joined = replace(joined, welcome=replace(joined.welcome, open_surveys=count))
        return joined

    async def _join(
        self, repos: Repos, caller: Caller, token: str, now: datetime
    ) -> tuple[Membership, bool]:
        invite = await repos.invites.by_hash(hash_token(token))
        if invite is None or await repos.plans.commitment(invite.commitment_id) is None:
            raise UnknownInvite()
        participant = await repos.participants.by_telegram_id(caller.user_id)
        if participant is None:
            participant = await repos.participants.create(
                telegram_user_id=caller.user_id,
                chat_id=caller.chat_id,
                language=caller.locale,
                now=now,
            )
        else:
            # Accepting an invite is asking for surveys: a stopped person is resumed.
            await repos.participants.change_status(
                participant.id, "active", from_statuses=("stopped", "unreachable"), now=now
            )
        if not await self._is_member(repos, participant, invite):
            problem = invite_problem(invite, now)
            if problem is None and not await repos.invites.redeem(invite.id, participant.id, now):
                # Someone took the last use (or it was revoked) since we read it.
                problem = invite_problem(await repos.invites.by_hash(invite.token_hash), now)
            if problem is not None:
                raise _INVITE_ERRORS[problem]()  # rolls back, the new person included
        return await repos.participants.add_membership(
            participant.id, invite.commitment_id, invite.role, now
        )

    async def _joined(self, repos: Repos, membership: Membership) -> Joined:
        participant = await repos.participants.get(membership.participant_id)
        assert participant is not None
        step = next_demographic(await repos.plans.plan(), participant.demographics)
        return Joined(
            commitment=await self._commitment(repos, membership.commitment_id),
            role=Role(membership.role),
            next_demographic=step,
            welcome=None if step is not None else await self._welcome(repos, participant.id),
        )

    async def answer_demographic(
        self, caller: Caller, question_id: str, code: str | None, *, update_id: int
    ) -> DemographicReply:
        """One onboarding question answered or skipped; only the one being asked counts."""
        if caller.participant is None:
            return DemographicReply(notice=STALE)
        participant_id = caller.participant.id
        now = self._now()
        try:
            async with self.services.db.write() as repos:
                if not await repos.updates.claim(update_id, now):
                    raise _Redelivered
                participant = await repos.participants.get(participant_id)
                assert participant is not None
                plan = await repos.plans.plan()
                step = next_demographic(plan, participant.demographics)
                if step is None or step.question.id != question_id:
                    raise Refusal(STALE)
                try:
                    value = validate_demographic(step.question, code)
                except InvalidOption:
                    raise Refusal(STALE) from None
                demographics = {**participant.demographics, question_id: value}
                await repos.participants.set_demographics(participant_id, demographics, now)
                following = next_demographic(plan, demographics)
                welcome = None if following else await self._welcome(repos, participant_id)
        except Refusal as refusal:
            return DemographicReply(notice=refusal.notice)
        except _Redelivered:
            async with self.services.db.read() as repos:
                participant = await repos.participants.get(participant_id)
                assert participant is not None
                plan = await repos.plans.plan()
                following = next_demographic(plan, participant.demographics)
                welcome = None if following else await self._welcome(repos, participant_id)
            return DemographicReply(next_demographic=following, welcome=welcome)
        return DemographicReply(step, value, following, welcome)

    async def returning(self, caller: Caller, *, update_id: int) -> ReturningParticipant | None:
        """A participant's plain ``/start``: resumed if they had stopped or blocked the bot."""
        if caller.participant is None:
            return None
        change = await self._reactivate(caller.participant.id, update_id=update_id)
        async with self.services.db.read() as repos:
            memberships = await repos.participants.memberships_of(caller.participant.id)
            joined = [
                (await self._commitment(repos, m.commitment_id), Role(m.role)) for m in memberships
            ]
        return ReturningParticipant(tuple(joined), change.changed, change.open_surveys)

    async def _reactivate(self, participant_id: int, *, update_id: int) -> StatusChange:
        now = self._now()
        async with self.services.db.write() as repos:
            changed = await repos.updates.claim(
                update_id, now
            ) and await repos.participants.change_status(
                participant_id, "active", from_statuses=("stopped", "unreachable"), now=now
            )
            count = await self._open_survey_count(repos, participant_id)
        return StatusChange(changed, count)

    # --- surveys ------------------------------------------------------------------------

    async def record_prompt(self, response_id: int, message_id: int) -> None:
        """The message now holding this response's question buttons (retired on answer).

        Urgent and without an fsync: the person is waiting for nothing more, but their
        next press waits for this (their updates run in order), and it is no one's
        answer — at a power cut the worst lost is a keyboard left in place.
        """
        async with self.services.db.write(durability="process", urgent=True) as repos:
            await repos.responses.set_prompt(response_id, message_id, self._now())

    async def start_survey(
        self, caller: Caller, response_id: int, *, update_id: int, message_id: int | None
    ) -> SurveyReply:
        """The Start button (invitations, reminders, "next survey", "change my answers").

        Pending: start it — unless another survey is half done, which comes first.
        Started: show where they are. Completed: walk through the answers to change them.
        """
        participant_id = caller.participant.id if caller.participant else None
        now = self._now()
        try:
            async with self.services.db.write() as repos:
                if not await repos.updates.claim(update_id, now):
                    raise _Redelivered
                state = await self._state(repos, response_id)
                if not _belongs(state, participant_id):
                    raise Refusal(STALE)
                assert state is not None
                assert participant_id is not None
                check_open(state.response, now)
                return await self._begin(repos, state, participant_id, message_id, now)
        except Refusal as refusal:
            return SurveyReply(notice=refusal.notice)
        except _Redelivered:
            return await self._replay(
                participant_id, response_id, reference=message_id, pressed=None
            )

    async def _begin(
        self,
        repos: Repos,
        state: SurveyState,
        participant_id: int,
        pressed: int | None,
        now: datetime,
    ) -> SurveyReply:
        response = state.response
        others = [
            r for r in await self._open_responses(repos, participant_id) if r.id != response.id
        ]
        busy = next((r for r in others if r.status == "started"), None)
        if busy is not None:
            # One survey at a time: finish the one already begun before starting or
            # revising another.
            busy_state = await self._state(repos, busy.id)
            assert busy_state is not None
            reply = await self._present(repos, busy_state, now)
            survey = await self._context(repos, busy_state)
            notice = Notice(
                "journey.survey.busy",
                {
                    "title": survey.instrument.title,
                    "commitment": survey.commitment.title,
                },
            )
            return replace(reply, send=(MessageScreen(notice), *reply.send))
        retire = [Retire(pressed)] if pressed is not None else []
        # A revision left half way through elsewhere ends: its buttons go.
        for other in others:
            if other.status == "completed" and other.cursor is not None:
                await repos.responses.set_cursor(other.id, None, now)
                await repos.responses.set_prompt(other.id, None, now)
                if other.prompt_message_id is not None:
                    retire.append(Retire(other.prompt_message_id))
        participant = await repos.participants.get(participant_id)
        if participant is not None and participant.awaiting is not None:
            await repos.participants.set_awaiting(participant_id, None, now)
        send: list[Screen] = []
        if response.status == "pending":
            await repos.responses.start(response.id, now)
            state = replace(state, response=replace(response, status="started"))
            survey = await self._context(repos, state)
            send.append(
                IntroScreen(survey, len(state.asked()), len(state.instrument.for_role(state.role)))
            )
        elif response.status == "completed" and state.asked():
            first = state.asked()[0]
            await repos.responses.set_cursor(response.id, first.id, now)
            state = replace(state, response=replace(response, cursor=first.id))
        presented = await self._present(repos, state, now)
        retire += [r for r in presented.retire if r.message_id != pressed]
        return SurveyReply(retire=tuple(retire), send=(*send, *presented.send))

    async def _present(self, repos: Repos, state: SurveyState, now: datetime) -> SurveyReply:
        """Show the current question anew (or, if nothing is left, complete and recap),
        retiring the buttons of the previous prompt."""
        survey = await self._context(repos, state)
        current = state.current()
        retire: tuple[Retire, ...] = ()
        if state.response.prompt_message_id is not None:
            retire = (Retire(state.response.prompt_message_id),)
        if current is not None:
            return SurveyReply(retire=retire, send=(state.screen(survey, current),))
        # A revision that was under way ends here; anything else is a first pass done.
        revised = state.revising and state.response.cursor is not None
        if state.response.status == "started":
            await repos.responses.complete(state.response.id, now)
        await repos.responses.set_prompt(state.response.id, None, now)
        recap = await self._recap(repos, state, survey, revised=revised)
        return SurveyReply(retire=retire, send=(recap,))

    async def _recap(
        self, repos: Repos, state: SurveyState, survey: SurveyContext, *, revised: bool
    ) -> RecapScreen:
        next_survey: PendingSurvey | None = None
        assert state.response.participant_id is not None
        for other in await self._open_responses(repos, state.response.participant_id):
            if other.id != state.response.id and other.status != "completed":
                next_survey = PendingSurvey(
                    other.id,
                    await self._instrument(repos, other),
                    await self._commitment(repos, other.commitment_id),
                )
                break
        return RecapScreen(survey, state.recap_items(), revised, next_survey)

    async def survey_press(
        self, caller: Caller, response_id: int, move: Move, *, update_id: int, message_id: int
    ) -> SurveyReply:
        """A survey button: answer, toggle, done/keep, skip or back."""
        try:
            return await self._move(
                caller, response_id, move, update_id=update_id, pressed=message_id
            )
        except _Redelivered:
            return await self._replay(
                caller.participant.id if caller.participant else None,
                response_id,
                reference=message_id,
                pressed=(message_id, move.question_id),
            )

    async def _move(
        self, caller: Caller, response_id: int, move: Move, *, update_id: int, pressed: int | None
    ) -> SurveyReply:
        """Check, decide and store one move, then say what to show (after the commit)."""
        participant = caller.participant
        now = self._now()
        try:
            async with self.services.db.write() as repos:
                if not await repos.updates.claim(update_id, now):
                    raise _Redelivered
                state = await self._state(repos, response_id)
                question = check_move(
                    state, move, participant_id=participant.id if participant else None, now=now
                )
                assert state is not None
                assert participant is not None
                # Where the question was shown: the pressed message, or (a text answer)
                # the prompt — read before the move, which may clear the prompt.
                shown_in = pressed if pressed is not None else state.response.prompt_message_id
                decision = decide(state, question, move)
                after = await self._apply(repos, state, question, decision, caller.locale, now)
                if participant.awaiting is not None:
                    # The person went on with the survey: /feedback waits no more.
                    await repos.participants.set_awaiting(participant.id, None, now)
                survey = await self._context(repos, after)
                reply = await self._moved(repos, after, survey, question, decision, shown_in)
        except Refusal as refusal:
            return SurveyReply(notice=refusal.notice)
        if after.response.status == "completed":
            self.services.rounds.person_changed(participant.id)  # no reminder for it now
        return reply

    async def _apply(
        self,
        repos: Repos,
        state: SurveyState,
        question: Question,
        decision: Decision,
        language: Locale,
        now: datetime,
    ) -> SurveyState:
        """Store what ``decision`` says (texts with their sentiment); the state after it."""
        response = state.response
        if decision.save is not None:
            sentiment = None
            if decision.save.text is not None:
                # The person's language settles texts with no evidence either way ("ok").
                score = get_analyzer().analyse(decision.save.text, default_language=language)
                sentiment = TextScore(score.label, score.score, score.language, score.version)
            await repos.responses.save_answer(
                response,
                decision.save,
                multi=question.type is QuestionType.MULTI,
                sentiment=sentiment,
                now=now,
            )
        if decision.delete:
            await repos.responses.delete_answers(response.id, decision.delete)
        status = response.status
        if decision.complete:
            await repos.responses.complete(response.id, now)
            status = "completed"
        elif decision.cursor != response.cursor:
            await repos.responses.set_cursor(response.id, decision.cursor, now)
        prompt = response.prompt_message_id
        if decision.show is None:
            prompt = None
            await repos.responses.set_prompt(response.id, None, now)
        updated = replace(
            response, status=status, cursor=decision.cursor, prompt_message_id=prompt
        )
        return SurveyState(updated, state.instrument, decision.answers)

    async def _moved(
        self,
        repos: Repos,
        after: SurveyState,
        survey: SurveyContext,
        question: Question,
        decision: Decision,
        shown_in: int | None,
    ) -> SurveyReply:
        if decision.in_place:
            assert decision.show is not None
            return SurveyReply(replace=after.screen(survey, decision.show))
        retire: tuple[Retire, ...] = ()
        if shown_in is not None:
            retire = (Retire(shown_in, after.answered(survey, question)),)
        if decision.show is not None:
            return SurveyReply(retire=retire, send=(after.screen(survey, decision.show),))
        recap = await self._recap(repos, after, survey, revised=not decision.complete)
        return SurveyReply(retire=retire, send=(recap,))

    async def _replay(
        self,
        participant_id: int | None,
        response_id: int,
        *,
        reference: int | None,
        pressed: tuple[int, str] | None,
    ) -> SurveyReply:
        """The reply for the current state, after a redelivered update (nothing is stored).

        Message ids in a private chat grow with every message, the person's
        included: a prompt newer than the update's own message (the pressed one,
        or the text) means the reply went out before the redelivery, so nothing
        more is sent. Otherwise the current question (or the recap) is shown.
        """
        now = self._now()
        async with self.services.db.write() as repos:
            state = await self._state(repos, response_id)
            if state is None or not _belongs(state, participant_id):
                return SurveyReply()
            prompt = state.response.prompt_message_id
            if prompt is not None and reference is not None and prompt > reference:
                return SurveyReply()
            if pressed is None:
                return await self._present(repos, state, now)
            message_id, question_id = pressed
            survey = await self._context(repos, state)
            current = state.current()
            if current is not None and current.id == question_id:
                return SurveyReply(replace=state.screen(survey, current))
            try:
                answered = state.answered(survey, state.instrument.question(question_id))
            except UnknownQuestion:
                answered = None
            # The pressed message is the old prompt: retire it showing its answer.
            unprompted = replace(state.response, prompt_message_id=None)
            presented = await self._present(repos, replace(state, response=unprompted), now)
            return replace(presented, retire=(Retire(message_id, answered),))

    async def continue_survey(self, caller: Caller, *, update_id: int) -> SurveyReply:
        """/survey: the survey under way where it stands; else the next one, started; else
        the finished ones, each with a button to change its answers."""
        if caller.participant is None:
            return SurveyReply(notice=STALE)
        participant_id = caller.participant.id
        now = self._now()
        async with self.services.db.write() as repos:
            fresh = await repos.updates.claim(update_id, now)
            responses = await self._open_responses(repos, participant_id)
            under_way = _under_way(responses)
            if under_way:
                newest = under_way[0]
                state = await self._state(repos, newest.id)
                assert state is not None
                return await self._present(repos, state, now)
            pending = [r for r in responses if r.status == "pending"]
            if pending and fresh:
                state = await self._state(repos, pending[0].id)
                assert state is not None
                return await self._begin(repos, state, participant_id, None, now)
            completed = [r for r in responses if r.status == "completed"]
            if completed and len(completed) == len(responses):
                surveys = []
                for response in completed:
                    state = await self._state(repos, response.id)
                    assert state is not None
                    surveys.append(await self._context(repos, state))
                return SurveyReply(send=(CompletedList(tuple(surveys)),))
            if responses:
                return SurveyReply()  # a redelivered /survey whose start was already shown
        return SurveyReply(send=(MessageScreen(Notice("journey.survey.none_open")),))

    async def text_message(
        self, caller: Caller, text: str, *, update_id: int, message_id: int
    ) -> SurveyReply | FeedbackReply | None:
        """A message that is not a command: feedback if /feedback asked for it, else the
        answer to the text question in front of the person. None: nothing to say."""
        participant = caller.participant
        if participant is None:
            return None
        if participant.awaiting is not None and participant.awaiting.startswith(_FEEDBACK):
            commitment_id, _, role = participant.awaiting.removeprefix(_FEEDBACK).partition(":")
            return await self._store_feedback(
                caller, commitment_id, role, text, update_id=update_id
            )
        async with self.services.db.read() as repos:
            under_way = _under_way(await self._open_responses(repos, participant.id))
            state = await self._state(repos, under_way[0].id) if under_way else None
            current = state.current() if state is not None else None
            awaited = current is not None and current.type is QuestionType.TEXT
            # Staff may be typing to another module's conversation (a wizard), and a
            # redelivered text was answered already: stay quiet for both.
            quiet = not awaited and (caller.is_staff or await repos.updates.seen(update_id))
        if current is None or not awaited:
            if quiet:
                return None
            key = "journey.text.use_buttons" if under_way else "journey.text.nothing_awaited"
            return SurveyReply(notice=Notice(key))
        response = under_way[0]
        try:
            return await self._move(
                caller,
                response.id,
                Move("text", current.id, text=text),
                update_id=update_id,
                pressed=None,
            )
        except _Redelivered:
            return await self._replay(
                participant.id, response.id, reference=message_id, pressed=None
            )

    # --- feedback -----------------------------------------------------------------------

    async def feedback(self, caller: Caller, rest: str, *, update_id: int) -> FeedbackReply:
        """``/feedback [COMMITMENT] [TEXT]``: store the text now, or take the next message.

        With several commitments the person names one (its id, as listed) or
        presses its button (:meth:`feedback_about`); the text may follow on the
        same line or come in the next message.
        """
        assert caller.participant is not None
        participant_id = caller.participant.id
        async with self.services.db.read() as repos:
            memberships = await repos.participants.memberships_of(participant_id)
            commitments = {
                m.commitment_id: await self._commitment(repos, m.commitment_id)
                for m in memberships
            }
        if not memberships:
            return FeedbackReply("no_commitment")
        words = rest.strip().split(maxsplit=1)
        by_id = {m.commitment_id.upper(): m for m in memberships}
        chosen = by_id.get(words[0].upper()) if words else None
        if chosen is not None:
            rest = words[1] if len(words) > 1 else ""
        elif len(commitments) == 1:
            chosen = memberships[0]
        else:
            return FeedbackReply("choose", choices=tuple(commitments.values()))
        if rest.strip():
            return await self._store_feedback(
                caller, chosen.commitment_id, chosen.role, rest, update_id=update_id
            )
        return await self._await_feedback(participant_id, chosen, update_id=update_id)

    async def feedback_about(
        self, caller: Caller, commitment_id: str, *, update_id: int
    ) -> FeedbackReply | None:
        """/feedback's button for one of the person's commitments: take their next
        message as feedback on it. None — nothing changes — when they are not in that
        commitment (a forged press, or one from before they left it)."""
        assert caller.participant is not None
        participant_id = caller.participant.id
        async with self.services.db.read() as repos:
            memberships = await repos.participants.memberships_of(participant_id)
        chosen = next((m for m in memberships if m.commitment_id == commitment_id), None)
        if chosen is None:
            return None
        return await self._await_feedback(participant_id, chosen, update_id=update_id)

    async def _await_feedback(
        self, participant_id: int, chosen: Membership, *, update_id: int
    ) -> FeedbackReply:
        now = self._now()
        async with self.services.db.write() as repos:
            if await repos.updates.claim(update_id, now):
                await repos.participants.set_awaiting(
                    participant_id, f"{_FEEDBACK}{chosen.commitment_id}:{chosen.role}", now
                )
            commitment = await self._commitment(repos, chosen.commitment_id)
        return FeedbackReply("write", commitment=commitment)

    async def _store_feedback(
        self, caller: Caller, commitment_id: str, role: str, text: str, *, update_id: int
    ) -> FeedbackReply:
        assert caller.participant is not None
        text = clean_text(text)
        if len(text) > FEEDBACK_MAX_LENGTH:
            return FeedbackReply("too_long", length=len(text))
        score = get_analyzer().analyse(text, default_language=caller.locale)
        now = self._now()
        async with self.services.db.write() as repos:
            commitment = await self._commitment(repos, commitment_id)
            if await repos.updates.claim(update_id, now):
                await repos.responses.add_feedback(
                    participant_id=caller.participant.id,
                    commitment_id=commitment_id,
                    role=role,
                    text=text,
                    sentiment=TextScore(score.label, score.score, score.language, score.version),
                    now=now,
                )
                await repos.participants.set_awaiting(caller.participant.id, None, now)
        return FeedbackReply("thanks", commitment=commitment)

    # --- data rights --------------------------------------------------------------------

    async def stop(self, caller: Caller, *, update_id: int) -> StatusChange:
        """/stop: no more invitations or reminders (pending ones are cancelled) until /resume."""
        assert caller.participant is not None
        participant_id = caller.participant.id
        now = self._now()
        async with self.services.db.write() as repos:
            if await repos.updates.claim(update_id, now):
                changed = await repos.participants.change_status(
                    participant_id, "stopped", from_statuses=("active", "unreachable"), now=now
                )
                if changed:
                    await repos.outbox.cancel_pending_for_chat(
                        caller.participant.chat_id, "stopped by the participant"
                    )
            else:
                found = await repos.participants.get(participant_id)
                changed = found is not None and found.status == "stopped"
            count = await self._open_survey_count(repos, participant_id)
        self.services.rounds.person_changed(participant_id)  # nothing already claimed goes
        return StatusChange(changed, count)

    async def resume_invitations(self, caller: Caller, *, update_id: int) -> StatusChange:
        """/resume: invitations and reminders again (those cancelled by /stop stay cancelled;
        the open surveys are one /survey away, and the reply says how many)."""
        assert caller.participant is not None
        return await self._reactivate(caller.participant.id, update_id=update_id)

    async def forget(self, caller: Caller, *, update_id: int) -> Forgotten | None:
        """/forget, confirmed: delete the person and unlink their answers, irreversibly.

        Deleted: the participant row (Telegram id, chat, language, demographics),
        memberships, invite redemptions, their /feedback, pending messages, and
        their responses in every round that has not closed. Kept, pointing at
        nobody: their answers in closed rounds (in the admin's answer file; what
        the rounds published is in their snapshots and does not move). None when
        there is no one to forget. On SQLite the freed pages are overwritten
        (``secure_delete``) and the WAL is checkpointed afterwards.
        """
        now = self._now()
        async with self.services.db.write() as repos:
            fresh = await repos.updates.claim(update_id, now)
            participant = await repos.participants.by_telegram_id(caller.user_id)
            if participant is None:
                return None if fresh else Forgotten(())
            prompts = tuple(
                r.prompt_message_id
                for r in await repos.responses.of_participant(participant.id)
                if r.prompt_message_id is not None
            )
            await repos.outbox.cancel_pending_for_chat(participant.chat_id, "forgotten")
            deleted, unlinked = await repos.responses.unlink_participant(participant.id)
            feedback = await repos.responses.delete_feedback(participant.id)
            await repos.participants.delete(participant.id)
            # Counts only: the record shows the request was honoured, not whose it was.
            await repos.audit.record(
                None,
                "forget",
                {
                    "responses_deleted": deleted,
                    "responses_unlinked": unlinked,
                    "feedback_deleted": feedback,
                },
                now,
            )
        self.services.rounds.person_changed(participant.id)  # nothing already claimed goes
        await self.services.db.scrub()
        return Forgotten(prompts)

    async def my_data(self, caller: Caller) -> MyData:
        """/mydata: everything stored about the person, as a text file in their language."""
        assert caller.participant is not None
        locale = caller.locale
        catalog = self.services.t.catalogs[locale].messages
        tz = self.services.settings.tz

        def t(key: str, **params: object) -> str:
            # A plain-text file: the catalog's text filled in without HTML escaping.
            return catalog[key].format_map({k: str(v) for k, v in params.items()})

        def when(instant: datetime) -> str:
            return local_datetime(instant, locale, tz)

        lines: list[str] = [t("mydata.title"), t("mydata.generated", when=when(self._now())), ""]
        async with self.services.db.read() as repos:
            participant = await repos.participants.get(caller.participant.id)
            assert participant is not None
            plan = await repos.plans.plan()
            memberships = await repos.participants.memberships_of(participant.id)
            responses = await repos.responses.of_participant(
                participant.id, round_statuses=("open", "closed", "cancelled")
            )
            feedback = await repos.responses.feedback_of(participant.id)
            lines += [
                f"== {t('mydata.section.profile')} ==",
                t("mydata.telegram_id", id=participant.telegram_user_id),
                t("mydata.language", language=t(f"mydata.language.{locale}")),
                t(f"mydata.status.{participant.status}"),
                t("mydata.consented", when=when(participant.consented_at)),
                t("mydata.demographics"),
            ]
            questions = plan.demographics if plan is not None else ()
            answered = [q for q in questions if q.id in participant.demographics]
            for question in answered:
                code = participant.demographics[question.id]
                option = next((o for o in question.options if o.code == code), None)
                value = option.label.get(locale) if option else t("mydata.skipped")
                lines.append(f"  - {question.text.get(locale)}: {value}")
            if not answered:
                lines.append(f"  - {t('mydata.none')}")
            lines += ["", f"== {t('mydata.section.commitments')} =="]
            for membership in memberships:
                commitment = await self._commitment(repos, membership.commitment_id)
                lines.append(
                    "  - "
                    + t(
                        "mydata.membership",
                        id=commitment.id,
                        title=commitment.title.get(locale),
                        role=t(f"journey.role.{membership.role}"),
                        when=when(membership.joined_at),
                    )
                )
            lines += ["", f"== {t('mydata.section.surveys')} =="]
            for response in responses:
                instrument = await self._instrument(repos, response)
                answers = await repos.responses.answers(response.id)
                lines.append(
                    t(
                        "mydata.response",
                        round=response.round_id,
                        title=instrument.title.get(locale),
                        commitment=response.commitment_id,
                        status=t(f"mydata.response.{response.status}"),
                    )
                )
                for asked in instrument.applicable(Role(response.role), answers):
                    answer = answers.get(asked.id)
                    if answer is None:
                        continue
                    shown = describe_answer(asked, answer, locale) or t("mydata.answer_skipped")
                    lines += [f"  {asked.text.get(locale)}", f"    → {shown}"]
            if not responses:
                lines.append(f"  - {t('mydata.none')}")
            lines += ["", f"== {t('mydata.section.feedback')} =="]
            for item in feedback:
                lines.append(f"  - {when(item['created_at'])} · {item['commitment_id']}:")
                lines.append(f"    {item['text']}")
            if not feedback:
                lines.append(f"  - {t('mydata.none')}")
        lines += ["", f"== {t('mydata.section.not_stored')} ==", t("mydata.not_stored"), ""]
        return MyData(t("mydata.filename"), "\n".join(lines).encode("utf-8"))


def describe_answer(question: Question, answer: Answer, locale: Locale) -> str | None:
    """An answer in words: option labels in the question's order, or the text; None for
    a skip."""
    if answer.skipped:
        return None
    if answer.text is not None:
        return answer.text
    chosen = set(answer.codes)
    return ", ".join(o.label.get(locale) for o in question.choices if o.code in chosen)
