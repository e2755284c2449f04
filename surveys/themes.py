"""Themes of free texts: the words and two-word phrases people use most, and quotes.

    >>> themes = find_themes([AuthoredText(author, text), ...], min_group_size=5)
    >>> [term.text for term in themes.words]
    ['agua', 'registro', 'pago']
    >>> pick_quotes(candidates, themes, min_group_size=5)

**Words** are runs of letters of three or more, compared in lower case without
accents, minus the stop words of both languages (a person may answer in
either): stopwords-iso's Spanish and English lists, adjusted for civic answers
in ``data/stopwords.yaml``. **Phrases** are two such words side by side in the
text (a stop word or a punctuation mark between them breaks the phrase, so
"agua potable" counts and "tomaron en cuenta" does not). The unit is a
**person**: each term is counted once per author, however many texts or
/feedback messages they wrote, so neither one long answer nor one insistent
person can make a theme. A term used by fewer than ``min_group_size`` people
is never shown (it may be a name or an address), and nothing is shown when the
texts come from fewer than ``min_group_size`` people. A term is shown in its
most frequent spelling.

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
    """A word or phrase and the number of people who used it."""

    text: str
    count: int


@dataclass(frozen=True, slots=True)
class Themes:
    """The most used words and phrases of a group's texts (empty when suppressed)."""

    words: tuple[Term, ...] = ()
    phrases: tuple[Term, ...] = ()
    texts: int = 0
    authors: int = 0  # different people who wrote the texts
    suppressed: bool = False


@dataclass(frozen=True, slots=True)
class AuthoredText:
    """A free text and who wrote it: any key that is the same for one person's texts."""

    author: str
    text: str


@dataclass(frozen=True, slots=True)
class QuoteCandidate:
    """A text whose author agreed to be quoted; ``author`` keeps it to one per person."""

    text: str
    author: str
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
    # Imported here, at the first summary: stopwordsiso reads the lists of some sixty
    # languages when imported (~2 MB a bot at idle need not hold; issue 12's budget).
    import stopwordsiso

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
    texts: Iterable[AuthoredText],
    *,
    min_group_size: int,
    top: int = 5,
) -> Themes:
    """The ``top`` words and phrases of ``texts``, each used by at least
    ``min_group_size`` different people (see the module docstring)."""
    words: dict[str, Counter[str]] = {}
    phrases: dict[str, Counter[str]] = {}
    word_authors: dict[str, set[str]] = {}
    phrase_authors: dict[str, set[str]] = {}
    authors: set[str] = set()
    count = 0
    for authored in texts:
        count += 1
        authors.add(authored.author)
        found_words, found_phrases = _terms(authored.text)
        for key, spelled in found_words:
            words.setdefault(key, Counter())[spelled] += 1
            word_authors.setdefault(key, set()).add(authored.author)
        for key, spelled in found_phrases:
            phrases.setdefault(key, Counter())[spelled] += 1
            phrase_authors.setdefault(key, set()).add(authored.author)
    if count == 0:
        return Themes()
    if len(authors) < min_group_size:
        return Themes(suppressed=True)
    least = max(MIN_MENTIONS, min_group_size)
    return Themes(
        words=_top(words, word_authors, least, top),
        phrases=_top(phrases, phrase_authors, least, top),
        texts=count,
        authors=len(authors),
    )


def _top(
    spellings: dict[str, Counter[str]], authors: dict[str, set[str]], least: int, top: int
) -> tuple[Term, ...]:
    """The terms used by the most people (at least ``least``), each in its most frequent
    spelling (alphabetical among equals)."""
    ranked = sorted(
        ((key, len(people)) for key, people in authors.items() if len(people) >= least),
        key=lambda item: (-item[1], item[0]),
    )
    return tuple(
        Term(min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0], n)
        for key, n in ranked[:top]
    )


def pick_quotes(
    candidates: Sequence[QuoteCandidate],
    themes: Themes,
    *,
    min_group_size: int,
    limit: int = 3,
) -> tuple[str, ...]:
    """Up to ``limit`` representative quotes (see the module docstring)."""
    if themes.authors < min_group_size or themes.suppressed:
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
    used_authors: set[str] = set()
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
