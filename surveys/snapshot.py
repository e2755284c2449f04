"""What a round published when it closed, frozen: the counts every figure comes from.

A closed round's results never move (see ``docs/privacy.md``): when a round
closes, the counts that its summary, gap, trend, report, exports and
respondents' results are computed from are taken once, in the closing's own
transaction, and kept as a :class:`RoundSnapshot`. Every later output is
computed from the snapshot, never from the answer tables again, so
``/forget``, a late write or a changed ``MIN_GROUP_SIZE`` cannot make two
outputs differ, and nothing can be learnt by subtracting one from the other.

The snapshot holds counts, not rendered text, so it can be shown in any
language; and only what publication needs: people per option, texts per tone,
how many took part, the themes and consented quotes, the demographic
breakdowns counted in people. :meth:`RoundSnapshot.to_json` and
:meth:`RoundSnapshot.from_json` are its stored form (plain JSON values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from surveys.aggregation import CellTally, FeedbackTally, Participation, QuestionTally, RoundCounts
from surveys.instruments import Role
from surveys.themes import Term, Themes

#: Bump when the stored form changes; an unknown version is an error, never a guess.
#: Version 2 adds the count of uncertain texts to each question and feedback row; a
#: version 1 snapshot (taken before confidence was stored) reads with uncertain = 0.
#: Version 3 keeps themes and quotes per commitment *and role* (``[cid, role, …]``
#: rows): figures are never pooled across roles, nor are words. An older snapshot's
#: themes and quotes were taken per commitment, both roles together: they read as the
#: one role's when the round asked only one role about the commitment, and are left
#: out otherwise (publishing less never leaks; splitting them cannot be done).
SNAPSHOT_VERSION: Final = 3
READABLE_VERSIONS: Final = frozenset({1, 2, SNAPSHOT_VERSION})

BreakdownKey = tuple[Role, str]  # (role, demographic question id)
WordsKey = tuple[str, Role]  # (commitment id, role): whose themes and quotes


@dataclass(frozen=True, slots=True)
class RoundSnapshot:
    """A closed round's published counts (see the module docstring).

    ``people`` counts each person once across the commitments they answered about;
    ``breakdowns`` holds, per role and demographic question, the people per answer
    (None: did not say) with their side of the gap.
    """

    min_group_size: int
    counts: RoundCounts
    people: Participation
    themes: Mapping[WordsKey, Themes] = field(default_factory=dict)
    quotes: Mapping[WordsKey, tuple[str, ...]] = field(default_factory=dict)
    breakdowns: Mapping[BreakdownKey, Mapping[str | None, CellTally]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "version": SNAPSHOT_VERSION,
            "min_group_size": self.min_group_size,
            "people": _participation(self.people),
            "participation": [
                [cid, role.value, *_participation(p)]
                for (cid, role), p in sorted(counts.participation.items())
            ],
            "questions": [
                [
                    cid,
                    role.value,
                    qid,
                    t.answered,
                    t.skipped,
                    dict(t.codes),
                    dict(t.tones),
                    t.uncertain,
                ]
                for (cid, role, qid), t in sorted(counts.questions.items())
            ],
            "feedback": [
                [cid, role.value, dict(f.tones), f.authors, f.uncertain]
                for (cid, role), f in sorted(counts.feedback.items())
            ],
            "themes": [
                [cid, role.value, _themes(t)] for (cid, role), t in sorted(self.themes.items())
            ],
            "quotes": [
                [cid, role.value, list(q)] for (cid, role), q in sorted(self.quotes.items())
            ],
            "breakdowns": [
                [
                    role.value,
                    demographic,
                    [[code, c.respondents, c.answers, c.score_sum] for code, c in cells.items()],
                ]
                for (role, demographic), cells in self.breakdowns.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoundSnapshot:
        if data.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"unknown round snapshot version {data.get('version')!r}")
        counts = RoundCounts(
            participation={
                (cid, Role(role)): Participation(t, s, c)
                for cid, role, t, s, c in data["participation"]
            },
            questions={
                (cid, Role(role), qid): QuestionTally(answered, skipped, codes, tones, uncertain)
                for cid, role, qid, answered, skipped, codes, tones, uncertain in (
                    _padded(row, 8) for row in data["questions"]
                )
            },
            feedback={
                (cid, Role(role)): FeedbackTally(tones, authors, uncertain)
                for cid, role, tones, authors, uncertain in (
                    _padded(row, 5) for row in data["feedback"]
                )
            },
        )
        if data["version"] >= 3:
            themes = {(cid, Role(role)): _read_themes(t) for cid, role, t in data["themes"]}
            quotes = {(cid, Role(role)): tuple(q) for cid, role, q in data["quotes"]}
        else:
            roles: dict[str, list[Role]] = {}
            for cid, role in counts.participation:
                roles.setdefault(cid, []).append(role)
            only = {cid: found[0] for cid, found in roles.items() if len(found) == 1}
            themes = {
                (cid, only[cid]): _read_themes(t)
                for cid, t in data["themes"].items()
                if cid in only
            }
            quotes = {
                (cid, only[cid]): tuple(q) for cid, q in data["quotes"].items() if cid in only
            }
        return cls(
            min_group_size=int(data["min_group_size"]),
            counts=counts,
            people=Participation(*data["people"]),
            themes=themes,
            quotes=quotes,
            breakdowns={
                (Role(role), demographic): {
                    code: CellTally(int(n), int(answers), float(total))
                    for code, n, answers, total in cells
                }
                for role, demographic, cells in data["breakdowns"]
            },
        )


def _padded(row: list[Any], length: int) -> list[Any]:
    """A stored row with the uncertain count version 1 did not have (0)."""
    if len(row) == length - 1:
        return [*row, 0]
    if len(row) != length:
        raise ValueError(f"round snapshot row of {len(row)} values, expected {length}")
    return row


def _participation(p: Participation) -> list[int]:
    return [p.targeted, p.started, p.completed]


def _themes(themes: Themes) -> dict[str, Any]:
    return {
        "words": [[t.text, t.count] for t in themes.words],
        "phrases": [[t.text, t.count] for t in themes.phrases],
        "texts": themes.texts,
        "authors": themes.authors,
        "suppressed": themes.suppressed,
    }


def _read_themes(data: Mapping[str, Any]) -> Themes:
    return Themes(
        words=tuple(Term(text, n) for text, n in data["words"]),
        phrases=tuple(Term(text, n) for text, n in data["phrases"]),
        texts=int(data["texts"]),
        authors=int(data["authors"]),
        suppressed=bool(data["suppressed"]),
    )
