"""The features of the tone model: one function, shared by training and by inference.

Training (``surveys/sentiment/train.py``, scikit-learn) and the shipped pure-Python
classifier (``_model.py``) both call :func:`features`, so a text is read the same way in
both. A text becomes three groups of binary features, each group scaled to unit length
(every feature of a group weighs ``1/sqrt(n)``, where ``n`` counts the group's features in
*this* text, known to the model or not — so the scale needs no vocabulary):

* ``w``: words and word pairs, with a start marker (``"que pongan"`` at the start of an answer
  is a suggestion, in the middle it is not);
* ``t``: the words after the last contrast marker (pero, aunque, sin embargo, but, though,
  however…), which usually carry the verdict;
* ``c``: character 3- to 5-grams inside each word padded with spaces, which carry
  misspellings, missing accents and inflections ("nadien", "tardaron", "tardanza");

and three numeric features from the lexicon analyser's compound score ``s`` in [-1, 1]:
``lex`` = s, ``lex+`` = max(s, 0), ``lex-`` = min(s, 0) (the model gets what the rules know:
negation, boosters, emoji, civic phrases).

The text is normalised first: control characters removed, lower case, accents folded (ñ
kept), digits collapsed to one "0", a letter repeated three or more times collapsed
("muuuy" → "muy"), emoji kept as tokens, "?" and "!" kept, other punctuation dropped.
"""

from __future__ import annotations

import re
from typing import Final

from ._text import fold, sanitise

#: Bump when :func:`features` changes: a model is only valid with the features it was
#: trained on, and the model file records this number.
FEATURES_VERSION: Final = 1

_DIGITS: Final = re.compile(r"\d+")
_REPEATS: Final = re.compile(r"([^\W\d_])\1{2,}")
#: A word (letters, digits, inner apostrophes) or one character that is neither a word
#: character, a space nor ordinary punctuation (emoji, symbols); "?" and "!" are kept.
_TOKEN: Final = re.compile(
    r"[^\W_]+(?:['’][^\W_]+)*|[?!]|[^\w\s.,;:¿¡\"'“”«»()\[\]{}…/\\*#@&%+=<>|~^`_-]"
)
_CONTRAST: Final = frozenset(
    {"pero", "aunque", "sino", "but", "though", "although", "however", "embargo", "yet"}
)
_MAX_CHARS: Final = 1000  # an answer's verdict is in its first thousand characters


def normalise(text: str) -> str:
    """The text as the model reads it (see the module docstring)."""
    text = fold(sanitise(text[:_MAX_CHARS])).lower()
    text = _DIGITS.sub("0", text)
    return _REPEATS.sub(r"\1", text)


def tokens(text: str) -> list[str]:
    """The normalised text's tokens: words, emoji and symbols, "?" and "!"."""
    return _TOKEN.findall(normalise(text))


def features(text: str, lexicon: float) -> dict[str, float]:
    """The features of ``text`` with their values; ``lexicon``: the rules' compound score."""
    toks = tokens(text)
    words: set[str] = set()
    previous = "<s>"
    tail_start = 0
    for i, tok in enumerate(toks):
        words.add("w|" + tok)
        words.add("b|" + previous + " " + tok)
        previous = tok
        if tok in _CONTRAST:
            tail_start = i + 1
    out: dict[str, float] = {}
    if words:
        scale = len(words) ** -0.5
        out = dict.fromkeys(words, scale)
    if tail_start:
        tail = {"t|" + tok for tok in toks[tail_start:]}
        if tail:
            out.update(dict.fromkeys(tail, len(tail) ** -0.5))
    chars: set[str] = set()
    for tok in toks:
        padded = f" {tok} "
        size = len(padded)
        if size <= 3:
            chars.add("c|" + padded)
            continue
        for n in (3, 4, 5):
            for start in range(size - n + 1):
                chars.add("c|" + padded[start : start + n])
    if chars:
        out.update(dict.fromkeys(chars, len(chars) ** -0.5))
    out["lex"] = lexicon
    out["lex+"] = max(lexicon, 0.0)
    out["lex-"] = min(lexicon, 0.0)
    return out
