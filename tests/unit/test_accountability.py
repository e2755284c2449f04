"""The rules of the government's replies (surveys.accountability): subjects, the writing
steps, promised dates, reminders, timeliness and promise outcomes. ``now`` passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from surveys.accountability import (
    MAX_THEMES,
    Draft,
    Outcome,
    PromiseTally,
    Stance,
    Subject,
    choose_stance,
    new_draft,
    promise_due,
    promise_outcome,
    reminder_moments,
    subjects,
    timeliness,
    write_text,
)
from surveys.errors import (
    ReplyBadDate,
    ReplyDateRange,
    ReplyEmpty,
    ReplyStale,
    ReplyTooLong,
    ReplyUseButtons,
)

TODAY = date(2026, 3, 5)
NOW = datetime(2026, 3, 5, 16, 0, tzinfo=UTC)


def test_the_flagged_gap_comes_first_then_the_main_themes() -> None:
    found = subjects(flagged=True, themes=["agua potable", "agua", "agua potable", "luz", "x"])
    assert found[0] == Subject("gap")
    assert [s.term for s in found[1:]] == ["agua potable", "agua", "luz"][:MAX_THEMES]
    assert subjects(flagged=False, themes=[]) == (Subject("general"),)


def test_a_reply_is_written_step_by_step_and_survives_json() -> None:
    draft = new_draft(subjects(flagged=True, themes=["agua"]))
    draft = choose_stance(draft, 0, Stance.ACT)
    assert draft.step == "what"
    draft = write_text(draft, "  Instalaremos   tomas ", today=TODAY)
    assert (draft.step, draft.items[0].text) == ("when", "Instalaremos tomas")
    draft = write_text(draft, "2026-03-20", today=TODAY)
    assert (draft.cursor, draft.step) == (1, "stance")
    draft = choose_stance(draft, 1, Stance.IMPOSSIBLE)
    draft = write_text(draft, "No hay presupuesto", today=TODAY)
    assert draft.step == "review"
    assert draft.ready
    assert Draft.from_json(draft.to_json()) == draft
    assert promise_due(draft.items[0], today=date(2026, 3, 20))
    assert not promise_due(draft.items[0], today=date(2026, 3, 19))
    assert not promise_due(draft.items[1], today=date(2027, 1, 1))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("2026-02-30", ReplyBadDate, id="not-a-date"),
        pytest.param("mañana", ReplyBadDate, id="words"),
        pytest.param("2026-03-05", ReplyDateRange, id="today"),
        pytest.param("2029-01-01", ReplyDateRange, id="too-far"),
    ],
)
def test_a_promised_date_must_be_a_future_date(text: str, error: type[Exception]) -> None:
    draft = write_text(choose_stance(new_draft([Subject("gap")]), 0, Stance.ACT), "x", today=TODAY)
    with pytest.raises(error):
        write_text(draft, text, today=TODAY)


def test_bad_input_is_refused() -> None:
    draft = new_draft([Subject("gap"), Subject("theme", "agua")])
    with pytest.raises(ReplyUseButtons):
        write_text(draft, "texto sin postura", today=TODAY)
    with pytest.raises(ReplyStale):
        choose_stance(draft, 1, Stance.DONE)  # not the subject in front of the writer
    with pytest.raises(ReplyStale):
        choose_stance(draft, 7, Stance.DONE)
    chosen = choose_stance(draft, 0, Stance.DONE)
    with pytest.raises(ReplyEmpty):
        write_text(chosen, "   ", today=TODAY)
    with pytest.raises(ReplyTooLong):
        write_text(chosen, "a" * 601, today=TODAY)


def test_reminders_before_the_deadline_only_after_the_request() -> None:
    due = NOW + timedelta(days=14)
    assert reminder_moments(NOW, due) == (due - timedelta(days=3), due - timedelta(days=1))
    assert reminder_moments(NOW, NOW + timedelta(days=2)) == (NOW + timedelta(days=1),)


@pytest.mark.parametrize(
    ("published", "now", "expected"),
    [
        pytest.param(None, NOW, "pending", id="before-the-deadline"),
        pytest.param(None, NOW + timedelta(days=1), "never", id="deadline-passed"),
        pytest.param(NOW, NOW + timedelta(days=9), "on_time", id="on-time"),
        pytest.param(NOW + timedelta(days=2), NOW, "late", id="late"),
    ],
)
def test_timeliness(published: datetime | None, now: datetime, expected: str) -> None:
    due = NOW + timedelta(days=1)
    assert timeliness(due_at=due, published_at=published, now=now) == expected


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        pytest.param(PromiseTally(3, 1, 0, 0), Outcome.KEPT, id="3-yes-1-partly"),
        pytest.param(PromiseTally(1, 2, 1, 5), Outcome.PARTLY, id="mixed"),
        pytest.param(PromiseTally(0, 1, 3, 0), Outcome.BROKEN, id="mostly-no"),
        pytest.param(PromiseTally(2, 0, 0, 9), None, id="dont-know-judges-nothing"),
    ],
)
def test_promise_outcome_is_suppressed_under_the_group_size(
    tally: PromiseTally, expected: Outcome | None
) -> None:
    assert promise_outcome(tally, min_group_size=3) == expected
