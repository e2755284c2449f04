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
negation, boosters, emoji, civic phrases). When the answer has a contrast (:func:`clauses`:
"la idea es buena, pero nadie avisa"), the lexicon also scores the two sides on their own,
``hlex`` (before the last contrast marker) and ``tlex`` (from it on), so that the model can
weigh the clause that carries the verdict.

Cue classes (``k|``, since v3) group words by the part they play in a complaint, in praise
or in irony; since v4 (tone-8) also a colon that opens a clause (``k|colon``) and one that
follows a praise word (``k|good:``: "Qué puntualidad: el pago de enero llegó en junio").

Since v5 (tone-9) the model reads *how* a span of time is told, which decides many bare facts
("fixed in two days" against "broken for two years"): number words count as the digit class
("two", "diez" → "0", so "in ten minutes" shares its features with "in 10 minutes"); a number
is read with the words on both sides of it (``q|in 0 days``, ``q|for 0 years``); and each unit
of time is read with the preposition before it, up to three words back (``k|span in``,
``k|span since``, ``k|span hace``, ``k|span cada``).

The text is normalised first: control characters removed, lower case, accents folded (ñ
kept), digits collapsed to one "0", a letter repeated three or more times collapsed
("muuuy" → "muy"), emoji kept as tokens, "?" and "!" kept, other punctuation dropped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from typing import Final

from ._text import fold, sanitise

#: Bump when :func:`features` changes: a model is only valid with the features it was
#: trained on, and the model file records this number.
FEATURES_VERSION: Final = 5

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
#: Cue classes (``k|`` features): words that mark how complaints, irony and praise are
#: built, grouped so that the model learns the *kind* of word, not the skeleton it came in.
#: Folded, lower case, as :func:`normalise` leaves them.
_CUE_WORDS: Final[dict[str, str]] = {
    # units of time and counts of visits: "tres meses esperando", "five visits"
    "time": (
        "minuto minutos hora horas dia dias semana semanas mes meses ano anos quincena "
        "quincenas bimestre vueltas vuelta madrugada minute minutes hour hours day days "
        "week weeks month months year years fortnight visits trips dawn"
    ),
    # waiting, queueing, chasing
    "wait": (
        "esperando espera esperar espere esperamos esperó fila filas formada formado "
        "parada cita citas waiting wait waited queue queuing queueing line lines chasing"
    ),
    # still / yet / again
    "still": (
        "todavia aun sigue sigo siguen seguimos otra vez de nuevo still yet again "
        "another llevo llevamos van ya"
    ),
    # lack and absence
    "lack": (
        "sin falta faltan nadie nadien ningun ninguna ni nunca jamas tampoco nada "
        "without nobody noone never none nothing lack no not cannot cant didnt doesnt "
        "isnt wont"
    ),
    # only / barely / a mere
    "only": "solo nomas apenas nada mas unico only just mere barely single",
    # money and fees
    "money": (
        "pesos peso cobran cobraron cobra cobro cuota mordida lana varos cuesta costo "
        "pasaje pesos charge charged fee fees bribe bribes fare cost costs bucks"
    ),
    # positive evaluative words (the raw material of sarcasm)
    "good": (
        "excelente excelentes genial perfecto perfecta maravilla maravilloso maravillosa "
        "eficiencia eficiente rapidez rapido rapida rapidisimo puntual puntuales "
        "puntualidad generoso generosos bonito bonita lindo linda precioso preciosa padre "
        "chido buenisimo buenisima lujo primera gracias encanta encanto fascina felicidades "
        "bravo aplauso aplausos organizacion transparente moderno modernos util seguro "
        "segura suerte great excellent wonderful perfect amazing efficient efficiency "
        "fast quick punctual generous lovely beautiful nice brilliant fantastic thanks "
        "love loved enjoyed congrats congratulations bravo transparent modern useful safe "
        "lucky superb marvellous top"
    ),
    # sarcasm and irony markers
    "irony": (
        "nomas claro seguro sure right yeah ajá aja cómo como lastima pena shame except "
        "🙄 🙃 😒 jaja jajaja lol totally truly indeed"
    ),
    # improvement and arrival
    "better": (
        "ahora ya mejoro mejoró mejor arreglaron pusieron instalaron llego llegó "
        "cumplieron now finally fixed installed arrived improved better delivered"
    ),
    "contrast": "pero aunque embargo sino but though although however",
    # the troubles a complaint names, and an answer relieved of them negates
    "trouble": (
        "fila filas espera esperar esperamos esperas problema problemas asalto asaltos robo "
        "robos error errores duplicados accidentes inunda retraso retrasos costo cobro "
        "pagar compro afuera fuera horas queue queues queueing line lines wait waiting "
        "problem problems robbery robberies mugging muggings error errors duplicates "
        "accidents floods delay delays backlog outside cost pay buy out hours"
    ),
}
#: Number words read as the digit class "0" (since v5). Not "one", "uno", "una": they are
#: also "no one" and articles.
_NUMBER_TEXT: Final = (
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
    "fifty sixty hundred thousand half couple dos tres cuatro cinco seis siete ocho nueve "
    "diez once doce quince veinte treinta cuarenta cincuenta cien ciento mil mitad medio"
)
_NUMBER_WORDS: Final = frozenset(_NUMBER_TEXT.split())
#: Words that tell how a span of time is read (since v5): "in two days", "within a week"
#: (done), "for two years", "since March", "hace un año" (still waiting), "every week".
_SPAN_TEXT: Final = (
    "in within for since after over every each per by until till during en dentro por "
    "desde hace tras despues cada al durante hasta llevo lleva llevamos"
)
_SPAN_WORDS: Final = frozenset(_SPAN_TEXT.split())
_PAIRED_ONLY: Final = frozenset({"good", "better", "contrast", "num"})
#: Two-word cues of relief: the trouble is gone ("ya no hay fila", "no longer queue").
_RELIEF: Final = frozenset({("ya", "no"), ("no", "longer"), ("no", "more"), ("sin", "ningun")})
_CUES: Final[dict[str, tuple[str, ...]]] = {}
for _kind, _words in _CUE_WORDS.items():
    for _word in _words.split():
        _CUES[_word] = (*_CUES.get(_word, ()), _kind)
#: Pairs of cue kinds in one answer that mark a shape ("good" + "time": "qué rapidez,
#: cinco meses"; "only" + "time"; "good" + "lack"; "still" + "lack").
_CUE_PAIRS: Final = (
    ("good", "time"),
    ("good", "lack"),
    ("good", "wait"),
    ("good", "money"),
    ("good", "still"),
    ("good", "irony"),
    ("only", "time"),
    ("still", "lack"),
    ("wait", "time"),
    ("lack", "time"),
    ("better", "lack"),
    ("better", "time"),
    ("contrast", "lack"),
    ("contrast", "good"),
    ("better", "trouble"),
)
_MAX_CHARS: Final = 1000  # an answer's verdict is in its first thousand characters
#: A colon that introduces a clause ("Great news: the meter doubled my bill"); not one in a
#: time ("6:40"), a URL or an emoticon (":)").
_COLON: Final = re.compile(r":(?=\s|$)")
#: Where an answer turns: the clause after the last of these carries the verdict.
_CONTRAST_SPLIT: Final = re.compile(
    r"\b(?:pero|aunque|sin embargo|but|however|though|although)\b", re.IGNORECASE
)


def clauses(text: str) -> tuple[str, str] | None:
    """``(head, tail)`` split at the last contrast marker (the tail starts with it), or None.

    Only the first thousand characters are read, as in :func:`features`; an answer that
    starts with the marker ("Pero nadie vino") has no head and is not split.
    """
    text = text[:_MAX_CHARS]
    starts = [m.start() for m in _CONTRAST_SPLIT.finditer(text)]
    if not starts or not text[: starts[-1]].strip():
        return None
    return text[: starts[-1]], text[starts[-1] :]


def normalise(text: str) -> str:
    """The text as the model reads it (see the module docstring)."""
    text = fold(sanitise(text[:_MAX_CHARS])).lower()
    text = _DIGITS.sub("0", text)
    return _REPEATS.sub(r"\1", text)


def tokens(text: str) -> list[str]:
    """The normalised text's tokens: words, emoji and symbols, "?" and "!"."""
    return _TOKEN.findall(normalise(text))


def features(
    text: str, lexicon: float, split: tuple[float, float] | None = None
) -> dict[str, float]:
    """The features of ``text`` with their values.

    ``lexicon``: the rules' compound score of the whole text; ``split``: their scores of the
    head and the tail of :func:`clauses` when it splits the text (None otherwise).
    """
    out: dict[str, float] = {}
    for value, names in feature_groups(text, lexicon, split):
        out.update(dict.fromkeys(names, value))
    return out


def feature_groups(
    text: str, lexicon: float, split: tuple[float, float] | None = None
) -> list[tuple[float, Collection[str]]]:
    """:func:`features` as groups of names that share one value (no name in two groups).

    The run-time model sums each group's weights and multiplies once by its value.
    """
    toks = [("0" if tok in _NUMBER_WORDS else tok) for tok in tokens(text)]
    words: set[str] = set()
    previous = "<s>"
    tail_start = 0
    for i, tok in enumerate(toks):
        words.add("w|" + tok)
        words.add("b|" + previous + " " + tok)
        if previous == "0" and i >= 2:
            words.add("q|" + toks[i - 2] + " 0 " + tok)  # "in 0 days", "for 0 years"
        previous = tok
        if tok in _CONTRAST:
            tail_start = i + 1
    out: list[tuple[float, Collection[str]]] = []
    if words:
        out.append((len(words) ** -0.5, words))
    if tail_start:
        tail = {"t|" + tok for tok in toks[tail_start:]}
        if tail:
            out.append((len(tail) ** -0.5, tail))
    chars: set[str] = set()
    for tok in toks:
        chars.update(_char_grams(tok))
    if chars:
        out.append((len(chars) ** -0.5, chars))
    kinds: set[str] = set()
    tail_kinds: set[str] = set()
    lack_at = -9
    for i, tok in enumerate(toks):
        found = _CUES.get(tok)
        if found:
            kinds.update(found)
            if tail_start and i >= tail_start:
                tail_kinds.update(found)
            if "trouble" in found and i - lack_at <= 3:
                kinds.add("lack>trouble")  # "sin filas", "never runs out", "no crime"
            if "lack" in found:
                lack_at = i
                if i and (toks[i - 1], tok) in _RELIEF:
                    kinds.add("relief")
            elif i and (toks[i - 1], tok) in _RELIEF:
                kinds.add("relief")
            if "time" in found:
                # The preposition before a unit of time: "in two days", "for two years".
                for back in range(i - 1, max(i - 4, -1), -1):
                    if toks[back] in _SPAN_WORDS:
                        kinds.add("span " + toks[back])
                        break
        elif tok == "0":
            kinds.add("num")
    colon = _COLON.search(text, 0, _MAX_CHARS)
    if colon is not None:
        # Praise, then a colon, then the facts: the shape of most sarcasm ("Qué eficiencia:
        # cinco meses para una cita"); a colon alone introduces a list or a report.
        kinds.add("colon")
        if any("good" in _CUES.get(tok, ()) for tok in tokens(text[: colon.start()])):
            kinds.add("good:")
    if kinds:
        # Praise, improvement and contrast words count only in pairs: alone they are the
        # n-grams' and the lexicon's business, and a lone "gracias" must stay praise.
        cue = {"k|" + kind for kind in kinds - _PAIRED_ONLY}
        cue.update(f"k|{a}+{b}" for a, b in _CUE_PAIRS if a in kinds and b in kinds)
        if "num" in kinds and "time" in kinds:
            cue.add("k|num+time")
        cue.update("k|tail " + kind for kind in tail_kinds - _PAIRED_ONLY)
        if cue:
            out.append((len(cue) ** -0.5, cue))
    out.append((lexicon, ("lex",)))
    out.append((max(lexicon, 0.0), ("lex+",)))
    out.append((min(lexicon, 0.0), ("lex-",)))
    if split is not None:
        out.append((split[0], ("hlex",)))
        out.append((split[1], ("tlex",)))
    return out


@functools.lru_cache(maxsize=1 << 15)
def _char_grams(tok: str) -> tuple[str, ...]:
    """The ``c|`` features of one token: its 3- to 5-grams padded with spaces."""
    padded = f" {tok} "
    size = len(padded)
    if size <= 3:
        return ("c|" + padded,)
    return tuple(
        "c|" + padded[start : start + n] for n in (3, 4, 5) for start in range(size - n + 1)
    )
