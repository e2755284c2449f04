"""Survey instruments: questions, their types and options, and the order a person meets them.

An instrument is what a round asks: an id and version, bilingual title, intro
and outro, and up to a handful of questions. Each question says who sees it
(beneficiaries, implementers or both), whether it may be skipped, whether it
depends on an earlier answer, and which *measure* it feeds, so aggregation
groups answers by measure and never needs to know a question id.

Option scores put every scale on 0–100 so measures can be averaged across
question types (a question "is a scale" when every answer has a score):

==============  =================================================================
likert5         codes "1".."5" (strongly disagree .. strongly agree): 0/25/50/75/100
rating          codes "0".."10": score = 10 × the number
yes_no          "yes" = 100, "no" = 0
irm_completion  not_started 0, limited 33.3, substantial 66.7, complete 100
irm_open_gov    worsened 0, no_change 25, marginal 50, major 75, outstanding 100
single          the scores the file gives: on every option (a scale) or on none
multi, text     no score
==============  =================================================================

``irm_open_gov`` is spaced evenly: "did not change" sits low (25), above only
"worsened", so a commitment reported done that changed nothing for people
shows a wide gap against its official completion.

The standard instruments (``progress``, ``pulse``, ``closing``) ship as YAML in
``surveys/data/instruments/``; ``builtin_instruments()`` loads them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from surveys._checks import (
    Expect,
    Problem,
    duplicates,
    merged_error,
    one_of,
    raw_ids,
    rule_error,
)
from surveys.errors import UnknownInstrument, UnknownQuestion
from surveys.locale import LocalizedText
from surveys.yamldoc import parse_document

ValueT = TypeVar("ValueT")

#: Telegram text messages hold at most 4096 characters; leave room for the prompt.
MAX_TEXT_LENGTH = 4000
DEFAULT_TEXT_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Answer:
    """A validated answer: option codes or a text, with the 0–100 score if the question is a scale.

    A skipped optional question is an answer too (``skipped=True``, nothing
    else), so the survey moves past it.
    """

    question_id: str
    codes: tuple[str, ...] = ()
    text: str | None = None
    score: float | None = None
    skipped: bool = False

    def __post_init__(self) -> None:
        if self.skipped and (self.codes or self.text is not None or self.score is not None):
            raise ValueError("a skipped answer carries no codes, text or score")
        if self.codes and self.text is not None:
            raise ValueError("an answer is either option codes or a text")

    @classmethod
    def skip(cls, question_id: str) -> Answer:
        """The answer of a person who skipped an optional question."""
        return cls(question_id=question_id, skipped=True)

    @property
    def code(self) -> str | None:
        """The single chosen code, or None (skipped, text, or several codes)."""
        return self.codes[0] if len(self.codes) == 1 else None


class Role(StrEnum):
    """Who a participant is for a commitment; decides which questions they see."""

    BENEFICIARY = "beneficiary"
    IMPLEMENTER = "implementer"


class QuestionType(StrEnum):
    """How a question is answered; the scale types bring their own options."""

    LIKERT5 = "likert5"
    RATING = "rating"
    SINGLE = "single"
    MULTI = "multi"
    YES_NO = "yes_no"
    TEXT = "text"
    IRM_COMPLETION = "irm_completion"
    IRM_OPEN_GOV = "irm_open_gov"


class Measure(StrEnum):
    """What an answer is evidence of, for aggregation across questions and instruments."""

    PERCEIVED_PROGRESS = "perceived_progress"
    OUTCOME = "outcome"
    CO_CREATION = "co_creation"
    RESPONSIVENESS = "responsiveness"
    TRUST = "trust"
    SATISFACTION = "satisfaction"
    SENTIMENT_TEXT = "sentiment_text"
    QUOTE_CONSENT = "quote_consent"

    @property
    def is_numeric(self) -> bool:
        """Averaged from 0–100 option scores (as opposed to texts or consent)."""
        return self not in (Measure.SENTIMENT_TEXT, Measure.QUOTE_CONSENT)


def _text(es: str, en: str) -> LocalizedText:
    return LocalizedText(es=es, en=en)


ROLE_LABELS: Mapping[Role, LocalizedText] = {
    Role.BENEFICIARY: _text("Persona beneficiaria", "Beneficiary"),
    Role.IMPLEMENTER: _text("Persona implementadora", "Implementer"),
}

MEASURE_LABELS: Mapping[Measure, LocalizedText] = {
    Measure.PERCEIVED_PROGRESS: _text("Avance percibido", "Perceived progress"),
    Measure.OUTCOME: _text("Cambio para las personas", "Change for people"),
    Measure.CO_CREATION: _text("Participación en decisiones", "Say in decisions"),
    Measure.RESPONSIVENESS: _text("Respuesta del gobierno", "Government responsiveness"),
    Measure.TRUST: _text("Confianza", "Trust"),
    Measure.SATISFACTION: _text("Satisfacción", "Satisfaction"),
    Measure.SENTIMENT_TEXT: _text("Opiniones en texto", "Comments"),
    Measure.QUOTE_CONSENT: _text("Permiso para citar", "Consent to quote"),
}

QuestionId = Annotated[
    str,
    Field(pattern=r"^[a-z0-9_]{1,16}$"),
    Expect("a question id: 1 to 16 lowercase letters, digits or _"),
]
OptionCode = Annotated[
    str,
    Field(pattern=r"^[a-z0-9_]{1,12}$"),
    Expect("an option code: 1 to 12 lowercase letters, digits or _ (it travels in buttons)"),
]
InstrumentId = Annotated[
    str,
    Field(pattern=r"^[a-z0-9_]{1,16}$"),
    Expect("an instrument id: 1 to 16 lowercase letters, digits or _"),
]


def _roles_input(value: object) -> object:
    # Files may say `roles: both` or `roles: implementer`; stored JSON is a list.
    if value == "both":
        return list(Role)
    if isinstance(value, str):
        return [value]
    return value


def _sorted_values(values: frozenset[StrEnum]) -> list[str]:
    # Sets serialize in hash order, which changes between processes; sorting
    # keeps stored JSON and fingerprints stable.
    return sorted(str(value) for value in values)


Roles = Annotated[
    frozenset[Role],
    BeforeValidator(_roles_input),
    PlainSerializer(_sorted_values, return_type=list[str], when_used="json"),
    Field(min_length=1),
    Expect("beneficiary, implementer, both, or a list of roles"),
]


class Option(BaseModel):
    """One answer a button offers: a short code, its label, and its 0–100 score if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "an option: a mapping with code, label and optionally score"

    code: OptionCode
    label: LocalizedText
    score: Annotated[
        float | None, Field(ge=0, le=100), Expect("a score from 0 to 100, or none")
    ] = None


def _scale(*options: tuple[str, str, str, float]) -> tuple[Option, ...]:
    return tuple(
        Option(code=code, label=_text(es, en), score=score) for code, es, en, score in options
    )


LIKERT5_OPTIONS = _scale(
    ("1", "Totalmente en desacuerdo", "Strongly disagree", 0),
    ("2", "En desacuerdo", "Disagree", 25),
    ("3", "Ni de acuerdo ni en desacuerdo", "Neither agree nor disagree", 50),
    ("4", "De acuerdo", "Agree", 75),
    ("5", "Totalmente de acuerdo", "Strongly agree", 100),
)
RATING_OPTIONS = _scale(*((str(n), str(n), str(n), n * 10.0) for n in range(11)))
YES_NO_OPTIONS = _scale(("yes", "Sí", "Yes", 100), ("no", "No", "No", 0))
# The OGP Independent Reporting Mechanism's own labels, word for word.
IRM_COMPLETION_OPTIONS = _scale(
    ("not_started", "No iniciado", "Not started", 0),
    ("limited", "Limitado", "Limited", 100 / 3),
    ("substantial", "Sustancial", "Substantial", 200 / 3),
    ("complete", "Completo", "Complete", 100),
)
IRM_OPEN_GOV_OPTIONS = _scale(
    ("worsened", "Empeoró", "Worsened", 0),
    ("no_change", "No cambió", "Did not change", 25),
    ("marginal", "Marginal", "Marginal", 50),
    ("major", "Mayor", "Major", 75),
    ("outstanding", "Sobresaliente", "Outstanding", 100),
)

#: The options of the types that bring their own; single and multi list theirs.
BUILTIN_OPTIONS: Mapping[QuestionType, tuple[Option, ...]] = {
    QuestionType.LIKERT5: LIKERT5_OPTIONS,
    QuestionType.RATING: RATING_OPTIONS,
    QuestionType.YES_NO: YES_NO_OPTIONS,
    QuestionType.IRM_COMPLETION: IRM_COMPLETION_OPTIONS,
    QuestionType.IRM_OPEN_GOV: IRM_OPEN_GOV_OPTIONS,
}
CHOICE_TYPES = frozenset({QuestionType.SINGLE, QuestionType.MULTI})


def _codes_input(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Condition(BaseModel):
    """Ask a question only if an earlier question's answer is one of some option codes."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "a condition: a mapping with question and any_of"

    question: QuestionId
    any_of: Annotated[
        tuple[OptionCode, ...],
        BeforeValidator(_codes_input),
        Field(min_length=1),
        Expect("a list of option codes of that question"),
    ]

    def holds(self, answer: Answer | None) -> bool:
        """Whether ``answer`` (to ``question``) lets the dependent question be asked."""
        if answer is None or answer.skipped:
            return False
        return any(code in self.any_of for code in answer.codes)


class Question(BaseModel):
    """One question of an instrument; see the module docstring for types and scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "a question: a mapping with id, type, text and more"

    id: QuestionId
    type: QuestionType
    text: LocalizedText
    roles: Roles = frozenset(Role)
    required: Annotated[bool, Expect("true or false")] = True
    condition: Condition | None = None
    measure: Measure | None = None
    options: Annotated[
        tuple[Option, ...], Expect("a list of options (single and multi questions only)")
    ] = ()
    max_choices: Annotated[
        int | None, Field(ge=1), Expect("how many options may be chosen (multi only)")
    ] = None
    max_length: Annotated[
        int | None,
        Field(ge=1, le=MAX_TEXT_LENGTH),
        Expect(f"a number of characters from 1 to {MAX_TEXT_LENGTH} (text only)"),
    ] = None

    @property
    def choices(self) -> tuple[Option, ...]:
        """Every option in order, the built-in scale labels included; empty for text."""
        return BUILTIN_OPTIONS.get(self.type, self.options)

    @property
    def is_scale(self) -> bool:
        """Every answer has a 0–100 score, so numeric measures can use it."""
        if self.type in BUILTIN_OPTIONS:
            return True
        return (
            self.type is QuestionType.SINGLE
            and bool(self.options)
            and all(option.score is not None for option in self.options)
        )

    def option(self, code: str) -> Option | None:
        """The option with ``code``, or None."""
        return next((option for option in self.choices if option.code == code), None)

    @model_validator(mode="before")
    @classmethod
    def _fill_limits(cls, data: Any) -> Any:
        # Defaults that depend on the type are written into the data, so the
        # stored JSON says the limit that applied.
        if not isinstance(data, Mapping):
            return data
        kind = data.get("type")
        if kind == QuestionType.TEXT and data.get("max_length") is None:
            return {**data, "max_length": DEFAULT_TEXT_LENGTH}
        options = data.get("options")
        if (
            kind == QuestionType.MULTI
            and data.get("max_choices") is None
            and isinstance(options, Sequence)
        ):
            return {**data, "max_choices": max(len(options), 1)}
        return data

    @model_validator(mode="after")
    def _check_type_rules(self) -> Self:
        problems = _type_problems(self)
        if problems:
            raise rule_error(problems, title=type(self).__name__, value=self.id)
        return self


def measure_fits(measure: Measure, question: Question) -> bool:
    """Whether ``question``'s answers can feed ``measure``."""
    if measure is Measure.SENTIMENT_TEXT:
        return question.type is QuestionType.TEXT
    if measure is Measure.QUOTE_CONSENT:
        return question.type is QuestionType.YES_NO
    return question.is_scale


def _type_problems(question: Question) -> list[Problem]:
    """The rules that tie a question's fields to its type."""
    return [
        *_option_problems(question),
        *_limit_problems(question),
        *_measure_problems(question),
    ]


def _option_problems(question: Question) -> list[Problem]:
    kind = question.type
    if kind not in CHOICE_TYPES:
        if not question.options:
            return []
        has = "has no options" if kind is QuestionType.TEXT else "brings its own options"
        expected = "no options (only single and multi list them)"
        return [Problem(("options",), f"a {kind} question {has}", expected)]
    problems: list[Problem] = []
    if len(question.options) < 2:
        problems.append(
            Problem(
                ("options",), f"a {kind} question needs at least 2 options", "a list of options"
            )
        )
    codes = [option.code for option in question.options]
    problems += duplicates(codes, field="options", what="option", key="code")
    scored = [option.score is not None for option in question.options]
    if kind is QuestionType.SINGLE and any(scored) and not all(scored):
        # Half-scored options would make the question a scale for some answers only.
        problems += [
            Problem(
                ("options", index, "score"),
                "missing while other options have a score",
                "a score from 0 to 100 on every option, or on none",
            )
            for index, has_score in enumerate(scored)
            if not has_score
        ]
    if kind is QuestionType.MULTI:
        problems += [
            Problem(
                ("options", index, "score"),
                "a multi option has no score",
                "no score (a multiple-choice answer has no single value)",
            )
            for index, has_score in enumerate(scored)
            if has_score
        ]
    return problems


def _limit_problems(question: Question) -> list[Problem]:
    kind = question.type
    problems: list[Problem] = []
    count = len(question.options)
    if kind is not QuestionType.MULTI and question.max_choices is not None:
        problems.append(
            Problem(
                ("max_choices",),
                f"a {kind} question has no max_choices",
                "no max_choices (multi only)",
            )
        )
    elif question.max_choices is not None and question.max_choices > count >= 2:
        problems.append(
            Problem(
                ("max_choices",),
                f"{question.max_choices} is more than the options",
                f"a number from 1 to {count}",
            )
        )
    if kind is not QuestionType.TEXT and question.max_length is not None:
        problems.append(
            Problem(
                ("max_length",),
                f"a {kind} question has no max_length",
                "no max_length (text only)",
            )
        )
    return problems


def _measure_problems(question: Question) -> list[Problem]:
    measure, kind = question.measure, question.type
    if measure is None or measure_fits(measure, question):
        return []
    if kind is QuestionType.SINGLE and measure.is_numeric:
        return [
            Problem(
                ("measure",),
                f"{measure} needs a score on every option",
                "scores or no measure",
            )
        ]
    fitting = [m for m in Measure if measure_fits(m, question)]
    return [
        Problem(
            ("measure",),
            f"{measure} does not fit a {kind} question",
            one_of(fitting) if fitting else f"no measure (a {kind} question feeds none)",
        )
    ]


class Instrument(BaseModel):
    """A survey: its texts and its questions in the order they are asked."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    expectation: ClassVar[str] = "an instrument: a mapping with id, version, texts and questions"

    id: InstrumentId
    version: Annotated[int, Field(ge=1), Expect("a version number from 1 up")]
    title: LocalizedText
    intro: LocalizedText
    outro: LocalizedText
    questions: Annotated[tuple[Question, ...], Field(min_length=1), Expect("a list of questions")]

    @model_validator(mode="wrap")
    @classmethod
    def _check_across_questions(
        cls, data: Any, handler: ModelWrapValidatorHandler[Instrument]
    ) -> Instrument:
        # Wrapping lets the rules between questions run even when some question
        # is broken, so one pass over a file reports everything.
        try:
            instrument = handler(data)
        except ValidationError as error:
            raw = data.get("questions") if isinstance(data, Mapping) else None
            if not isinstance(raw, Sequence) or isinstance(raw, str):
                raise
            problems = _across_questions(_Readable.salvage(raw))
            raise merged_error(error, problems, value=data) from None
        problems = _across_questions(_Readable.of(instrument.questions))
        if problems:
            raise rule_error(problems, title=cls.__name__, value=data)
        return instrument

    def for_role(self, role: Role) -> tuple[Question, ...]:
        """The questions ``role`` may see, in order, before conditions."""
        return tuple(q for q in self.questions if role in q.roles)

    def question(self, question_id: str) -> Question:
        """The question with that id; raises UnknownQuestion."""
        for question in self.questions:
            if question.id == question_id:
                return question
        raise UnknownQuestion(question_id)

    def applicable(self, role: Role, answers: Mapping[str, Answer]) -> tuple[Question, ...]:
        """The questions ``role`` is asked given ``answers``, in order.

        A condition holds only if the question it depends on is itself asked;
        an answer left over from a path the person has since changed is ignored.
        """
        asked: list[Question] = []
        asked_ids: set[str] = set()
        for question in self.for_role(role):
            condition = question.condition
            if condition is None or (
                condition.question in asked_ids
                and condition.holds(answers.get(condition.question))
            ):
                asked.append(question)
                asked_ids.add(question.id)
        return tuple(asked)

    def next_question(self, role: Role, answers: Mapping[str, Answer]) -> Question | None:
        """The first question still to answer (a skip counts as an answer), or None when done."""
        return next((q for q in self.applicable(role, answers) if q.id not in answers), None)

    def is_complete(self, role: Role, answers: Mapping[str, Answer]) -> bool:
        """Whether every question ``role`` is asked has an answer or a skip."""
        return self.next_question(role, answers) is None

    def previous_question(
        self, role: Role, answers: Mapping[str, Answer], current_id: str | None
    ) -> Question | None:
        """The asked question before ``current_id`` (None: before the end), or None at the start.

        Raises UnknownQuestion if ``role`` never sees ``current_id``.
        """
        asked = self.applicable(role, answers)
        if current_id is None:
            return asked[-1] if asked else None
        order = self._order(role)
        current = _index_of(order, current_id)
        earlier = [q for q in asked if order[q.id] < current]
        return earlier[-1] if earlier else None

    def position(
        self, role: Role, answers: Mapping[str, Answer], question_id: str
    ) -> tuple[int, int]:
        """``(n, of)`` for "Pregunta n de of", counting only the questions asked.

        The total can change as answers open or close conditional questions. A
        question not currently asked is counted as if it were, so the numbers
        stay sensible while a person revisits an answer. Raises UnknownQuestion
        if ``role`` never sees ``question_id``.
        """
        order = self._order(role)
        current = _index_of(order, question_id)
        asked = self.applicable(role, answers)
        before = sum(1 for q in asked if order[q.id] < current)
        counted = any(q.id == question_id for q in asked)
        return before + 1, len(asked) + (0 if counted else 1)

    @property
    def fingerprint(self) -> str:
        """A SHA-256 of the whole content: equal instruments, equal fingerprints."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _order(self, role: Role) -> dict[str, int]:
        return {question.id: index for index, question in enumerate(self.for_role(role))}


def _index_of(order: Mapping[str, int], question_id: str) -> int:
    try:
        return order[question_id]
    except KeyError:
        raise UnknownQuestion(question_id) from None


_ROLES = TypeAdapter(Roles)


@dataclass(frozen=True, slots=True)
class _Readable:
    """What the rules between questions can read, even from questions that failed."""

    ids: list[object]  # every question's id as written, None where unreadable
    questions: dict[int, Question]  # the questions that validated, by index
    dependents: dict[int, tuple[Condition, frozenset[Role] | None]]  # readable conditions

    @classmethod
    def of(cls, questions: Sequence[Question]) -> _Readable:
        return cls(
            ids=[q.id for q in questions],
            questions=dict(enumerate(questions)),
            dependents={i: (q.condition, q.roles) for i, q in enumerate(questions) if q.condition},
        )

    @classmethod
    def salvage(cls, raw: Sequence[object]) -> _Readable:
        # A question that fails for its own reasons may still have a readable
        # condition; checking it now saves the author another round trip.
        questions: dict[int, Question] = {}
        dependents: dict[int, tuple[Condition, frozenset[Role] | None]] = {}
        for index, item in enumerate(raw):
            try:
                questions[index] = question = Question.model_validate(item)
            except ValidationError:
                if isinstance(item, Mapping) and item.get("condition") is not None:
                    condition = _try(Condition.model_validate, item["condition"])
                    roles = _try(_ROLES.validate_python, item.get("roles", "both"))
                    if condition is not None:
                        dependents[index] = (condition, roles)
                continue
            if question.condition is not None:
                dependents[index] = (question.condition, question.roles)
        return cls(raw_ids(raw), questions, dependents)


def _try(validate: Callable[[object], ValueT], value: object) -> ValueT | None:
    try:
        return validate(value)
    except ValidationError:
        return None


def _across_questions(readable: _Readable) -> list[Problem]:
    """The rules between questions: unique ids, one quote consent, sound conditions."""
    problems = duplicates(readable.ids, field="questions", what="question")
    consent = [i for i, q in readable.questions.items() if q.measure is Measure.QUOTE_CONSENT]
    problems += [
        Problem(
            ("questions", index, "measure"),
            f"a second quote_consent question (also questions[{consent[0]}])",
            "at most one quote_consent question",
        )
        for index in consent[1:]
    ]
    for index, (condition, roles) in sorted(readable.dependents.items()):
        problems += _condition_problems(readable, index, condition, roles)
    return problems


def _condition_problems(
    readable: _Readable, index: int, condition: Condition, roles: frozenset[Role] | None
) -> list[Problem]:
    at = ("questions", index, "condition", "question")
    earlier = [str(i) for i in readable.ids[:index] if isinstance(i, str)]
    expected = (
        "the id of an earlier question: " + ", ".join(earlier)
        if earlier
        else "no condition on the first question"
    )
    if condition.question not in readable.ids:
        return [Problem(at, f"unknown question '{condition.question}'", expected)]
    target_index = readable.ids.index(condition.question)
    if target_index == index:
        return [Problem(at, "a question cannot depend on itself", expected)]
    if target_index > index:
        return [Problem(at, f"'{condition.question}' comes later", expected)]
    target = readable.questions.get(target_index)
    if target is None:
        return []  # the target is broken, and reported where it is
    if target.type is QuestionType.TEXT:
        return [Problem(at, f"'{target.id}' is a text question", "a question with options")]
    problems: list[Problem] = []
    unseen = sorted(roles - target.roles) if roles is not None else []
    if unseen:
        problems.append(
            Problem(
                at,
                f"'{target.id}' is not asked to {', '.join(unseen)}",
                "a question asked to every role that sees this one",
            )
        )
    codes = [option.code for option in target.choices]
    problems += [
        Problem(
            ("questions", index, "condition", "any_of", position),
            f"'{code}' is not an option of '{target.id}'",
            one_of(codes),
        )
        for position, code in enumerate(condition.any_of)
        if code not in codes
    ]
    return problems


_BUILTIN_FOLDER = ("data", "instruments")


@functools.cache
def _builtin() -> tuple[Instrument, ...]:
    folder = resources.files("surveys").joinpath(*_BUILTIN_FOLDER)
    found: list[Instrument] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            source = "/".join(("surveys", *_BUILTIN_FOLDER, entry.name))
            found.append(parse_document(entry.read_text("utf-8"), Instrument, source=source))
    return tuple(found)


def builtin_instruments() -> dict[str, Instrument]:
    """The standard instruments shipped with Pulso, by id: progress, pulse, closing."""
    return {instrument.id: instrument for instrument in _builtin()}


def builtin_instrument(instrument_id: str) -> Instrument:
    """One standard instrument; raises UnknownInstrument."""
    try:
        return builtin_instruments()[instrument_id]
    except KeyError:
        raise UnknownInstrument(instrument_id) from None
