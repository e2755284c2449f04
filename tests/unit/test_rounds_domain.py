"""Round arithmetic (surveys/rounds.py): parsers, reminders, quiet hours, the state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.errors import (
    BadCommitmentList,
    BadCron,
    BadDuration,
    BadOpens,
    BadQuietHours,
    BadReminders,
    BadRoles,
    OpensInPast,
    RoundStateError,
)
from surveys.instruments import Role
from surveys.rounds import (
    QuietHours,
    check_cron,
    check_transition,
    format_duration,
    local_text,
    next_fire,
    not_before,
    parse_commitments,
    parse_duration,
    parse_local,
    parse_opens,
    parse_quiet_hours,
    parse_reminder_offsets,
    parse_roles,
    progress_of,
    reminder_times,
    settle_overdue,
)

MX = ZoneInfo("America/Mexico_City")
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 10:00 in Mexico City
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("7d", timedelta(days=7), id="days"),
        pytest.param("36h", timedelta(hours=36), id="hours"),
        pytest.param("90m", timedelta(minutes=90), id="minutes"),
        pytest.param("1d12h", timedelta(hours=36), id="combined"),
        pytest.param(" 2D ", timedelta(days=2), id="case-and-space"),
        pytest.param("90d", timedelta(days=90), id="longest"),
        pytest.param("10m", timedelta(minutes=10), id="shortest"),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("7", id="no-unit"),
        pytest.param("7w", id="weeks"),
        pytest.param("-1d", id="negative"),
        pytest.param("5m", id="too-short"),
        pytest.param("91d", id="too-long"),
        pytest.param("h", id="unit-only"),
    ],
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadDuration):
        parse_duration(text)


def test_opens_now_is_now() -> None:
    assert parse_opens("now", now=NOW, tz=MX) == NOW
    assert parse_opens("AHORA", now=NOW, tz=MX) == NOW


def test_opens_is_local_time() -> None:
    assert parse_opens("2026-03-05 09:00", now=NOW, tz=MX) == datetime(
        2026, 3, 5, 15, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("tomorrow", BadOpens, id="words"),
        pytest.param("2026-02-30 09:00", BadOpens, id="no-such-day"),
        pytest.param("2026-03-05 24:00", BadOpens, id="no-such-hour"),
        pytest.param("2026-03-01 09:00", OpensInPast, id="past"),
    ],
)
def test_bad_openings(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_opens(text, now=NOW, tz=MX)


def test_a_moment_typed_a_little_late_is_now() -> None:
    assert parse_opens("2026-03-02 09:58", now=NOW, tz=MX) == NOW


def test_a_skipped_wall_time_is_read_after_the_jump() -> None:
    # 02:30 does not exist in New York on 2026-03-08; fold=0 reads it as 03:30 EDT.
    assert parse_local("2026-03-08 02:30", NY) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("all", None, id="all"),
        pytest.param("jal0001", ("JAL0001",), id="one-lowercase"),
        pytest.param("JAL0004, JAL0001,JAL0004", ("JAL0001", "JAL0004"), id="list-deduped"),
    ],
)
def test_commitment_lists(text: str, expected: tuple[str, ...] | None) -> None:
    assert parse_commitments(text) == expected


@pytest.mark.parametrize("text", ["", "JAL0001,,JAL0002", "JAL 1", "ñ"])
def test_bad_commitment_lists(text: str) -> None:
    with pytest.raises(BadCommitmentList):
        parse_commitments(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("all", (Role.BENEFICIARY, Role.IMPLEMENTER), id="all"),
        pytest.param("both", (Role.BENEFICIARY, Role.IMPLEMENTER), id="both"),
        pytest.param("beneficiary", (Role.BENEFICIARY,), id="one"),
        pytest.param("implementers,beneficiary", (Role.BENEFICIARY, Role.IMPLEMENTER), id="list"),
    ],
)
def test_roles(text: str, expected: tuple[Role, ...]) -> None:
    assert parse_roles(text) == expected


@pytest.mark.parametrize("text", ["", "admin", "beneficiary,", "secretariat"])
def test_bad_roles(text: str) -> None:
    with pytest.raises(BadRoles):
        parse_roles(text)


def test_default_reminders_48h_after_opening_and_24h_before_closing() -> None:
    closes = NOW + 7 * D
    assert reminder_times(NOW, closes) == (NOW + 48 * H, closes - 24 * H)


@pytest.mark.parametrize(
    ("duration", "expected_hours"),
    [
        pytest.param(3 * D, [48], id="both-fall-on-the-same-moment"),
        pytest.param(2 * D, [24], id="48h-is-the-close-itself"),
        pytest.param(20 * H, [], id="shorter-than-a-day"),
        pytest.param(49 * H, [25, 48], id="an-hour-apart-is-kept"),
    ],
)
def test_default_reminders_in_short_rounds(duration: timedelta, expected_hours: list[int]) -> None:
    assert reminder_times(NOW, NOW + duration) == tuple(NOW + h * H for h in expected_hours)


@given(
    duration=st.integers(min_value=10, max_value=90 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    offsets=st.lists(
        st.integers(min_value=-2000, max_value=2000)
        .filter(lambda m: m != 0)
        .map(lambda m: timedelta(minutes=m)),
        max_size=3,
    ),
)
def test_reminders_are_inside_the_round_sorted_and_few(
    duration: timedelta, offsets: list[timedelta]
) -> None:
    times = reminder_times(NOW, NOW + duration, offsets)
    assert len(times) <= 3
    assert list(times) == sorted(times)
    assert all(NOW < t < NOW + duration for t in times)
    assert all(b - a >= H for a, b in pairwise(times))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("none", (), id="none"),
        pytest.param("48h,-24h", (48 * H, -24 * H), id="default-spelled-out"),
        pytest.param("1d,2d,-12h", (D, 2 * D, -12 * H), id="three"),
    ],
)
def test_reminder_offsets(text: str, expected: tuple[timedelta, ...]) -> None:
    assert parse_reminder_offsets(text) == expected


@pytest.mark.parametrize("text", ["1d,2d,3d,4d", "soon", "-", "0h", ""])
def test_bad_reminder_offsets(text: str) -> None:
    with pytest.raises(BadReminders):
        parse_reminder_offsets(text)


@pytest.mark.parametrize(
    ("due", "send", "skip"),
    [
        pytest.param([], None, (), id="nothing"),
        pytest.param([1], 1, (), id="one"),
        pytest.param([2, 1, 3], 3, (1, 2), id="only-the-latest"),
    ],
)
def test_overdue_reminders_are_sent_once(
    due: list[int], send: int | None, skip: tuple[int, ...]
) -> None:
    assert settle_overdue(due) == (send, skip)


# --- quiet hours --------------------------------------------------------------------------

NIGHT = QuietHours(21 * 60, 8 * 60)


def mx(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=MX).astimezone(UTC)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param(mx(2, 10), mx(2, 10), id="day-passes"),
        pytest.param(mx(2, 20, 59), mx(2, 20, 59), id="just-before"),
        pytest.param(mx(2, 21), mx(3, 8), id="evening-waits-for-tomorrow"),
        pytest.param(mx(2, 23, 30), mx(3, 8), id="late-evening"),
        pytest.param(mx(3, 2), mx(3, 8), id="small-hours-wait-for-this-morning"),
        pytest.param(mx(3, 8), mx(3, 8), id="end-is-allowed"),
    ],
)
def test_quiet_hours_across_midnight(instant: datetime, expected: datetime) -> None:
    assert NIGHT.next_allowed(instant, MX) == expected


def test_quiet_hours_within_a_day() -> None:
    lunch = QuietHours(13 * 60, 15 * 60)
    assert lunch.next_allowed(mx(2, 14), MX) == mx(2, 15)
    assert lunch.next_allowed(mx(2, 16), MX) == mx(2, 16)


def test_quiet_hours_keep_the_local_morning_across_a_dst_change() -> None:
    # New York springs forward in the night of 2026-03-07 → 08: 08:00 is then UTC-4.
    evening = datetime(2026, 3, 7, 22, 0, tzinfo=NY).astimezone(UTC)
    morning = NIGHT.next_allowed(evening, NY)
    assert morning == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert morning.astimezone(NY).hour == 8


@given(
    start=st.integers(0, 1439),
    end=st.integers(0, 1439),
    instant=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from([MX, NY, ZoneInfo("Europe/Madrid"), ZoneInfo("UTC")]),
)
def test_next_allowed_is_never_earlier_and_never_quiet(
    start: int, end: int, instant: datetime, zone: ZoneInfo
) -> None:
    if start == end:
        return
    quiet = QuietHours(start, end)
    allowed = quiet.next_allowed(instant, zone)
    assert allowed >= instant
    assert allowed - instant <= timedelta(hours=25)
    local = allowed.astimezone(zone)
    # Outside the window, unless a DST gap swallowed the window's end itself.
    assert not quiet.contains(local.hour * 60 + local.minute) or allowed == instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("21:00-08:00", QuietHours(1260, 480), id="night"),
        pytest.param("off", None, id="off"),
        pytest.param(" 7:30-9:00 ", QuietHours(450, 540), id="short-hour"),
    ],
)
def test_quiet_hours_parse(text: str, expected: QuietHours | None) -> None:
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize("text", ["21-08", "21:00", "25:00-08:00", "08:00-08:00", "x"])
def test_bad_quiet_hours(text: str) -> None:
    with pytest.raises(BadQuietHours):
        parse_quiet_hours(text)


def test_not_before_without_quiet_hours_is_the_moment() -> None:
    assert not_before(mx(2, 23), None, MX) == mx(2, 23)
    assert not_before(mx(2, 23), NIGHT, MX) == mx(3, 8)


# --- cron and the state machine -----------------------------------------------------------


def test_cron_fires_in_local_time() -> None:
    # Mondays 09:00 in Mexico City; NOW is Monday 10:00 there, so next week.
    assert next_fire("0 9 * * mon", MX, after=NOW) == mx(9, 9)
    assert next_fire("0 9 * * mon", MX, after=mx(9, 9)) == mx(16, 9)


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("nonsense", id="words"),
        pytest.param("0 25 * * *", id="hour-25"),
        pytest.param("* * * * *", id="every-minute"),
        pytest.param("0,30 9 * * *", id="half-hourly"),
    ],
)
def test_bad_crons(expression: str) -> None:
    with pytest.raises(BadCron):
        check_cron(expression, MX, now=NOW)


def test_a_good_cron_returns_its_first_firing() -> None:
    assert check_cron("0 9 1 * *", MX, now=NOW) == mx(1, 9) + timedelta(days=31)


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        pytest.param("scheduled", "open", "open", id="open"),
        pytest.param("open", "close", "closed", id="close"),
        pytest.param("scheduled", "cancel", "cancelled", id="cancel-scheduled"),
        pytest.param("open", "cancel", "cancelled", id="cancel-open"),
    ],
)
def test_allowed_transitions(status, action, expected) -> None:
    assert check_transition(1, status, action) == expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        pytest.param("scheduled", "close", id="close-before-open"),
        pytest.param("closed", "cancel", id="cancel-closed"),
        pytest.param("cancelled", "open", id="reopen-cancelled"),
        pytest.param("closed", "open", id="reopen-closed"),
    ],
)
def test_refused_transitions(status, action) -> None:
    with pytest.raises(RoundStateError) as raised:
        check_transition(7, status, action)
    assert raised.value.params == {"round": 7, "status": status, "action": action}


def test_progress_combines_responses_and_invitations() -> None:
    progress = progress_of(
        {"targeted": 10, "started": 4, "completed": 3},
        {
            ("invitation", "sent"): 7,
            ("invitation", "failed"): 1,
            ("invitation", "unreachable"): 1,
            ("invitation", "pending"): 1,
            ("reminder", "sent"): 5,
        },
    )
    assert (progress.targeted, progress.delivered, progress.started, progress.completed) == (
        10,
        7,
        4,
        3,
    )
    assert (progress.failed, progress.unreachable, progress.waiting) == (1, 1, 1)


def test_local_text() -> None:
    assert local_text(mx(5, 9), MX) == "2026-03-05 09:00"
