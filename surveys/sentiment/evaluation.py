"""Scoring a labelled set: macro-F1, accuracy and per-class F1 (used by tests and benchmark).

The labelled sets are ``label<TAB>text`` lines; ``#`` starts a comment line. Parsing takes
the file's content, not a path: reading files is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, get_args

from . import Label

LABELS: Final[tuple[Label, ...]] = get_args(Label)


@dataclass(frozen=True, slots=True)
class Example:
    label: Label
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    n: int
    accuracy: float
    macro_f1: float
    f1: dict[Label, float]
    errors: tuple[tuple[Example, Label], ...]  #: (example, predicted label)


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
    return Report(
        n=len(pairs),
        accuracy=correct / len(pairs) if pairs else 0.0,
        macro_f1=sum(f1.values()) / len(LABELS),
        f1=f1,
        errors=tuple((e, p) for e, p in pairs if e.label != p),
    )
