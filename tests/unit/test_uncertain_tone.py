"""Uncertain texts in the summaries: counted per group, pooled like the tones, kept in the
snapshot, shown beside the tone's shares and only there (issue 16)."""

from __future__ import annotations

import dataclasses

import pytest

from handlers.texts.results import as_plain_text, summary_sections
from surveys.aggregation import FeedbackTally, Participation, RoundCounts, summarise
from surveys.instruments import Role, builtin_instrument
from surveys.snapshot import SNAPSHOT_VERSION, RoundSnapshot
from tests.unit.test_aggregation import golden_counts
from tests.unit.test_render import digest, t_for

BEN, IMP = Role.BENEFICIARY, Role.IMPLEMENTER
PROGRESS = builtin_instrument("progress")
TARGETS = [("C1", "beneficiary"), ("C1", "implementer")]


def uncertain_counts() -> RoundCounts:
    """The golden counts with some texts labelled under the confidence threshold."""
    counts = golden_counts()
    questions = dict(counts.questions)
    for key, n in {
        ("C1", BEN, "what_changed"): 2,
        ("C1", BEN, "should_change"): 4,  # feeds no measure: not counted, like its tones
        ("C1", IMP, "what_changed"): 1,  # 2 texts: suppressed, so not counted either
    }.items():
        questions[key] = dataclasses.replace(questions[key], uncertain=n)
    feedback = {("C1", BEN): FeedbackTally({"pos": 1, "neg": 1}, authors=2, uncertain=1)}
    return RoundCounts(counts.participation, questions, feedback)


def test_uncertain_texts_are_counted_with_the_tones() -> None:
    result = summarise(PROGRESS, uncertain_counts(), targets=TARGETS, min_group_size=5)
    c1 = result.commitment("C1")
    assert c1 is not None
    assert c1.groups[BEN].tone.shown
    assert c1.groups[BEN].tone.uncertain == 3  # 2 answers + 1 feedback
    assert c1.groups[IMP].tone.suppressed
    assert c1.groups[IMP].tone.uncertain == 0  # a suppressed tone shows no count
    assert c1.groups[BEN].tone.index.n == 8  # roles are never pooled


def test_no_uncertain_count_when_the_tone_is_suppressed() -> None:
    result = summarise(PROGRESS, uncertain_counts(), targets=TARGETS, min_group_size=20)
    c1 = result.commitment("C1")
    assert c1 is not None
    assert not c1.groups[BEN].tone.shown
    assert c1.groups[BEN].tone.uncertain == 0


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en", "positive 25% · neutral 25% · negative 50% (3 uncertain)"),
        ("es", "positivo 25 % · neutral 25 % · negativo 50 % (3 sin certeza)"),
    ],
)
def test_the_tone_line_shows_the_uncertain_count(locale: str, line: str) -> None:
    result = summarise(PROGRESS, uncertain_counts(), targets=TARGETS, min_group_size=5)
    text = as_plain_text(
        "\n\n".join(summary_sections(t_for(locale), digest(result=result), locale))
    )
    assert line in text


@pytest.mark.parametrize("locale", ["en", "es"])
def test_no_uncertain_note_without_uncertain_texts(locale: str) -> None:
    text = as_plain_text("\n\n".join(summary_sections(t_for(locale), digest(), locale)))
    assert "uncertain" not in text
    assert "sin certeza" not in text


def test_no_uncertain_note_when_the_tone_is_suppressed() -> None:
    result = summarise(PROGRESS, uncertain_counts(), targets=TARGETS, min_group_size=20)
    text = as_plain_text("\n\n".join(summary_sections(t_for("en"), digest(result=result), "en")))
    assert "uncertain" not in text


def _snapshot() -> RoundSnapshot:
    return RoundSnapshot(
        min_group_size=5, counts=uncertain_counts(), people=Participation(14, 11, 10)
    )


def test_snapshot_keeps_the_uncertain_counts() -> None:
    data = _snapshot().to_json()
    assert data["version"] == SNAPSHOT_VERSION == 3
    again = RoundSnapshot.from_json(data)
    assert again.counts.questions[("C1", BEN, "what_changed")].uncertain == 2
    assert again.counts.feedback[("C1", BEN)].uncertain == 1
    assert again.to_json() == data


def test_a_version_1_snapshot_reads_with_no_uncertain_texts() -> None:
    data = _snapshot().to_json()
    data["version"] = 1
    data["themes"], data["quotes"] = {}, {}  # per commitment before version 3
    data["questions"] = [row[:7] for row in data["questions"]]
    data["feedback"] = [row[:4] for row in data["feedback"]]
    old = RoundSnapshot.from_json(data)
    assert all(t.uncertain == 0 for t in old.counts.questions.values())
    assert all(f.uncertain == 0 for f in old.counts.feedback.values())
    assert old.counts.questions[("C1", BEN, "what_changed")].tones == {
        "pos": 1,
        "neu": 2,
        "neg": 3,
    }


def test_an_unknown_snapshot_version_is_refused() -> None:
    data = _snapshot().to_json()
    data["version"] = SNAPSHOT_VERSION + 1
    with pytest.raises(ValueError, match="unknown round snapshot version"):
        RoundSnapshot.from_json(data)
