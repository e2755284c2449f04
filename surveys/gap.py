"""The reality gap: what is reported about a commitment against what people perceive.

Three figures per commitment and round, all on 0–100:

* **official** — the latest officially reported completion (``/official`` or the
  plan file); a government's statement, not people's answers, so never
  suppressed;
* **implementers** — their perceived completion: the ``perceived_progress``
  measure (the IRM completion scale: not started 0, limited 33, substantial 67,
  complete 100);
* **beneficiaries** — their perceived change: the ``outcome`` measure (the IRM
  "did it open government?" scale: worsened 0, did not change 25, marginal 50,
  major 75, outstanding 100).

The **gap** is how far the more optimistic of the reported figures (official,
or the implementers' mean) stands above the beneficiaries' mean, in points; it
is negative when people see more than is reported. A commitment is
**flagged** when

* *reported done, nothing changed*: the official figure, or the implementers'
  median, is Substantial or better while the beneficiaries' median is "did not
  change" or worse; or
* *gap over the threshold*: the gap exceeds ``threshold`` points
  (``GAP_THRESHOLD_POINTS``, 30 by default).

Medians are used for the first rule because it speaks of what people typically
answered on a scale of categories; means for the gap because it is a distance.
Suppressed figures (fewer than ``MIN_GROUP_SIZE`` people) count as missing:
no flag is raised on what cannot be shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from surveys.aggregation import CommitmentResult, MeasureResult, RoundResult
from surveys.instruments import (
    IRM_COMPLETION_OPTIONS,
    IRM_OPEN_GOV_OPTIONS,
    Measure,
    Option,
    Role,
)


def _score(options: Sequence[Option], code: str) -> float:
    score = next(o.score for o in options if o.code == code)
    assert score is not None
    return score


#: The IRM's "Substantial" completion (66.7) and "did not change" (25), from the scales.
SUBSTANTIAL: Final = _score(IRM_COMPLETION_OPTIONS, "substantial")
DID_NOT_CHANGE: Final = _score(IRM_OPEN_GOV_OPTIONS, "no_change")
# An official "66.7 %" is Substantial though it is a hair under 200/3.
_TOLERANCE: Final = 0.05

IMPLEMENTERS_MEASURE: Final = Measure.PERCEIVED_PROGRESS
BENEFICIARIES_MEASURE: Final = Measure.OUTCOME


class FlagReason(StrEnum):
    REPORTED_DONE_NOTHING_CHANGED = "reported_done"
    GAP_OVER_THRESHOLD = "over_threshold"


@dataclass(frozen=True, slots=True)
class GapRow:
    """One commitment's line of the gap table."""

    commitment_id: str
    in_round: bool  # the round asked about this commitment
    measured: bool  # the round asked its beneficiaries about change
    official: float | None
    implementers: MeasureResult
    beneficiaries: MeasureResult
    gap: float | None
    reasons: frozenset[FlagReason] = frozenset()
    implementers_asked: bool = False  # the round asked implementers about completion

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


def gap_row(
    commitment_id: str,
    result: CommitmentResult | None,
    official: float | None,
    *,
    threshold: float,
) -> GapRow:
    """One commitment's gap and flags (``result`` None: the round did not ask about it)."""
    if result is None:
        empty = MeasureResult()
        return GapRow(commitment_id, False, False, official, empty, empty, None)
    implementers = result.measure(IMPLEMENTERS_MEASURE, Role.IMPLEMENTER)
    beneficiaries = result.measure(BENEFICIARIES_MEASURE, Role.BENEFICIARY)
    group = result.groups.get(Role.BENEFICIARY)
    measured = group is not None and BENEFICIARIES_MEASURE in group.measures
    implementing = result.groups.get(Role.IMPLEMENTER)
    asked = implementing is not None and IMPLEMENTERS_MEASURE in implementing.measures
    reported = [v for v in (official, implementers.mean.value) if v is not None]
    perceived = beneficiaries.mean.value
    gap = max(reported) - perceived if reported and perceived is not None else None
    reasons: set[FlagReason] = set()
    said_done = [v for v in (official, implementers.median.value) if v is not None]
    perceived_median = beneficiaries.median.value
    if (
        perceived_median is not None
        and perceived_median <= DID_NOT_CHANGE
        and any(v >= SUBSTANTIAL - _TOLERANCE for v in said_done)
    ):
        reasons.add(FlagReason.REPORTED_DONE_NOTHING_CHANGED)
    if gap is not None and gap > threshold:
        reasons.add(FlagReason.GAP_OVER_THRESHOLD)
    return GapRow(
        commitment_id,
        True,
        measured,
        official,
        implementers,
        beneficiaries,
        gap,
        frozenset(reasons),
        asked,
    )


def reality_gap(
    result: RoundResult,
    commitment_ids: Sequence[str],
    official: Mapping[str, float],
    *,
    threshold: float,
) -> tuple[GapRow, ...]:
    """The gap table for every commitment in ``commitment_ids``: flagged ones first, then the
    widest gaps, then commitments without a gap, each group in the given order."""
    rows = [
        gap_row(cid, result.commitment(cid), official.get(cid), threshold=threshold)
        for cid in commitment_ids
    ]
    order = {cid: index for index, cid in enumerate(commitment_ids)}
    return tuple(
        sorted(
            rows,
            key=lambda row: (
                not row.flagged,
                row.gap is None,
                -(row.gap or 0.0),
                order[row.commitment_id],
            ),
        )
    )
