"""How the models state their rules so that a file's problems come out complete and readable.

Field annotations carry an ``Expect`` describing a right value, so a message can
say what was expected without a table keyed by field name. Rules that span
fields or list items are written as ``Problem``s (a location relative to the
model, what is wrong, what would be right) and raised together as one pydantic
``ValidationError`` whose locations pydantic then prefixes with the model's own
position, exactly like its built-in errors. ``surveys.yamldoc`` turns those
errors into ``file:line: field: message; expected ...`` lines.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

Loc = tuple[str | int, ...]

#: The pydantic error type of every rule written here; its context holds
#: ``message`` and ``expected`` for the reader of the file.
RULE = "pulso_rule"
_RULE_TEMPLATE = "{message}; expected {expected}"


@dataclass(frozen=True, slots=True)
class Expect:
    """``Annotated`` metadata: what a right value of the field looks like, for messages."""

    text: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A broken rule: where (relative to the model validated), what is wrong, what is right."""

    loc: Loc
    message: str
    expected: str


def rule_error(problems: Sequence[Problem], *, title: str, value: object) -> ValidationError:
    """One ValidationError holding every problem, to raise from a model validator."""
    return ValidationError.from_exception_data(
        title, [_rule_details(problem, value) for problem in problems]
    )


def merged_error(
    error: ValidationError, problems: Sequence[Problem], *, value: object
) -> ValidationError:
    """``error``'s own problems plus ``problems``, so a file lists them all at once.

    Used by wrap validators: the field errors pydantic found and the rules
    checked on whatever parts of the input were still readable.
    """
    if not problems:
        return error
    details: list[InitErrorDetails] = [_rule_details(problem, value) for problem in problems]
    for found in error.errors():
        # Built-in and rule errors alike become custom errors with the same type
        # name, message and context, which is all the formatter reads.
        context = found.get("ctx")
        template = _RULE_TEMPLATE if found["type"] == RULE else found["msg"]
        details.append(
            InitErrorDetails(
                type=PydanticCustomError(found["type"], template, context),
                loc=found["loc"],
                input=found["input"],
            )
        )
    return ValidationError.from_exception_data(error.title, details)


def duplicates(
    ids: Sequence[object], *, field: str, what: str, key: str | None = "id"
) -> list[Problem]:
    """A problem at every repeat of an id (at ``field[i].key``), naming the first one.

    ``key=None`` when the list items are the ids themselves.
    """
    first_seen: dict[Hashable, int] = {}
    problems: list[Problem] = []
    for index, item_id in enumerate(ids):
        if not isinstance(item_id, str):
            continue  # a missing or mistyped id is reported by the field itself
        if item_id in first_seen:
            loc: Loc = (field, index) if key is None else (field, index, key)
            named = what if key is None else f"{what} {key}"
            problems.append(
                Problem(
                    loc,
                    f"duplicate {named} '{item_id}' (also {field}[{first_seen[item_id]}])",
                    f"each {named} once",
                )
            )
        else:
            first_seen[item_id] = index
    return problems


def raw_ids(items: object, key: str = "id") -> list[object]:
    """The ``key`` of each item of a list as written (mappings or models); None if unreadable."""
    if not isinstance(items, Sequence) or isinstance(items, str):
        return []
    return [
        item.get(key) if isinstance(item, Mapping) else getattr(item, key, None) for item in items
    ]


def one_of(values: Iterable[object]) -> str:
    """``one of: a, b, c`` for an expected-value text."""
    return "one of: " + ", ".join(str(value) for value in values)


def _rule_details(problem: Problem, value: object) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError(
            RULE, _RULE_TEMPLATE, {"message": problem.message, "expected": problem.expected}
        ),
        loc=problem.loc,
        input=value,
    )
