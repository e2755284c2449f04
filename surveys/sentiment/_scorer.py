"""One language's scorer: Pulso's rewriting step in front of the VADER engine.

The engine (``vader.SentimentIntensityAnalyzer`` from nltk-vader-sentiment) takes its
lexicon, boosters and negators per instance, but a few rules are written into it in English:
the contrast word is the literal token "but", "no" has a special case, and two negators in
one clause are two negations. Rather than overriding its private methods, each text is first
rewritten into the vocabulary the engine understands, and only its public constructor and
``polarity_scores`` are used:

* emoji and ASCII emoticons become stand-in words whose valence is in the engine lexicon;
* civic phrases and colloquialisms ("no sirvió para nada", "nos tomaron en cuenta") become
  one stand-in word each, so a negator or booster in front still applies to the whole
  phrase ("nunca nos tomaron en cuenta");
* a topic word after a marker of lack or of arrival ("sin apoyo", "no hay cupo",
  "ya hay luminarias") becomes a negative or positive stand-in; alone it stays neutral;
* Spanish: every negator ("no", "nunca", "nadie", "sin", "poco", …) becomes "not", and only
  the first one in a clause counts (negative concord: "no hay nada bueno" is negated once);
  a negator right before punctuation is an interjection ("No, …") and is dropped;
  "pero"/"sin embargo"/"sino" become "but"; "bien"/"qué" before a sentiment word become "muy";
* "nunca"/"never" with no sentiment word within three words is a complaint by itself
  ("las patrullas nunca pasan") and becomes a negative stand-in;
* accents are folded ("rapido" == "rápido"); case is kept for the engine's ALL-CAPS emphasis.
"""

from __future__ import annotations

import re
from typing import Final

from vader import SentimentIntensityAnalyzer
from vader.text import EmojiTranslator

from ._lexicon import SYNTHETIC_PREFIX, Resources
from ._text import CLAUSE_BREAKS, emoticon_pattern, fold, sanitise, tokenise

_RESERVED: Final = re.compile(rf"\b{SYNTHETIC_PREFIX}\w*", re.IGNORECASE)
_SCOPE: Final = 3  # words a negator reaches, as in VADER
_FILLER: Final = f"{SYNTHETIC_PREFIX}x"  # a neutral word that only takes up a position


def _drop_last_not(out: list[str]) -> None:
    """Remove the "not" among the last words of ``out`` (the engine's negation scope)."""
    for back in range(1, min(_SCOPE, len(out)) + 1):
        if out[-back] == "not":
            del out[-back]
            return


class Scorer:
    """Compound VADER score of a text in one language, after Pulso's rewriting."""

    def __init__(self, resources: Resources) -> None:
        self._res = resources
        if resources.boosters is None:
            # English: VADER's own lexicon, boosters, negators, idioms; Pulso's entries on top.
            self._engine = SentimentIntensityAnalyzer(extra_lexicon=resources.lexicon, emoji={})
        else:
            # Spanish: only Pulso's lexicon and boosters. The rewriter emits the single
            # negator "not" and the contrast word "but"; English idioms are switched off.
            self._engine = SentimentIntensityAnalyzer(
                lexicon=resources.lexicon,
                booster=resources.boosters,
                negations=("not",),
                special_cases={},
                idioms={},
                multiword={},
                emoji={},
            )
        self._sentiment_words = frozenset(w for w, v in self._engine.lexicon.items() if v)
        self._negating = self._engine.negations | {"no", "not"}
        self._emoji = EmojiTranslator(resources.emoji)
        self._emoticons = emoticon_pattern(list(resources.emoticons))

    def rewrite(self, text: str) -> str:
        """The text as handed to the engine (exposed for tests and debugging)."""
        res = self._res
        text = _RESERVED.sub(" ", sanitise(text))
        text = self._emoticons.sub(lambda m: f" {res.emoticons[m.group(0)]} ", text)
        text = self._emoji.translate(text)
        tokens = tokenise(fold(text))
        low = [t.lower() for t in tokens]
        out: list[str] = []
        negated = False  # a negator already counted in this clause
        i, n = 0, len(tokens)
        while i < n:
            word = low[i]
            if word in CLAUSE_BREAKS:
                # The engine reaches three words back for a negator and knows no
                # punctuation: keep a negation from crossing into the next clause.
                if any(self._is_negator(t) for t in out[-_SCOPE:]):
                    out.extend((_FILLER,) * _SCOPE)
                negated = False
                i += 1
                continue
            if not word[0].isalnum():
                i += 1
                continue
            marked = self._topic_marker(low, i)
            if marked is not None:
                i, token, lack = marked
                if lack and negated:
                    # "no vi ningún cambio": the lack already carries the clause's one
                    # negation; a "not" left in front would flip it back.
                    _drop_last_not(out)
                out.append(token)
                negated = negated or lack
                continue
            hit = res.phrases.match(low, i)
            if hit is not None:
                length, entry = hit
                out.extend(entry.emit)
                if entry.contrast:
                    negated = False
                i += length
                continue
            if word == "no" or word in res.negators or word in res.complaint_negators:
                if i + 1 >= n or low[i + 1] in CLAUSE_BREAKS:
                    i += 1  # "No." / "No, ..." answers a question; it negates nothing
                    continue
                if negated and word in res.negators:
                    i += 1  # negative concord: "no vino nunca" is one negation
                    continue
                if word in res.complaint_negators and not self._sentiment_ahead(low, i + 1):
                    out.append(res.complaint_token)
                    negated = True
                    i += 1
                    continue
                if word in res.negators:  # Spanish; English negators are the engine's
                    out.append("not")
                    negated = True
                    i += 1
                    continue
            clause_start = i == 0 or low[i - 1] in CLAUSE_BREAKS
            if (
                (word in res.intensifiers or (clause_start and word in res.exclamatives))
                and i + 1 < n
                and low[i + 1] in self._sentiment_words
                and low[i + 1] not in res.intensifiers
            ):
                out.append("muy")
                i += 1
                continue
            out.append(tokens[i])
            i += 1
        # The engine reads emphasis from the count of "!" (and of "?" beyond one).
        exclaim, question = text.count("!"), text.count("?")
        if exclaim:
            out.append("!" * min(exclaim, 4))
        if question > 1:
            out.append("?" * min(question, 4))
        return " ".join(out)

    def compound(self, text: str) -> float:
        """VADER compound score in [-1, 1]."""
        rewritten = self.rewrite(text)
        if not rewritten:
            return 0.0
        return float(self._engine.polarity_scores(rewritten)["compound"])

    def _is_negator(self, token: str) -> bool:
        lowered = token.lower()
        return lowered in self._negating or lowered.endswith("n't")

    def _sentiment_ahead(self, low: list[str], start: int) -> bool:
        for j in range(start, min(start + _SCOPE, len(low))):
            if low[j] in CLAUSE_BREAKS:
                return False
            if low[j] in self._sentiment_words:
                return True
            hit = self._res.phrases.match(low, j)
            if hit is not None and any(w in self._sentiment_words for w in hit[1].emit):
                return True
        return False

    def _topic_marker(self, low: list[str], i: int) -> tuple[int, str, bool] | None:
        """A lack/arrival marker, up to two determiners, then a topic word."""
        res = self._res
        for table, token, lack in (
            (res.lack, res.lack_token, True),
            (res.more, res.more_token, False),
        ):
            hit = table.match(low, i)
            if hit is None:
                continue
            j = i + hit[0]
            skipped = 0
            while j < len(low) and low[j] in res.determiners and skipped < 2:
                j += 1
                skipped += 1
            if j < len(low) and low[j] in res.topic_words:
                return j + 1, token, lack
        return None
