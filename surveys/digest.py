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
from datetime import datetime

from surveys.aggregation import Change, ChangeKey, CommitmentResult, Participation, RoundResult
from surveys.gap import GapRow
from surveys.instruments import Role
from surveys.locale import LocalizedText
from surveys.themes import Themes


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """What a summary says about the round itself; ``when`` is written in each language by
    the edge (``bot.i18n.local_date`` for a closed round, ``local_datetime`` otherwise)."""

    round_id: int
    instrument_title: LocalizedText
    status: str  # "open" (results so far) or "closed"
    when: datetime  # when it closed, or the moment "so far" means (aware)


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything a round's summary shows, computed beforehand."""

    info: RoundInfo
    result: RoundResult
    titles: Mapping[str, LocalizedText]
    gap: Sequence[GapRow] = ()
    # Per commitment and role: words are never pooled across roles, any more than figures.
    themes: Mapping[tuple[str, Role], Themes] = field(default_factory=dict)
    quotes: Mapping[tuple[str, Role], Sequence[str]] = field(default_factory=dict)
    # How each commitment's roles moved since the previous round of the same instrument.
    changes: Mapping[str, Mapping[ChangeKey, Change]] = field(default_factory=dict)
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
