"""The instrument model, the standard instruments, and the order questions are asked in."""

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from surveys.answers import Answer, validate_answer
from surveys.errors import UnknownInstrument, UnknownQuestion
from surveys.instruments import (
    BUILTIN_OPTIONS,
    MEASURE_LABELS,
    ROLE_LABELS,
    Instrument,
    Measure,
    Question,
    QuestionType,
    Role,
    builtin_instrument,
    builtin_instruments,
    measure_fits,
)
from surveys.loader import parse_instrument

BENEFICIARY, IMPLEMENTER = Role.BENEFICIARY, Role.IMPLEMENTER
BOTH = frozenset(Role)


@pytest.fixture(scope="module")
def progress() -> Instrument:
    return builtin_instrument("progress")


def test_the_standard_instruments_are_progress_pulse_and_closing() -> None:
    assert set(builtin_instruments()) == {"progress", "pulse", "closing"}
    with pytest.raises(UnknownInstrument):
        builtin_instrument("census")


@pytest.mark.parametrize(
    ("instrument_id", "most"),
    [
        pytest.param("progress", 9, id="progress"),
        pytest.param("pulse", 2, id="pulse"),
        pytest.param("closing", 9, id="closing"),
    ],
)
def test_standard_instruments_stay_short(instrument_id: str, most: int) -> None:
    instrument = builtin_instrument(instrument_id)
    assert len(instrument.questions) <= most
    for role in Role:
        assert 1 <= len(instrument.for_role(role)) <= 8


def localized_texts(data: Any, path: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    if isinstance(data, dict):
        if set(data) == {"es", "en"}:
            yield path, data
            return
        for key, value in data.items():
            yield from localized_texts(value, f"{path}.{key}")
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            yield from localized_texts(item, f"{path}[{index}]")


@pytest.mark.parametrize("instrument_id", ["progress", "pulse", "closing"])
def test_every_text_a_person_sees_exists_in_spanish_and_english(instrument_id: str) -> None:
    instrument = builtin_instrument(instrument_id)
    shown = instrument.model_dump()
    shown["choices"] = [[o.model_dump() for o in q.choices] for q in instrument.questions]
    texts = list(localized_texts(shown))
    assert len(texts) > 3 * len(instrument.questions)
    for path, text in texts:
        assert text["es"].strip(), path
        assert text["en"].strip(), path
    for question in instrument.questions:
        assert question.text.es != question.text.en, question.id


@pytest.mark.parametrize(
    ("kind", "labels"),
    [
        pytest.param(
            QuestionType.IRM_COMPLETION,
            [
                ("not_started", "No iniciado", "Not started"),
                ("limited", "Limitado", "Limited"),
                ("substantial", "Sustancial", "Substantial"),
                ("complete", "Completo", "Complete"),
            ],
            id="irm-completion",
        ),
        pytest.param(
            QuestionType.IRM_OPEN_GOV,
            [
                ("worsened", "Empeoró", "Worsened"),
                ("no_change", "No cambió", "Did not change"),
                ("marginal", "Marginal", "Marginal"),
                ("major", "Mayor", "Major"),
                ("outstanding", "Sobresaliente", "Outstanding"),
            ],
            id="irm-did-it-open-government",
        ),
        pytest.param(
            QuestionType.LIKERT5,
            [
                ("1", "Totalmente en desacuerdo", "Strongly disagree"),
                ("2", "En desacuerdo", "Disagree"),
                ("3", "Ni de acuerdo ni en desacuerdo", "Neither agree nor disagree"),
                ("4", "De acuerdo", "Agree"),
                ("5", "Totalmente de acuerdo", "Strongly agree"),
            ],
            id="likert5",
        ),
        pytest.param(QuestionType.YES_NO, [("yes", "Sí", "Yes"), ("no", "No", "No")], id="yes-no"),
    ],
)
def test_scale_labels_are_exact(kind: QuestionType, labels: list[tuple[str, str, str]]) -> None:
    assert [(o.code, o.label.es, o.label.en) for o in BUILTIN_OPTIONS[kind]] == labels


@pytest.mark.parametrize(
    ("kind", "scores"),
    [
        pytest.param(QuestionType.IRM_COMPLETION, [0, 100 / 3, 200 / 3, 100], id="irm-completion"),
        pytest.param(QuestionType.IRM_OPEN_GOV, [0, 25, 50, 75, 100], id="irm-open-gov"),
        pytest.param(QuestionType.LIKERT5, [0, 25, 50, 75, 100], id="likert5"),
        pytest.param(QuestionType.RATING, [n * 10 for n in range(11)], id="rating"),
        pytest.param(QuestionType.YES_NO, [100, 0], id="yes-no"),
    ],
)
def test_scale_scores_run_from_0_to_100(kind: QuestionType, scores: list[float]) -> None:
    assert [o.score for o in BUILTIN_OPTIONS[kind]] == pytest.approx(scores)


def test_the_progress_survey_asks_what_the_issue_asks(progress: Instrument) -> None:
    shape = [
        (
            q.id,
            q.type,
            q.roles,
            q.measure,
            q.required,
            q.condition.question if q.condition else None,
        )
        for q in progress.questions
    ]
    assert shape == [
        ("completion", "irm_completion", {IMPLEMENTER}, "perceived_progress", True, None),
        ("change", "irm_open_gov", BOTH, "outcome", True, None),
        ("say", "single", BOTH, "co_creation", True, None),
        ("response", "single", {BENEFICIARY}, "responsiveness", True, "say"),
        ("trust", "single", {BENEFICIARY}, "trust", True, None),
        ("what_changed", "text", BOTH, "sentiment_text", False, None),
        ("should_change", "text", BOTH, None, False, None),
        ("may_quote", "yes_no", BOTH, "quote_consent", False, None),
    ]


def test_every_numeric_measure_of_the_standard_instruments_comes_from_a_scale() -> None:
    for instrument in builtin_instruments().values():
        for question in instrument.questions:
            if question.measure is not None:
                assert measure_fits(question.measure, question), question.id
            if question.measure is not None and question.measure.is_numeric:
                assert question.is_scale
                assert all(option.score is not None for option in question.choices)


def test_button_payloads_fit_telegram_s_64_bytes() -> None:
    # The handlers' codec is a:<round>:<question>:<option>; a 64-bit round id is 19 digits.
    for instrument in builtin_instruments().values():
        for question in instrument.questions:
            for option in question.choices:
                payload = f"a:{2**63}:{question.id}:{option.code}"
                assert len(payload.encode()) <= 64


def test_labels_exist_for_every_role_and_measure() -> None:
    assert set(ROLE_LABELS) == set(Role)
    assert set(MEASURE_LABELS) == set(Measure)


# ---- asking in order ------------------------------------------------------------


def answered(question: Question, raw: str | None) -> Answer:
    return validate_answer(question, raw)


def answers_for(instrument: Instrument, **raw: str | None) -> dict[str, Answer]:
    return {qid: answered(instrument.question(qid), value) for qid, value in raw.items()}


@pytest.mark.parametrize(
    ("role", "given", "asked"),
    [
        pytest.param(
            IMPLEMENTER,
            {},
            ["completion", "change", "say", "what_changed", "should_change", "may_quote"],
            id="implementer-sees-completion-never-trust",
        ),
        pytest.param(
            BENEFICIARY,
            {"say": "informed"},
            ["change", "say", "trust", "what_changed", "should_change", "may_quote"],
            id="informed-only-is-not-asked-about-responses",
        ),
        pytest.param(
            BENEFICIARY,
            {"say": "consulted"},
            ["change", "say", "response", "trust", "what_changed", "should_change", "may_quote"],
            id="consulted-is-asked-about-responses",
        ),
        pytest.param(
            BENEFICIARY,
            {"say": None},
            ["change", "say", "trust", "what_changed", "should_change", "may_quote"],
            id="no-answer-yet-closes-the-condition",
        ),
    ],
)
def test_applicable_questions_follow_roles_and_conditions(
    progress: Instrument, role: Role, given: dict[str, str | None], asked: list[str]
) -> None:
    answers = {
        qid: answered(progress.question(qid), raw) for qid, raw in given.items() if raw is not None
    }
    assert [q.id for q in progress.applicable(role, answers)] == asked


def test_a_survey_walks_forward_and_back(progress: Instrument) -> None:
    answers: dict[str, Answer] = {}
    seen = []
    script = {
        "change": "major",
        "say": "proposals",
        "response": "acted",
        "trust": "more",
        "what_changed": "Hay más luz en el parque",
        "should_change": None,
        "may_quote": "yes",
    }
    while (question := progress.next_question(BENEFICIARY, answers)) is not None:
        seen.append((question.id, progress.position(BENEFICIARY, answers, question.id)))
        answers[question.id] = answered(question, script[question.id])
    assert seen == [
        ("change", (1, 6)),
        ("say", (2, 6)),
        ("response", (3, 7)),  # "proposals" opened one more question
        ("trust", (4, 7)),
        ("what_changed", (5, 7)),
        ("should_change", (6, 7)),
        ("may_quote", (7, 7)),
    ]
    assert progress.is_complete(BENEFICIARY, answers)
    assert answers["should_change"].skipped
    previous = progress.previous_question(BENEFICIARY, answers, None)
    assert previous is not None
    assert previous.id == "may_quote"
    back = progress.previous_question(BENEFICIARY, answers, "trust")
    assert back is not None
    assert back.id == "response"
    assert progress.previous_question(BENEFICIARY, answers, "change") is None


def test_a_changed_answer_drops_the_question_it_had_opened(progress: Instrument) -> None:
    answers = answers_for(progress, change="major", say="decided", response="acted")
    answers["say"] = answered(progress.question("say"), "none")
    # The stale answer to "response" stays stored but is no longer asked or counted.
    assert "response" not in [q.id for q in progress.applicable(BENEFICIARY, answers)]
    next_question = progress.next_question(BENEFICIARY, answers)
    assert next_question is not None
    assert next_question.id == "trust"
    assert progress.position(BENEFICIARY, answers, "response") == (3, 7)
    back = progress.previous_question(BENEFICIARY, answers, "trust")
    assert back is not None
    assert back.id == "say"


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda i: i.question("nope"), id="question"),
        pytest.param(
            lambda i: i.position(BENEFICIARY, {}, "completion"), id="position-other-role"
        ),
        pytest.param(
            lambda i: i.previous_question(BENEFICIARY, {}, "completion"), id="previous-other-role"
        ),
    ],
)
def test_unknown_questions_are_not_found(progress: Instrument, call: Any) -> None:
    with pytest.raises(UnknownQuestion):
        call(progress)


# ---- rules on construction ---------------------------------------------------------


def bilingual(text: str) -> dict[str, str]:
    return {"es": text, "en": text}


@pytest.mark.parametrize(
    ("question", "field"),
    [
        pytest.param({"type": "text", "measure": "trust"}, "measure", id="numeric-on-text"),
        pytest.param({"type": "rating", "measure": "quote_consent"}, "measure", id="consent"),
        pytest.param({"type": "likert5", "max_choices": 2}, "max_choices", id="max-choices"),
        pytest.param({"type": "multi", "options": []}, "options", id="multi-without-options"),
        pytest.param({"type": "yes_no", "roles": []}, "roles", id="nobody-sees-it"),
        pytest.param({"type": "yes_no", "colour": "red"}, "colour", id="unknown-key"),
    ],
)
def test_questions_built_in_code_obey_the_file_rules(question: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Question.model_validate({"id": "q", "text": bilingual("¿Sí?"), **question})
    assert field in {part for error in caught.value.errors() for part in error["loc"]}


def test_text_and_multi_limits_get_written_defaults() -> None:
    text = Question.model_validate({"id": "t", "type": "text", "text": bilingual("Diga")})
    options = [{"code": c, "label": bilingual(c)} for c in ("a", "b", "c")]
    multi = Question.model_validate(
        {"id": "m", "type": "multi", "text": bilingual("Elija"), "options": options}
    )
    assert (text.max_length, text.max_choices) == (500, None)
    assert (multi.max_choices, multi.max_length) == (3, None)
    assert text.choices == ()
    assert not text.is_scale
    assert not multi.is_scale


def test_tampered_stored_json_is_refused(progress: Instrument) -> None:
    stored = progress.model_dump(mode="json")
    stored["questions"][3]["condition"]["question"] = "trust"  # a later question
    with pytest.raises(ValidationError):
        Instrument.model_validate(stored)


# ---- fingerprints and round trips ----------------------------------------------------


def test_builtin_instruments_round_trip_through_json() -> None:
    for instrument in builtin_instruments().values():
        again = Instrument.model_validate_json(instrument.model_dump_json())
        assert again == instrument
        assert again.fingerprint == instrument.fingerprint


def test_a_change_at_the_same_version_changes_the_fingerprint(progress: Instrument) -> None:
    stored = progress.model_dump(mode="json")
    stored["questions"][1]["text"]["es"] += " "  # stripped away: no change
    assert Instrument.model_validate(stored).fingerprint == progress.fingerprint
    stored["questions"][1]["text"]["es"] += "¿De verdad?"
    changed = Instrument.model_validate(stored)
    assert changed.version == progress.version
    assert changed.fingerprint != progress.fingerprint


def test_stored_json_lists_sets_in_sorted_order() -> None:
    # Sets iterate in an order that changes with the process's hash seed; the
    # stored JSON and so the fingerprint must not.
    forward = question_with_roles(["beneficiary", "implementer"])
    backward = question_with_roles(["implementer", "beneficiary"])
    assert forward.model_dump_json() == backward.model_dump_json()
    for instrument in builtin_instruments().values():
        for stored in instrument.model_dump(mode="json")["questions"]:
            assert stored["roles"] == sorted(stored["roles"])


def question_with_roles(roles: list[str]) -> Question:
    return Question.model_validate(
        {"id": "q", "type": "yes_no", "text": bilingual("¿Sí?"), "roles": roles}
    )


TYPES = list(QuestionType)
texts = (
    st.text(alphabet=st.characters(categories=("L", "N", "P")) | st.just(" "), max_size=15)
    .map(str.strip)
    .filter(bool)
)
bilinguals = st.fixed_dictionaries({"es": texts, "en": texts})


@st.composite
def instruments(draw: st.DrawFn) -> Instrument:
    ids = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    questions: list[dict[str, Any]] = []
    built: list[Question] = []
    for question_id in ids:
        kind = draw(st.sampled_from(TYPES))
        data: dict[str, Any] = {
            "id": question_id,
            "type": kind,
            "text": draw(bilinguals),
            "roles": sorted(draw(st.sets(st.sampled_from(Role), min_size=1))),
            "required": draw(st.booleans()),
        }
        if kind in (QuestionType.SINGLE, QuestionType.MULTI):
            codes = draw(
                st.lists(
                    st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True),
                    min_size=2,
                    max_size=5,
                    unique=True,
                )
            )
            scored = kind is QuestionType.SINGLE and draw(st.booleans())
            data["options"] = [
                {
                    "code": c,
                    "label": draw(bilinguals),
                    **({"score": draw(st.floats(0, 100))} if scored else {}),
                }
                for c in codes
            ]
            if kind is QuestionType.MULTI:
                data["max_choices"] = draw(st.integers(1, len(codes)))
        if kind is QuestionType.TEXT:
            data["max_length"] = draw(st.integers(1, 4000))
        targets = [
            q for q in built if q.type is not QuestionType.TEXT and set(data["roles"]) <= q.roles
        ]
        conditional: bool = draw(st.booleans())
        if targets and conditional:
            target = draw(st.sampled_from(targets))
            codes = [o.code for o in target.choices]
            data["condition"] = {
                "question": target.id,
                "any_of": draw(st.lists(st.sampled_from(codes), min_size=1, unique=True)),
            }
        candidate = Question.model_validate(data)
        fitting = [
            m for m in Measure if measure_fits(m, candidate) and m is not Measure.QUOTE_CONSENT
        ]
        measure = draw(st.none() | st.sampled_from(fitting)) if fitting else None
        if measure is not None:
            data["measure"] = measure
        questions.append(data)
        built.append(Question.model_validate(data))
    return Instrument.model_validate(
        {
            "id": draw(st.from_regex(r"[a-z0-9_]{1,16}", fullmatch=True)),
            "version": draw(st.integers(1, 1000)),
            "title": draw(bilinguals),
            "intro": draw(bilinguals),
            "outro": draw(bilinguals),
            "questions": questions,
        }
    )


FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(instruments())
def test_any_instrument_round_trips_through_json_and_yaml(instrument: Instrument) -> None:
    stored = instrument.model_dump(mode="json")
    assert Instrument.model_validate(stored) == instrument
    text = yaml.safe_dump(stored, allow_unicode=True, sort_keys=False)
    again = parse_instrument(text, source="generated.yaml")
    assert again == instrument
    assert again.fingerprint == instrument.fingerprint


@FEW
@given(instruments(), st.data())
def test_walking_any_instrument_visits_each_asked_question_once(
    instrument: Instrument, data: st.DataObject
) -> None:
    role = data.draw(st.sampled_from(Role))
    answers: dict[str, Answer] = {}
    visited: list[str] = []
    while (question := instrument.next_question(role, answers)) is not None:
        assert question.id not in visited
        visited.append(question.id)
        n, of = instrument.position(role, answers, question.id)
        assert 1 <= n <= of <= len(instrument.for_role(role))
        choices = [o.code for o in question.choices]
        raw = data.draw(st.sampled_from(choices)) if choices else "x"
        answers[question.id] = validate_answer(question, raw)
    assert [q.id for q in instrument.applicable(role, answers)] == visited
