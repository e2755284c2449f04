"""Build Pulso's sentiment corpus from its hand-written sources.

    python corpus/sentiment/build.py


Reads ``source_es.txt`` and ``source_en.txt`` beside this file, then the later batches
(``source_{lang}_2.txt`` … ``source_{lang}_5.txt``: ``BATCHES``), and writes ``train.jsonl``,
``validation.jsonl`` and ``test.jsonl`` (one answer per line: id, lang, label, role,
phenomenon, group, batch, text). Deterministic: the same sources give byte-identical files.

* Each source line is a *skeleton* ({a|b|c} marks a choice); a few fillings are drawn from
  it, spread so that every option of every choice is used. A skeleton is one *group*.
* Spanish answers are also rewritten the way people write in chat (no accents, "q", "xq",
  "pa", "nadien", "aver", stretched letters, an opener such as "la neta", an emoji) and
  English ones the way people type casually; a rewritten answer keeps its group, so it
  lands in the same split as the answer it came from, under the phenomenon "chat"/"casual".
* Groups, not answers, are split 60/20/20 into train/validation/test within each section
  (label, role, phenomenon), so a skeleton seen in training never appears in the test set.
* Duplicates (same text up to case, accents, punctuation and spacing) are dropped, and the
  build fails if any normalised text is in two splits.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20240516
SPLITS = ("train", "validation", "test")
FILLINGS = {"es": 6, "en": 6}  # fillings drawn per skeleton (fewer when it has fewer)
REWRITE_SHARE = {"es": 0.45, "en": 0.20}  # share of answers also rewritten as chat/casual

#: Source files, oldest first. A later batch is appended: its groups are split among
#: themselves (60/20/20 within each section, with a generator of its own), so the groups of
#: earlier batches keep their split and their texts, and a test split stays a superset of
#: the one before.
BATCHES = (
    "source_{lang}.txt",
    "source_{lang}_2.txt",
    "source_{lang}_3.txt",
    "source_{lang}_4.txt",
    "source_{lang}_5.txt",
)

_CHOICE = re.compile(r"\{([^{}]*)\}")
LABELS = ("pos", "neu", "neg")
ROLES = ("bene", "impl")


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    label: str
    role: str
    phenomenon: str
    group: str
    batch: int  #: the source batch (1: source_{lang}.txt, 2: source_{lang}_2.txt, … 5: …_5.txt)
    text: str


def normalise(text: str) -> str:
    """The key under which two answers count as the same text."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", bare).split())


def fillings(skeleton: str, count: int, rng: random.Random) -> list[str]:
    """Up to ``count`` different fillings, each option of each choice used in turn."""
    parts = _CHOICE.split(skeleton)
    fixed, choices = parts[0::2], [p.split("|") for p in parts[1::2]]
    total = 1
    for options in choices:
        total *= len(options)
    orders = [rng.sample(range(len(o)), len(o)) for o in choices]
    out: list[str] = []
    seen: set[str] = set()
    attempt = 0
    while len(out) < min(count, total) and attempt < count * 20:
        picks = [
            order[(attempt + (attempt // len(order)) * k) % len(order)]
            for k, order in enumerate(orders)
        ]
        attempt += 1
        text = fixed[0] + "".join(
            options[pick] + after
            for options, pick, after in zip(choices, picks, fixed[1:], strict=True)
        )
        text = " ".join(text.split()).replace(" ,", ",").replace(" .", ".")
        if text not in seen:
            seen.add(text)
            out.append(text)
    if len(out) < min(count, total):  # small skeletons: take what is left in order
        for combo in itertools.product(*choices):
            text = fixed[0] + "".join(c + a for c, a in zip(combo, fixed[1:], strict=True))
            text = " ".join(text.split()).replace(" ,", ",").replace(" .", ".")
            if text not in seen and len(out) < count:
                seen.add(text)
                out.append(text)
    return out


# --- chat Spanish and casual English -------------------------------------------------

_ES_WORDS = {
    "que": ("q", "k", "que"),
    "porque": ("xq", "pq", "porq"),
    "por": ("x", "por"),
    "para": ("pa", "pa", "para"),
    "también": ("tmb", "tambien"),
    "nadie": ("nadien",),
    "hace": ("ase", "hace"),
    "vez": ("ves",),
    "muy": ("muy", "mui", "muuuy"),
    "favor": ("fa",),
    "está": ("sta", "ta", "esta"),
    "estoy": ("toy", "estoy"),
    "nada": ("nada", "nadota"),
    "ahora": ("aora", "ora"),
    "mucho": ("mucho", "muxo"),
    "bueno": ("bueno", "wuenu", "bno"),
    "gracias": ("grax", "gracias", "graciaas"),
    "señora": ("seño",),
    "pues": ("ps", "pos"),
    "todo": ("todo", "toodo"),
    "ya": ("ya", "yaa"),
}
_ES_PHRASES = {"a ver": "aver", "por favor": "porfa", "no sé": "nose", "ni modo": "nimodo"}
_ES_OPENERS = {
    "neg": ("la neta", "neta", "oigan", "pues", "no manches", "hijole"),
    "pos": ("la neta", "oigan", "pues", "ay", "wey"),
    "neu": ("pues", "oigan", "este", "mmm"),
}
_EMOJI = {
    "neg": ("😡", "😤", "😒", "🙄", "👎", "😩", "😞", "🤬"),
    "pos": ("👍", "🙌", "😊", "👏", "🙏", "❤️", "😁", "💪"),
    "neu": ("🤔", "📝", "🤷", "👀", "📅"),
}
_EN_WORDS = {
    "you": ("u",),
    "are": ("r", "are"),
    "thanks": ("thx", "thanks"),
    "people": ("ppl",),
    "because": ("bc", "cuz"),
    "please": ("pls", "plz"),
    "really": ("rly", "really"),
    "to": ("to", "2"),
    "for": ("for", "4"),
    "okay": ("ok",),
    "tomorrow": ("tmrw",),
    "the": ("the", "da"),
    "nothing": ("nothin",),
    "going": ("goin",),
}
_EN_OPENERS = {
    "neg": ("ugh", "smh", "honestly", "tbh"),
    "pos": ("tbh", "honestly", "omg", "yay"),
    "neu": ("hey", "so", "um"),
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch) and ch != "\u0303":  # keep the tilde of ñ
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _stretch(word: str, rng: random.Random) -> str:
    vowels = [i for i, ch in enumerate(word) if ch in "aeiou"]
    if not vowels:
        return word
    i = vowels[-1]
    return word[: i + 1] + word[i] * rng.randint(1, 3) + word[i + 1 :]


def chat_spanish(text: str, label: str, rng: random.Random) -> str:
    """How the same answer might come in over chat."""
    low = text.lower()
    for phrase, repl in _ES_PHRASES.items():
        if phrase in low and rng.random() < 0.8:
            low = low.replace(phrase, repl)
    words = re.findall(r"\w+|[^\w\s]", low)
    out: list[str] = []
    for word in words:
        if word in "¿¡":
            continue
        options = _ES_WORDS.get(word)
        if options and rng.random() < 0.7:
            word = rng.choice(options)
        elif word.isalpha() and len(word) > 3 and rng.random() < 0.04:
            word = _stretch(word, rng)
        out.append(word)
    text = " ".join(out).replace(" ,", ",").replace(" .", ".").replace(" ?", "?")
    text = text.rstrip(".")
    if rng.random() < 0.85:
        text = _fold(text)
    if rng.random() < 0.35:
        text = f"{rng.choice(_ES_OPENERS[label])} {text}"
    if rng.random() < 0.4:
        text = f"{text} {rng.choice(_EMOJI[label])}"
    return text


def casual_english(text: str, label: str, rng: random.Random) -> str:
    low = text.lower().replace("do not", "dont").replace("did not", "didnt")
    low = low.replace("i am ", "im ").replace("it is ", "its ").replace("have not", "havent")
    words = re.findall(r"\w+|[^\w\s]", low)
    out = []
    for word in words:
        options = _EN_WORDS.get(word)
        if options and rng.random() < 0.6:
            word = rng.choice(options)
        out.append(word)
    text = " ".join(out).replace(" ,", ",").replace(" .", ".").replace(" ?", "?")
    text = text.rstrip(".")
    if rng.random() < 0.35:
        text = f"{rng.choice(_EN_OPENERS[label])} {text}"
    if rng.random() < 0.35:
        text = f"{text} {rng.choice(_EMOJI[label])}"
    return text


# --- reading, splitting, writing ----------------------------------------------------


def read_sources(
    lang: str, name: str, counter: dict[tuple[str, str, str], int]
) -> list[tuple[str, str, str, str, str]]:
    """(group, label, role, phenomenon, skeleton) for every skeleton of one source file.

    ``counter`` numbers the groups of each section; it is shared by a language's batches,
    so a later batch's groups continue the numbering of the earlier ones.
    """
    out: list[tuple[str, str, str, str, str]] = []
    section: tuple[str, str, str] | None = None
    for number, line in enumerate((HERE / name).read_text("utf-8").splitlines()):
        line = line.strip()
        if not line or (line.startswith("#") and not line.startswith("## ")):
            continue
        if line.startswith("## "):
            label, role, phenomenon = line[3:].split()
            if label not in LABELS or role not in ROLES:
                raise ValueError(f"{name}:{number + 1}: bad section {line!r}")
            section = (label, role, phenomenon)
            continue
        if section is None:
            raise ValueError(f"{name}:{number + 1}: skeleton before a section")
        counter[section] = counter.get(section, 0) + 1
        group = f"{lang}:{':'.join(section)}:{counter[section]:02d}"
        out.append((group, *section, line))
    return out


def assign_splits(
    groups: dict[tuple[str, str, str], list[str]], rng: random.Random
) -> dict[str, str]:
    """Each group's split: 60/20/20 within its section, at least one in test when possible."""
    split_of: dict[str, str] = {}
    for section in sorted(groups):
        names = sorted(groups[section])
        rng.shuffle(names)
        n = len(names)
        n_test = max(1, round(0.2 * n)) if n >= 2 else 0
        n_val = max(1, round(0.2 * n)) if n >= 3 else 0
        for i, name in enumerate(names):
            if i < n_test:
                split_of[name] = "test"
            else:
                split_of[name] = "validation" if i < n_test + n_val else "train"
    return split_of


def build() -> dict[str, list[Item]]:
    items: list[Item] = []
    seen: set[str] = set()
    split_of: dict[str, str] = {}
    counters: dict[str, dict[tuple[str, str, str], int]] = {"es": {}, "en": {}}
    numbers = {"es": 0, "en": 0}
    for batch, pattern in enumerate(BATCHES):
        # One generator per batch: a new batch never changes an earlier batch's draws.
        rng = random.Random(SEED + batch)
        for lang in ("es", "en"):
            sources = read_sources(lang, pattern.format(lang=lang), counters[lang])
            sections: dict[tuple[str, str, str], list[str]] = {}
            for group, label, role, phenomenon, _ in sources:
                sections.setdefault((label, role, phenomenon), []).append(group)
            split_of.update(assign_splits(sections, rng))
            rewrite = chat_spanish if lang == "es" else casual_english
            rewritten_as = "chat" if lang == "es" else "casual"
            for group, label, role, phenomenon, skeleton in sources:
                for text in fillings(skeleton, FILLINGS[lang], rng):
                    variants = [(phenomenon, text)]
                    if phenomenon not in ("chat", "casual") and rng.random() < REWRITE_SHARE[lang]:
                        variants.append((rewritten_as, rewrite(text, label, rng)))
                    for kind, variant in variants:
                        key = normalise(variant)
                        if not key or key in seen:
                            continue
                        seen.add(key)
                        numbers[lang] += 1
                        items.append(
                            Item(
                                f"{lang}-{numbers[lang]:05d}",
                                lang,
                                label,
                                role,
                                kind,
                                group,
                                batch + 1,
                                variant,
                            )
                        )
    by_split: dict[str, list[Item]] = {s: [] for s in SPLITS}
    for item in items:
        by_split[split_of[item.group]].append(item)
    check_disjoint(by_split)
    return by_split


def check_disjoint(by_split: dict[str, list[Item]]) -> None:
    """Fail if a normalised text or a group is in two splits."""
    owner: dict[str, str] = {}
    groups: dict[str, str] = {}
    for split, items in by_split.items():
        for item in items:
            for key, table in ((normalise(item.text), owner), (item.group, groups)):
                if table.setdefault(key, split) != split:
                    raise AssertionError(f"{item.text!r} ({item.group}) in two splits")


def main() -> int:
    by_split = build()
    for split, items in by_split.items():
        lines = [json.dumps(asdict(item), ensure_ascii=False) for item in items]
        (HERE / f"{split}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
        counts = {lang: sum(1 for i in items if i.lang == lang) for lang in ("es", "en")}
        print(f"{split:<11} {len(items):>5}  es {counts['es']:>5}  en {counts['en']:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
