"""An answer in words, in the person's language."""

from __future__ import annotations

from bot.i18n import Locale
from surveys.answers import Answer
from surveys.instruments import Question


def describe_answer(question: Question, answer: Answer, locale: Locale) -> str | None:
    """An answer in words: option labels in the question's order, or the text; None for
    a skip."""
    if answer.skipped:
        return None
    if answer.text is not None:
        return answer.text
    chosen = set(answer.codes)
    return ", ".join(o.label.get(locale) for o in question.choices if o.code in chosen)
