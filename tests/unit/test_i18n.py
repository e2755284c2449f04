"""Every message exists in Spanish and English, with the same placeholders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.i18n import LOCALES, Html, Translator, as_locale, escape, placeholders, translator

ROOT = Path(__file__).resolve().parents[2]


def test_both_catalogs_have_the_same_keys() -> None:
    catalogs = translator().catalogs
    assert set(catalogs["es"].messages) == set(catalogs["en"].messages)


@pytest.mark.parametrize("key", sorted(translator().catalogs["es"].messages))
def test_placeholders_match_across_languages(key: str) -> None:
    catalogs = translator().catalogs
    assert placeholders(catalogs["es"].messages[key]) == placeholders(catalogs["en"].messages[key])


def literal_keys_used_in_code() -> set[tuple[str, str]]:
    """(file, key) for every `t("key", …)`-style call with a literal key."""
    found = set()
    for package in ("bot", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and (
                        (isinstance(node.func, ast.Name) and node.func.id == "t")
                        or (isinstance(node.func, ast.Attribute) and node.func.attr == "t")
                    )
                ):
                    found.add((str(path.relative_to(ROOT)), node.args[0].value))
    return found


def test_every_key_used_in_code_exists() -> None:
    t = translator()
    missing = sorted(
        f"{path}: {key}" for path, key in literal_keys_used_in_code() if not t.has(key)
    )
    assert missing == []


def test_parameters_are_escaped_unless_marked_safe() -> None:
    t = translator()
    fake = Translator(
        {
            locale: type(t.catalogs[locale])(locale, {"x": "<b>{name}</b>"}, {})
            for locale in LOCALES
        }
    )
    assert fake("x", "es", name="<script>&") == "<b>&lt;script&gt;&amp;</b>"
    assert fake("x", "en", name=Html("<i>ok</i>")) == "<b><i>ok</i></b>"


def test_escape_is_idempotent_on_safe_text() -> None:
    once = escape("a < b")
    assert escape(once) == once == "a &lt; b"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("es", "es", id="es"),
        pytest.param("es-MX", "es", id="es-MX"),
        pytest.param("en-GB", "en", id="en-GB"),
        pytest.param("pt-br", "es", id="other-falls-back"),
        pytest.param(None, "es", id="none"),
    ],
)
def test_telegram_language_codes_map_to_our_locales(code: str | None, expected: str) -> None:
    assert as_locale(code, "es") == expected


def test_an_unknown_key_fails_loudly() -> None:
    with pytest.raises(KeyError):
        translator()("no.such.key", "es")


def test_every_domain_error_has_a_message() -> None:
    # Import every module that defines errors, so error_keys() sees them all.
    import bot.services  # noqa: F401
    from surveys.errors import error_keys

    t = translator()
    assert sorted(key for key in error_keys() if not t.has(key)) == []
