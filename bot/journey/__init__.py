"""The participant's journey: joining, answering surveys, feedback and data rights.

Everything a beneficiary or an implementer does in a private chat goes through
:class:`JourneyService`. The handlers (:mod:`handlers.participant`,
:mod:`handlers.invites`) parse an update, call one method and draw what it
returns: :mod:`handlers.keyboards` turns the typed screens of
:mod:`bot.journey.screens` into texts and buttons, :mod:`handlers.texts.mydata`
writes /mydata's record as a file. Nothing here knows a callback payload, a
chat API call or a sentence.

The package, one job per module:

* :mod:`~bot.journey.onboarding` — invites issued and revoked, ``/start TOKEN``,
  consent, demographics, a plain /start;
* :mod:`~bot.journey.answering` — a survey started, each press or text, the
  recap, revising, /survey;
* :mod:`~bot.journey.feedback` — /feedback and the text it awaits;
* :mod:`~bot.journey.rights` — /stop, /resume, /forget and /mydata's record;
* :mod:`~bot.journey.screens` — what the edge is asked to show;
* :mod:`~bot.journey.common` — the lookups every part shares, and
  :func:`~bot.journey.common.fresh_or_replay`, the one way an update that may
  be redelivered is applied once.

The rules of the survey itself are pure and live in :mod:`surveys.flow` (which
input may change a response, and what it does); the invite token's rules in
:mod:`surveys.invites`.

Why small services composed, not mixins: each part is a class of its own
(:class:`~bot.journey.common.JourneyPart` gives them the shared lookups), so a
part's methods, and what it calls, are read in one file, and no method of one
part can quietly rely on another's. :class:`JourneyService` builds the four
and hands each public method on under the name the handlers call; the one
method that spans two parts, :meth:`JourneyService.text_message`, decides
between them here.

Rules that hold everywhere:

* **Nothing before consent**: see :mod:`~bot.journey.onboarding`.
* **Write first, reply second.** Every method that changes something claims
  the update id in the same transaction (``repos.updates.claim``) and returns
  what to show only after the commit. A redelivered update changes nothing
  and gets the reply for the current state.
* **One gate for survey input**: :func:`surveys.flow.check_move`.
* **One survey at a time**: see :mod:`~bot.journey.answering`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.access import Caller
from bot.journey.answering import Answering
from bot.journey.feedback import FEEDBACK_MAX_LENGTH, Feedback
from bot.journey.onboarding import Onboarding, issue_invite
from bot.journey.rights import MyData, Rights, StoredFeedback, StoredResponse
from bot.journey.screens import (
    AlreadyJoined,
    AnsweredScreen,
    CompletedList,
    DemographicReply,
    FeedbackReply,
    Forgotten,
    IntroScreen,
    InviteOffer,
    IssuedInvite,
    Joined,
    MessageScreen,
    PendingSurvey,
    QuestionScreen,
    RecapScreen,
    Retire,
    ReturningParticipant,
    RevokedResult,
    Screen,
    StatusChange,
    SurveyContext,
    SurveyReply,
    Welcome,
)
from surveys.flow import STALE, DemographicStep, Move, Notice

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.plans import InstrumentCache
    from bot.rounds.service import RoundsService
    from bot.storage.engine import Database

__all__ = [
    "FEEDBACK_MAX_LENGTH",
    "STALE",
    "AlreadyJoined",
    "AnsweredScreen",
    "CompletedList",
    "DemographicReply",
    "DemographicStep",
    "FeedbackReply",
    "Forgotten",
    "IntroScreen",
    "InviteOffer",
    "IssuedInvite",
    "Joined",
    "JourneyService",
    "MessageScreen",
    "Move",
    "MyData",
    "Notice",
    "PendingSurvey",
    "QuestionScreen",
    "RecapScreen",
    "Retire",
    "ReturningParticipant",
    "RevokedResult",
    "Screen",
    "StatusChange",
    "StoredFeedback",
    "StoredResponse",
    "SurveyContext",
    "SurveyReply",
    "Welcome",
    "issue_invite",
]


class JourneyService:
    """The participant's path, one method per thing a person does (see the package docstring)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        instruments: InstrumentCache,
        rounds: RoundsService,
        reply_grace: timedelta = timedelta(seconds=20),
    ) -> None:
        self._onboarding = Onboarding(db=db, clock=clock, instruments=instruments, rounds=rounds)
        self._answering = Answering(
            db=db, clock=clock, instruments=instruments, rounds=rounds, reply_grace=reply_grace
        )
        self._feedback = Feedback(db=db, clock=clock, instruments=instruments, rounds=rounds)
        self._rights = Rights(db=db, clock=clock, instruments=instruments, rounds=rounds)
        # Onboarding (and admins' invites).
        self.create_invite = self._onboarding.create_invite
        self.revoke_invite = self._onboarding.revoke_invite
        self.open_invite = self._onboarding.open_invite
        self.consent = self._onboarding.consent
        self.answer_demographic = self._onboarding.answer_demographic
        self.returning = self._onboarding.returning
        # Surveys.
        self.record_prompt = self._answering.record_prompt
        self.start_survey = self._answering.start_survey
        self.survey_press = self._answering.survey_press
        self.continue_survey = self._answering.continue_survey
        self.current_prompt = self._answering.current_prompt
        self.outbox_prompted = self._answering.outbox_prompted
        # Feedback.
        self.feedback = self._feedback.feedback
        self.feedback_about = self._feedback.feedback_about
        # Data rights.
        self.stop = self._rights.stop
        self.resume_invitations = self._rights.resume_invitations
        self.forget = self._rights.forget
        self.my_data = self._rights.my_data

    async def text_message(
        self, caller: Caller, text: str, *, update_id: int, message_id: int
    ) -> SurveyReply | FeedbackReply | None:
        """A message that is not a command: feedback if /feedback asked for it, else the
        answer to the text question in front of the person. None: nothing to say."""
        participant = caller.participant
        if participant is None:
            return None
        if participant.awaiting is not None:
            return await self._feedback.store(
                caller, participant.awaiting, text, update_id=update_id
            )
        return await self._answering.text_answer(
            caller, text, update_id=update_id, message_id=message_id
        )
