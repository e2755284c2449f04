"""The two languages every text a person sees must exist in, and the bilingual text type."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from surveys._checks import Expect

Locale = Literal["es", "en"]
LOCALES: tuple[Locale, ...] = ("es", "en")
DEFAULT_LOCALE: Locale = "es"


class LocalizedText(BaseModel):
    """One text in Mexican Spanish and in English; both required, stripped, non-empty."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    expectation: ClassVar[str] = "a text in both languages: a mapping with es: and en:"

    es: Annotated[str, Field(min_length=1), Expect("a non-empty Spanish text")]
    en: Annotated[str, Field(min_length=1), Expect("a non-empty English text")]

    def get(self, locale: Locale) -> str:
        """The text in ``locale``."""
        return self.es if locale == "es" else self.en
