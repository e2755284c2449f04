"""Themes of free texts: the words and two-word phrases people use most, and quotes.

    >>> themes = find_themes(texts, authors=12, min_group_size=5)
    >>> [term.text for term in themes.words]
    ['agua', 'registro', 'pago']
    >>> pick_quotes(candidates, themes, authors=12, min_group_size=5)

**Words** are runs of letters of three or more, compared in lower case without
accents, minus the stop words of both languages (a person may answer in
either): stopwords-iso's Spanish and English lists, adjusted for civic answers
in ``data/stopwords.yaml``. **Phrases** are two such words side by side in the
text (a stop word or a punctuation mark between them breaks the phrase, so
"agua potable" counts and "tomaron en cuenta" does not). Each term is counted
**once per text**, so one long answer cannot make a theme; a term used in fewer
than two texts is never shown (it may be a name or an address), and nothing is
shown when the texts come from fewer than ``min_group_size`` people. A term is
shown in its most frequent spelling.

**Quotes** come only from people who agreed to be quoted, at most one per
person, and only when the group is large enough. Among the candidates of at
least four words, the ones that use the most of the group's common themes are
"representative"; one is taken per sentiment label, the most frequent label
first, so three quotes show the mix of what people said, then the rest by the
same score. Long texts are cut at a word boundary.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Final

import stopwordsiso
import yaml

MIN_MENTIONS: Final = 2
MIN_QUOTE_WORDS: Final = 4
MAX_QUOTE_LENGTH: Final = 280

MIN_WORD: Final = 3
_ANY_WORD: Final = re.compile(r"[^\W_]+")
# Phrases never span these: a new clause starts after each.
_CLAUSE: Final = re.compile(r"[.,;:!?¡¿()\[\]{}\"“”«»…/\n\r\t|]+|\s[-–—]\s")


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase and the number of texts that use it."""

    text: str
    count: int


@dataclass(frozen=True, slots=True)
class Themes:
    """The most used words and phrases of a group's texts (empty when suppressed)."""

    words: tuple[Term, ...] = ()
    phrases: tuple[Term, ...] = ()
    texts: int = 0
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class QuoteCandidate:
    """A text whose author agreed to be quoted; ``author`` keeps it to one per person."""

    text: str
    author: int
    label: str | None = None
    order: int = 0  # a stable tie-breaker, such as the answer's id


def fold(text: str) -> str:
    """Lower case without accents ("Información" → "informacion"); ñ is kept."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    return _fold_accented(lowered)


@functools.lru_cache(maxsize=65536)
def _fold_accented(lowered: str) -> str:
    # Words repeat across a round's texts: caching makes folding nearly free.
    decomposed = unicodedata.normalize("NFD", lowered.replace("ñ", "\0"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).replace("\0", "ñ")


@functools.cache
def stop_words() -> frozenset[str]:
    """Spanish and English stop words, folded, with Pulso's adjustments applied."""
    source = resources.files("surveys").joinpath("data", "stopwords.yaml").read_text("utf-8")
    adjust = yaml.safe_load(source)
    words = {fold(word) for word in stopwordsiso.stopwords(["es", "en"])}
    for language in ("es", "en"):
        words -= {fold(word) for word in adjust["keep"][language]}
        words |= {fold(word) for word in adjust["extra"][language]}
    return frozenset(words)


Spelled = tuple[tuple[str, str], ...]  # (folded key, spelling as written), each key once


@functools.lru_cache(maxsize=8192)
def _terms(text: str) -> tuple[Spelled, Spelled]:
    """The distinct words and phrases of one text, in order of first use.

    Cached: the quotes are picked from the same texts the themes were counted in.
    """
    stops = stop_words()
    words: dict[str, str] = {}
    phrases: dict[str, str] = {}
    for clause in _CLAUSE.split(text):
        previous: tuple[str, str] | None = None
        for token in _ANY_WORD.findall(clause):
            key = fold(token)
            if len(token) < MIN_WORD or not token.isalpha() or key in stops:
                previous = None
                continue
            spelled = token.lower()
            words.setdefault(key, spelled)
            if previous is not None:
                phrases.setdefault(f"{previous[0]} {key}", f"{previous[1]} {spelled}")
            previous = (key, spelled)
    return tuple(words.items()), tuple(phrases.items())


def find_themes(
    texts: Iterable[str],
    *,
    authors: int,
    min_group_size: int,
    top: int = 5,
) -> Themes:
    """The ``top`` words and phrases of ``texts``, written by ``authors`` people."""
    words: Counter[tuple[str, str]] = Counter()
    phrases: Counter[tuple[str, str]] = Counter()
    count = 0
    for text in texts:
        count += 1
        found_words, found_phrases = _terms(text)
        words.update(found_words)
        phrases.update(found_phrases)
    if count == 0:
        return Themes()
    if authors < min_group_size:
        return Themes(suppressed=True)
    return Themes(words=_top(words, top), phrases=_top(phrases, top), texts=count)


def _top(spellings: Counter[tuple[str, str]], top: int) -> tuple[Term, ...]:
    """The most used terms (texts per folded key), each in its most frequent spelling."""
    counts: Counter[str] = Counter()
    best: dict[str, tuple[int, str]] = {}
    for (key, spelled), n in spellings.items():
        counts[key] += n
        if n > best.get(key, (0, ""))[0] or (n == best[key][0] and spelled < best[key][1]):
            best[key] = (n, spelled)
    ranked = sorted(
        ((key, n) for key, n in counts.items() if n >= MIN_MENTIONS),
        key=lambda item: (-item[1], item[0]),
    )
    return tuple(Term(best[key][1], n) for key, n in ranked[:top])


def pick_quotes(
    candidates: Sequence[QuoteCandidate],
    themes: Themes,
    *,
    authors: int,
    min_group_size: int,
    limit: int = 3,
) -> tuple[str, ...]:
    """Up to ``limit`` representative quotes (see the module docstring)."""
    if authors < min_group_size or themes.suppressed:
        return ()
    weights = {fold(term.text): term.count for term in themes.words}
    weights |= {fold(term.text): 2 * term.count for term in themes.phrases}

    def score(candidate: QuoteCandidate) -> int:
        words, phrases = _terms(candidate.text)
        return sum(weights.get(key, 0) for key, _ in (*words, *phrases))

    eligible = [c for c in candidates if len(_ANY_WORD.findall(c.text)) >= MIN_QUOTE_WORDS]
    ranked = sorted(eligible, key=lambda c: (-score(c), len(c.text), c.order))
    labels = Counter(c.label for c in eligible)
    chosen: list[QuoteCandidate] = []
    used_authors: set[int] = set()
    used_texts: set[str] = set()

    def take(candidate: QuoteCandidate) -> None:
        # The same words from two people are one quote: repeating them says nothing new.
        text = fold(" ".join(candidate.text.split()))
        if len(chosen) < limit and candidate.author not in used_authors and text not in used_texts:
            chosen.append(candidate)
            used_authors.add(candidate.author)
            used_texts.add(text)

    for label, _ in sorted(labels.items(), key=lambda item: (-item[1], str(item[0]))):
        best = next((c for c in ranked if c.label == label and c.author not in used_authors), None)
        if best is not None:
            take(best)
    for candidate in ranked:
        take(candidate)
    return tuple(shorten(c.text) for c in chosen)


def shorten(text: str, limit: int = MAX_QUOTE_LENGTH) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
