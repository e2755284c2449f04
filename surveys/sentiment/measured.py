"""What the shipped analyser scored on the corpus's test split, as recorded with it.

``python -m benchmarks sentiment --record`` scores the test split and writes
``data/evaluation.json`` beside the model, naming the analyser version it scored. The
results site publishes these figures; it used to read them from a table in
``docs/sentiment.md``, and under tone-8 that table's first columns held the previous
model's figures, which the site then published. Now the figures travel with the model
(an installed wheel has them too), a test fails when they are not the shipped model's
(``tests/unit/sentiment/test_sentiment_model.py``), and figures recorded for another
version are never returned: a site with no accuracy says so, a site with another model's
accuracy would mislead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any, Final

from . import Label
from ._lexicon import Language
from .evaluation import CorpusItem, Example, evaluate

EVALUATION_FILE: Final = "evaluation.json"
LANGUAGES: Final[tuple[Language, ...]] = ("es", "en")
#: The labelled answers the figures come from (named in the file, for its reader).
TEST_SPLIT: Final = "corpus/sentiment/test.jsonl"


@dataclass(frozen=True, slots=True)
class Measured:
    """One language's figures on the test split (answers never trained or tuned on)."""

    language: Language
    texts: int
    macro_f1: float
    accuracy: float
    negative_recall: float  #: the share of complaints the analyser read as complaints


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The figures of one analyser version, per language."""

    analyser: str  #: :attr:`surveys.sentiment.SentimentAnalyzer.version` that was scored
    split: str  #: which labelled answers, for the reader
    languages: tuple[Measured, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            analyser=str(raw["analyser"]),
            split=str(raw["split"]),
            languages=tuple(Measured(**entry) for entry in raw["languages"]),
        )


def evaluate_split(
    items: Sequence[CorpusItem],
    label_of: Callable[[str, Language], Label],
    *,
    analyser: str,
    split: str,
) -> Evaluation:
    """Score ``items`` per language with ``label_of(text, language)``: what
    ``--record`` writes and what the test recomputes (figures to four decimals)."""
    measured: list[Measured] = []
    for language in LANGUAGES:
        subset = [i for i in items if i.lang == language]
        report = evaluate(
            [Example(i.label, i.text) for i in subset],
            lambda text, language=language: label_of(text, language),  # type: ignore[misc]
        )
        measured.append(
            Measured(
                language,
                report.n,
                round(report.macro_f1, 4),
                round(report.accuracy, 4),
                round(report.recall["neg"], 4),
            )
        )
    return Evaluation(analyser, split, tuple(measured))


def recorded_evaluation() -> Evaluation | None:
    """The evaluation shipped with the package; None when there is none."""
    source = resources.files(__package__).joinpath("data", EVALUATION_FILE)
    try:
        return Evaluation.from_json(source.read_text("utf-8"))
    except FileNotFoundError:
        return None


def measured_quality(analyser: str) -> tuple[Measured, ...]:
    """The test-split figures of analyser version ``analyser``; none when what was recorded
    is another version's (a model retrained and not yet scored publishes nothing)."""
    evaluation = recorded_evaluation()
    if evaluation is None or evaluation.analyser != analyser:
        return ()
    return evaluation.languages
