"""Spanish-or-English detection for short answers: function words and spelling cues.

Restricted to the two languages Pulso speaks, a short answer is told apart by its function
words ("de", "que", "el" against "the", "and", "is"), Spanish letters and marks (ñ, á, ¿,
¡), English contractions ("don't", "it's") and a few endings (-ción, -mente against -ing,
-tion). Words both languages share ("no", "me", "a", "ok", "internet") count for neither.
When the evidence is thin or balanced the caller's default wins, so "ok", "👍" or "10/10"
keep the participant's language.

Why not a library: measured on the regression answers (benchmarks/sentiment.py), this is as
accurate as ``py3langid`` restricted to es/en and ``lingua-language-detector``, several
times faster, needs no load time (py3langid decompresses a 4.6 MB model in 0.8-1.2 s;
lingua is a 96 MB wheel) and adds no dependency. The numbers are in MEASUREMENTS.md
beside this file.
"""

from __future__ import annotations

from typing import Final, Literal

from ._text import fold, sanitise, tokenise


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ES_WORDS: Final = _words(
    """
    de la que el en y los se del las por un para con una su al lo como mas pero sus le ya o
    este porque esta entre cuando muy sin sobre tambien hasta hay donde quien desde todo nos
    durante todos uno les ni contra otros ese eso ante ellos esto antes algunos unos yo otro
    otras otra tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas
    algo nosotros mis tu te ti tus ellas nuestro nuestra nuestros nuestras esos esas estoy
    estas esta estamos estan estuve estuvo fue fueron era eran soy es son somos han hemos
    tengo tiene tienen tenemos hace hizo nunca siempre todavia aun gracias bien mal bueno
    buena malo mala si sí pues aqui ahi alla ahora luego despues tambien nadie cada hacer
    hecho va van vamos voy puede pueden sabe saber creo parece sigue siguen nada igual
    porque cuando donde como cual quien cuanto cuanta cuantos mucha muchas poca pocas pocos
    mismo misma dos tres cuatro cinco seis siete ocho nueve diez ano anos dia dias semana
    mes meses vez veces gente colonia calle casa escuela trabajo curso gobierno hijos hija
    hijo programa registro ningun ninguna ningunos todas todos estuvieron fuimos hubo habia
    sido estado tener dijeron dicen dice quiero quisiera necesito necesitamos falta faltan
    """
)
_EN_WORDS: Final = _words(
    """
    the of and to in is was it for on are with as at be this have from or by not but what all
    were we when your can said there an each which she do how their if will up other about
    out many then them these so some her would make like him into time has look two more go
    see could people my than first been who its now find long down day did get made may
    over new after also back just only know take year good very well thanks thank because
    any give most us i i'm don't didn't it's can't won't isn't they our you they're we're
    there's what's yes that with really still never nothing nobody always again since
    yet though too much many lot lots got been being had does doesn't wasn't weren't haven't
    hasn't should would could will shall might must here where why who whom whose which while
    until before during without within about against between through after above below off
    under again further every both few other such own same than very am is are was
    were be been being have has having do does did doing neighbourhood neighborhood street
    school work course government children daughter son register training teachers meeting
    """
)
# Shared or too short to tell: never evidence for either side.
_SHARED: Final = _words(
    "a no me he ok okay internet plan social total real final general hospital son solo mi ti e o"
)
_ES_ONLY: Final = _ES_WORDS - _EN_WORDS - _SHARED
_EN_ONLY: Final = _EN_WORDS - _ES_WORDS - _SHARED
_ES_MARKS: Final = frozenset("ñÑ¿¡áéíóúÁÉÍÓÚ")
_EN_CLITICS: Final = ("'s", "n't", "'re", "'m", "'ll", "'ve", "'d", "’s", "n’t", "’re", "’m")
_ES_ENDINGS: Final = ("cion", "ciones", "mente", "idad", "ado", "ada", "amos", "aron", "ieron")
_EN_ENDINGS: Final = ("ing", "tion", "tions", "ly", "ness", "ed", "ful", "ship")

_MARGIN: Final = 1.0  # evidence needed beyond the other side's to overrule the default


def detect_language(text: str, default: Literal["es", "en"] = "es") -> Literal["es", "en"]:
    """``"es"`` or ``"en"`` for a short answer; ``default`` when the evidence is thin."""
    text = sanitise(text)
    es = 0.0
    en = 0.0
    if any(ch in _ES_MARKS for ch in text):
        es += 1.5
    for raw in tokenise(text.lower()):
        if len(raw) == 1 and not raw.isalnum():
            continue
        if raw.endswith(_EN_CLITICS):
            en += 1.5
            continue
        word = fold(raw)
        if word in _ES_ONLY:
            es += 1.0
        elif word in _EN_ONLY:
            en += 1.0
        elif len(word) > 4:
            if word.endswith(_ES_ENDINGS):
                es += 0.5
            elif word.endswith(_EN_ENDINGS):
                en += 0.5
    if es - en >= _MARGIN:
        return "es"
    if en - es >= _MARGIN:
        return "en"
    return default
