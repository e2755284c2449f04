"""Fixtures for the sentiment tests: the shared analyser and the labelled sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from surveys.sentiment import Language, SentimentAnalyzer, get_analyzer
from surveys.sentiment.evaluation import Example, parse_labelled

HERE = Path(__file__).resolve().parent

Loader = Callable[[str, Language], list[Example]]


@pytest.fixture(scope="session")
def analyzer() -> SentimentAnalyzer:
    return get_analyzer()


@pytest.fixture(scope="session")
def labelled() -> Loader:
    """``labelled(kind, language)``: the examples of ``{kind}_{language}.tsv`` beside this file."""

    def load(kind: str, language: Language) -> list[Example]:
        return parse_labelled((HERE / f"{kind}_{language}.tsv").read_text("utf-8"))

    return load
