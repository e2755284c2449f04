"""validate_answer: what a person sent becomes a typed answer, or the error that says why not."""

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys.answers import Answer, validate_answer, validate_demographic
from surveys.errors import (
    AnswerError,
    EmptyRequired,
    InvalidOption,
    TextTooLong,
    TooManyChoices,
    WrongAnswerKind,
)
from surveys.instruments import Question, QuestionType, builtin_instrument
from surveys.plan import DemographicQuestion


def bilingual(text: str) -> dict[str, str]:
    return {"es": text, "en": text}


def question(kind: str, **extra: Any) -> Question:
    return Question.model_validate({"id": "q", "type": kind, "text": bilingual("¿?"), **extra})


def options(*codes: str, scores: Sequence[float] | None = None) -> list[dict[str, Any]]:
    return [
        {"code": code, "label": bilingual(code), **({"score": scores[i]} if scores else {})}
        for i, code in enumerate(codes)
    ]


FRUIT = question("multi", options=options("apple", "pear", "fig"), max_choices=2)
TRUST = question("single", options=options("less", "same", "more", scores=[0, 50, 100]))
PLAIN = question("single", options=options("bus", "car"), required=False)
NOTE = question("text", max_length=10, required=False)
STORY = question("text", max_length=10)


@pytest.mark.parametrize(
    ("asked", "raw", "expected"),
    [
        pytest.param(question("likert5"), "4", Answer("q", ("4",), score=75), id="likert5"),
        pytest.param(question("rating"), "0", Answer("q", ("0",), score=0), id="rating-zero"),
        pytest.param(question("rating"), "10", Answer("q", ("10",), score=100), id="rating-ten"),
        pytest.param(question("yes_no"), "yes", Answer("q", ("yes",), score=100), id="yes"),
        pytest.param(
            question("irm_completion"),
            "limited",
            Answer("q", ("limited",), score=100 / 3),
            id="irm-completion",
        ),
        pytest.param(
            question("irm_open_gov"),
            "no_change",
            Answer("q", ("no_change",), score=25),
            id="irm-did-not-change-is-low",
        ),
        pytest.param(TRUST, "same", Answer("q", ("same",), score=50), id="scored-single"),
        pytest.param(PLAIN, "car", Answer("q", ("car",)), id="unscored-single"),
        pytest.param(PLAIN, ["car"], Answer("q", ("car",)), id="single-as-a-list-of-one"),
        pytest.param(
            FRUIT, ["fig", "apple"], Answer("q", ("apple", "fig")), id="multi-in-option-order"
        ),
        pytest.param(FRUIT, ["pear", "pear"], Answer("q", ("pear",)), id="multi-repeat-once"),
        pytest.param(FRUIT, "pear", Answer("q", ("pear",)), id="multi-one-code"),
        pytest.param(NOTE, "  hola  ", Answer("q", text="hola"), id="text-stripped"),
        pytest.param(NOTE, "0123456789", Answer("q", text="0123456789"), id="text-at-limit"),
        pytest.param(NOTE, None, Answer.skip("q"), id="optional-text-skipped"),
        pytest.param(NOTE, "   ", Answer.skip("q"), id="blank-text-is-a-skip"),
        pytest.param(PLAIN, None, Answer.skip("q"), id="optional-choice-skipped"),
        pytest.param(PLAIN, [], Answer.skip("q"), id="no-choice-is-a-skip"),
    ],
)
def test_valid_input_becomes_a_canonical_answer(
    asked: Question, raw: str | list[str] | None, expected: Answer
) -> None:
    assert validate_answer(asked, raw) == expected


@pytest.mark.parametrize(
    ("asked", "raw", "error", "params"),
    [
        pytest.param(
            question("rating"), "11", InvalidOption, {"question_id": "q"}, id="out-of-range"
        ),
        pytest.param(
            question("likert5"), "agree", InvalidOption, {"question_id": "q"}, id="typed-text"
        ),
        pytest.param(
            question("yes_no"), "Yes", InvalidOption, {"question_id": "q"}, id="codes-are-exact"
        ),
        pytest.param(
            FRUIT, ["apple", "kiwi"], InvalidOption, {"question_id": "q"}, id="one-bad-of-many"
        ),
        pytest.param(
            FRUIT,
            ["apple", "pear", "fig"],
            TooManyChoices,
            {"question_id": "q", "max_choices": 2, "count": 3},
            id="too-many-choices",
        ),
        pytest.param(
            TRUST,
            ["less", "more"],
            TooManyChoices,
            {"question_id": "q", "max_choices": 1, "count": 2},
            id="two-for-a-single",
        ),
        pytest.param(
            STORY,
            "01234567890",
            TextTooLong,
            {"question_id": "q", "max_length": 10, "length": 11},
            id="too-long",
        ),
        pytest.param(STORY, None, EmptyRequired, {"question_id": "q"}, id="required-skipped"),
        pytest.param(STORY, " \n ", EmptyRequired, {"question_id": "q"}, id="required-blank"),
        pytest.param(TRUST, [], EmptyRequired, {"question_id": "q"}, id="required-no-choice"),
        pytest.param(
            STORY,
            ["a", "b"],
            WrongAnswerKind,
            {"question_id": "q", "expected": "text"},
            id="codes-for-a-text",
        ),
    ],
)
def test_invalid_input_raises_the_error_that_says_why(
    asked: Question,
    raw: str | list[str] | None,
    error: type[AnswerError],
    params: dict[str, object],
) -> None:
    with pytest.raises(error) as caught:
        validate_answer(asked, raw)
    assert caught.value.params == params


def test_what_a_person_typed_stays_out_of_messages() -> None:
    with pytest.raises(InvalidOption) as caught:
        validate_answer(question("yes_no"), "mi CURP es XXXX")
    assert "CURP" not in str(caught.value)
    assert "CURP" not in repr(caught.value.params)
    assert caught.value.value == "mi CURP es XXXX"


def test_demographic_answers_are_a_listed_code_or_a_skip() -> None:
    asked = DemographicQuestion.model_validate(
        {"id": "gender", "text": bilingual("Género"), "options": options("woman", "man")}
    )
    assert validate_demographic(asked, "man") == "man"
    assert validate_demographic(asked, None) is None
    with pytest.raises(InvalidOption):
        validate_demographic(asked, "robot")


def test_answers_keep_their_invariants() -> None:
    with pytest.raises(ValueError, match="skipped"):
        Answer("q", ("yes",), skipped=True)
    with pytest.raises(ValueError, match="either"):
        Answer("q", ("yes",), text="sí")
    assert Answer("q", ("a", "b")).code is None
    assert Answer("q", ("a",)).code == "a"


# ---- properties -------------------------------------------------------------------

CHOICE_QUESTIONS = [
    q
    for instrument_id in ("progress", "pulse", "closing")
    for q in builtin_instrument(instrument_id).questions
    if q.type is not QuestionType.TEXT
] + [TRUST, PLAIN]
FEW = settings(max_examples=60, deadline=None)


@FEW
@given(st.sampled_from(CHOICE_QUESTIONS), st.data())
def test_every_option_is_accepted_and_round_trips(asked: Question, data: st.DataObject) -> None:
    option = data.draw(st.sampled_from(asked.choices))
    answer = validate_answer(asked, option.code)
    assert answer.codes == (option.code,)
    assert answer.score == option.score
    assert not answer.skipped
    assert validate_answer(asked, list(answer.codes)) == answer


@FEW
@given(st.sampled_from([*CHOICE_QUESTIONS, FRUIT]), st.text(max_size=20))
def test_anything_but_an_option_code_is_an_invalid_option(asked: Question, raw: str) -> None:
    if raw in {option.code for option in asked.choices}:
        return
    with pytest.raises(InvalidOption):
        validate_answer(asked, raw)


@FEW
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=5, unique=True),
    st.permutations(["a", "b", "c", "d", "e"]),
    st.integers(1, 5),
)
def test_multiple_choices_within_the_limit_are_kept_in_option_order(
    chosen: list[str], order: list[str], limit: int
) -> None:
    asked = question("multi", options=options(*order), max_choices=limit)
    if len(chosen) > limit:
        with pytest.raises(TooManyChoices):
            validate_answer(asked, chosen)
        return
    answer = validate_answer(asked, chosen)
    assert set(answer.codes) == set(chosen)
    assert list(answer.codes) == [code for code in order if code in chosen]
    assert answer.score is None
    assert validate_answer(asked, list(answer.codes)) == answer


@FEW
@given(st.integers(1, 50), st.text(min_size=1, max_size=80))
def test_texts_within_the_limit_pass_and_longer_ones_do_not(limit: int, raw: str) -> None:
    asked = question("text", max_length=limit)
    text = raw.replace("\x00", "").strip()  # kept without NULs (PostgreSQL has no room for them)
    if not text:
        with pytest.raises(EmptyRequired):
            validate_answer(asked, raw)
    elif len(text) > limit:
        with pytest.raises(TextTooLong) as caught:
            validate_answer(asked, raw)
        assert (caught.value.max_length, caught.value.length) == (limit, len(text))
    else:
        answer = validate_answer(asked, raw)
        assert answer.text == text
        assert validate_answer(asked, answer.text) == answer
