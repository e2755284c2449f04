"""Aggregation on small fixed datasets whose figures were worked out by hand.

The golden round (``progress`` instrument, MIN_GROUP_SIZE 5), commitment C1:

beneficiaries — targeted 10, started 8, completed 7
  change   worsened 1, no_change 3, marginal 2, major 1   → mean 250/7 = 35.71, median 25
  say      none 2, informed 2, consulted 2, decided 1     → mean 250/7 = 35.71, median 25
  response 3 answers                                      → suppressed
  trust    less 2, same 4, more 1                         → mean 300/7 = 42.86, median 50
  what_changed  6 texts: pos 1, neu 2, neg 3; feedback: pos 1, neg 1 (2 authors)
                → 8 texts, 6 authors: shares 25/25/50 %, tone 50 + 50·(2−4)/8 = 37.5
  experience = (250/7 + 250/7 + 300/7) / 3 = 800/21 = 38.10
  sentiment index = (38.10 + 37.5) / 2 = 37.80
implementers — targeted 4, started 3, completed 3: every figure from 3 people → suppressed
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from surveys.aggregation import (
    EMPTY,
    SUPPRESSED,
    CellTally,
    FeedbackTally,
    Figure,
    MeasureResult,
    Participation,
    QuestionTally,
    RoundCounts,
    breakdown,
    compare,
    median_score,
    publish,
    summarise,
)
from surveys.instruments import Instrument, Measure, Role, builtin_instrument

BEN, IMP = Role.BENEFICIARY, Role.IMPLEMENTER
PROGRESS = builtin_instrument("progress")


def tally(
    codes: Mapping[str, int] | None = None, *, skipped: int = 0, **tones: int
) -> QuestionTally:
    """People per option (or texts per label when ``tones`` is given)."""
    codes = dict(codes or {})
    answered = sum(codes.values()) if codes else sum(tones.values())
    return QuestionTally(answered=answered, skipped=skipped, codes=codes, tones=tones)


def golden_counts() -> RoundCounts:
    return RoundCounts(
        participation={
            ("C1", BEN): Participation(10, 8, 7),
            ("C1", IMP): Participation(4, 3, 3),
        },
        questions={
            ("C1", BEN, "change"): tally(
                {"worsened": 1, "no_change": 3, "marginal": 2, "major": 1}
            ),
            ("C1", BEN, "say"): tally({"none": 2, "informed": 2, "consulted": 2, "decided": 1}),
            ("C1", BEN, "response"): tally({"none": 1, "replied": 1, "acted": 1}),
            ("C1", BEN, "trust"): tally({"less": 2, "same": 4, "more": 1}),
            ("C1", BEN, "what_changed"): tally(skipped=1, pos=1, neu=2, neg=3),
            # Suggestions feed no measure: their tone must not count.
            ("C1", BEN, "should_change"): tally(neg=4),
            ("C1", BEN, "may_quote"): tally({"yes": 4, "no": 2}, skipped=1),
            ("C1", IMP, "completion"): tally({"substantial": 2, "complete": 1}),
            ("C1", IMP, "change"): tally({"major": 3}),
            ("C1", IMP, "say"): tally({"decided": 3}),
            ("C1", IMP, "what_changed"): tally(pos=2),
        },
        feedback={("C1", BEN): FeedbackTally({"pos": 1, "neg": 1}, authors=2)},
    )


def golden(min_group_size: int = 5):
    targets = [("C1", "beneficiary"), ("C1", "implementer")]
    return summarise(PROGRESS, golden_counts(), targets=targets, min_group_size=min_group_size)


def test_the_golden_beneficiaries() -> None:
    c1 = golden().commitment("C1")
    assert c1 is not None
    group = c1.groups[BEN]
    assert group.participation == Participation(10, 8, 7)
    assert group.participation.response_rate == pytest.approx(70.0)
    change = group.measures[Measure.OUTCOME]
    assert change.mean == Figure(pytest.approx(250 / 7), 7)
    assert change.median == Figure(25.0, 7)
    assert group.measures[Measure.CO_CREATION].mean.value == pytest.approx(250 / 7)
    assert group.measures[Measure.CO_CREATION].median.value == 25.0
    assert group.measures[Measure.TRUST].mean.value == pytest.approx(300 / 7)
    assert group.measures[Measure.TRUST].median.value == 50.0
    assert group.measures[Measure.RESPONSIVENESS].mean == SUPPRESSED
    assert Measure.PERCEIVED_PROGRESS not in group.measures  # never asked of beneficiaries
    assert group.tone.shares == {"pos": 25.0, "neu": 25.0, "neg": 50.0}
    assert group.tone.index == Figure(37.5, 8)
    assert group.sentiment.value == pytest.approx((800 / 21 + 37.5) / 2)


def test_the_golden_question_results() -> None:
    group = golden().commitment("C1").groups[BEN]  # type: ignore[union-attr]
    by_id = {q.question.id: q for q in group.questions}
    change = by_id["change"]
    assert change.answered == Figure(7.0, 7)
    assert [(o.code, o.count) for o in change.distribution] == [
        ("worsened", 1),
        ("no_change", 3),
        ("marginal", 2),
        ("major", 1),
        ("outstanding", 0),
    ]
    assert change.distribution[1].share == pytest.approx(300 / 7)
    assert change.median_code == "no_change"
    assert by_id["trust"].median_code == "same"
    response = by_id["response"]
    assert response.answered == SUPPRESSED
    assert response.distribution == ()
    assert response.mean == EMPTY  # nothing is computed from a suppressed question
    assert by_id["what_changed"].answered == Figure(6.0, 6)
    assert by_id["what_changed"].distribution == ()


def test_the_golden_implementers_are_all_suppressed() -> None:
    group = golden().commitment("C1").groups[IMP]  # type: ignore[union-attr]
    assert group.participation == Participation(4, 3, 3)  # taking part is always shown
    assert {m: r.mean for m, r in group.measures.items()} == {
        Measure.PERCEIVED_PROGRESS: SUPPRESSED,
        Measure.OUTCOME: SUPPRESSED,
        Measure.CO_CREATION: SUPPRESSED,
    }
    assert group.tone.suppressed
    assert group.sentiment == SUPPRESSED
    assert all(not q.answered.shown for q in group.questions if q.answered != EMPTY)


def test_a_commitment_keeps_its_roles_apart() -> None:
    c1 = golden().commitment("C1")
    assert c1 is not None
    assert c1.participation == Participation(14, 11, 10)  # who took part, in total
    # No pooled figure exists: each role's figures are its own, beneficiaries first.
    assert not hasattr(c1, "measures")
    assert not hasattr(c1, "tone")
    assert [g.role for g in c1.roles()] == [BEN, IMP]
    assert c1.measure(Measure.OUTCOME, BEN).mean == Figure(pytest.approx(250 / 7), 7)
    assert c1.measure(Measure.OUTCOME, IMP).mean == SUPPRESSED
    assert c1.measure(Measure.PERCEIVED_PROGRESS, BEN) == MeasureResult()


def test_the_planted_case_is_never_averaged() -> None:
    """Six beneficiaries answer "worsened" (0), five implementers "complete" (100)."""
    counts = RoundCounts(
        participation={("C1", BEN): Participation(6, 6, 6), ("C1", IMP): Participation(5, 5, 5)},
        questions={
            ("C1", BEN, "change"): tally({"worsened": 6}),
            ("C1", IMP, "completion"): tally({"complete": 5}),
            ("C1", IMP, "change"): tally({"outstanding": 5}),
        },
    )
    targets = [("C1", "beneficiary"), ("C1", "implementer")]
    c1 = summarise(PROGRESS, counts, targets=targets, min_group_size=5).commitment("C1")
    assert c1 is not None
    assert c1.measure(Measure.OUTCOME, BEN).mean == Figure(0.0, 6)
    assert c1.measure(Measure.OUTCOME, IMP).mean == Figure(100.0, 5)
    assert c1.measure(Measure.PERCEIVED_PROGRESS, IMP).mean == Figure(100.0, 5)
    # No texts, no sentiment index (it would be the scales again).
    assert c1.groups[BEN].sentiment == EMPTY
    assert c1.groups[IMP].sentiment == EMPTY


def test_changes_are_per_role() -> None:
    before = golden().commitment("C1")
    now = golden(min_group_size=3).commitment("C1")
    assert before is not None
    assert now is not None
    changes = compare(now, before)
    assert changes[(IMP, Measure.OUTCOME)].previous == SUPPRESSED
    assert changes[(IMP, Measure.OUTCOME)].current.value == 75.0
    assert changes[(BEN, Measure.OUTCOME)].delta == 0.0
    assert (BEN, "sentiment") in changes


@pytest.mark.parametrize(
    ("people", "shown"),
    [
        pytest.param(4, False, id="N-1-suppressed"),
        pytest.param(5, True, id="N-shown"),
    ],
)
def test_suppression_at_the_threshold(people: int, shown: bool) -> None:
    codes = {"no_change": 1, "marginal": 2, "major": people - 3}
    counts = RoundCounts(questions={("C2", BEN, "change"): tally(codes)})
    result = summarise(PROGRESS, counts, targets=[("C2", "beneficiary")], min_group_size=5)
    change = result.commitment("C2").groups[BEN].measures[Measure.OUTCOME]  # type: ignore[union-attr]
    question = next(
        q
        for q in result.commitment("C2").groups[BEN].questions
        if q.question.id == "change"  # type: ignore[union-attr]
    )
    if shown:
        # (25 + 2·50 + 2·75) / 5 = 55; cumulative 1, 3 ≥ 2.5 → marginal (50)
        assert change.mean == Figure(55.0, 5)
        assert change.median == Figure(50.0, 5)
        assert question.answered == Figure(5.0, 5)
    else:
        assert change.mean == change.median == SUPPRESSED
        assert question.answered == SUPPRESSED
        assert question.distribution == ()


@pytest.mark.parametrize(
    ("texts", "shown"),
    [pytest.param(4, False, id="N-1-suppressed"), pytest.param(5, True, id="N-shown")],
)
def test_tone_suppression_at_the_threshold(texts: int, shown: bool) -> None:
    counts = RoundCounts(questions={("C2", BEN, "what_changed"): tally(pos=texts - 1, neg=1)})
    result = summarise(PROGRESS, counts, targets=[("C2", "beneficiary")], min_group_size=5)
    tone = result.commitment("C2").groups[BEN].tone  # type: ignore[union-attr]
    assert tone.shown is shown
    assert tone.suppressed is not shown
    if shown:
        assert tone.shares == {"pos": 80.0, "neu": 0.0, "neg": 20.0}
        assert tone.index.value == pytest.approx(50 + 50 * 3 / 5)  # 80


def test_feedback_authors_count_towards_the_group() -> None:
    # 3 texts in answers and 5 feedback authors: the group's texts come from at least 5 people.
    counts = RoundCounts(
        questions={("C2", BEN, "what_changed"): tally(neg=3)},
        feedback={("C2", BEN): FeedbackTally({"pos": 5}, authors=5)},
    )
    result = summarise(PROGRESS, counts, targets=[("C2", "beneficiary")], min_group_size=5)
    tone = result.commitment("C2").groups[BEN].tone  # type: ignore[union-attr]
    assert tone.index == Figure(50 + 50 * 2 / 8, 8)


def test_a_measure_pools_only_questions_large_enough() -> None:
    instrument = Instrument.model_validate(
        {
            "id": "twice",
            "version": 1,
            "title": {"es": "t", "en": "t"},
            "intro": {"es": "i", "en": "i"},
            "outro": {"es": "o", "en": "o"},
            "questions": [
                {"id": "a", "type": "likert5", "measure": "trust", "text": {"es": "a", "en": "a"}},
                {"id": "b", "type": "likert5", "measure": "trust", "text": {"es": "b", "en": "b"}},
            ],
        }
    )
    counts = RoundCounts(
        questions={
            ("C1", BEN, "a"): tally({"5": 6}),  # 6 × 100
            ("C1", BEN, "b"): tally({"1": 2}),  # 2 × 0: too few alone, so not pooled
        }
    )
    result = summarise(instrument, counts, targets=[("C1", "beneficiary")], min_group_size=5)
    assert result.commitment("C1").groups[BEN].measures[Measure.TRUST].mean == Figure(100.0, 6)  # type: ignore[union-attr]


def test_an_untouched_group_is_empty_not_suppressed() -> None:
    result = summarise(
        PROGRESS,
        RoundCounts(participation={("C1", BEN): Participation(3, 0, 0)}),
        targets=[("C1", "beneficiary")],
        min_group_size=5,
    )
    c1 = result.commitment("C1")
    assert c1 is not None
    group = c1.groups[BEN]
    assert group.measures[Measure.OUTCOME].mean == EMPTY
    assert group.sentiment == EMPTY
    assert not group.tone.shown
    assert not group.tone.suppressed


@pytest.mark.parametrize(
    ("distribution", "median"),
    [
        pytest.param({0.0: 1, 25.0: 1, 50.0: 1, 75.0: 1}, 25.0, id="even-lower-median"),
        pytest.param({0.0: 1, 25.0: 1, 50.0: 1}, 25.0, id="odd"),
        pytest.param({100.0: 3, 0.0: 2}, 100.0, id="unordered-input"),
        pytest.param({50.0: 1}, 50.0, id="one"),
        pytest.param({}, None, id="none"),
    ],
)
def test_median_from_a_distribution(distribution: dict[float, int], median: float | None) -> None:
    assert median_score(distribution) == median


def test_publish() -> None:
    assert publish(40.0, 5, 5) == Figure(40.0, 5)
    assert publish(40.0, 4, 5) == SUPPRESSED
    assert publish(40.0, 0, 5) == EMPTY
    assert publish(None, 7, 5) == EMPTY
    assert SUPPRESSED.n == 0  # a suppressed figure does not carry its count


def test_compare_with_the_previous_round() -> None:
    now = golden().commitment("C1")
    before_counts = RoundCounts(
        questions={("C1", BEN, "change"): tally({"no_change": 6})},  # mean 25
    )
    before = summarise(
        PROGRESS, before_counts, targets=[("C1", "beneficiary")], min_group_size=5
    ).commitment("C1")
    changes = compare(now, before)  # type: ignore[arg-type]
    assert changes[(BEN, Measure.OUTCOME)].delta == pytest.approx(250 / 7 - 25)
    assert changes[(BEN, Measure.TRUST)].delta is None  # not asked before
    assert changes[(IMP, Measure.OUTCOME)].delta is None  # no implementers before
    assert compare(now, None)[(BEN, Measure.OUTCOME)].delta is None  # type: ignore[arg-type]


def test_breakdown_suppresses_small_cells() -> None:
    cells = {
        "woman": CellTally(6, 6, 300.0),
        "man": CellTally(1, 1, 100.0),
        "nonbinary": CellTally(0, 0, 0.0),
        None: CellTally(3, 2, 50.0),
    }
    rows = {cell.code: cell for cell in breakdown(cells, min_group_size=5)}
    assert rows["woman"].respondents == Figure(6.0, 6)
    assert rows["woman"].mean == Figure(50.0, 6)
    assert rows["man"].respondents == SUPPRESSED
    assert rows["nonbinary"].respondents == EMPTY
    assert rows[None].respondents == SUPPRESSED
    assert rows[None].mean == SUPPRESSED


def test_breakdown_suppresses_a_second_cell_when_one_would_be_recoverable() -> None:
    # The total (15) is public: alone, "not said: 2" would be 15 − 6 − 7.
    cells = {
        "woman": CellTally(6, 6, 600.0),
        "man": CellTally(7, 7, 0.0),
        None: CellTally(2, 2, 0.0),
    }
    rows = {cell.code: cell for cell in breakdown(cells, min_group_size=5)}
    assert rows[None].respondents == SUPPRESSED
    assert rows["woman"].respondents == SUPPRESSED  # the next smallest goes with it
    assert rows["woman"].mean == SUPPRESSED
    assert rows["man"].respondents == Figure(7.0, 7)
    assert rows["man"].mean == Figure(0.0, 7)
