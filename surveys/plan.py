"""The action plan: its commitments, what each should change for people, and who answers for it.

An action plan is read from a YAML file (see ``surveys/data/plans/jalisco-2016.yaml``
and ``surveys.loader``). Each commitment keeps the OGP identity of the plan
(stable id, the problem it addresses, the OGP values it serves) and adds what
Pulso asks about: the *expected outcome* for the people it serves, and the
officially reported completion that their answers are set against.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    model_validator,
)

from surveys._checks import Expect, Problem, duplicates, merged_error, raw_ids, rule_error
from surveys.errors import UnknownCommitment
from surveys.instruments import Option, QuestionId
from surveys.locale import Locale, LocalizedText


class OgpValue(StrEnum):
    """The OGP values a commitment can serve."""

    ACCESS_TO_INFORMATION = "access_to_information"
    CIVIC_PARTICIPATION = "civic_participation"
    PUBLIC_ACCOUNTABILITY = "public_accountability"
    TECHNOLOGY_AND_INNOVATION = "technology_and_innovation"


OGP_VALUE_LABELS: Mapping[OgpValue, LocalizedText] = {
    OgpValue.ACCESS_TO_INFORMATION: LocalizedText(
        es="Acceso a la información", en="Access to information"
    ),
    OgpValue.CIVIC_PARTICIPATION: LocalizedText(
        es="Participación ciudadana", en="Civic participation"
    ),
    OgpValue.PUBLIC_ACCOUNTABILITY: LocalizedText(
        es="Rendición de cuentas", en="Public accountability"
    ),
    OgpValue.TECHNOLOGY_AND_INNOVATION: LocalizedText(
        es="Tecnología e innovación", en="Technology and innovation"
    ),
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

#: A file name in the plan's own folder: no path separators, so no way out of it.
INSTRUMENT_FILE_PATTERN = r"^[A-Za-z0-9_.-]+\.ya?ml$"

CommitmentId = Annotated[
    str,
    Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$"),
    Expect("a commitment id: up to 16 capital letters, digits, - or _ (like JAL0004)"),
]


def _one_or_many(value: object) -> object:
    # `ogp_values: civic_participation` reads as a list of one.
    return [value] if isinstance(value, str) else value


def _sorted_values(values: frozenset[OgpValue]) -> list[str]:
    # Sets serialize in hash order, which changes between processes.
    return sorted(str(value) for value in values)


class OfficialCompletion(BaseModel):
    """The completion a government reports for a commitment, and where it says so."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "a mapping with percent, source and as_of"

    percent: Annotated[float, Field(ge=0, le=100), Expect("a percentage from 0 to 100")]
    source: Annotated[Text, Expect("the report or statement the figure comes from")]
    as_of: Annotated[date, Expect("the date of the figure, written YYYY-MM-DD")]


class Period(BaseModel):
    """The dates the plan runs between, both included."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "a mapping with start and end dates"

    start: Annotated[date, Expect("the start date, written YYYY-MM-DD")]
    end: Annotated[date, Expect("the end date, written YYYY-MM-DD")]

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end < self.start:
            problem = Problem(
                ("end",), f"{self.end} is before the start", f"a date on or after {self.start}"
            )
            raise rule_error([problem], title="Period", value=self.end)
        return self


class Commitment(BaseModel):
    """One commitment of the plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "a commitment: a mapping with id, title, description and more"

    id: CommitmentId
    title: LocalizedText
    description: LocalizedText
    problem: LocalizedText
    expected_outcome: LocalizedText
    institutions: Annotated[
        tuple[Text, ...],
        Field(min_length=1),
        Expect("a list of the responsible institutions' names"),
    ]
    ogp_values: Annotated[
        frozenset[OgpValue],
        BeforeValidator(_one_or_many),
        Field(min_length=1),
        PlainSerializer(_sorted_values, return_type=list[str], when_used="json"),
        Expect("a list of OGP values: " + ", ".join(OgpValue)),
    ]
    official: OfficialCompletion | None = None
    # Who answers for it in public after each round (docs/responses.md): Telegram user ids.
    responsible: Annotated[
        tuple[Annotated[int, Field(gt=0, lt=2**63)], ...],
        Expect("a list of Telegram user ids (whole numbers) of the people who answer for it"),
    ] = ()


class DemographicQuestion(BaseModel):
    """An optional question asked once, at onboarding; a person may always skip it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "a demographic question: a mapping with id, text and options"

    id: QuestionId
    text: LocalizedText
    options: Annotated[tuple[Option, ...], Field(min_length=2), Expect("a list of options")]

    @model_validator(mode="after")
    def _check_options(self) -> Self:
        codes = [option.code for option in self.options]
        problems = duplicates(codes, field="options", what="option", key="code")
        problems += [
            Problem(("options", index, "score"), "a demographic option has no score", "no score")
            for index, option in enumerate(self.options)
            if option.score is not None
        ]
        if problems:
            raise rule_error(problems, title="DemographicQuestion", value=self.id)
        return self


class ActionPlan(BaseModel):
    """An action plan as Pulso uses it; read it with ``surveys.loader.load_plan``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "an action plan: a mapping with id, name, commitments and more"

    id: Annotated[
        str,
        Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=40),
        Expect("a slug: lowercase letters and digits joined by - (like jalisco-2016)"),
    ]
    name: LocalizedText
    government: Annotated[Text, Expect("the name of the government that owns the plan")]
    period: Period
    default_language: Locale
    commitments: Annotated[
        tuple[Commitment, ...], Field(min_length=1), Expect("a list of commitments")
    ]
    demographics: Annotated[
        tuple[DemographicQuestion, ...], Expect("a list of demographic questions")
    ] = ()
    instruments: Annotated[
        tuple[
            Annotated[
                str,
                Field(pattern=INSTRUMENT_FILE_PATTERN),
                Expect("a file name next to the plan, ending in .yaml"),
            ],
            ...,
        ],
        Expect("a list of instrument file names next to the plan"),
    ] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _check_unique(
        cls, data: Any, handler: ModelWrapValidatorHandler[ActionPlan]
    ) -> ActionPlan:
        # Wrapping lets duplicate ids be reported along with any other problem.
        try:
            plan = handler(data)
        except ValidationError as error:
            if not isinstance(data, Mapping):
                raise
            problems = _repeats(
                raw_ids(data.get("commitments")),
                raw_ids(data.get("demographics")),
                list(data.get("instruments") or [])
                if isinstance(data.get("instruments"), list)
                else [],
            )
            raise merged_error(error, problems, value=data) from None
        problems = _repeats(
            [c.id for c in plan.commitments],
            [d.id for d in plan.demographics],
            list(plan.instruments),
        )
        if problems:
            raise rule_error(problems, title=cls.__name__, value=data)
        return plan

    def commitment(self, commitment_id: str) -> Commitment:
        """The commitment with that id; raises UnknownCommitment."""
        for commitment in self.commitments:
            if commitment.id == commitment_id:
                return commitment
        raise UnknownCommitment(commitment_id)

    @property
    def official_percent(self) -> float | None:
        """The mean officially reported completion over the commitments that report one."""
        figures = [c.official.percent for c in self.commitments if c.official is not None]
        return sum(figures) / len(figures) if figures else None


def _repeats(
    commitment_ids: list[object], demographic_ids: list[object], instrument_files: list[object]
) -> list[Problem]:
    return [
        *duplicates(commitment_ids, field="commitments", what="commitment"),
        *duplicates(demographic_ids, field="demographics", what="demographic question"),
        *duplicates(instrument_files, field="instruments", what="instrument file", key=None),
    ]
