"""Closing the loop: the government's public answer to a round, and whether it kept its word.

When a round closes, each commitment's responsible people (the implementing
agency's contacts) are asked to answer its published results within
``RESPONSE_DAYS``. An answer (a *reply*) takes a stance on each subject the
results raised — the flagged reality gap and the main themes —::

    subject ──stance──▶ act ──what──▶ by when (a date) ──▶ next subject
                     ├▶ done ──what was done──────────▶ next subject
                     └▶ impossible ──why──────────────▶ next subject
    after the last subject: review ──publish──▶ published (on time or late)

Every step is saved as it is taken: a reply is a draft until it is published.
A *promise* is a subject answered "we will act … by <date>"; the first round of
the commitment that opens after that date asks its beneficiaries whether it
happened (yes / partly / no / don't know), and :func:`promise_outcome` turns
their answers into kept, partly kept or broken — suppressed under
``MIN_GROUP_SIZE``, like every published figure. :func:`responsiveness` says
whether a round got its answer on time, late or never.

Pure values; ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal

from surveys.errors import (
    ReplyBadDate,
    ReplyDateRange,
    ReplyEmpty,
    ReplyStale,
    ReplyTooLong,
    ReplyUseButtons,
)

#: How long a reply text may be (one Telegram message with room for the rest).
MAX_REPLY_TEXT: Final = 600
#: At most this many of a commitment's themes are put to the responsible people.
MAX_THEMES: Final = 3
#: Reminders to answer, this long before the deadline (kept only after the request).
REMINDER_LEADS: Final = (timedelta(days=3), timedelta(days=1))


class Stance(StrEnum):
    ACT = "act"  # we will act: what, and by when
    DONE = "done"  # already done: what was done
    IMPOSSIBLE = "no"  # not possible: why


class PromiseAnswer(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"
    UNKNOWN = "unknown"  # don't know


class Outcome(StrEnum):
    KEPT = "kept"
    PARTLY = "partly"
    BROKEN = "broken"


Step = Literal["stance", "what", "when", "review"]
Timeliness = Literal["pending", "on_time", "late", "never"]


@dataclass(frozen=True, slots=True)
class Subject:
    """What a reply answers: the flagged gap, a theme (its words), or the results at large."""

    kind: Literal["gap", "theme", "general"]
    term: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One subject and the stance taken on it (None until chosen)."""

    subject: Subject
    stance: Stance | None = None
    text: str = ""  # what will be done, what was done, or why not
    by: date | None = None  # the promised date (stance ACT)

    @property
    def complete(self) -> bool:
        if self.stance is None or not self.text:
            return False
        return self.stance is not Stance.ACT or self.by is not None


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply being written: its items and where the writer is."""

    items: tuple[Item, ...]
    cursor: int = 0
    step: Step = "stance"

    @property
    def ready(self) -> bool:
        return all(item.complete for item in self.items)

    @property
    def current(self) -> Item | None:
        return self.items[self.cursor] if self.step != "review" else None

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "step": self.step,
            "items": [
                {
                    "kind": i.subject.kind,
                    "term": i.subject.term,
                    "stance": i.stance.value if i.stance else None,
                    "text": i.text,
                    "by": i.by.isoformat() if i.by else None,
                }
                for i in self.items
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Draft:
        items = tuple(
            Item(
                Subject(i["kind"], i.get("term", "")),
                Stance(i["stance"]) if i.get("stance") else None,
                i.get("text", ""),
                date.fromisoformat(i["by"]) if i.get("by") else None,
            )
            for i in data["items"]
        )
        return cls(items, int(data.get("cursor", 0)), data.get("step", "stance"))


def subjects(*, flagged: bool, themes: Sequence[str]) -> tuple[Subject, ...]:
    """What a commitment's reply must answer: the flagged gap first, then the main themes
    (at most :data:`MAX_THEMES`); the results at large when there is neither."""
    found = [Subject("gap")] if flagged else []
    found += [Subject("theme", term) for term in list(dict.fromkeys(themes))[:MAX_THEMES]]
    return tuple(found) or (Subject("general"),)


def new_draft(found: Sequence[Subject]) -> Draft:
    return Draft(tuple(Item(subject) for subject in found))


def choose_stance(draft: Draft, item: int, stance: Stance) -> Draft:
    """A stance for the subject in front of the writer (or, in review, any subject: it is
    then asked again from its text)."""
    if not 0 <= item < len(draft.items):
        raise ReplyStale()
    if draft.step != "review" and item != draft.cursor:
        raise ReplyStale()
    items = list(draft.items)
    items[item] = Item(items[item].subject, stance)
    return Draft(tuple(items), item, "what")


def write_text(draft: Draft, text: str, *, today: date) -> Draft:
    """The text the current step asks for: what/why, or the promised date."""
    current = draft.current
    if current is None or draft.step == "stance":
        raise ReplyUseButtons()
    text = " ".join(text.split())
    items = list(draft.items)
    if draft.step == "what":
        if not text:
            raise ReplyEmpty()
        if len(text) > MAX_REPLY_TEXT:
            raise ReplyTooLong(length=len(text), limit=MAX_REPLY_TEXT)
        items[draft.cursor] = replace(current, text=text)
        if current.stance is Stance.ACT:
            return Draft(tuple(items), draft.cursor, "when")
        return _next(Draft(tuple(items), draft.cursor, draft.step))
    by = parse_promise_date(text, today=today)
    items[draft.cursor] = replace(current, by=by)
    return _next(Draft(tuple(items), draft.cursor, draft.step))


def _next(draft: Draft) -> Draft:
    """The first subject still incomplete, or the review."""
    for index, item in enumerate(draft.items):
        if not item.complete:
            return Draft(draft.items, index, "stance" if item.stance is None else "what")
    return Draft(draft.items, draft.cursor, "review")


def parse_promise_date(text: str, *, today: date) -> date:
    """``YYYY-MM-DD``, after today and within two years."""
    try:
        found = date.fromisoformat(text.strip())
    except ValueError:
        raise ReplyBadDate() from None
    if found <= today or found > today + timedelta(days=731):
        raise ReplyDateRange()
    return found


def reminder_moments(requested_at: datetime, due_at: datetime) -> tuple[datetime, ...]:
    """When to remind the responsible people: :data:`REMINDER_LEADS` before the deadline,
    only those after the request."""
    return tuple(m for lead in REMINDER_LEADS if (m := due_at - lead) > requested_at)


def timeliness(*, due_at: datetime, published_at: datetime | None, now: datetime) -> Timeliness:
    """Whether a round got its answer: on time, late, never (deadline passed, none yet), or
    it is still pending (deadline ahead)."""
    if published_at is not None:
        return "on_time" if published_at <= due_at else "late"
    return "never" if now >= due_at else "pending"


@dataclass(frozen=True, slots=True)
class PromiseTally:
    """Beneficiaries' answers to "did it happen?" about one promise, in people."""

    yes: int = 0
    partly: int = 0
    no: int = 0
    unknown: int = 0

    @property
    def judged(self) -> int:
        """People who said yes, partly or no (a "don't know" judges nothing)."""
        return self.yes + self.partly + self.no


def promise_outcome(tally: PromiseTally, *, min_group_size: int) -> Outcome | None:
    """Kept, partly kept or broken; None when fewer than ``min_group_size`` people judged
    it (suppressed, like every figure). The score is yes 100, partly 50, no 0: two thirds
    or more is kept, a third or less broken, between is partly kept."""
    if tally.judged < min_group_size:
        return None
    score = (100 * tally.yes + 50 * tally.partly) / tally.judged
    if score >= 200 / 3:
        return Outcome.KEPT
    if score <= 100 / 3:
        return Outcome.BROKEN
    return Outcome.PARTLY


def promise_due(item: Item, *, today: date) -> bool:
    """A promise whose date has passed: the next round asks about it."""
    return item.stance is Stance.ACT and item.by is not None and item.by <= today
