"""Text clean-up shared by scoring and language detection: sanitise, fold, tokenise.

Every function here is total: any ``str`` (control characters, lone surrogates, right-to-left
marks, 10,000 characters of emoji) goes in, a ``str`` or a list comes out.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

#: Scoring reads at most this many characters. Telegram caps a message at 4,096, so a real
#: answer is never cut; the cap only bounds the work an adversarial input can cause.
MAX_CHARS: Final = 4096

# Accented vowels fold to the bare vowel; ñ/Ñ stay (folding them would turn "Peña", a
# surname, into "pena", sorrow). Composed forms only: text is NFC-normalised first.
_FOLD: Final = str.maketrans(
    "áéíóúüàèìòùâêîôûäëïöÁÉÍÓÚÜÀÈÌÒÙÂÊÎÔÛÄËÏÖ",
    "aeiouuaeiouaeiouaeioAEIOUUAEIOUAEIOUAEIO",
)

# Zero-width joiner and variation selectors hold emoji sequences together; keep them.
_KEEP_FORMAT: Final = frozenset({"\u200d", "\ufe0e", "\ufe0f"})

#: Words (letters and digits, with inner apostrophes: "don't"), a few joined forms ("10/10",
#: "so-so" stays two words), or any single other visible character (punctuation, symbols).
_TOKEN: Final = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[^\w\s]", re.UNICODE)

#: Punctuation that closes a clause: a negation or a phrase never reaches across it.
CLAUSE_BREAKS: Final = frozenset('.,;:!?¡¿()[]{}…"“”«»|\n')


def sanitise(text: str) -> str:
    """Cut to :data:`MAX_CHARS`, NFC-normalise, and blank out control and format characters.

    Right-to-left and other bidi marks, zero-width spaces, NULs and unpaired surrogates are
    removed; tabs and newlines become spaces.
    """
    text = text[:MAX_CHARS]
    if text.isprintable():
        return unicodedata.normalize("NFC", text) if not text.isascii() else text
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc" or category in ("Zl", "Zp"):
            out.append(" ")
        elif category in ("Cs", "Co", "Cn") or (category == "Cf" and ch not in _KEEP_FORMAT):
            continue
        else:
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def fold(text: str) -> str:
    """Strip accents from vowels (keeping ñ), preserving case: "Rápido" → "Rapido"."""
    return text if text.isascii() else text.translate(_FOLD)


def tokenise(text: str) -> list[str]:
    """Split into words and single punctuation/symbol characters, in order."""
    return _TOKEN.findall(text)


def emoticon_pattern(emoticons: list[str]) -> re.Pattern[str]:
    """A pattern for ASCII emoticons standing alone (":)" but not the ":/" of a URL)."""
    alternatives = "|".join(re.escape(e) for e in sorted(emoticons, key=len, reverse=True))
    return re.compile(rf"(?<!\S)(?:{alternatives})(?=[\s.,;!?]|$)")
