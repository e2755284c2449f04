"""Parsing the round commands' arguments (handlers/rounds.py), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.rounds import parse_id, parse_newround, parse_schedule
from surveys.errors import (
    BadCommitmentList,
    BadDuration,
    BadOpens,
    BadOption,
    BadQuietHours,
    BadReminders,
    BadResultsOption,
    BadRoles,
)

MX = ZoneInfo("America/Mexico_City")
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def test_a_full_newround() -> None:
    request = parse_newround(
        [
            "PULSE",
            "JAL0004,jal0001",
            "beneficiary",
            "2026-03-05",
            "09:00",
            "36h",
            "reminders=none",
        ],
        now=NOW,
        tz=MX,
    )
    assert request is not None
    assert request.instrument_id == "pulse"
    assert request.commitment_ids == ("JAL0001", "JAL0004")
    assert request.roles == ("beneficiary",)
    assert request.opens_at == datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    assert request.duration == timedelta(hours=36)
    assert request.reminder_offsets == ()
    assert request.quiet_hours is None
    assert request.send_results is True


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        pytest.param("results=off", False, id="off"),
        pytest.param("results=no", False, id="no"),
        pytest.param("results=on", True, id="on"),
        pytest.param("results=sí", True, id="si"),
    ],
)
def test_results_can_be_kept_from_respondents(option: str, expected: bool) -> None:
    request = parse_newround(["pulse", "all", "all", "now", "7d", option], now=NOW, tz=MX)
    assert request is not None
    assert request.send_results is expected


def test_now_and_every_commitment() -> None:
    request = parse_newround(["pulse", "all", "all", "now", "7d", "quiet=off"], now=NOW, tz=MX)
    assert request is not None
    assert (request.commitment_ids, request.opens_at, request.quiet_hours) == (None, NOW, "off")
    assert request.roles == ("beneficiary", "implementer")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="nothing"),
        pytest.param(["pulse", "all", "all", "now"], id="four"),
        pytest.param(["pulse", "all", "all", "2026-03-05", "09:00", "7d", "x"], id="seven"),
    ],
)
def test_the_wrong_number_of_arguments_is_none(args: list[str]) -> None:
    assert parse_newround(args, now=NOW, tz=MX) is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(["pulse", "JAL 1", "all", "now", "7d"], BadCommitmentList, id="commitments"),
        pytest.param(["pulse", "all", "staff", "now", "7d"], BadRoles, id="roles"),
        pytest.param(["pulse", "all", "all", "later", "7d"], BadOpens, id="opens"),
        pytest.param(["pulse", "all", "all", "now", "forever"], BadDuration, id="duration"),
        pytest.param(["pulse", "all", "all", "now", "7d", "colour=red"], BadOption, id="option"),
        pytest.param(
            ["pulse", "all", "all", "now", "7d", "results=maybe"], BadResultsOption, id="results"
        ),
        pytest.param(["pulse", "all", "all", "now", "7d", "reminders=x"], BadReminders, id="rem"),
        pytest.param(["pulse", "all", "all", "now", "7d", "quiet=8-9"], BadQuietHours, id="quiet"),
        pytest.param(
            ["pulse", "JAL 1", "staff", "later", "x"], BadCommitmentList, id="first-wins"
        ),
    ],
)
def test_the_first_thing_wrong_is_raised(args: list[str], error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_newround(args, now=NOW, tz=MX)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '/schedule pulse all all "0 9 * * mon" 7d',
            ("pulse", "all", "all", "0 9 * * mon", "7d"),
            id="quoted",
        ),
        pytest.param(
            "/schedule pulse all all 0 9 1 * * 7d",
            ("pulse", "all", "all", "0 9 1 * *", "7d"),
            id="bare-fields",
        ),
        pytest.param('/schedule pulse all "0 9 * * mon" 7d', None, id="too-few"),
        pytest.param('/schedule pulse all all "0 9 * * mon 7d', None, id="unbalanced-quote"),
    ],
)
def test_schedule_arguments(text: str, expected: tuple[str, ...] | None) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["12"], 12, id="id"),
        pytest.param(["#12"], 12, id="hash"),
        pytest.param(["0"], None, id="zero"),
        pytest.param(["x"], None, id="word"),
        pytest.param(["1", "2"], None, id="two"),
        pytest.param([], None, id="none"),
    ],
)
def test_ids(args: list[str], expected: int | None) -> None:
    assert parse_id(args) == expected
