"""Turning what a person sent (a button's code, several codes, a text, or a skip) into an answer.

``validate_answer`` is the one gate between raw input and a stored answer: a
code that is not an option (a stale or forged button), too many choices, a
text over the limit, or an empty required answer each raise their
``AnswerError`` for the edge to translate. What it returns is canonical:
texts cleaned (:func:`clean_text`), multiple choices without repeats and in the
options' order. The :class:`~surveys.instruments.Answer` value itself lives with
the questions it answers (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence

from surveys.errors import (
    EmptyRequired,
    InvalidOption,
    TextTooLong,
    TooManyChoices,
    WrongAnswerKind,
)
from surveys.instruments import Answer, Question, QuestionType
from surveys.plan import DemographicQuestion

__all__ = ["Answer", "clean_text", "validate_answer", "validate_demographic"]


def validate_answer(question: Question, raw: str | Sequence[str] | None) -> Answer:
    """``raw`` as an answer to ``question``, or the AnswerError that says why not.

    ``raw`` is an option code (a button), a sequence of codes (a multiple
    choice), a text (a text question), or None for a skip.
    """
    if question.type is QuestionType.TEXT:
        return _text_answer(question, raw)
    codes = _codes(raw)
    if not codes:
        return _skipped(question)
    limit = (question.max_choices or 1) if question.type is QuestionType.MULTI else 1
    if len(codes) > limit:
        raise TooManyChoices(question_id=question.id, max_choices=limit, count=len(codes))
    order = {option.code: index for index, option in enumerate(question.choices)}
    for code in codes:
        if code not in order:
            raise InvalidOption(question_id=question.id, value=code)
    codes = tuple(sorted(codes, key=order.__getitem__))
    if question.type is QuestionType.MULTI:
        return Answer(question_id=question.id, codes=codes)
    option = question.choices[order[codes[0]]]
    return Answer(question_id=question.id, codes=codes, score=option.score)


def validate_demographic(question: DemographicQuestion, raw: str | None) -> str | None:
    """The chosen option code of a demographic question, or None when skipped (always allowed)."""
    if raw is None:
        return None
    if all(option.code != raw for option in question.options):
        raise InvalidOption(question_id=question.id, value=raw)
    return raw


def _codes(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    # Repeats carry no meaning (a button pressed twice); the first one counts.
    return tuple(dict.fromkeys(raw))


def _skipped(question: Question) -> Answer:
    if question.required:
        raise EmptyRequired(question_id=question.id)
    return Answer.skip(question.id)


def clean_text(raw: str) -> str:
    """What a person wrote, as it is kept: without NUL characters (no one types them, and
    PostgreSQL cannot store them in text) and without surrounding blanks."""
    return raw.replace("\x00", "").strip()


def _text_answer(question: Question, raw: str | Sequence[str] | None) -> Answer:
    if raw is not None and not isinstance(raw, str):
        raise WrongAnswerKind(question_id=question.id, expected="text")
    text = clean_text(raw or "")
    if not text:
        return _skipped(question)
    limit = question.max_length or 0
    if len(text) > limit:
        raise TextTooLong(question_id=question.id, max_length=limit, length=len(text))
    return Answer(question_id=question.id, text=text)
