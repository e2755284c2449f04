"""Scoring a labelled set: macro-F1, accuracy, per-class F1 and recall, confusion matrix.

Used by the tests, the benchmark and the trainer. The small labelled sets are
``label<TAB>text`` lines (``#`` starts a comment line); the corpus is JSON lines with id,
lang, label, role, phenomenon, group, batch and text (``corpus/sentiment/*.jsonl``). Parsing takes
the file's content, not a path: reading files is the caller's business.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

from . import Label

LABELS: Final[tuple[Label, ...]] = get_args(Label)


@dataclass(frozen=True, slots=True)
class Example:
    label: Label
    text: str


@dataclass(frozen=True, slots=True)
class CorpusItem:
    """One answer of the corpus (see docs/sentiment.md for the tags)."""

    id: str
    lang: Literal["es", "en"]
    label: Label
    role: str  #: bene (beneficiary) or impl (implementer)
    phenomenon: str
    group: str  #: the skeleton it was written from; a group never spans two splits
    text: str
    batch: int = 1  #: the corpus source batch it was written in (corpus/sentiment/build.py)


@dataclass(frozen=True, slots=True)
class Report:
    n: int
    accuracy: float
    macro_f1: float
    f1: dict[Label, float]
    errors: tuple[tuple[Example, Label], ...]  #: (example, predicted label)
    recall: dict[Label, float]
    confusion: dict[tuple[Label, Label], int]  #: (gold, predicted) -> count


def parse_corpus(content: str) -> list[CorpusItem]:
    """Items from JSON lines; raises ValueError on a malformed line or an unknown tag."""
    items: list[CorpusItem] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        doc = json.loads(line)
        label, lang = doc.get("label"), doc.get("lang")
        if label not in LABELS or lang not in ("es", "en") or not str(doc.get("text", "")):
            raise ValueError(f"line {number}: bad item {line[:80]!r}")
        items.append(
            CorpusItem(
                str(doc["id"]),
                lang,
                label,
                str(doc["role"]),
                str(doc["phenomenon"]),
                str(doc["group"]),
                str(doc["text"]),
                int(doc.get("batch", 1)),
            )
        )
    return items


def parse_labelled(content: str) -> list[Example]:
    """Examples from ``label<TAB>text`` lines; raises ValueError on a malformed line."""
    examples: list[Example] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise ValueError(f"line {number}: expected label<TAB>text")
        for known in LABELS:
            if label == known:
                examples.append(Example(known, text))
                break
        else:
            raise ValueError(f"line {number}: unknown label {label!r}")
    return examples


def evaluate(examples: Iterable[Example], predict: Callable[[str], Label]) -> Report:
    """Compare ``predict(text)`` with each example's label."""
    pairs = [(example, predict(example.text)) for example in examples]
    f1: dict[Label, float] = {}
    for label in LABELS:
        tp = sum(1 for e, p in pairs if e.label == label and p == label)
        fp = sum(1 for e, p in pairs if e.label != label and p == label)
        fn = sum(1 for e, p in pairs if e.label == label and p != label)
        f1[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    correct = sum(1 for e, p in pairs if e.label == p)
    confusion = {(g, p): 0 for g in LABELS for p in LABELS}
    for e, p in pairs:
        confusion[(e.label, p)] += 1
    recall: dict[Label, float] = {}
    for label in LABELS:
        gold = sum(confusion[(label, p)] for p in LABELS)
        recall[label] = confusion[(label, label)] / gold if gold else 0.0
    return Report(
        n=len(pairs),
        accuracy=correct / len(pairs) if pairs else 0.0,
        macro_f1=sum(f1.values()) / len(LABELS),
        f1=f1,
        errors=tuple((e, p) for e, p in pairs if e.label != p),
        recall=recall,
        confusion=confusion,
    )
