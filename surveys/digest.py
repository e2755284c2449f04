"""What a round's results say, put together for every surface that shows them.

A :class:`Digest` is everything a summary, the gap table, a commitment's
detail and the report show about one round: the figures (``surveys.aggregation``),
the gap (``surveys.gap``), themes and quotes (``surveys.themes``), how each
commitment moved since the previous round, and who took part. A
:class:`TrendPoint` is one closed round in a commitment's trend. They are
values: the runtime computes them (``bot.insights``), the edge draws them
(``handlers.texts.results``, ``handlers.charts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from surveys.aggregation import Change, CommitmentResult, Participation, RoundResult
from surveys.gap import GapRow
from surveys.instruments import Measure
from surveys.locale import LocalizedText
from surveys.themes import Themes


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """What a summary says about the round itself; ``date`` is formatted by the caller."""

    round_id: int
    instrument_title: LocalizedText
    status: str  # "open" (results so far) or "closed"
    date: str  # when it closed, or the moment "so far" means


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything a round's summary shows, computed beforehand."""

    info: RoundInfo
    result: RoundResult
    titles: Mapping[str, LocalizedText]
    gap: Sequence[GapRow] = ()
    themes: Mapping[str, Themes] = field(default_factory=dict)
    quotes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # How each commitment moved since the previous round of the same instrument.
    changes: Mapping[str, Mapping[Measure | Literal["sentiment"], Change]] = field(
        default_factory=dict
    )
    previous_round: int | None = None
    threshold: float = 30.0
    # Different people the round asked (one person in several commitments counts once).
    people: Participation | None = None

    @property
    def min_group_size(self) -> int:
        return self.result.min_group_size

    def gap_of(self, commitment_id: str) -> GapRow | None:
        return next((row for row in self.gap if row.commitment_id == commitment_id), None)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One closed round in a commitment's trend."""

    info: RoundInfo
    result: CommitmentResult
    min_group_size: int
