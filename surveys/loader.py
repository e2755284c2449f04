"""Loading an action plan and its instruments from files, reporting every problem at once.

A plan folder holds the plan file and, optionally, instrument files it names
under ``instruments:``. ``load_plan`` reads them all and returns the plan with
every instrument it can use: the standard ones shipped with Pulso, overridden
by any plan-folder instrument with the same id. If anything is wrong in any of
the files it raises one ``PlanFileError`` listing every problem, each as
``file:line: field: message; expected ...``.

This is the only module of ``surveys`` that reads files the caller names; it
reads and nothing else (no writes, no network, no clock). ``load_example_plan``
reads the Jalisco 2016 example that ships in ``surveys/data/plans/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from surveys.errors import FileProblem, PlanFileError, UnknownInstrument
from surveys.instruments import Instrument, builtin_instruments
from surveys.plan import INSTRUMENT_FILE_PATTERN, ActionPlan
from surveys.yamldoc import Document, field_path, parse_document, read_document


@dataclass(frozen=True)
class LoadedPlan:
    """A plan and the instruments available to its rounds, by id."""

    plan: ActionPlan
    instruments: Mapping[str, Instrument] = field(default_factory=dict)

    def instrument(self, instrument_id: str) -> Instrument:
        """The instrument with that id; raises UnknownInstrument."""
        try:
            return self.instruments[instrument_id]
        except KeyError:
            raise UnknownInstrument(instrument_id) from None


def parse_plan(text: str, *, source: str) -> ActionPlan:
    """The plan in ``text``; ``source`` names it in messages. Raises PlanFileError."""
    return parse_document(text, ActionPlan, source=source)


def parse_instrument(text: str, *, source: str) -> Instrument:
    """The instrument in ``text``; ``source`` names it in messages. Raises PlanFileError."""
    return parse_document(text, Instrument, source=source)


def load_instrument(path: Path) -> Instrument:
    """The instrument in the file at ``path``. Raises PlanFileError."""
    problems: list[FileProblem] = []
    text = _read(path, problems)
    if text is None:
        raise PlanFileError(problems)
    return parse_instrument(text, source=str(path))


def load_plan(path: Path) -> LoadedPlan:
    """The plan at ``path`` with its instruments. Raises PlanFileError with every problem."""
    problems: list[FileProblem] = []
    text = _read(path, problems)
    if text is None:
        raise PlanFileError(problems)
    plan, found, document = read_document(text, ActionPlan, source=str(path))
    problems += found
    # Even a broken plan names its instrument files: check them too, so one
    # run reports everything.
    names = list(enumerate(plan.instruments)) if plan is not None else _named_files(document.data)
    instruments = _load_folder_instruments(path, document, names, problems)
    if problems or plan is None:
        raise PlanFileError(problems)
    return LoadedPlan(plan=plan, instruments={**builtin_instruments(), **instruments})


EXAMPLE_PLAN = ("data", "plans", "jalisco-2016.yaml")  # inside the surveys package


def load_example_plan() -> LoadedPlan:
    """The Jalisco 2016 example plan shipped with Pulso, from the installed package."""
    with resources.as_file(resources.files("surveys").joinpath(*EXAMPLE_PLAN)) as path:
        return load_plan(path)


def _load_folder_instruments(
    plan_path: Path, document: Document, names: list[tuple[int, str]], problems: list[FileProblem]
) -> dict[str, Instrument]:
    loaded: dict[str, Instrument] = {}
    defined_in: dict[str, str] = {}
    for index, name in names:
        file = plan_path.parent / name
        if not file.is_file():
            message = f"no file {name} next to the plan"
            problems.append(_in_plan(document, index, message, "an instrument YAML file there"))
            continue
        text = _read(file, problems)
        if text is None:
            continue
        instrument, found, _ = read_document(text, Instrument, source=str(file))
        problems += found
        if instrument is None:
            continue
        if instrument.id in loaded:
            message = (
                f"instrument '{instrument.id}' is also defined in {defined_in[instrument.id]}"
            )
            problems.append(_in_plan(document, index, message, "one file per instrument id"))
            continue
        loaded[instrument.id] = instrument
        defined_in[instrument.id] = name
    return loaded


def _named_files(data: object) -> list[tuple[int, str]]:
    """The instrument file names a plan that failed validation still lists, with their index."""
    names = data.get("instruments") if isinstance(data, Mapping) else None
    if not isinstance(names, list):
        return []
    return [
        (index, name)
        for index, name in enumerate(names)
        if isinstance(name, str) and re.fullmatch(INSTRUMENT_FILE_PATTERN, name)
    ]


def _in_plan(document: Document, index: int, message: str, expected: str) -> FileProblem:
    """A problem with the plan's ``instruments[index]`` entry."""
    loc = ("instruments", index)
    return FileProblem(document.source, document.line(loc), field_path(loc), message, expected)


def _read(path: Path, problems: list[FileProblem]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(
            FileProblem(str(path), None, "(file)", "not found", "an existing YAML file")
        )
    except UnicodeDecodeError as error:
        problems.append(
            FileProblem(
                str(path), None, "(file)", f"not UTF-8 text ({error.reason})", "a UTF-8 text file"
            )
        )
    except OSError as error:
        problems.append(
            FileProblem(
                str(path), None, "(file)", f"cannot be read ({error.strerror})", "a readable file"
            )
        )
    return None
