"""Broken plan and instrument files: every problem reported, each on its line, in one message.

Each file under ``plan_files/`` is a small broken document; the table pins the
exact ``file:line: field: message; expected ...`` lines an admin would read.
"""

from pathlib import Path

import pytest

from surveys.errors import PlanFileError
from surveys.loader import load_instrument, load_plan, parse_plan

PLAN_FILES = Path(__file__).parent / "plan_files"

OGP = (
    "access_to_information, civic_participation, public_accountability, technology_and_innovation"
)
TYPES = "likert5, rating, single, multi, yes_no, text, irm_completion, irm_open_gov"
PLAN_KEYS = (
    "id, name, government, period, default_language, commitments, demographics, instruments"
)
COMMITMENT_KEYS = (
    "id, title, description, problem, expected_outcome, institutions, ogp_values, official, "
    "responsible"
)
BILINGUAL = "a text in both languages: a mapping with es: and en:"
NUMERIC = "perceived_progress, outcome, co_creation, responsiveness, trust, satisfaction"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "missing_translation.yaml",
            [
                "missing_translation.yaml:14: commitments[2].title.en: missing;"
                " expected a non-empty English text",
                "missing_translation.yaml:17: commitments[2].problem.en: empty;"
                " expected a non-empty English text",
            ],
            id="missing-translation",
        ),
        pytest.param(
            "unknown_keys.yaml",
            [
                "unknown_keys.yaml:1: government: missing;"
                " expected the name of the government that owns the plan",
                "unknown_keys.yaml:3: goverment: unknown key (did you mean 'government'?);"
                f" expected one of: {PLAN_KEYS}",
                f"unknown_keys.yaml:7: commitments[0].title: missing; expected {BILINGUAL}",
                "unknown_keys.yaml:8: commitments[0].titel: unknown key (did you mean 'title'?);"
                f" expected one of: {COMMITMENT_KEYS}",
                "unknown_keys.yaml:9: commitments[0].description.fr: unknown key;"
                " expected one of: es, en",
                "unknown_keys.yaml:18: commitments[0].official.verified: unknown key;"
                " expected one of: percent, source, as_of",
            ],
            id="unknown-keys-are-typos",
        ),
        pytest.param(
            "duplicate_ids.yaml",
            [
                "duplicate_ids.yaml:11: demographics[0].options[1].code:"
                " duplicate option code 'woman' (also options[0]);"
                " expected each option code once",
                "duplicate_ids.yaml:12: demographics[1].id:"
                " duplicate demographic question id 'gender' (also demographics[0]);"
                " expected each demographic question id once",
                "duplicate_ids.yaml:16: demographics[1].options[1].score:"
                " a demographic option has no score; expected no score",
                "duplicate_ids.yaml:20: commitments[1].id:"
                " duplicate commitment id 'EX0001' (also commitments[0]);"
                " expected each commitment id once",
                "duplicate_ids.yaml:22: commitments[2].id:"
                " duplicate commitment id 'EX0001' (also commitments[0]);"
                " expected each commitment id once",
                "duplicate_ids.yaml:22: commitments[2].title.en: missing;"
                " expected a non-empty English text",
            ],
            id="duplicate-ids-even-beside-other-errors",
        ),
        pytest.param(
            "wrong_values.yaml",
            [
                "wrong_values.yaml:1: id: 'Wrong Values' is not valid;"
                " expected a slug: lowercase letters and digits joined by - (like jalisco-2016)",
                "wrong_values.yaml:6: period.end: 2016-11-30 is before the start;"
                " expected a date on or after 2018-10-31",
                "wrong_values.yaml:7: default_language: 'fr' is not valid;"
                " expected one of: es, en",
                "wrong_values.yaml:9: commitments[0].id: 'ex0001' is not valid;"
                " expected a commitment id: up to 16 capital letters, digits, - or _"
                " (like JAL0004)",
                "wrong_values.yaml:14: commitments[0].institutions: empty;"
                " expected a list of the responsible institutions' names",
                "wrong_values.yaml:15: commitments[0].ogp_values[1]: 'transparency' is not valid;"
                f" expected one of: {OGP}",
                "wrong_values.yaml:17: commitments[0].official.percent: 120 is out of range;"
                " expected a percentage from 0 to 100",
                "wrong_values.yaml:19: commitments[0].official.as_of: '2018-02-30' is not valid;"
                " expected the date of the figure, written YYYY-MM-DD",
                "wrong_values.yaml:21: commitments[1].title: got the text 'Dos';"
                f" expected {BILINGUAL}",
                "wrong_values.yaml:25: commitments[1].institutions: got the text 'Secretaría';"
                " expected a list of the responsible institutions' names",
                "wrong_values.yaml:26: commitments[1].ogp_values: empty;"
                f" expected a list of OGP values: {OGP}",
                "wrong_values.yaml:27: instruments[0]: '../elsewhere.yaml' is not valid;"
                " expected a file name next to the plan, ending in .yaml",
            ],
            id="wrong-values",
        ),
        pytest.param(
            "repeated_key.yaml",
            [
                "repeated_key.yaml:6: default_language: key repeated (first on line 5);"
                " expected each key once",
            ],
            id="repeated-key-yaml-would-hide",
        ),
        pytest.param(
            "syntax_error.yaml",
            [
                "syntax_error.yaml:3: (syntax): while parsing a flow mapping"
                " expected ',' or '}', but got ':'; expected valid YAML",
            ],
            id="yaml-syntax",
        ),
        pytest.param(
            "empty.yaml",
            ["empty.yaml:1: (document): the file is empty; expected a YAML mapping"],
            id="empty",
        ),
        pytest.param(
            "not_a_mapping.yaml",
            [
                "not_a_mapping.yaml:1: (document): got a list;"
                " expected an action plan: a mapping with id, name, commitments and more",
            ],
            id="not-a-mapping",
        ),
        pytest.param(
            "with_instruments/plan.yaml",
            [
                "with_instruments/broken.yaml:4: intro.en: missing;"
                " expected a non-empty English text",
                "with_instruments/broken.yaml:8: questions[0].type: 'likert6' is not valid;"
                f" expected one of: {TYPES}",
                "with_instruments/plan.yaml:9: instruments[2]:"
                " no file missing.yaml next to the plan; expected an instrument YAML file there",
                "with_instruments/plan.yaml:10: instruments[3]:"
                " instrument 'pulse' is also defined in local.yaml;"
                " expected one file per instrument id",
            ],
            id="plan-folder-instruments-checked-too",
        ),
    ],
)
def test_broken_plan_reports_every_problem_on_its_line(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PLAN_FILES)
    with pytest.raises(PlanFileError) as caught:
        load_plan(Path(name))
    assert str(caught.value).splitlines() == expected
    assert caught.value.params["count"] == len(expected)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "instrument_conditions.yaml",
            [
                "instrument_conditions.yaml:11: questions[0].condition.question:"
                " a question cannot depend on itself; expected no condition on the first question",
                "instrument_conditions.yaml:19: questions[2].condition.question:"
                " unknown question 'nowhere';"
                " expected the id of an earlier question: first, opinion",
                "instrument_conditions.yaml:23: questions[3].condition.question:"
                " 'last' comes later;"
                " expected the id of an earlier question: first, opinion, unknown",
                "instrument_conditions.yaml:27: questions[4].condition.question:"
                " 'opinion' is a text question; expected a question with options",
                "instrument_conditions.yaml:33: questions[5].condition.question:"
                " 'first' is not asked to beneficiary;"
                " expected a question asked to every role that sees this one",
                "instrument_conditions.yaml:34: questions[5].condition.any_of[1]:"
                " 'maybe' is not an option of 'first'; expected one of: yes, no",
            ],
            id="conditions",
        ),
        pytest.param(
            "instrument_measures.yaml",
            [
                "instrument_measures.yaml:9: questions[0].measure:"
                f" sentiment_text does not fit a likert5 question; expected one of: {NUMERIC}",
                "instrument_measures.yaml:13: questions[1].measure:"
                " quote_consent does not fit a text question; expected one of: sentiment_text",
                "instrument_measures.yaml:17: questions[2].measure:"
                " trust does not fit a multi question; expected no measure"
                " (a multi question feeds none)",
                "instrument_measures.yaml:24: questions[3].measure:"
                " outcome needs a score on every option; expected scores or no measure",
                "instrument_measures.yaml:37: questions[5].measure:"
                " a second quote_consent question (also questions[4]);"
                " expected at most one quote_consent question",
            ],
            id="measures-fit-types",
        ),
        pytest.param(
            "instrument_types.yaml",
            [
                "instrument_types.yaml:1: id: 'Types' is not valid;"
                " expected an instrument id: 1 to 16 lowercase letters, digits or _",
                "instrument_types.yaml:2: version: 'one' is not valid;"
                " expected a version number from 1 up",
                "instrument_types.yaml:6: extra: unknown key;"
                " expected one of: id, version, title, intro, outro, questions",
                "instrument_types.yaml:9: questions[0].type: 'likert6' is not valid;"
                f" expected one of: {TYPES}",
                "instrument_types.yaml:14: questions[1].options:"
                " a likert5 question brings its own options;"
                " expected no options (only single and multi list them)",
                "instrument_types.yaml:19: questions[2].max_choices:"
                " a single question has no max_choices; expected no max_choices (multi only)",
                "instrument_types.yaml:20: questions[2].options:"
                " a single question needs at least 2 options; expected a list of options",
                "instrument_types.yaml:25: questions[3].text.en: missing;"
                " expected a non-empty English text",
                "instrument_types.yaml:32: questions[4].options[1].code: 'B!' is not valid;"
                " expected an option code: 1 to 12 lowercase letters, digits or _"
                " (it travels in buttons)",
                "instrument_types.yaml:33: questions[5].id: 'Bad-Id' is not valid;"
                " expected a question id: 1 to 16 lowercase letters, digits or _",
                "instrument_types.yaml:35: questions[5].max_length: 9000 is out of range;"
                " expected a number of characters from 1 to 4000 (text only)",
                "instrument_types.yaml:36: questions[5].roles[1]: 'secretariat' is not valid;"
                " expected one of: beneficiary, implementer",
            ],
            id="types-options-limits",
        ),
    ],
)
def test_broken_instrument_reports_every_problem_on_its_line(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PLAN_FILES)
    with pytest.raises(PlanFileError) as caught:
        load_instrument(Path(name))
    assert str(caught.value).splitlines() == expected


def test_problems_carry_file_line_field_and_expectation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PLAN_FILES)
    with pytest.raises(PlanFileError) as caught:
        load_plan(Path("missing_translation.yaml"))
    first = caught.value.problems[0]
    assert (first.file, first.line, first.field) == (
        "missing_translation.yaml",
        14,
        "commitments[2].title.en",
    )
    assert (first.message, first.expected) == ("missing", "a non-empty English text")


def test_a_missing_plan_file_is_a_plan_file_error(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError) as caught:
        load_plan(tmp_path / "nowhere.yaml")
    assert str(caught.value) == f"{tmp_path / 'nowhere.yaml'}: (file): not found;" + (
        " expected an existing YAML file"
    )


def test_a_plan_file_that_is_not_utf8_is_a_plan_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: año\n".encode("latin-1"))
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    assert caught.value.problems[0].field == "(file)"
    assert caught.value.problems[0].message.startswith("not UTF-8 text")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "a: &x [*x]\n",
            "t.yaml:1: a[0]: alias (*) of an anchored (&) part; expected each part written out",
            id="alias",
        ),
        pytest.param(
            "!!int abc\n",
            "t.yaml: (syntax): a value cannot be read (ValueError: invalid literal for int() with"
            " base 10:…); expected plain YAML values",
            id="explicit-tag-that-cannot-construct",
        ),
        pytest.param(
            "id: !!timestamp [1]\n",
            "t.yaml:1: (syntax): a date must be a plain value; expected valid YAML",
            id="explicit-timestamp-on-a-list",
        ),
        pytest.param(
            "- 1\n- 2\n",
            "t.yaml:1: (document): got a list;"
            " expected an action plan: a mapping with id, name, commitments and more",
            id="list-document",
        ),
        pytest.param(
            "a: 1\n---\nb: 2\n",
            "t.yaml:2: (syntax): expected a single document in the stream but found another"
            " document; expected valid YAML",
            id="two-documents",
        ),
    ],
)
def test_odd_yaml_becomes_a_located_problem(text: str, expected: str) -> None:
    with pytest.raises(PlanFileError) as caught:
        parse_plan(text, source="t.yaml")
    assert str(caught.value).splitlines()[0] == expected
