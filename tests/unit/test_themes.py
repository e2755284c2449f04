"""Themes and quotes of free texts."""

from __future__ import annotations

import pytest

from surveys.themes import (
    MAX_QUOTE_LENGTH,
    AuthoredText,
    QuoteCandidate,
    Term,
    find_themes,
    fold,
    pick_quotes,
    shorten,
    stop_words,
)

TEXTS = [
    "No hay agua potable en la colonia.",
    "El agua potable llegó tarde, pero llegó",
    "Nunca nos tomaron en cuenta",
    "Ya hay agua potable y el registro funciona",
    "El registro de jornaleros no sirvió. Registro, registro, registro.",
    "Me dieron trabajo gracias al registro",
    "Water is still dirty; the water pipes leak",
]


def by_different_people(texts):
    return [AuthoredText(f"p{i}", text) for i, text in enumerate(texts)]


def themes(texts=TEXTS, min_group_size=3, **kwargs):
    return find_themes(by_different_people(texts), min_group_size=min_group_size, **kwargs)


def test_words_and_phrases_by_the_number_of_people_using_them() -> None:
    found = themes()
    assert (found.texts, found.authors) == (7, 7)
    # "registro" is used 6 times but by 3 people; counts are per person.
    assert found.words[:3] == (Term("agua", 3), Term("potable", 3), Term("registro", 3))
    assert found.phrases == (Term("agua potable", 3),)
    assert "water" not in [t.text for t in found.words]  # used in one text only


def test_stop_words_of_both_languages_are_left_out() -> None:
    texts = ["the water and the people", "la gente y el agua", "the water and la gente", "agua"]
    found = themes(texts, min_group_size=2)
    assert {t.text for t in found.words} == {"water", "gente", "agua"}


def test_topic_words_the_library_lists_are_kept() -> None:
    stops = stop_words()
    for word in ("empleo", "trabajo", "work", "information", "help"):
        assert word not in stops
    for word in ("pero", "the", "compromiso", "nomas", "ahorita"):
        assert fold(word) in stops


def test_a_phrase_stops_at_stop_words_and_punctuation() -> None:
    texts = ["tomaron en cuenta, agua. potable", "tomaron en cuenta, agua. potable"]
    found = themes(texts, min_group_size=2)
    assert found.phrases == ()  # "agua. potable" crosses a full stop


def test_accents_and_case_count_as_one_word_shown_as_most_written() -> None:
    found = themes(["Información clara", "informacion clara", "INFORMACIÓN útil"])
    assert found.words[0] == Term("información", 3)


@pytest.mark.parametrize(
    ("authors", "suppressed"),
    [pytest.param(4, True, id="N-1"), pytest.param(5, False, id="N")],
)
def test_themes_need_a_large_enough_group(authors: int, suppressed: bool) -> None:
    found = themes(["el agua no llega"] * authors, min_group_size=5)
    assert found.suppressed is suppressed
    assert bool(found.words) is not suppressed


@pytest.mark.parametrize(
    ("people", "shown"),
    [pytest.param(4, False, id="N-1"), pytest.param(5, True, id="N")],
)
def test_a_term_needs_as_many_people_as_a_group(people: int, shown: bool) -> None:
    """Privacy rule: a theme is drawn from at least MIN_GROUP_SIZE different people."""
    texts = ["el agua no llega"] * people + ["sin respuesta"] * (8 - people)
    found = themes(texts, min_group_size=5)
    assert ("agua" in [t.text for t in found.words]) is shown


def test_one_persons_many_texts_make_no_theme() -> None:
    """Privacy rule (issue 10, leak 5): one person's two texts, or five, count once."""
    insistent = [AuthoredText("p0", "Juan Pérez no me pagó") for _ in range(5)]
    others = [AuthoredText(f"p{i}", "nadie contesta") for i in range(1, 6)]
    found = find_themes([*insistent, *others], min_group_size=5)
    assert found.authors == 6
    words = [t.text for t in found.words]
    assert "juan" not in words
    assert "pérez" not in words
    assert "contesta" in words


def test_no_texts_no_themes() -> None:
    found = themes([])
    assert not found.suppressed
    assert found.words == ()


def candidates() -> list[QuoteCandidate]:
    return [
        QuoteCandidate("No hay agua potable en la colonia.", author="1", label="neg", order=1),
        QuoteCandidate(
            "Ya hay agua potable y el registro funciona", author="2", label="pos", order=2
        ),
        QuoteCandidate(
            "El agua potable llegó tarde, pero llegó", author="3", label="neu", order=3
        ),
        QuoteCandidate("Nunca nos tomaron en cuenta", author="4", label="neg", order=4),
        QuoteCandidate("sí", author="5", label="pos", order=5),  # too short to quote
        QuoteCandidate("El registro y el agua potable, por fin", author="2", label="pos", order=6),
    ]


def test_quotes_cover_the_labels_and_the_themes() -> None:
    quotes = pick_quotes(candidates(), themes(), min_group_size=3)
    # One per label, the most frequent first (neg and pos: 2 each, then neu); within a label
    # the text using the most themes, then the shorter: person 2's shorter text wins.
    assert quotes == (
        "No hay agua potable en la colonia.",
        "El registro y el agua potable, por fin",
        "El agua potable llegó tarde, pero llegó",
    )


def test_at_most_one_quote_per_person() -> None:
    same_person = [
        QuoteCandidate("agua potable y registro del agua", author="9", label="pos", order=1),
        QuoteCandidate("agua potable y registro, otra vez", author="9", label="neg", order=2),
    ]
    quotes = pick_quotes(same_person, themes(), min_group_size=3)
    assert len(quotes) == 1


@pytest.mark.parametrize(
    ("authors", "count"), [pytest.param(4, 0, id="N-1"), pytest.param(5, 3, id="N")]
)
def test_quotes_need_a_large_enough_group(authors: int, count: int) -> None:
    found = themes(TEXTS[:authors], min_group_size=1)
    assert len(pick_quotes(candidates(), found, min_group_size=5)) == count


def test_long_quotes_are_cut_at_a_word() -> None:
    text = "palabra " * 100
    short = shorten(text)
    assert len(short) <= MAX_QUOTE_LENGTH
    assert short.endswith("palabra…")
    assert shorten("  uno\n dos  ") == "uno dos"


def test_the_same_words_from_two_people_are_quoted_once() -> None:
    texts = ["No sirvió para nada, seguimos igual en el campo."] * 3 + [
        "Nadie nos avisó del padrón, puro anuncio."
    ]
    found = find_themes(by_different_people(texts), min_group_size=3)
    candidates = [
        QuoteCandidate(text=text, author=str(author), label="neg", order=author)
        for author, text in enumerate(texts)
    ]
    quotes = pick_quotes(candidates, found, min_group_size=3)
    assert len(quotes) == len(set(quotes)) == 2
