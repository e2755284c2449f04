"""Quality floors on the labelled sets, and the sets' own shape.

Measured with ``python -m benchmarks.sentiment`` (see surveys/sentiment/MEASUREMENTS.md);
each floor sits a few points under the measurement so that a real regression fails and
noise does not. The regression sets were used while writing the rules (a guard); the
hold-out sets never were (the honest estimate), so their floors are lower.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from surveys.sentiment import Label, Language, SentimentAnalyzer, detect_language
from surveys.sentiment.evaluation import Example, evaluate

Loader = Callable[[str, Language], list[Example]]

# (set, language): (measured macro-F1, floor)
FLOORS: dict[tuple[str, Language], tuple[float, float]] = {
    ("regression", "es"): (0.994, 0.95),
    ("regression", "en"): (0.994, 0.95),
    ("holdout", "es"): (0.910, 0.85),
    ("holdout", "en"): (0.866, 0.80),
}
DETECTION_FLOOR = 0.97  # measured 0.983 (es) / 0.989 (en), default = the other language


@pytest.mark.parametrize(("kind", "language"), list(FLOORS), ids=lambda v: str(v))
def test_macro_f1_floor(
    analyzer: SentimentAnalyzer, labelled: Loader, kind: str, language: Language
) -> None:
    def predict(text: str) -> Label:
        return analyzer.analyse(text, language).label

    report = evaluate(labelled(kind, language), predict)
    _measured, floor = FLOORS[(kind, language)]
    misses = "\n".join(f"{e.label}->{p}: {e.text}" for e, p in report.errors)
    assert report.macro_f1 >= floor, f"macro-F1 {report.macro_f1:.3f} < {floor}\n{misses}"


@pytest.mark.parametrize("language", ["es", "en"])
def test_regression_set_is_big_and_balanced(labelled: Loader, language: Language) -> None:
    examples = labelled("regression", language)
    counts = Counter(e.label for e in examples)
    assert len(examples) >= 150
    assert min(counts.values()) >= 0.25 * len(examples), counts
    assert len({e.text for e in examples}) == len(examples), "duplicate answers"


@pytest.mark.parametrize("language", ["es", "en"])
def test_language_detection_floor(labelled: Loader, language: Language) -> None:
    other: Language = "en" if language == "es" else "es"
    examples = labelled("regression", language) + labelled("holdout", language)
    # The default is the *other* language: only real evidence counts as a hit.
    hits = sum(1 for e in examples if detect_language(e.text, default=other) == language)
    assert hits / len(examples) >= DETECTION_FLOOR
