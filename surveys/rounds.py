"""Round arithmetic: parsing what an admin types, reminder moments, quiet hours, the state machine.

Everything here is pure: values in, values out, ``now`` and the time zone
passed in. :mod:`bot.rounds.service` calls these functions with the clock's ``now``
and ``TIMEZONE``; the handlers and the command line call the parsers.

A round moves ``scheduled → open → closed``, or ``scheduled|open → cancelled``
(:data:`TRANSITIONS`); the database makes each move a compare-and-set, and
:func:`check_transition` explains to a person why a move is impossible.

The errors raised here (``RoundSpecError`` and its kinds, ``RoundStateError``,
``UnknownRound``, ``UnknownSchedule``) live in the one error tree,
:mod:`surveys.errors`; they carry ids and limits, never the text typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from surveys.errors import (
    BadCommitmentList,
    BadCron,
    BadDuration,
    BadOpens,
    BadQuietHours,
    BadReminders,
    BadResultsOption,
    BadRoles,
    OpensInPast,
    RoundStateError,
)
from surveys.instruments import Role

RoundStatus = Literal["scheduled", "open", "closed", "cancelled"]
RoundAction = Literal["open", "close", "cancel"]

#: The statuses each target status may be reached from.
TRANSITIONS: Mapping[RoundStatus, frozenset[RoundStatus]] = {
    "open": frozenset({"scheduled"}),
    "closed": frozenset({"open"}),
    "cancelled": frozenset({"scheduled", "open"}),
}
ACTION_TARGET: Mapping[RoundAction, RoundStatus] = {
    "open": "open",
    "close": "closed",
    "cancel": "cancelled",
}

MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(days=90)
#: A recurring schedule may not fire more often than this (a typo like "* * * * *"
#: would otherwise create a round a minute).
MIN_CRON_INTERVAL = timedelta(hours=1)
MAX_REMINDERS = 3
#: Default: one reminder 48 h after opening, one 24 h before closing.
DEFAULT_REMINDER_OFFSETS: tuple[timedelta, ...] = (timedelta(hours=48), -timedelta(hours=24))
#: Two reminders closer than this are one reminder.
REMINDER_MIN_GAP = timedelta(hours=1)
#: "now" tolerates a moment typed a little late (the admin's clock, slow typing).
PAST_TOLERANCE = timedelta(minutes=5)
LOCAL_FORMAT = "%Y-%m-%d %H:%M"

_DURATION = re.compile(r"^(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,6})m)?$")
_OFFSET = re.compile(r"^(-?)(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,6})m)?$")
_COMMITMENT_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_ROLE_WORDS: Mapping[str, Role] = {
    "beneficiary": Role.BENEFICIARY,
    "beneficiaries": Role.BENEFICIARY,
    "beneficiaria": Role.BENEFICIARY,
    "beneficiarias": Role.BENEFICIARY,
    "implementer": Role.IMPLEMENTER,
    "implementers": Role.IMPLEMENTER,
    "implementadora": Role.IMPLEMENTER,
    "implementadoras": Role.IMPLEMENTER,
}


def parse_switch(text: str) -> bool:
    """``on``/``off`` (also yes/no, sí/no, true/false) → bool; raises BadResultsOption."""
    value = text.strip().lower()
    if value in {"on", "yes", "si", "sí", "true", "1"}:
        return True
    if value in {"off", "no", "false", "0"}:
        return False
    raise BadResultsOption()


# --- the state machine --------------------------------------------------------------------


def can_transition(status: RoundStatus, to: RoundStatus) -> bool:
    return status in TRANSITIONS.get(to, frozenset())


def check_transition(round_id: int, status: RoundStatus, action: RoundAction) -> RoundStatus:
    """The status ``action`` leads to; :class:`RoundStateError` if ``status`` does not allow it."""
    target = ACTION_TARGET[action]
    if not can_transition(status, target):
        raise RoundStateError(round=round_id, status=status, action=action)
    return target


# --- parsing what an admin types ----------------------------------------------------------


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """``YYYY-MM-DD HH:MM`` in ``tz`` → an aware UTC instant; :class:`BadOpens` otherwise.

    A wall time skipped by a daylight-saving jump is read with the offset before
    the jump (zoneinfo's ``fold=0``), i.e. as the moment an hour later on the new
    clock; an ambiguous one (the repeated hour) as its first occurrence.
    """
    match = _LOCAL.match(text.strip())
    if match is None:
        raise BadOpens()
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise BadOpens() from None
    return local.astimezone(UTC)


def parse_opens(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """``now`` or ``YYYY-MM-DD HH:MM`` (local) → an aware UTC instant, not in the past."""
    if text.strip().lower() in ("now", "ahora"):
        return now
    opens = parse_local(text, tz)
    if opens < now - PAST_TOLERANCE:
        raise OpensInPast(when=local_text(opens, tz))
    return max(opens, now)


def _span(days: str | None, hours: str | None, minutes: str | None) -> timedelta:
    return timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0))


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``90m`` or combinations like ``1d12h`` → a timedelta in range."""
    match = _DURATION.match(text.strip().lower())
    if match is None or not any(match.groups()):
        raise BadDuration(min="10m", max=f"{MAX_DURATION.days}d")
    duration = _span(*match.groups())
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise BadDuration(min="10m", max=f"{MAX_DURATION.days}d")
    return duration


def format_duration(duration: timedelta) -> str:
    """The inverse of :func:`parse_duration` (``timedelta(hours=36)`` → ``1d12h``)."""
    minutes = int(duration.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or "0m"


def parse_commitments(text: str) -> tuple[str, ...] | None:
    """``all`` → None (every commitment); ``JAL0001,JAL0004`` → sorted ids."""
    cleaned = text.strip()
    if cleaned.lower() in ("all", "todos", "todas", "*"):
        return None
    ids = [part.strip().upper() for part in cleaned.split(",")]
    if not ids or any(not _COMMITMENT_ID.match(i) for i in ids):
        raise BadCommitmentList()
    return tuple(sorted(set(ids)))


def parse_roles(text: str) -> tuple[Role, ...]:
    """``all``/``both`` → both roles; ``beneficiary``, ``implementer`` or a comma list."""
    cleaned = text.strip().lower()
    if cleaned in ("all", "both", "todos", "ambos", "*"):
        return tuple(sorted(Role))
    roles: set[Role] = set()
    for part in cleaned.split(","):
        role = _ROLE_WORDS.get(part.strip())
        if role is None:
            raise BadRoles()
        roles.add(role)
    return tuple(sorted(roles))


def parse_cron(expression: str, tz: ZoneInfo) -> CronTrigger:
    """A five-field crontab expression (minute hour day month weekday) in ``tz``."""
    try:
        return CronTrigger.from_crontab(expression.strip(), timezone=tz)
    except (ValueError, TypeError, KeyError):
        raise BadCron() from None


def next_fire(expression: str, tz: ZoneInfo, *, after: datetime) -> datetime:
    """The first firing of ``expression`` strictly after ``after``, as an aware UTC instant."""
    trigger = parse_cron(expression, tz)
    found = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    if found is None:
        raise BadCron()
    result: datetime = found.astimezone(UTC)
    return result


def check_cron(expression: str, tz: ZoneInfo, *, now: datetime) -> datetime:
    """Validate a schedule's cron (fires, at most hourly); returns its first firing."""
    first = next_fire(expression, tz, after=now)
    moment = first
    # A cron can be irregular (e.g. "0 9,10 * * *"): check a few consecutive gaps.
    for _ in range(6):
        following = next_fire(expression, tz, after=moment)
        if following - moment < MIN_CRON_INTERVAL:
            raise BadCron()
        moment = following
    return first


def parse_reminder_offsets(text: str) -> tuple[timedelta, ...]:
    """``none`` → no reminders; ``48h,-24h`` → after opening / before closing (at most 3)."""
    cleaned = text.strip().lower()
    if cleaned in ("none", "off", "no", "ninguno"):
        return ()
    offsets: list[timedelta] = []
    for part in cleaned.split(","):
        match = _OFFSET.match(part.strip())
        if match is None or not any(match.groups()[1:]):
            raise BadReminders(max=MAX_REMINDERS)
        sign, *amounts = match.groups()
        offset = _span(*amounts)
        if offset <= timedelta(0):
            raise BadReminders(max=MAX_REMINDERS)
        offsets.append(-offset if sign else offset)
    if len(offsets) > MAX_REMINDERS:
        raise BadReminders(max=MAX_REMINDERS)
    return tuple(offsets)


def reminder_times(
    opens_at: datetime,
    closes_at: datetime,
    offsets: Sequence[timedelta] = DEFAULT_REMINDER_OFFSETS,
) -> tuple[datetime, ...]:
    """When to remind non-completers: each offset from the opening (positive) or before the
    closing (negative), kept only strictly inside the round, at least
    :data:`REMINDER_MIN_GAP` apart, sorted, at most :data:`MAX_REMINDERS`."""
    moments = sorted(
        (opens_at + offset) if offset > timedelta(0) else (closes_at + offset)
        for offset in offsets
        if offset != timedelta(0)
    )
    kept: list[datetime] = []
    for moment in moments:
        if not opens_at < moment < closes_at:
            continue
        if kept and moment - kept[-1] < REMINDER_MIN_GAP:
            continue
        kept.append(moment)
    return tuple(kept[:MAX_REMINDERS])


def settle_overdue(positions: Iterable[int]) -> tuple[int | None, tuple[int, ...]]:
    """Of one round's reminders that are all due now, send only the latest; skip the rest.

    A bot that was down through two reminder moments sends one reminder, not two
    in a row. Returns ``(position to send, positions to skip)``.
    """
    ordered = sorted(set(positions))
    if not ordered:
        return None, ()
    return ordered[-1], tuple(ordered[:-1])


# --- quiet hours --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily local window (minutes after midnight) when nobody is written to.

    ``start > end`` means the window crosses midnight (21:00–08:00).
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < 1440 and 0 <= self.end < 1440) or self.start == self.end:
            raise BadQuietHours()

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    def contains(self, minute_of_day: int) -> bool:
        if self.start < self.end:
            return self.start <= minute_of_day < self.end
        return minute_of_day >= self.start or minute_of_day < self.end

    def next_allowed(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """``instant`` itself if it is outside the window, else the window's end (UTC).

        Wall-clock arithmetic in ``tz`` (zoneinfo), so a daylight-saving change in
        the night moves the UTC answer, not the local 08:00.
        """
        local = instant.astimezone(tz)
        minute = local.hour * 60 + local.minute
        if not self.contains(minute):
            return instant
        day: date = local.date()
        if self.start >= self.end and minute >= self.start:
            day += timedelta(days=1)  # in the evening part: the window ends tomorrow
        end = datetime.combine(day, time(self.end // 60, self.end % 60), tzinfo=tz)
        return max(end.astimezone(UTC), instant)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minute_of(text: str) -> int:
    match = _HHMM.match(text.strip())
    if match is None:
        raise BadQuietHours()
    hours, minutes = int(match.group(1)), int(match.group(2))
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise BadQuietHours()
    return hours * 60 + minutes


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``21:00-08:00`` → a window; ``off`` → None."""
    cleaned = text.strip().lower()
    if cleaned in ("off", "none", "no"):
        return None
    start, sep, end = cleaned.partition("-")
    if not sep:
        raise BadQuietHours()
    return QuietHours(_minute_of(start), _minute_of(end))


def not_before(instant: datetime, quiet: QuietHours | None, tz: ZoneInfo) -> datetime:
    """When a message due at ``instant`` may go out, given quiet hours (None: at once)."""
    return instant if quiet is None else quiet.next_allowed(instant, tz)


# --- presentation helpers -----------------------------------------------------------------


def local_text(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as ``YYYY-MM-DD HH:MM`` on the wall clock of ``tz``."""
    return instant.astimezone(tz).strftime(LOCAL_FORMAT)


@dataclass(frozen=True, slots=True)
class Progress:
    """A round's live counts, as /rounds and the command line show them."""

    targeted: int = 0
    delivered: int = 0
    started: int = 0
    completed: int = 0
    failed: int = 0
    unreachable: int = 0
    waiting: int = 0


def progress_of(responses: Mapping[str, int], outbox: Mapping[tuple[str, str], int]) -> Progress:
    """Combine response counts (targeted/started/completed) with the invitations' outcomes."""
    return Progress(
        targeted=responses.get("targeted", 0),
        delivered=outbox.get(("invitation", "sent"), 0),
        started=responses.get("started", 0),
        completed=responses.get("completed", 0),
        failed=outbox.get(("invitation", "failed"), 0),
        unreachable=outbox.get(("invitation", "unreachable"), 0),
        waiting=outbox.get(("invitation", "pending"), 0)
        + outbox.get(("invitation", "sending"), 0),
    )
