"""Sentiment of free-text answers and feedback, offline, in Spanish and English.

    >>> from surveys.sentiment import get_analyzer
    >>> s = get_analyzer().analyse("No sirvió para nada 😡")
    >>> (s.label, s.language)
    ('neg', 'es')

The label comes from the **tone model** (``_model.py``): a calibrated linear SVM (since
tone-8; a logistic regression up to tone-7) over word and character n-grams (scaled by naive-Bayes
log-count ratios when trained), cue classes and the lexicon's compound scores (of the whole
text, and of each side of a contrast: "la idea es buena, pero nadie avisa"), trained by
``python -m surveys.sentiment.train`` on the corpus in ``corpus/sentiment/`` and read from
``data/tone-model.bin.gz`` in pure Python. ``SentimentScore.confidence`` is the probability
of the label, ``uncertain`` is true under :data:`UNCERTAIN_BELOW`; ``score`` is
P(pos) − P(neg). Answers of up to four words that the lexicon scores at least 0.4 from zero
take the lexicon's label (the short rule, chosen on validation). On the corpus's test split
(answers of shapes never trained on; tone-9, 4,524 answers): macro-F1 0.865 Spanish, 0.865
English; negative recall 0.94 / 0.89 (docs/sentiment.md). About 6,800–7,300 texts/s of CPU
time on one core of a shared 2-core machine.

Score a text when it is stored and keep ``SentimentScore.version`` beside the score: the
version names the model, the rules and both lexicons, so scores of different versions are
never mixed unknowingly. ``language=None`` detects the language of each text (a
participant may answer in the other language); pass the participant's language as
``default_language`` to settle texts with no evidence ("ok", "👍").

The lexicon analyser, the model's input (measured with ``python -m benchmarks.sentiment``;
the numbers are in ``surveys/sentiment/MEASUREMENTS.md``). Macro-F1 on the small hold-out
sets: 0.91 Spanish, 0.87 English (plain VADER: 0.64 English; the EvoMSA list alone
through the engine: 0.56 Spanish); with the model (tone-9) 0.98 / 0.80.

* **Engine: nltk-vader-sentiment** (``import vader``), not ``vaderSentiment`` 3.3.2. Both run
  at the same speed and give the same English scores on our set, and neither warns on
  import. But vaderSentiment declares ``requests`` as a dependency (for a demo), keeps its
  negators and boosters in module globals (a Spanish analyser would have to patch the
  module the English one uses), reads its lexicon files on every construction, has no type
  hints, and carries known bugs (its "but" rule rescales the wrong duplicate values).
  nltk-vader-sentiment has no dependencies, ships ``py.typed``, takes lexicon, boosters,
  negators and idioms per instance, and fixes those bugs. We use only its public
  constructor and ``polarity_scores``; the Spanish rules live in a rewriting step in front
  of it (see ``_scorer.py``) instead of overriding its private methods.
* **Spanish lexicon**: EvoMSA's Apache-2.0 ``es.affective.words.json`` (shipped by the
  ``evomsa`` package on PyPI; copied unchanged with its licence and a NOTICE into ``data/``)
  as a base at ±1.6, inflected at load time, minus words that are not sentiment in civic
  answers, plus Pulso's graded words, Mexican colloquialisms, civic phrases, negators,
  boosters and topic words (``data/es.json``).
* **Language detection**: a small function-word heuristic restricted to es/en
  (``_language.py``); as accurate as py3langid and lingua on our answers, no dependency, no
  load time.
* **Thresholds**: the standard VADER ±0.05. A sweep from 0 to 0.3 finds it on the plateau
  of macro-F1; wider bands only push weak but real opinions into "neu".

``surveys`` is pure: nothing here reads the clock, the network or the database. Data files
are read once, from the package, by :func:`get_analyzer`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

import vader

from ._features import clauses
from ._language import detect_language
from ._lexicon import Language, Resources, load_english, load_spanish
from ._model import MODEL_FILE, ToneModel
from ._scorer import Scorer

__all__ = [
    "NEGATIVE_THRESHOLD",
    "POSITIVE_THRESHOLD",
    "RULES_VERSION",
    "UNCERTAIN_BELOW",
    "Label",
    "Language",
    "SentimentAnalyzer",
    "SentimentScore",
    "detect_language",
    "get_analyzer",
    "label_for",
]

Label = Literal["pos", "neu", "neg"]

#: Version of the rewriting rules in ``_scorer.py`` and of the emoji table: bump it when
#: either changes. The lexicon versions live in ``data/es.json`` and ``data/en.json``.
RULES_VERSION: Final = "1.0"

#: The lexicon's own thresholds: a compound score at or above this is positive, at or below
#: its negative is negative (:func:`label_for`). The analyser's label comes from the model.
POSITIVE_THRESHOLD: Final = 0.05
NEGATIVE_THRESHOLD: Final = -0.05


#: Below this probability of its label a text counts as uncertain. Chosen on the corpus's
#: validation split by ``python -m surveys.sentiment.train`` (the lowest threshold at which
#: the texts at or above it are right at least 90 % of the time; see docs/sentiment.md),
#: which records it in the model file; a test checks that the two agree.
UNCERTAIN_BELOW: Final = 0.62


def load_model() -> ToneModel:
    """The shipped tone model (``data/tone-model.bin.gz``)."""
    data = resources.files(__name__).joinpath("data", MODEL_FILE).read_bytes()
    return ToneModel.from_bytes(data)


@dataclass(frozen=True, slots=True)
class SentimentScore:
    """The sentiment of one text.

    ``label`` is the model's most probable class and ``confidence`` its probability
    (calibrated: of texts scored 0.8, about 8 in 10 are right). ``score`` is
    P(pos) − P(neg) in [-1, 1]: positive for "pos", negative for "neg", either sign for
    "neu"; it sorts texts from most negative to most positive.
    """

    label: Label
    score: float  #: P(pos) - P(neg), in [-1, 1]
    language: Language  #: the language the text was scored in
    version: str  #: the analyser version that produced this score
    confidence: float  #: the probability of ``label``, in [1/3, 1]

    @property
    def uncertain(self) -> bool:
        """Whether ``confidence`` is under :data:`UNCERTAIN_BELOW`."""
        return self.confidence < UNCERTAIN_BELOW


def label_for(score: float) -> Label:
    """The label of a lexicon compound score under the lexicon's thresholds."""
    if score >= POSITIVE_THRESHOLD:
        return "pos"
    if score <= NEGATIVE_THRESHOLD:
        return "neg"
    return "neu"


class SentimentAnalyzer:
    """Scores texts in Spanish and English. Immutable and safe to share between threads."""

    def __init__(self, spanish: Resources, english: Resources, model: ToneModel) -> None:
        self._scorers: dict[Language, Scorer] = {"es": Scorer(spanish), "en": Scorer(english)}
        self._model = model
        # At most 64 characters: the column that stores it beside each score.
        self.version: str = (
            f"pulso-tone-{model.version}+vader-{RULES_VERSION}+es-lex-{spanish.version}"
            f"+en-lex-{english.version}+nvs-{vader.__version__}"
        )

    def analyse(
        self,
        text: str,
        language: Language | None = None,
        *,
        default_language: Language = "es",
    ) -> SentimentScore:
        """Score ``text``; ``language=None`` detects it (``default_language`` when unsure).

        Never raises on any ``str``: empty, emoji-only, control characters, right-to-left
        text and very long texts (only the first 4,096 characters are read) all score.
        """
        lang: Language = (
            language if language is not None else detect_language(text, default_language)
        )
        lexicon = self.lexicon_score(text, lang)
        parts = clauses(text)
        split = (
            None
            if parts is None
            else (self.lexicon_score(parts[0], lang), self.lexicon_score(parts[1], lang))
        )
        p = self._model.decide(text, lexicon, split)
        return SentimentScore(
            label=p.label,
            score=max(-1.0, min(1.0, p.pos - p.neg)),
            language=lang,
            version=self.version,
            confidence=p.confidence,
        )

    def lexicon_score(self, text: str, language: Language) -> float:
        """The rules' compound score in [-1, 1] (one of the model's inputs)."""
        return max(-1.0, min(1.0, self._scorers[language].compound(text)))

    def rewrite(self, text: str, language: Language) -> str:
        """What the engine sees for ``text`` after Pulso's rules (for tests and debugging)."""
        return self._scorers[language].rewrite(text)


@functools.cache
def get_analyzer() -> SentimentAnalyzer:
    """The shared analyser, built once (lexicons and model load in a fraction of a second)."""
    return SentimentAnalyzer(load_spanish(), load_english(), load_model())
