"""The tone model at run time: a linear classifier read from a small file, in pure Python.

The model is trained with scikit-learn by ``python -m surveys.sentiment.train`` and exported
to ``data/tone-model.bin.gz`` (:func:`pack`): per feature the three class weights
(near-zero weights pruned), the three intercepts, and the calibration temperature already
divided in. Scoring
is a dictionary lookup per feature and a softmax, so neither scikit-learn nor SciPy nor
NumPy is needed (or loaded) at run time.

Very short answers (a few words, an emoji) carry too few n-grams for the model, and the
lexicon's rules (negation, "nada mal", emoji) know them better: :meth:`ToneModel.decide`
lets the lexicon decide when the answer has at most ``ShortRule.max_words`` words and the
lexicon's compound score is at least ``ShortRule.min_lexicon`` away from zero. The rule's
two numbers and its confidence are chosen on the validation split by the trainer and
stored in the model file.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ._features import FEATURES_VERSION, feature_groups, tokens

ModelLabel = Literal["pos", "neu", "neg"]

#: The classes in the order of the weights (scikit-learn's sorted order).
CLASSES: Final[tuple[ModelLabel, ModelLabel, ModelLabel]] = ("neg", "neu", "pos")
MODEL_FILE: Final = "tone-model.bin.gz"
#: The file's layout (see :func:`pack`); 1 was one gzipped JSON document.
FORMAT: Final = 2
#: Weights are stored as integers: the trainer rounds them to five decimals.
WEIGHT_SCALE: Final = 100_000


@dataclass(frozen=True, slots=True)
class Probabilities:
    """P(neg), P(neu), P(pos) of one text; they sum to 1."""

    neg: float
    neu: float
    pos: float

    @property
    def label(self) -> ModelLabel:
        """The most probable class (ties go to neg, then neu: complaints are not lost)."""
        if self.neg >= self.neu and self.neg >= self.pos:
            return "neg"
        return "neu" if self.neu >= self.pos else "pos"

    @property
    def confidence(self) -> float:
        """The probability of :attr:`label`."""
        return max(self.neg, self.neu, self.pos)

    def with_label(self, label: ModelLabel, confidence: float) -> Probabilities:
        """``label`` at ``confidence`` (> 0.5), the other two sharing the rest as before."""
        probs = {"neg": self.neg, "neu": self.neu, "pos": self.pos}
        rest = 1.0 - probs[label]
        share = 1.0 - confidence
        out = {
            k: (confidence if k == label else (v / rest * share if rest > 0 else share / 2))
            for k, v in probs.items()
        }
        return Probabilities(out["neg"], out["neu"], out["pos"])


#: Tokens that are not words: punctuation kept by the tokeniser, emoji joiners and
#: variation selectors, skin-tone modifiers.
_NOT_WORDS: Final = frozenset(
    {"?", "!", "\ufe0f", "\u200d"} | {chr(c) for c in range(0x1F3FB, 0x1F400)}
)


def word_count(text: str, limit: int) -> int:
    """The number of words and emoji in ``text``, or ``limit + 1`` if clearly longer."""
    if len(text) > 16 * (limit + 1) or text.count(" ") > 2 * limit + 2:
        return limit + 1
    return sum(1 for tok in tokens(text) if tok not in _NOT_WORDS)


@dataclass(frozen=True, slots=True)
class ShortRule:
    """Let the lexicon decide answers of at most ``max_words`` words (0: never)."""

    max_words: int = 0
    min_lexicon: float = 1.0
    confidence: float = 0.9  #: the probability given to the lexicon's label

    def applies(self, text: str, lexicon: float) -> bool:
        return (
            self.max_words > 0
            and abs(lexicon) >= self.min_lexicon
            and word_count(text, self.max_words) <= self.max_words
        )


class ToneModel:
    """A calibrated linear model over :func:`surveys.sentiment._features.features`."""

    def __init__(
        self,
        names: Sequence[str],
        weights: array[float],
        intercept: Sequence[float],
        *,
        version: str,
        uncertain_below: float,
        short_rule: ShortRule | None = None,
    ) -> None:
        """``weights``: three per name, in the order of :data:`CLASSES`."""
        if len(weights) != 3 * len(names):
            raise ValueError(f"{len(names)} features but {len(weights)} weights")
        # Feature → offset of its three weights in one flat array: a tuple of three float
        # objects per feature cost ~10 MB of the bot's memory for 28,000 features.
        self._offset: dict[str, int] = dict(zip(names, range(0, len(weights), 3), strict=True))
        self._weights = weights
        self._intercept = (float(intercept[0]), float(intercept[1]), float(intercept[2]))
        self.version = version
        self.uncertain_below = uncertain_below
        self.short_rule = short_rule or ShortRule()

    @classmethod
    def from_bytes(cls, data: bytes) -> ToneModel:
        """Read the exported file (:func:`pack`); raises ValueError on a foreign file."""
        body = gzip.decompress(data)
        end = body.find(b"\n")
        try:
            header = json.loads(body[:end]) if end > 0 else None
        except ValueError:
            header = None
        if (
            not isinstance(header, dict)
            or header.get("format") != FORMAT
            or tuple(header.get("classes", ())) != CLASSES
        ):
            raise ValueError(f"not a Pulso tone model (format {FORMAT})")
        if header.get("features_version") != FEATURES_VERSION:
            raise ValueError(
                f"model trained on features v{header.get('features_version')}, "
                f"code has v{FEATURES_VERSION}: retrain (python -m surveys.sentiment.train)"
            )
        names_end = end + 1 + int(header["names_bytes"])
        names = (
            body[end + 1 : names_end].decode("utf-8").split("\n") if names_end > end + 1 else []
        )
        scaled = array("i")
        scaled.frombytes(body[names_end:])
        if sys.byteorder == "big":
            scaled.byteswap()
        # One float at a time (a generator, not a list): no short-lived list of 84,000
        # floats to fragment the heap for good.
        weights = array("d", (v / WEIGHT_SCALE for v in scaled))
        return cls(
            names,
            weights,
            header["intercept"],
            version=str(header["version"]),
            uncertain_below=float(header["uncertain_below"]),
            short_rule=ShortRule(**header["short_rule"]) if "short_rule" in header else None,
        )

    def __len__(self) -> int:
        return len(self._offset)

    def logits(
        self, text: str, lexicon: float, split: tuple[float, float] | None = None
    ) -> tuple[float, float, float]:
        """The calibrated decision values of ``text`` (scikit-learn's, divided by T).

        ``lexicon`` and ``split``: the rules' scores of the whole text and of the two sides
        of its contrast (see :func:`surveys.sentiment._features.features`).
        """
        z0, z1, z2 = self._intercept
        get = self._offset.get
        w = self._weights
        for value, names in feature_groups(text, lexicon, split):
            s0 = s1 = s2 = 0.0
            for name in names:
                i = get(name)
                if i is not None:
                    s0 += w[i]
                    s1 += w[i + 1]
                    s2 += w[i + 2]
            z0 += s0 * value
            z1 += s1 * value
            z2 += s2 * value
        return z0, z1, z2

    def probabilities(
        self, text: str, lexicon: float, split: tuple[float, float] | None = None
    ) -> Probabilities:
        """Softmax of :meth:`logits`."""
        z0, z1, z2 = self.logits(text, lexicon, split)
        top = max(z0, z1, z2)
        e0, e1, e2 = math.exp(z0 - top), math.exp(z1 - top), math.exp(z2 - top)
        total = e0 + e1 + e2
        return Probabilities(e0 / total, e1 / total, e2 / total)

    def decide(
        self, text: str, lexicon: float, split: tuple[float, float] | None = None
    ) -> Probabilities:
        """:meth:`probabilities`, or the lexicon's label where :attr:`short_rule` applies."""
        p = self.probabilities(text, lexicon, split)
        rule = self.short_rule
        if rule.applies(text, lexicon):
            label: ModelLabel = "pos" if lexicon > 0 else "neg"
            if p.label != label or p.confidence < rule.confidence:
                return p.with_label(label, rule.confidence)
        return p


def pack(header: Mapping[str, object], weights: Mapping[str, Sequence[float]]) -> bytes:
    """The model file: gzip of a JSON header line, the feature names, then their weights.

    The names are one UTF-8 block separated by newlines (``header["names_bytes"]`` long);
    the weights follow as little-endian 32-bit integers, three per name, each weight times
    :data:`WEIGHT_SCALE` (exact: the trainer rounds to five decimals). Reading that costs a
    tenth of the memory a JSON document of the same weights left behind. Deterministic
    (no timestamp), so the training command reproduces the shipped file byte for byte.
    """
    names = list(weights)
    if any("\n" in name for name in names):
        raise ValueError("a feature name holds a newline; the file separates names by newlines")
    names_block = "\n".join(names).encode("utf-8")
    scaled = array("i")
    for name in names:
        for w in weights[name]:
            v = round(w * WEIGHT_SCALE)
            if abs(v - w * WEIGHT_SCALE) > 1e-3 or not -(2**31) <= v < 2**31:
                raise ValueError(f"weight {w!r} of {name!r} is not a 32-bit multiple of 1e-5")
            scaled.append(v)
    if sys.byteorder == "big":
        scaled.byteswap()
    doc = {**header, "format": FORMAT, "classes": list(CLASSES), "names_bytes": len(names_block)}
    head = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    body = head.encode("utf-8") + b"\n" + names_block + scaled.tobytes()
    return gzip.compress(body, compresslevel=9, mtime=0)
