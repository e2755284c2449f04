"""Loading the shipped data files into the tables the scorer uses.

Everything is read once, from ``surveys/sentiment/data`` through :mod:`importlib.resources`,
and turned into plain dicts and frozensets. Keys are folded (lower case, accents stripped, ñ
kept) exactly as scoring folds the text, so the data may be written with or without accents.

Spanish lexicon = the EvoMSA affective word list (binary polarity; minus ``remove`` and
``topic_words``) at ``base_valence``, with Spanish inflections generated for its verbs and
adjectives, then Pulso's graded ``lemmas`` (inflected too), then exact ``forms``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final, Literal

from vader.data.emoji import EMOJI
from vader.data.lexicon import LEXICON

from ._text import fold, tokenise

Language = Literal["es", "en"]

#: Prefix of the stand-in words the rewriter emits (phrases, emoji, lack/presence). User text
#: starting with it is dropped, so nobody can type a stand-in.
SYNTHETIC_PREFIX: Final = "qq"


def _suffixes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_AR: Final = _suffixes(
    "ar a an o e en as amos aron aste aba aban abamos ado ada ados adas ando ara aran aria arian"
)
_ER: Final = _suffixes(
    "er e en o a an es emos io ieron i ia ian ido ida idos idas iendo "
    "era eran eria erian iera ieran"
)
_IR: Final = _suffixes(
    "ir e en o a an es imos io ieron i ia ian ido ida idos idas iendo "
    "ira iran iria irian iera ieran"
)
_VOWELS: Final = frozenset("aeiou")


def key(text: str) -> str:
    """The lookup form of a word or phrase: folded, lower case, single-spaced tokens."""
    return " ".join(tokenise(fold(text).lower()))


def inflect(lemma: str) -> set[str]:
    """Common Spanish forms of a verb (-ar/-er/-ir) or an adjective/noun; the lemma itself too.

    Regular paradigms only (present, preterite, imperfect, participles, gerund, future,
    conditional, subjunctive); irregular verbs list their forms in the data instead.
    """
    if " " in lemma:
        return {lemma}
    if lemma.endswith("se") and lemma[-4:-2] in ("ar", "er", "ir"):
        lemma = lemma[:-2]
    forms = {lemma}
    ending = lemma[-2:]
    if ending in ("ar", "er", "ir") and len(lemma) > 3:
        stem = lemma[:-2]
        forms.update(stem + s for s in {"ar": _AR, "er": _ER, "ir": _IR}[ending])
        if ending == "er" and stem.endswith("c"):
            forms.add(stem[:-1] + "zco")  # agradecer → agradezco
    elif lemma.endswith("o"):
        forms.update(lemma[:-1] + s for s in ("a", "os", "as"))
    elif lemma.endswith("e"):
        forms.add(lemma + "s")
    elif lemma[-1] not in _VOWELS:
        forms.add(lemma[:-1] + "ces" if lemma.endswith("z") else lemma + "es")
    return forms


@dataclass(frozen=True, slots=True)
class Entry:
    """What a matched multi-word expression becomes."""

    emit: tuple[str, ...]  #: words handed to the engine (empty: deleted)
    contrast: bool = False  #: a "but": starts a new clause for negation scope


class PhraseTable:
    """Longest-match lookup of token sequences, indexed by their first token."""

    __slots__ = ("_by_first",)

    def __init__(self, entries: Mapping[tuple[str, ...], Entry]) -> None:
        by_first: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        for words, entry in entries.items():
            by_first.setdefault(words[0], []).append((words, entry))
        for candidates in by_first.values():
            candidates.sort(key=lambda item: len(item[0]), reverse=True)
        self._by_first = by_first

    def match(self, words: list[str], i: int) -> tuple[int, Entry] | None:
        """The longest entry starting at ``words[i]``: (its length, entry), or None."""
        candidates = self._by_first.get(words[i])
        if candidates is None:
            return None
        for phrase, entry in candidates:
            n = len(phrase)
            if tuple(words[i : i + n]) == phrase:
                return n, entry
        return None


@dataclass(frozen=True, slots=True)
class Resources:
    """Everything language-specific the rewriter and the engine need."""

    language: Language
    version: int
    lexicon: dict[str, float]  #: engine lexicon, including the stand-in words
    boosters: dict[str, float] | None  #: None: the engine's English boosters
    phrases: PhraseTable  #: phrases, rewrites and contrast words
    lack: PhraseTable  #: markers that, before a topic word, mean it is missing
    more: PhraseTable  #: markers that, before a topic word, mean it arrived or grew
    topic_words: frozenset[str]
    determiners: frozenset[str]
    negators: frozenset[str]  #: rewritten to "not" (empty: the engine's own negation)
    complaint_negators: frozenset[str]
    intensifiers: frozenset[str]  #: become "muy" before a sentiment word
    exclamatives: frozenset[str]  #: the same, at the start of a clause only
    emoji: dict[str, str]  #: emoji → stand-in word ("" for none)
    emoticons: dict[str, str]  #: ASCII emoticon → stand-in word
    lack_token: str
    more_token: str
    complaint_token: str


def _read_json(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath("data", name).read_text("utf-8"))


def _read_json_lines(name: str) -> list[Any]:
    """A file of one JSON document a line (EvoMSA's format)."""
    text = resources.files(__package__).joinpath("data", name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def data_files() -> list[str]:
    """The data files whose content the version string stands for."""
    return ["es.affective.words.json", "es.json", "en.json", "emoji.json"]


def data_bytes(name: str) -> bytes:
    return resources.files(__package__).joinpath("data", name).read_bytes()


def _valence_token(prefix: str, valence: float) -> str:
    sign = "p" if valence >= 0 else "n"
    return f"{SYNTHETIC_PREFIX}{prefix}{sign}{round(abs(valence) * 100)}"


def _emoji_base(sequence: str) -> str:
    """The first emoji of a sequence without skin tone or presentation selector."""
    first = sequence.split("\u200d")[0]
    return "".join(ch for ch in first if ch != "\ufe0f" and not 0x1F3FB <= ord(ch) <= 0x1F3FF)


def _emoji_tables(lexicon: dict[str, float]) -> tuple[dict[str, str], dict[str, str]]:
    """Emoji and emoticons → stand-in words, adding each stand-in's valence to ``lexicon``.

    Pulso's own values first; any other emoji takes the summed English VADER valences of
    the words of its description ("thumbs up" has none, hence the curated table).
    """
    data = _read_json("emoji.json")
    curated: dict[str, float] = {k: float(v) for k, v in data["emoji"].items()}
    emoji: dict[str, str] = {}
    for char, description in EMOJI.items():
        if char in curated:
            continue
        base = _emoji_base(char)
        if base in curated:  # 👍🏽 scores as 👍, 🤦‍♀️ as 🤦
            value = curated[base]
        else:
            total = sum(LEXICON.get(w, 0.0) for w in description.lower().split())
            value = max(-2.5, min(2.5, total))
        if value:
            token = _valence_token("e", value)
            lexicon[token] = value
            emoji[char] = token
        else:
            emoji[char] = ""
    for char, value in curated.items():
        if value:
            token = _valence_token("e", value)
            lexicon[token] = value
            emoji[char] = token
        else:
            emoji[char] = ""
    emoticons: dict[str, str] = {}
    for text, value in data["emoticons"].items():
        token = _valence_token("e", float(value))
        lexicon[token] = float(value)
        emoticons[text] = token
    return emoji, emoticons


def _phrase_table(
    lexicon: dict[str, float],
    *,
    phrases: Mapping[str, float],
    rewrites: Mapping[str, str],
    contrast: Iterable[str],
) -> PhraseTable:
    entries: dict[tuple[str, ...], Entry] = {}
    for text, value in phrases.items():
        words = tuple(key(text).split())
        if value:
            token = _valence_token("p", float(value))
            lexicon[token] = float(value)
            entries[words] = Entry((token,))
        else:
            entries[words] = Entry(())
    for text, replacement in rewrites.items():
        entries[tuple(key(text).split())] = Entry(tuple(key(replacement).split()))
    for text in contrast:
        entries[tuple(key(text).split())] = Entry(("but",), contrast=True)
    return PhraseTable(entries)


def _marker_table(markers: Iterable[str]) -> PhraseTable:
    return PhraseTable({tuple(key(m).split()): Entry(()) for m in markers})


def _common(
    language: Language, data: Mapping[str, Any], lexicon: dict[str, float]
) -> dict[str, Any]:
    """Fields both languages build the same way; adds stand-in words to ``lexicon``."""
    emoji, emoticons = _emoji_tables(lexicon)
    tokens = {
        "lack_token": _valence_token("l", float(data["lack_valence"])),
        "more_token": _valence_token("m", float(data["more_valence"])),
        "complaint_token": _valence_token("c", float(data["complaint_valence"])),
    }
    lexicon[tokens["lack_token"]] = float(data["lack_valence"])
    lexicon[tokens["more_token"]] = float(data["more_valence"])
    lexicon[tokens["complaint_token"]] = float(data["complaint_valence"])
    topic = frozenset(key(w) for w in data["topic_words"])
    for word in topic:
        # Spanish: absent from the lexicon. English: 0.0, masking the VADER entry beneath.
        if language == "en":
            lexicon[word] = 0.0
        else:
            lexicon.pop(word, None)
    return {
        "language": language,
        "version": int(data["version"]),
        "phrases": _phrase_table(
            lexicon,
            phrases=data["phrases"],
            rewrites=data["rewrite"],
            contrast=data["contrast"],
        ),
        "lack": _marker_table(data["lack_markers"]),
        "more": _marker_table(data["more_markers"]),
        "topic_words": topic,
        "determiners": frozenset(key(w) for w in data["determiners"]),
        "negators": frozenset(key(w) for w in data["negators"]),
        "complaint_negators": frozenset(key(w) for w in data["complaint_negators"]),
        "intensifiers": frozenset(key(w) for w in data["intensify_if_followed"]),
        "exclamatives": frozenset(key(w) for w in data["exclamatives"]),
        "emoji": emoji,
        "emoticons": emoticons,
        **tokens,
    }


def load_spanish() -> Resources:
    data = _read_json("es.json")
    base = data["base_valence"]
    removed = {key(w) for w in data["remove"]}
    lexicon: dict[str, float] = {}
    for polarity in _read_json_lines("es.affective.words.json"):
        _add_affective(lexicon, polarity, base, removed)
    for word, value in data["lemmas"].items():
        for form in inflect(key(word)):
            lexicon[form] = float(value)
    for form in data["exclude_forms"]:
        lexicon.pop(key(form), None)
    for word, value in data["forms"].items():
        lexicon[key(word)] = float(value)
    lexicon = {w: v for w, v in lexicon.items() if v}
    common = _common("es", data, lexicon)
    boosters = {key(w).replace(" ", "_"): float(v) for w, v in data["boosters"].items()}
    for word in boosters:
        lexicon.pop(word, None)
    return Resources(lexicon=lexicon, boosters=boosters, **common)


def _add_affective(
    lexicon: dict[str, float],
    polarity: Mapping[str, Any],
    base: Mapping[str, float],
    removed: set[str],
) -> None:
    value = float(base[polarity["emotion"]])
    for word in polarity["words"]:
        folded = key(word)
        if folded in removed:
            continue
        for form in inflect(folded):
            lexicon.setdefault(form, value)


def load_english() -> Resources:
    data = _read_json("en.json")
    lexicon: dict[str, float] = {}
    for word, value in data["overrides"].items():
        lexicon[key(word)] = float(value)
    common = _common("en", data, lexicon)
    return Resources(lexicon=lexicon, boosters=None, **common)
