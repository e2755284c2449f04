"""The tone model: the corpus's shape, the test split's floors, and the pure-Python reader.

Floors sit a few points under the measurement (docs/sentiment.md, ``python -m benchmarks
sentiment``) so that a real regression fails and noise does not. The test split was never
trained or tuned on: its skeletons appear in no other split.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

import surveys.sentiment as sentiment
from surveys.sentiment import Label, Language, SentimentAnalyzer
from surveys.sentiment._features import clauses
from surveys.sentiment._model import MODEL_FILE, ToneModel
from surveys.sentiment.evaluation import CorpusItem, Example, evaluate, parse_corpus
from surveys.sentiment.measured import TEST_SPLIT, evaluate_split, recorded_evaluation

CORPUS = Path(__file__).resolve().parents[3] / "corpus" / "sentiment"
SPLITS = ("train", "validation", "test")

# language: (measured, floor) on the test split (tone-9, 4,524 answers since the fifth batch;
# tone-8 on the same split: macro-F1 0.863 / 0.851, negative recall 0.935 / 0.882). On
# tone-8's own 3,941 answers (batches 1-4) tone-9 reaches macro-F1 0.871 / 0.874 (tone-8
# 0.865 / 0.858) and negative recall 0.945 / 0.887 (tone-8 0.943 / 0.879; docs/sentiment.md).
MACRO_F1_FLOORS: dict[Language, tuple[float, float]] = {"es": (0.865, 0.85), "en": (0.865, 0.85)}
NEG_RECALL_FLOORS: dict[Language, tuple[float, float]] = {"es": (0.935, 0.93), "en": (0.886, 0.87)}
# (language, phenomenon): (measured, floor) accuracy on the test split (tone-9), floors just
# under the figure. The fifth batch made the split harder in places (tone-8 on the grown split:
# es sarcasm 0.914, en explicit 0.882, es fact 0.795), so two floors are lower than tone-8's
# though tone-9 is not worse than tone-8 on either: es sarcasm (0.92 -> 0.90; tone-9 0.914 on
# the grown split, 0.939 on tone-8's, both as tone-8) and en explicit (0.91 -> 0.89; tone-9
# 0.908 and 0.946, tone-8 0.882 and 0.930). Raised: es explicit, en casual, fact, sarcasm.
PHENOMENON_FLOORS: dict[tuple[str, str], tuple[float, float]] = {
    ("es", "chat"): (0.922, 0.90),
    ("es", "contrast"): (0.953, 0.93),
    ("es", "emoji"): (1.000, 0.90),
    ("es", "explicit"): (0.884, 0.86),
    ("es", "fact"): (0.795, 0.79),
    ("es", "question"): (0.914, 0.89),
    ("es", "sarcasm"): (0.914, 0.90),
    ("es", "suggestion"): (0.941, 0.92),
    ("en", "casual"): (0.942, 0.92),
    ("en", "contrast"): (0.917, 0.90),
    ("en", "emoji"): (1.000, 0.90),
    ("en", "explicit"): (0.908, 0.89),
    ("en", "fact"): (0.811, 0.80),
    ("en", "question"): (0.922, 0.90),
    ("en", "sarcasm"): (0.806, 0.79),
    ("en", "suggestion"): (0.968, 0.94),
}
#: Items of the first source batch per split: tone-3's whole corpus. A later batch is split
#: among its own skeletons, so these never move (and tone-3's test split stays inside).
FIRST_BATCH = {"train": 5035, "validation": 1733, "test": 1730}
#: Items of the second batch per split (tone-4's and tone-5's corpus with the first): the
#: third batch (tone-6) is split among its own skeletons, so these never move either.
SECOND_BATCH = {"train": 2002, "validation": 654, "test": 696}
#: Items of the third batch per split (tone-6's corpus with the first two): the fourth batch
#: (tone-7) is split among its own skeletons, so these never move either.
THIRD_BATCH = {"train": 2275, "validation": 746, "test": 768}
#: Items of the fourth batch per split (tone-7's and tone-8's corpus with the first three): the
#: fifth batch (tone-9) is split among its own skeletons, so these never move either.
FOURTH_BATCH = {"train": 1964, "validation": 688, "test": 747}


def load(split: str) -> list[CorpusItem]:
    return parse_corpus((CORPUS / f"{split}.jsonl").read_text("utf-8"))


def key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", bare).split())


def test_corpus_is_big_enough_and_tagged() -> None:
    items = [item for split in SPLITS for item in load(split)]
    per_language = Counter(item.lang for item in items)
    assert per_language["es"] >= 6000, per_language
    assert per_language["en"] >= 5000, per_language
    for lang in ("es", "en"):
        labels = Counter(item.label for item in items if item.lang == lang)
        assert min(labels.values()) >= 0.2 * per_language[lang], labels
    assert {item.role for item in items} == {"bene", "impl"}
    assert (CORPUS / "LICENSE").read_text("utf-8").count("CC0") >= 1


def test_no_text_or_skeleton_in_two_splits() -> None:
    owner: dict[str, str] = {}
    groups: dict[str, str] = {}
    for split in SPLITS:
        for item in load(split):
            assert owner.setdefault(key(item.text), split) == split, item
            assert groups.setdefault(item.group, split) == split, item


def test_first_batch_keeps_its_split() -> None:
    for split, count in FIRST_BATCH.items():
        items = load(split)
        assert sum(1 for i in items if i.batch == 1) == count, split
        assert {i.batch for i in items} == {1, 2, 3, 4, 5}, split


def test_second_batch_keeps_its_split() -> None:
    for split, count in SECOND_BATCH.items():
        items = load(split)
        assert sum(1 for i in items if i.batch == 2) == count, split


def test_third_batch_keeps_its_split() -> None:
    for split, count in THIRD_BATCH.items():
        items = load(split)
        assert sum(1 for i in items if i.batch == 3) == count, split


def test_fourth_batch_keeps_its_split() -> None:
    for split, count in FOURTH_BATCH.items():
        items = load(split)
        assert sum(1 for i in items if i.batch == 4) == count, split


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "La idea es buena, pero nadie avisa",
            ("La idea es buena, ", "pero nadie avisa"),
            id="pero",
        ),
        pytest.param(
            "Tardaron, aunque cumplieron; sin embargo falta luz",
            ("Tardaron, aunque cumplieron; ", "sin embargo falta luz"),
            id="last-marker",
        ),
        pytest.param(
            "Nice staff. However, no water.", ("Nice staff. ", "However, no water."), id="en"
        ),
        pytest.param("Pero nadie vino", None, id="starts-with-marker"),
        pytest.param("Nothing has changed", None, id="no-marker"),
        pytest.param("Peroné roto, buttons", None, id="whole-words-only"),
    ],
)
def test_contrast_clauses(text: str, expected: tuple[str, str] | None) -> None:
    assert clauses(text) == expected


@pytest.mark.parametrize("language", ["es", "en"])
def test_test_split_floors(analyzer: SentimentAnalyzer, language: Language) -> None:
    items = [i for i in load("test") if i.lang == language]

    def predict(text: str) -> Label:
        return analyzer.analyse(text, language).label

    report = evaluate([Example(i.label, i.text) for i in items], predict)
    f1_floor = MACRO_F1_FLOORS[language][1]
    recall_floor = NEG_RECALL_FLOORS[language][1]
    assert report.macro_f1 >= f1_floor, f"macro-F1 {report.macro_f1:.3f} < {f1_floor}"
    assert report.recall["neg"] >= recall_floor, f"neg recall {report.recall['neg']:.3f}"


@pytest.mark.parametrize(("language", "phenomenon"), sorted(PHENOMENON_FLOORS))
def test_test_split_phenomenon_floors(
    analyzer: SentimentAnalyzer, language: Language, phenomenon: str
) -> None:
    items = [i for i in load("test") if i.lang == language and i.phenomenon == phenomenon]
    assert items
    right = sum(1 for i in items if analyzer.analyse(i.text, language).label == i.label)
    floor = PHENOMENON_FLOORS[(language, phenomenon)][1]
    assert right / len(items) >= floor, f"{right}/{len(items)} < {floor}"


def test_recorded_figures_are_the_shipped_models(analyzer: SentimentAnalyzer) -> None:
    """The figures the results site publishes (``data/evaluation.json``) are this model's
    on this test split, to the fourth decimal: a retrained model or a grown split fails
    here until ``python -m benchmarks sentiment --record`` is run again."""
    recorded = recorded_evaluation()
    assert recorded is not None, (
        "no data/evaluation.json: run python -m benchmarks sentiment --record"
    )
    fresh = evaluate_split(
        load("test"),
        lambda text, language: analyzer.analyse(text, language).label,
        analyser=analyzer.version,
        split=TEST_SPLIT,
    )
    assert recorded == fresh, "run python -m benchmarks sentiment --record"


def test_uncertain_threshold_is_the_models() -> None:
    from surveys.sentiment import load_model

    assert load_model().uncertain_below == sentiment.UNCERTAIN_BELOW


def test_uncertain_flag(analyzer: SentimentAnalyzer) -> None:
    scores = [analyzer.analyse(i.text, i.lang) for i in load("test")]
    assert any(s.uncertain for s in scores)
    assert any(not s.uncertain for s in scores)
    for s in scores:
        assert s.uncertain == (s.confidence < sentiment.UNCERTAIN_BELOW)


def test_model_file_is_small_and_foreign_files_are_refused() -> None:
    data = resources.files("surveys.sentiment").joinpath("data", MODEL_FILE)
    assert len(data.read_bytes()) < 400_000


def test_short_answers_follow_the_lexicon(analyzer: SentimentAnalyzer) -> None:
    """The short rule (chosen on validation, stored in the model file) decides these."""
    from surveys.sentiment import load_model

    rule = load_model().short_rule
    assert rule.max_words >= 1
    for text, language, label in [("👍", "es", "pos"), ("No, está excelente", "es", "pos")]:
        score = analyzer.analyse(text, language)  # type: ignore[arg-type]
        assert score.label == label, score
        assert score.confidence >= rule.confidence - 1e-9
    with pytest.raises(ValueError, match="not a Pulso tone model"):
        ToneModel.from_bytes(gzip.compress(b'{"format": 2}'))
    with pytest.raises(ValueError, match="not a Pulso tone model"):
        ToneModel.from_bytes(gzip.compress(b'{"format": 1, "weights": {}}\n'))
    with pytest.raises(ValueError, match="not a Pulso tone model"):
        ToneModel.from_bytes(gzip.compress(b"\x00\x01 not json\n"))


def test_pure_python_reproduces_sklearn() -> None:
    """Retrain (fixed data, deterministic solver) and compare on the test split.

    The pure-Python reader of the fresh export must give scikit-learn's probabilities to
    1e-9, and the shipped file must be what the training command produces (1e-4: a newer
    scikit-learn may move a weight in its last rounded digit).
    """
    pytest.importorskip("sklearn")
    from surveys.sentiment import load_model
    from surveys.sentiment.train import Lexicon, export, fit

    trained = fit()
    fresh = ToneModel.from_bytes(export(trained))
    shipped = load_model()
    lexicon = Lexicon()
    items = load("test")
    rows = [(i.text, lexicon(i), lexicon.split(i)) for i in items]
    assert sum(1 for _, _, split in rows if split is not None) > 100  # contrasts are read
    from surveys.sentiment._features import features

    expected = trained.sklearn_probabilities([features(*row) for row in rows])
    for (text, lex, split), want in zip(rows, expected, strict=True):
        got = fresh.probabilities(text, lex, split)
        assert [got.neg, got.neu, got.pos] == pytest.approx(want, abs=1e-9), text
        ship = shipped.probabilities(text, lex, split)
        assert [ship.neg, ship.neu, ship.pos] == pytest.approx(want, abs=1e-4), text
