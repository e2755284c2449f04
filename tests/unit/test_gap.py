"""The reality gap and its flags, on answers counted by hand (MIN_GROUP_SIZE 5, threshold 30)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from surveys.aggregation import QuestionTally, RoundCounts, summarise
from surveys.gap import DID_NOT_CHANGE, SUBSTANTIAL, FlagReason, gap_row, reality_gap
from surveys.instruments import Role, builtin_instrument

BEN, IMP = Role.BENEFICIARY, Role.IMPLEMENTER
PROGRESS = builtin_instrument("progress")
PULSE = builtin_instrument("pulse")
DONE = FlagReason.REPORTED_DONE_NOTHING_CHANGED
OVER = FlagReason.GAP_OVER_THRESHOLD


def counts(
    beneficiaries: Mapping[str, int] | None = None,
    implementers: Mapping[str, int] | None = None,
    commitment: str = "C1",
) -> RoundCounts:
    questions = {}
    if beneficiaries:
        questions[(commitment, BEN, "change")] = QuestionTally(
            answered=sum(beneficiaries.values()), codes=dict(beneficiaries)
        )
    if implementers:
        questions[(commitment, IMP, "completion")] = QuestionTally(
            answered=sum(implementers.values()), codes=dict(implementers)
        )
    return RoundCounts(questions=questions)


def row(beneficiaries=None, implementers=None, official=None, threshold=30.0):
    result = summarise(
        PROGRESS,
        counts(beneficiaries, implementers),
        targets=[("C1", "beneficiary"), ("C1", "implementer")],
        min_group_size=5,
    )
    return gap_row("C1", result.commitment("C1"), official, threshold=threshold)


def test_the_scale_constants() -> None:
    assert pytest.approx(66.667, abs=0.001) == SUBSTANTIAL
    assert DID_NOT_CHANGE == 25


@pytest.mark.parametrize(
    ("beneficiaries", "implementers", "official", "gap", "reasons"),
    [
        pytest.param(
            # mean (0 + 3·25 + 50) / 5 = 25, median 25; 96 − 25 = 71
            {"worsened": 1, "no_change": 3, "marginal": 1},
            None,
            96.0,
            71.0,
            {DONE, OVER},
            id="jalisco-reported-96-nothing-changed",
        ),
        pytest.param(
            # implementers: median substantial (66.7), mean (2·66.7 + 3·100)/5 = 86.7
            # beneficiaries: all no_change → 25; gap 86.7 − 25 = 61.7
            {"no_change": 5},
            {"substantial": 2, "complete": 3},
            None,
            260 / 3 - 25,
            {DONE, OVER},
            id="implementers-say-done",
        ),
        pytest.param(
            {"no_change": 5}, None, 66.7, 41.7, {DONE, OVER}, id="official-66.7-is-substantial"
        ),
        pytest.param(
            # mean (2·25 + 3·50) / 5 = 40, median 50 (marginal): people saw something
            # change, yet 90 − 40 = 50 points apart
            {"no_change": 2, "marginal": 3},
            None,
            90.0,
            50.0,
            {OVER},
            id="gap-only",
        ),
        pytest.param(
            # median 25 but official only "limited": 50 − 25 = 25 is under 30
            {"no_change": 5},
            None,
            50.0,
            25.0,
            set(),
            id="limited-progress-no-flag",
        ),
        pytest.param(
            # 55 − 25 = 30 exactly: the threshold must be exceeded
            {"no_change": 5},
            None,
            55.0,
            30.0,
            set(),
            id="gap-equal-to-threshold",
        ),
        pytest.param(
            {"no_change": 5},
            None,
            55.5,
            30.5,
            {OVER},
            id="gap-just-over-threshold",
        ),
        pytest.param(
            # people see more than is reported: a negative gap, no flag
            {"major": 5},
            None,
            40.0,
            -35.0,
            set(),
            id="negative-gap",
        ),
        pytest.param(
            # 4 beneficiaries (N−1): nothing to compare with, no flag
            {"no_change": 4},
            None,
            100.0,
            None,
            set(),
            id="beneficiaries-suppressed",
        ),
        pytest.param(
            # 4 implementers (N−1) saying "complete" do not count; no official figure
            {"no_change": 5},
            {"complete": 4},
            None,
            None,
            set(),
            id="implementers-suppressed",
        ),
    ],
)
def test_gap_and_flags(beneficiaries, implementers, official, gap, reasons) -> None:
    found = row(beneficiaries, implementers, official)
    if gap is None:
        assert found.gap is None
    else:
        assert found.gap == pytest.approx(gap, abs=0.01)
    assert found.reasons == reasons
    assert found.flagged is bool(reasons)


def test_the_more_optimistic_reported_figure_sets_the_gap() -> None:
    # official 40, implementers all "complete" (100): gap from 100
    found = row({"marginal": 5}, {"complete": 5}, 40.0)
    assert found.gap == pytest.approx(50.0)
    assert found.implementers.mean.value == 100.0
    assert found.beneficiaries.median.value == 50.0


def test_a_round_without_the_outcome_question_does_not_measure_the_gap() -> None:
    result = summarise(
        PULSE,
        RoundCounts(),
        targets=[("C1", "beneficiary")],
        min_group_size=5,
    )
    found = gap_row("C1", result.commitment("C1"), 90.0, threshold=30)
    assert found.in_round
    assert not found.measured
    assert found.gap is None
    assert not found.flagged


def test_the_table_puts_flagged_first_then_the_widest_gaps() -> None:
    questions = {
        **counts({"no_change": 5}, commitment="A").questions,  # 25
        **counts({"marginal": 5}, commitment="B").questions,  # 50
        **counts({"major": 5}, commitment="C").questions,  # 75
        **counts({"no_change": 4}, commitment="D").questions,  # suppressed
    }
    targets = [(c, "beneficiary") for c in "ABCD"]
    result = summarise(
        PROGRESS, RoundCounts(questions=questions), targets=targets, min_group_size=5
    )
    official = {"A": 40.0, "B": 90.0, "C": 80.0, "D": 100.0}
    table = reality_gap(result, ["A", "B", "C", "D", "E"], official, threshold=30)
    assert [r.commitment_id for r in table] == ["B", "A", "C", "D", "E"]
    assert [r.flagged for r in table] == [True, False, False, False, False]
    assert table[-1].in_round is False
    assert table[-1].official is None
