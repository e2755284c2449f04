"""The domain errors: what went wrong, said once, translated at the edge.

Every error the domain raises on purpose is a ``PulsoError``. Each class names a
translatable message id in ``key`` and carries the values for its placeholders
in ``params``, so the Telegram edge turns any of them into a message in one
place (``t(error.key, locale=..., **error.params)``) and never inspects
``str(error)``, which is an English sentence for logs and the command line.

    PulsoError
    ├── PlanFileError          a plan or instrument file is invalid (.problems)
    ├── AnswerError            an answer does not fit its question
    │   ├── InvalidOption      not one of the question's options
    │   ├── TooManyChoices     more options than the question allows
    │   ├── TextTooLong        longer than the question's max_length
    │   ├── EmptyRequired      a required question left empty or skipped
    │   └── WrongAnswerKind    option codes sent to a text question
    ├── NotFound               something asked for by id does not exist
    │   ├── UnknownCommitment
    │   ├── UnknownQuestion
    │   ├── UnknownInstrument
    │   ├── UnknownRound
    │   └── UnknownSchedule
    ├── InviteError            an invite a person cannot use (they are told why)
    │   ├── UnknownInvite
    │   ├── RevokedInvite
    │   ├── ExpiredInvite
    │   └── UsedUpInvite
    ├── InviteArgumentError    what an admin typed does not describe an invite
    │   ├── BadInviteRole
    │   ├── BadInviteUses
    │   └── BadInviteDays
    ├── RoundSpecError         what an admin typed does not describe a round
    │   ├── BadOpens, OpensInPast, BadDuration, BadCommitmentList, BadRoles,
    │   ├── BadCron, BadReminders, BadQuietHours, BadOption, BadResultsOption
    │   └── NothingToSurvey    the plan has no commitments to ask about
    ├── RoundStateError        the round's status does not allow the action
    ├── NoRoundYet             no round has closed: no results yet
    ├── RoundNotOpened         the round has not opened: no results
    ├── RoundStillOpen         results are published at close (docs/privacy.md)
    ├── RoundCancelled         a cancelled round publishes nothing
    └── ReplyError             a government reply cannot take this input (surveys.accountability)
        ├── ReplyStale, ReplyUseButtons, ReplyEmpty, ReplyTooLong
        ├── ReplyBadDate, ReplyDateRange
        └── ReplyNotYours, ReplyAlreadyPublished, ReplyIncomplete

To add an error, subclass the closest class, give it its own ``key`` and an
English ``template`` over its params, and pass the params as keywords to
``super().__init__``; the class refuses to be defined without its own key, and
``error_keys()`` lists every key so a test can check each has a translation.
Params hold ids, counts and limits, never what a person typed (messages reach
logs, and the design forbids personal data there).

Outside the tree, on purpose: ``bot.settings.SettingsError`` is the runtime's
one error (a setting is missing or invalid: the process refuses to start, or
a command says which setting), never a person's doing. Not an error:
:class:`surveys.flow.Refusal` is how the survey flow says a move
may change nothing; the journey service turns it into a reply, so it never
reaches the edge's error wrapper.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar


class PulsoError(Exception):
    """Base of every domain error: a message id, its params, and an English sentence."""

    key: ClassVar[str] = "error.generic"
    template: ClassVar[str] = "something went wrong"

    def __init__(self, **params: object) -> None:
        self.params: dict[str, object] = dict(params)
        super().__init__(self.template.format_map(self.params))

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # An inherited key would make two different errors read the same to the
        # person; failing at import time is cheaper than finding it in a chat.
        if "key" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} must define its own `key` message id")


def error_keys() -> frozenset[str]:
    """Every message id of the error classes defined so far (imported modules only)."""
    keys: set[str] = set()
    pending: list[type[PulsoError]] = [PulsoError]
    while pending:
        cls = pending.pop()
        keys.add(cls.key)
        pending.extend(cls.__subclasses__())
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One thing wrong in a file, located well enough to fix it without guessing.

    ``field`` is the path inside the document (``commitments[2].title.en``),
    ``message`` what is wrong there and ``expected`` what would be right.
    ``line`` is 1-based, or None when the problem is the file itself.
    """

    file: str
    line: int | None
    field: str
    message: str
    expected: str = ""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        tail = f"; expected {self.expected}" if self.expected else ""
        return f"{where}: {self.field}: {self.message}{tail}"


class PlanFileError(PulsoError):
    """A plan or instrument file is invalid; ``problems`` lists every problem found."""

    key = "error.plan_file.invalid"
    template = "{details}"

    def __init__(self, problems: Iterable[FileProblem]) -> None:
        self.problems: list[FileProblem] = sorted(
            problems, key=lambda p: (p.file, p.line or 0, p.field)
        )
        super().__init__(
            count=len(self.problems), details="\n".join(str(p) for p in self.problems)
        )


class AnswerError(PulsoError):
    """An answer does not fit its question; the person can try again."""

    key = "error.answer.invalid"
    template = "the answer to {question_id} is not valid"

    def __init__(self, *, question_id: str, **params: object) -> None:
        self.question_id = question_id
        super().__init__(question_id=question_id, **params)


class InvalidOption(AnswerError):
    """Not one of the question's options (a stale or forged button, or a typed text)."""

    key = "error.answer.invalid_option"
    template = "that is not one of the options of {question_id}"

    def __init__(self, *, question_id: str, value: str) -> None:
        # The value may be something a person typed: kept for the caller, out of
        # params and the message so it cannot reach a log line.
        self.value = value
        super().__init__(question_id=question_id)


class TooManyChoices(AnswerError):
    """More options chosen than the question allows."""

    key = "error.answer.too_many_choices"
    template = "{count} options chosen for {question_id}; at most {max_choices} are allowed"

    def __init__(self, *, question_id: str, max_choices: int, count: int) -> None:
        self.max_choices = max_choices
        self.count = count
        super().__init__(question_id=question_id, max_choices=max_choices, count=count)


class TextTooLong(AnswerError):
    """A text answer longer than the question's ``max_length`` characters."""

    key = "error.answer.too_long"
    template = "the answer to {question_id} has {length} characters; at most {max_length} fit"

    def __init__(self, *, question_id: str, max_length: int, length: int) -> None:
        self.max_length = max_length
        self.length = length
        super().__init__(question_id=question_id, max_length=max_length, length=length)


class EmptyRequired(AnswerError):
    """A required question was left empty or skipped."""

    key = "error.answer.required"
    template = "{question_id} needs an answer"

    def __init__(self, *, question_id: str) -> None:
        super().__init__(question_id=question_id)


class WrongAnswerKind(AnswerError):
    """Option codes sent to a text question (a forged or stale button)."""

    key = "error.answer.wrong_kind"
    template = "{question_id} expects {expected}"

    def __init__(self, *, question_id: str, expected: str) -> None:
        self.expected = expected
        super().__init__(question_id=question_id, expected=expected)


class NotFound(PulsoError):
    """Something asked for by id does not exist."""

    key = "error.not_found"
    template = "{id} not found"

    def __init__(self, id: str) -> None:
        self.id = id
        super().__init__(id=id)


class UnknownCommitment(NotFound):
    """No commitment with that id in the action plan."""

    key = "error.not_found.commitment"
    template = "no commitment {id} in the action plan"


class UnknownQuestion(NotFound):
    """No question with that id in the instrument (for that role)."""

    key = "error.not_found.question"
    template = "no question {id} in the instrument"


class UnknownInstrument(NotFound):
    """No instrument (survey) with that id."""

    key = "error.not_found.instrument"
    template = "no instrument {id}"


class InviteError(PulsoError):
    """An invite that cannot be used; the person is told why and what to do."""

    key = "error.invite.invalid"
    template = "the invite cannot be used"


class UnknownInvite(InviteError):
    """No invite with that token (or its commitment left the plan)."""

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

    def __init__(self, *, max_uses: int) -> None:
        super().__init__(max_uses=max_uses)


class BadInviteDays(InviteArgumentError):
    key = "error.invite_request.days"
    template = "days must be a whole number from 1 to {max_days}"

    def __init__(self, *, max_days: int) -> None:
        super().__init__(max_days=max_days)


# --- rounds (surveys.rounds) ------------------------------------------------------------


class RoundSpecError(PulsoError):
    """What an admin typed does not describe a round."""

    key = "error.round.spec"
    template = "the round is not described correctly"


class BadOpens(RoundSpecError):
    key = "error.round.opens"
    template = "the opening must be now or YYYY-MM-DD HH:MM"


class OpensInPast(RoundSpecError):
    key = "error.round.opens_past"
    template = "the opening {when} has already passed"

    def __init__(self, *, when: str) -> None:
        super().__init__(when=when)


class BadDuration(RoundSpecError):
    key = "error.round.duration"
    template = "a duration like 7d, 36h or 90m, from {min} to {max}"

    def __init__(self, *, min: str, max: str) -> None:
        super().__init__(min=min, max=max)


class BadCommitmentList(RoundSpecError):
    key = "error.round.commitments"
    template = "commitments must be all or a comma list of ids"


class BadRoles(RoundSpecError):
    key = "error.round.roles"
    template = "roles must be all, beneficiary, implementer or both separated by a comma"


class BadCron(RoundSpecError):
    key = "error.round.cron"
    template = "a five-field cron expression firing at most hourly"


class BadReminders(RoundSpecError):
    key = "error.round.reminders"
    template = "reminders must be none or up to {max} offsets like 48h,-24h"

    def __init__(self, *, max: int) -> None:
        super().__init__(max=max)


class BadQuietHours(RoundSpecError):
    key = "error.round.quiet_hours"
    template = "quiet hours must be HH:MM-HH:MM or off"


class BadOption(RoundSpecError):
    key = "error.round.option"
    template = "options are reminders=…, quiet=… and results=on|off"


class BadResultsOption(RoundSpecError):
    key = "error.round.results"
    template = "results must be on or off"


class NothingToSurvey(RoundSpecError):
    key = "error.round.no_commitments"
    template = "the action plan has no commitments yet: import one first"


class RoundStateError(PulsoError):
    """The round is not in a state that allows the action (e.g. closing a cancelled round)."""

    key = "error.round.state"
    template = "round {round} is {status}: it cannot {action}"

    def __init__(self, *, round: int, status: str, action: str) -> None:
        super().__init__(round=round, status=status, action=action)


class UnknownRound(NotFound):
    key = "error.not_found.round"
    template = "no round {id}"


class UnknownSchedule(NotFound):
    key = "error.not_found.schedule"
    template = "no recurring schedule {id}"


# --- results (surveys.aggregation) --------------------------------------------------------


class NoRoundYet(PulsoError):
    """No round has closed yet, so there is nothing to summarise."""

    key = "error.insights.no_round"
    template = "no round has closed yet"


class RoundNotOpened(PulsoError):
    """The round has not opened yet: it has no results."""

    key = "error.insights.not_opened"
    template = "round {round_id} has not opened yet"

    def __init__(self, *, round_id: int) -> None:
        super().__init__(round_id=round_id)


class RoundStillOpen(PulsoError):
    """The round is still open: what people answered is published when it closes."""

    key = "error.insights.still_open"
    template = "round {round_id} is still open: its results are published when it closes"

    def __init__(self, *, round_id: int) -> None:
        super().__init__(round_id=round_id)


class RoundCancelled(PulsoError):
    """The round was cancelled: its results are not published."""

    key = "error.insights.cancelled"
    template = "round {round_id} was cancelled"

    def __init__(self, *, round_id: int) -> None:
        super().__init__(round_id=round_id)


# --- the government's replies (surveys.accountability) ------------------------------------


class ReplyError(PulsoError):
    """A reply to a round's results cannot take this input; nothing was saved."""

    key = "error.reply.generic"
    template = "the reply cannot take this"


class ReplyStale(ReplyError):
    key = "error.reply.stale"
    template = "this button is for another step of the reply"


class ReplyUseButtons(ReplyError):
    key = "error.reply.use_buttons"
    template = "choose a stance with the buttons first"


class ReplyEmpty(ReplyError):
    key = "error.reply.empty"
    template = "the text is empty"


class ReplyTooLong(ReplyError):
    key = "error.reply.too_long"
    template = "the text has {length} characters; at most {limit} fit"

    def __init__(self, *, length: int, limit: int) -> None:
        super().__init__(length=length, limit=limit)


class ReplyBadDate(ReplyError):
    key = "error.reply.bad_date"
    template = "a date is written YYYY-MM-DD"


class ReplyDateRange(ReplyError):
    key = "error.reply.date_range"
    template = "the date must be after today and within two years"


class ReplyNotYours(ReplyError):
    key = "error.reply.not_yours"
    template = "only the commitment's responsible people may answer this"


class ReplyAlreadyPublished(ReplyError):
    key = "error.reply.published"
    template = "this reply is already published"


class ReplyIncomplete(ReplyError):
    key = "error.reply.incomplete"
    template = "every subject needs a stance and its text before publishing"
