"""Reading a YAML document into a model, with every problem placed on its line.

Plan and instrument files are written by hand, so a mistake must come back as
``file:line: field: message; expected ...`` for every problem at once, not as a
traceback for the first. PyYAML composes the document into nodes that keep
their line (marks); the plain data built from them goes to pydantic; each
error's location (``commitments[2].title.en``) is walked back down the nodes to
the deepest line that exists, and down the model's fields to the ``Expect``
text or type that says what a right value looks like.

Scalars are read more strictly than YAML 1.1: only ``true``/``false`` are
booleans and numbers have no ``_`` or leading zeros, so a code written ``no``,
``on``, ``18_29`` or ``010`` stays the text it looks like. Every scalar read as
something else is one PyYAML's dumper would quote, so dumped data reads back.
Anchors and aliases are refused: a plan needs none, and they would make one
line stand for many places.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from surveys._checks import RULE, Expect, Loc, one_of
from surveys.errors import FileProblem, PlanFileError

ModelT = TypeVar("ModelT", bound=BaseModel)

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class _Loader(yaml.SafeLoader):
    """SafeLoader with the stricter booleans and numbers described above."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    # YAML 1.1 spellings only (a dot; a signed exponent), so that any text that
    # PyYAML's dumper leaves unquoted still reads back as text.
    re.compile(
        r"^[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?$"
        r"|^\.[0-9]+(?:[eE][-+][0-9]+)?$"
        r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    # An impossible date (2018-02-30) stays text, for pydantic to report on its line.
    if not isinstance(node, yaml.ScalarNode):  # only an explicit !!timestamp tag gets here
        raise yaml.constructor.ConstructorError(
            None, None, "a date must be a plain value", node.start_mark
        )
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


@dataclass(frozen=True, slots=True)
class Document:
    """A composed YAML document: its root node (None if empty), its data, its problems."""

    source: str
    root: yaml.Node | None
    data: object
    problems: tuple[FileProblem, ...]

    def line(self, loc: Loc) -> int | None:
        """The 1-based line of ``loc``, or of its deepest part that exists in the file."""
        if self.root is None:
            return None
        return _line_of(self.root, loc)


def compose(text: str, *, source: str) -> Document:
    """Parse ``text`` into nodes and data, noting YAML-level problems."""
    try:
        loader = _Loader(text)  # checks every character up front
    except yaml.reader.ReaderError as error:
        row = text.count("\n", 0, error.position) + 1
        message = f"character #x{error.character:04x} is not allowed in YAML"
        return _failed(FileProblem(source, row, "(syntax)", message, "printable text"))
    try:
        root = loader.get_single_node()
        if root is None:
            return _failed(
                FileProblem(source, 1, "(document)", "the file is empty", "a YAML mapping")
            )
        problems, aliased = _structure_problems(root, source)
        if aliased:
            return Document(source, root, None, tuple(problems))
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(part for part in (error.context, error.problem) if part)
        return _failed(FileProblem(source, line, "(syntax)", message, "valid YAML"))
    except yaml.YAMLError as error:
        return _failed(FileProblem(source, None, "(syntax)", str(error), "valid YAML"))
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        # Explicit tags (`!!int abc`) reach constructors that raise plain errors.
        message = f"a value cannot be read ({type(error).__name__}: {_clip(str(error))})"
        return _failed(FileProblem(source, None, "(syntax)", message, "plain YAML values"))
    finally:
        loader.dispose()
    return Document(source, root, data, tuple(problems))


def _failed(problem: FileProblem) -> Document:
    return Document(problem.file, None, None, (problem,))


def read_document(
    text: str, model: type[ModelT], *, source: str
) -> tuple[ModelT | None, list[FileProblem], Document]:
    """The model read from ``text`` (None if anything is wrong), every problem, the document."""
    document = compose(text, source=source)
    problems = list(document.problems)
    if document.root is None or (document.data is None and problems):
        return None, problems, document
    try:
        value = model.model_validate(document.data)
    except ValidationError as error:
        problems += [
            problem_for(document, model, found)
            for found in error.errors()
            if not _only_echoes_item_errors(found)
        ]
        return None, problems, document
    return (None if problems else value), problems, document


def parse_document(text: str, model: type[ModelT], *, source: str) -> ModelT:
    """The model read from ``text``; raises PlanFileError listing every problem."""
    value, problems, _ = read_document(text, model, source=source)
    if value is None:
        raise PlanFileError(problems)
    return value


def field_path(loc: Loc) -> str:
    """``commitments[2].title.en`` for ``("commitments", 2, "title", "en")``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(document)"


def problem_for(document: Document, model: type[BaseModel], error: ErrorDetails) -> FileProblem:
    """One pydantic error as a located, readable problem."""
    loc = tuple(error["loc"])
    message, expected = _explain(model, error)
    return FileProblem(document.source, document.line(loc), field_path(loc), message, expected)


def _only_echoes_item_errors(error: ErrorDetails) -> bool:
    # Pydantic counts a list's length after dropping the items that failed, so
    # one bad item in a list of one also reads "too short"; the item's own
    # error already says what is wrong.
    written = error["input"]
    minimum = (error.get("ctx") or {}).get("min_length")
    return (
        error["type"] == "too_short"
        and isinstance(written, list | tuple)
        and isinstance(minimum, int)
        and len(written) >= minimum
    )


def _structure_problems(root: yaml.Node, source: str) -> tuple[list[FileProblem], bool]:
    """Repeated keys (YAML keeps the last silently) and aliases; True if there are aliases."""
    problems = list(_repeats_and_aliases(root, source))
    return problems, any(problem.message == _ALIAS for problem in problems)


_ALIAS = "alias (*) of an anchored (&) part"


def _repeats_and_aliases(root: yaml.Node, source: str) -> Iterator[FileProblem]:
    seen: set[int] = set()
    pending: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while pending:
        node, loc = pending.pop()
        if id(node) in seen:
            yield FileProblem(
                source, node.start_mark.line + 1, field_path(loc), _ALIAS, "each part written out"
            )
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
                if name in first_line:
                    yield FileProblem(
                        source,
                        key.start_mark.line + 1,
                        field_path((*loc, name)),
                        f"key repeated (first on line {first_line[name]})",
                        "each key once",
                    )
                else:
                    first_line[name] = key.start_mark.line + 1
                pending.append((value, (*loc, name)))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*loc, index)) for index, item in enumerate(node.value))


def _line_of(root: yaml.Node, loc: Loc) -> int:
    node = root
    line = root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            matches = [
                (key, value)
                for key, value in node.value
                if isinstance(key, yaml.ScalarNode) and key.value == str(part)
            ]
            if not matches:
                break
            key, node = matches[-1]  # the last one is the one YAML keeps
            line = key.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


_TYPE_ERRORS = frozenset(
    {"model_type", "model_attributes_type", "is_instance_of", "enum", "literal_error"}
)


def _explain(model: type[BaseModel], error: ErrorDetails) -> tuple[str, str]:
    kind = error["type"]
    context: Mapping[str, Any] = error.get("ctx") or {}
    loc = tuple(error["loc"])
    value = error["input"]
    if kind == RULE:
        return str(context["message"]), str(context["expected"])
    if kind == "extra_forbidden":
        names = _walk(model, loc[:-1]).field_names
        key = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key{hint}", one_of(names) if names else "no such key"
    expected = _walk(model, loc).expected or str(error["msg"])
    if kind == "missing":
        return "missing", expected
    if kind == "string_too_short":
        return "empty", expected
    if kind == "too_short":
        return ("empty" if context.get("actual_length") == 0 else "too few items"), expected
    if kind == "too_long":
        return "too many items", expected
    if kind == "string_too_long":
        return "too long", expected
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{value!r} is out of range", expected
    if kind == "recursion_loop":
        return "refers to itself", expected
    if isinstance(value, str) and (
        kind.endswith(("_parsing", "_mismatch")) or kind in ("enum", "literal_error")
    ):
        return f"'{_clip(value)}' is not valid", expected
    if kind.endswith(("_type", "_parsing")) or kind in _TYPE_ERRORS:
        return f"got {_kind_of(value)}", expected
    return str(error["msg"]), expected


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind_of(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{_clip(value)}'"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Target:
    expected: str
    field_names: list[str]


_PLAIN_TYPES: Mapping[type, str] = {
    str: "a text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    date: "a date written YYYY-MM-DD",
}
_COLLECTIONS = (tuple, list, frozenset, set)


def _walk(model: type[BaseModel], loc: Loc) -> _Target:
    """Follow ``loc`` through the model's fields: what is expected there, and which keys exist."""
    current: Any = model
    field_expect: str | None = None
    ended_on_item = False
    for part in loc:
        current, expects = _unwrap(current)
        if isinstance(part, str) and _is_model(current) and part in current.model_fields:
            field = current.model_fields[part]
            field_expect = next((m.text for m in field.metadata if isinstance(m, Expect)), None)
            current = field.annotation
            ended_on_item = False
        elif isinstance(part, int) and get_origin(current) in _COLLECTIONS:
            current = get_args(current)[0]
            ended_on_item = True
        else:
            break
    current, expects = _unwrap(current)
    own = expects[0] if expects else _describe(current)
    expected = (own or field_expect) if ended_on_item else (field_expect or own)
    names = list(current.model_fields) if _is_model(current) else []
    return _Target(expected or "", names)


def _unwrap(annotation: Any) -> tuple[Any, list[str]]:
    """Strip ``Annotated`` (keeping its Expect texts) and ``| None``."""
    expects: list[str] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *metadata = get_args(annotation)
            expects += [m.text for m in metadata if isinstance(m, Expect)]
            annotation = base
        elif origin in (Union, types.UnionType):
            others = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(others) != 1:
                return annotation, expects
            annotation = others[0]
        else:
            return annotation, expects


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _describe(annotation: Any) -> str | None:
    if _is_model(annotation):
        described = getattr(annotation, "expectation", None)
        return described if isinstance(described, str) else None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return one_of(member.value for member in annotation)
    if get_origin(annotation) is Literal:
        return one_of(get_args(annotation))
    if get_origin(annotation) in _COLLECTIONS:
        return "a list"
    if isinstance(annotation, type):
        return _PLAIN_TYPES.get(annotation)
    return None
