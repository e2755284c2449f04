"""Every text a person sees, in Spanish (Mexico) and English, from gettext catalogs.

Catalogs are the ``.po`` files under ``bot/locales/<locale>/LC_MESSAGES/``,
one file per area (``core.po``, ``participant.po``, …) so that work on one
area never conflicts with another. A message id is a dotted key
(``start.welcome``); its text may hold ``{placeholders}`` and HTML, because
replies use Telegram's HTML parse mode.

Always say the locale: ``t("help.participant", "es")``. Parameters are
HTML-escaped unless wrapped in :class:`Html`, so a person's name or answer can
never break the markup or inject any. A test checks that both locales hold
the same keys with the same placeholders. Dates and times are written in the
person's language on the local wall clock by :func:`local_datetime`.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.pofile import read_po

Locale = Literal["es", "en"]
LOCALES: tuple[Locale, ...] = get_args(Locale)
LOCALES_DIR = Path(__file__).parent / "locales"


class Html(str):
    """A string that is already safe HTML and must not be escaped again."""

    __slots__ = ()


def escape(text: object) -> Html:
    """Escape anything for Telegram's HTML parse mode."""
    if isinstance(text, Html):
        return text
    return Html(html.escape(str(text), quote=False))


def as_locale(value: str | None, default: Locale = "es") -> Locale:
    """Map a Telegram ``language_code`` ("es-MX", "en", "pt-br", None) to es/en."""
    if value:
        prefix = value.split("-")[0].split("_")[0].lower()
        if prefix in LOCALES:
            return prefix
    return default


@dataclass(frozen=True)
class Catalog:
    locale: Locale
    messages: Mapping[str, str]
    origins: Mapping[str, str]  # key → the .po file that defines it


def load_catalog(locale: Locale, directory: Path = LOCALES_DIR) -> Catalog:
    messages: dict[str, str] = {}
    origins: dict[str, str] = {}
    for po_file in sorted((directory / locale / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for message in catalog:
            if not message.id:
                continue  # the header entry
            key = str(message.id)
            if key in messages:
                raise ValueError(
                    f"{po_file}: message id {key!r} is also defined in {origins[key]}"
                )
            text = str(message.string)
            if not text:
                raise ValueError(f"{po_file}: message id {key!r} has no translation")
            messages[key] = text
            origins[key] = po_file.name
    return Catalog(locale, messages, origins)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """Looks up keys in both catalogs and fills their placeholders safely."""

    def __init__(self, catalogs: Mapping[Locale, Catalog]) -> None:
        self.catalogs = catalogs

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Translator:
        return cls({locale: load_catalog(locale, directory) for locale in LOCALES})

    def has(self, key: str) -> bool:
        return all(key in catalog.messages for catalog in self.catalogs.values())

    def __call__(self, key: str, locale: Locale, /, **params: object) -> Html:
        """The text for ``key`` in ``locale`` with ``params`` escaped and filled in."""
        template = self.catalogs[locale].messages.get(key)
        if template is None:
            raise KeyError(f"no message {key!r} in the {locale} catalog")
        safe = {name: escape(value) for name, value in params.items()}
        return Html(template.format_map(safe))


@cache
def translator() -> Translator:
    """The shipped catalogs, loaded once per process."""
    return Translator.load()


def babel_locale(locale: Locale) -> str:
    """The Babel locale a language's dates are written in (Spanish of Mexico, US English)."""
    return "es_MX" if locale == "es" else "en_US"


def local_datetime(instant: datetime, locale: Locale, tz: ZoneInfo | None = None) -> str:
    """ "9 de marzo de 2026, 10:00" / "March 9, 2026, 10:00" on the local wall clock
    (``tz``; an aware ``instant`` already local when None)."""
    local = instant.astimezone(tz) if tz is not None else instant
    day = format_date(local.date(), format="long", locale=babel_locale(locale))
    return f"{day}, {format_time(local.time(), format='HH:mm', locale=babel_locale(locale))}"


def local_date(instant: datetime, locale: Locale, tz: ZoneInfo | None = None) -> str:
    """ "9 de marzo de 2026" / "March 9, 2026": the day of ``instant`` on the local wall
    clock, the way every results surface (messages, charts, report, site) writes a date."""
    local = instant.astimezone(tz) if tz is not None else instant
    return format_date(local.date(), format="long", locale=babel_locale(locale))
