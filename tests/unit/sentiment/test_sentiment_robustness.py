"""Any text scores, within bounds, the same way every time; the API and version hold."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import surveys.sentiment as sentiment
from surveys.sentiment import SentimentAnalyzer, SentimentScore, detect_language, get_analyzer

NASTY = [
    pytest.param("", id="empty"),
    pytest.param("   \n\t ", id="whitespace"),
    pytest.param("👍👍👍😡🤷‍♀️👍🏽", id="emoji-only"),
    pytest.param("\x00\x01\x1b[31m no sirve \x7f", id="control-characters"),
    pytest.param("\u202eetneicife\u202c \u200f\u200e\ufeff", id="bidi-marks"),
    pytest.param("هذا سيء جدا שלום", id="rtl-scripts"),
    pytest.param("\ud800 lone surrogate", id="lone-surrogate"),
    pytest.param("no " * 5000, id="10k-negators"),
    pytest.param("excelente " * 1000 + "pésimo", id="10k-words"),
    pytest.param("a" * 10_000, id="10k-one-word"),
    pytest.param("qqpp300 qqx qqln150 QQEN260", id="stand-in-words-typed"),
    pytest.param("!!!???¡¡¡¿¿¿...,,,", id="punctuation-only"),
    pytest.param(":) :( <3 :/ http://x.y/:(", id="emoticons"),
    pytest.param("e\u0301xito y a\u0301nimo", id="combining-accents"),
    pytest.param("İSTANBUL ǅ ß ﬁ", id="case-oddities"),
]


@pytest.mark.parametrize("text", NASTY)
@pytest.mark.parametrize("language", ["es", "en", None])
def test_never_raises(analyzer: SentimentAnalyzer, text: str, language: str | None) -> None:
    score = analyzer.analyse(text, language)  # type: ignore[arg-type]
    assert -1.0 <= score.score <= 1.0
    assert score.label in ("pos", "neu", "neg")
    assert 1 / 3 - 1e-9 <= score.confidence <= 1.0


def test_typed_stand_ins_carry_nothing(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.lexicon_score("qqpp300 qqep240", "es") == 0.0


def test_combining_accents_fold_like_composed(analyzer: SentimentAnalyzer) -> None:
    assert analyzer.analyse("e\u0301xito", "es") == analyzer.analyse("éxito", "es")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), language=st.sampled_from(["es", "en", None]))
def test_any_text_scores_in_bounds_and_deterministically(text: str, language: str | None) -> None:
    analyzer = get_analyzer()
    first = analyzer.analyse(text, language)  # type: ignore[arg-type]
    again = analyzer.analyse(text, language)  # type: ignore[arg-type]
    assert first == again
    assert math.isfinite(first.score)
    assert -1.0 <= first.score <= 1.0
    # score = P(pos) - P(neg): its sign agrees with a pos or neg label.
    if first.label == "pos":
        assert first.score > 0
    if first.label == "neg":
        assert first.score < 0
    assert 1 / 3 - 1e-9 <= first.confidence <= 1.0
    assert first.uncertain == (first.confidence < sentiment.UNCERTAIN_BELOW)
    assert detect_language(text) in ("es", "en")


RULE_WORDS = [
    *("no", "nunca", "sin", "pero", "muy", "bien", "mal", "bueno", "nada", "ni", "poco"),
    *("menos", "apoyo", "hay", "sirvió", "👍", "😡", ",", ".", "!"),
]


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(
        st.sampled_from(RULE_WORDS),
        max_size=30,
    )
)
def test_rule_words_in_any_order(words: list[str]) -> None:
    score = get_analyzer().analyse(" ".join(words), "es")
    assert -1.0 <= score.score <= 1.0


def test_score_carries_version_and_language(analyzer: SentimentAnalyzer) -> None:
    score = analyzer.analyse("Muy buena atención", "es")
    assert score == SentimentScore("pos", score.score, "es", analyzer.version, score.confidence)
    assert len(analyzer.version) <= 64  # the sentiment_version column
    assert dataclasses.is_dataclass(score)
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.label = "neg"  # type: ignore[misc]


def test_analyzer_is_cached() -> None:
    assert get_analyzer() is get_analyzer()


def test_public_surface() -> None:
    assert set(sentiment.__all__) == {
        "Label",
        "Language",
        "NEGATIVE_THRESHOLD",
        "POSITIVE_THRESHOLD",
        "RULES_VERSION",
        "UNCERTAIN_BELOW",
        "SentimentAnalyzer",
        "SentimentScore",
        "detect_language",
        "get_analyzer",
        "label_for",
    }


# Each data file belongs to one part of the version string. Change a file, and this test
# asks you to bump that part (a stored score must name the lexicon that made it) and to
# record the new fingerprint here.
FINGERPRINTS = {
    "es-lex-1": {
        "es.affective.words.json": (
            "40cd032f40fc50f6d34cb20bc9db2b9381f49b07fd3dc94d90f00da6e0dc3332"
        ),
        "es.json": "70744a35c88ec7c1da7ee8e938d677a4b8c0179aab03bdc3e310da13df06c176",
    },
    "en-lex-1": {
        "en.json": "3fc274dc6310736f67ccf1b96a260267574a6f4253bb3f32a6a3edd556275e8e",
    },
    "vader-1.0": {
        "emoji.json": "9c67847f168b06b52123378e08553a8cc84dfc26c328a5969304644daf873ae5",
    },
    "tone-1": {
        "tone-model.json.gz": "d5e877ff48351188bc27f929083b49e0021a7443f3b600436c104ce1a6819a16",
    },
    "tone-2": {
        "tone-model.json.gz": "a12e5f9fa7b58df06a291febb076bb25eea146c5998d6d72c88e65c4c7dfb313",
    },
    "tone-3": {
        "tone-model.json.gz": "35cb314197dbe9be4e6911a94ee7e068b45c37d2c1cfc3ebf60f29fc16043a89",
    },
    "tone-4": {
        "tone-model.json.gz": "cfd577db62b80e1530e28f26c433811068874d16f6169ea8e3d9a578e09b396d",
    },
    "tone-5": {
        "tone-model.json.gz": "79a98661436269c0f3d4e0088564bc14b45d659b55776767742fce5ac1c05b1c",
    },
    "tone-6": {
        "tone-model.json.gz": "35339350711ed446598b5686232678fa40e46630bee6e1ca5e12a34bc3ccef9c",
    },
    "tone-7": {
        # The same weights as the tone-model.json.gz first shipped (3086d3be…), in the
        # compact file of format 2: the scores are the same, so the version stays.
        "tone-model.bin.gz": "af11a7cba8e32b4d6cab45d87f120efa2fd9b973aa683e3e062c3c0ce1c69f1d",
    },
    "tone-8": {
        "tone-model.bin.gz": "f71c43dc3048e41ffee4e0211d3a15d7ce0ba00680fb710c1e8c0dcc47cf5ae5",
    },
    "tone-9": {
        "tone-model.bin.gz": "18b002ca40260de30abf8e3803f2e2c479c2035d68b87cda2d346b9e6a424962",
    },
}


def test_version_names_the_data(analyzer: SentimentAnalyzer) -> None:
    data = resources.files("surveys.sentiment").joinpath("data")
    for part, files in FINGERPRINTS.items():
        if part not in analyzer.version:
            continue  # an old entry; the current version is checked below
        for name, expected in files.items():
            actual = hashlib.sha256(data.joinpath(name).read_bytes()).hexdigest()
            assert actual == expected, (
                f"data/{name} changed: bump {part} (the 'version' in the JSON file, "
                f"RULES_VERSION for emoji.json, MODEL_VERSION in train.py for the model) "
                f"and record {actual} under the new part"
            )
    recorded = [part for part in FINGERPRINTS if part in analyzer.version]
    assert len(recorded) == 4, f"record the fingerprints of {analyzer.version}"
