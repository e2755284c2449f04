"""Loading action plans: the Jalisco example, plan folders, and properties of the loader."""

import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.errors import NotFound, PlanFileError, UnknownCommitment, UnknownInstrument
from surveys.instruments import builtin_instruments
from surveys.loader import LoadedPlan, load_example_plan, load_plan, parse_plan
from surveys.locale import LOCALES
from surveys.plan import ActionPlan, OgpValue

EXAMPLES = Path(__file__).parents[2] / "surveys/data/plans"
PLAN_FILES = Path(__file__).parent / "plan_files"


@pytest.fixture(scope="module")
def jalisco() -> LoadedPlan:
    return load_plan(EXAMPLES / "jalisco-2016.yaml")


def test_the_example_is_read_from_the_installed_package(jalisco: LoadedPlan) -> None:
    assert load_example_plan() == jalisco


def test_jalisco_has_its_seven_commitments(jalisco: LoadedPlan) -> None:
    plan = jalisco.plan
    assert [c.id for c in plan.commitments] == [f"JAL000{n}" for n in range(1, 8)]
    assert plan.default_language == "es"
    assert (plan.period.start.year, plan.period.end.year) == (2016, 2018)
    assert plan.government == "Gobierno del Estado de Jalisco"


def test_jalisco_reports_96_percent_officially(jalisco: LoadedPlan) -> None:
    assert jalisco.plan.official_percent == pytest.approx(96, abs=0.5)
    for commitment in jalisco.plan.commitments:
        assert commitment.official is not None
        assert "autoevaluación" in commitment.official.source


@pytest.mark.parametrize(
    ("commitment_id", "words"),
    [
        pytest.param("JAL0001", "Lomas de Polanco", id="lomas-de-polanco"),
        pytest.param("JAL0002", "brecha salarial", id="wage-gap"),
        pytest.param("JAL0003", "discapacidad", id="disability-register"),
        pytest.param("JAL0004", "jornaleros", id="farm-workers"),
        pytest.param("JAL0005", "docentes", id="teachers"),
        pytest.param("JAL0006", "media superior", id="upper-secondary"),
        pytest.param("JAL0007", "contrataciones abiertas", id="open-contracting"),
    ],
)
def test_jalisco_commitments_are_the_plan_s(
    jalisco: LoadedPlan, commitment_id: str, words: str
) -> None:
    commitment = jalisco.plan.commitment(commitment_id)
    assert words in commitment.title.es
    assert commitment.institutions
    assert commitment.ogp_values
    for text in (commitment.problem, commitment.expected_outcome, commitment.description):
        assert text.es != text.en  # translated, not copied


def test_jalisco_demographics_are_skippable_choices(jalisco: LoadedPlan) -> None:
    demographics = {d.id: d for d in jalisco.plan.demographics}
    assert set(demographics) == {"age_band", "gender", "municipality"}
    municipalities = [o.label.es for o in demographics["municipality"].options]
    assert municipalities[:2] == ["Guadalajara", "Zapopan"]
    assert "Tlajomulco de Zúñiga" in municipalities
    assert demographics["municipality"].options[-1].code == "other"
    # Codes like 18_29 would be numbers to a YAML 1.1 reader; they stay codes.
    assert demographics["age_band"].options[0].code == "18_29"


def test_jalisco_uses_the_standard_instruments(jalisco: LoadedPlan) -> None:
    assert dict(jalisco.instruments) == builtin_instruments()
    assert jalisco.instrument("progress").id == "progress"
    with pytest.raises(UnknownInstrument):
        jalisco.instrument("census")


def test_unknown_commitment_is_not_found(jalisco: LoadedPlan) -> None:
    with pytest.raises(UnknownCommitment) as caught:
        jalisco.plan.commitment("JAL0099")
    assert isinstance(caught.value, NotFound)
    assert caught.value.params == {"id": "JAL0099"}


def test_jalisco_round_trips_through_json(jalisco: LoadedPlan) -> None:
    plan = jalisco.plan
    assert ActionPlan.model_validate(plan.model_dump(mode="json")) == plan
    assert ActionPlan.model_validate_json(plan.model_dump_json()) == plan
    for stored in plan.model_dump(mode="json")["commitments"]:
        assert stored["ogp_values"] == sorted(stored["ogp_values"])  # stable across processes


def test_plan_folder_instrument_overrides_the_standard_one(tmp_path: Path) -> None:
    folder = PLAN_FILES / "with_instruments"
    (tmp_path / "plan.yaml").write_text(
        (folder / "plan.yaml")
        .read_text(encoding="utf-8")
        .replace("  - broken.yaml\n  - missing.yaml\n  - local_again.yaml\n", ""),
        encoding="utf-8",
    )
    (tmp_path / "local.yaml").write_text(
        (folder / "local.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    loaded = load_plan(tmp_path / "plan.yaml")
    assert loaded.plan.instruments == ("local.yaml",)
    assert loaded.instrument("pulse").version == 7
    assert loaded.instrument("progress") == builtin_instruments()["progress"]
    # A single OGP value may be written without brackets.
    assert loaded.plan.commitments[0].ogp_values == {OgpValue.CIVIC_PARTICIPATION}


# ---- properties ---------------------------------------------------------------

texts = (
    st.text(
        alphabet=st.characters(categories=("L", "N", "P", "S")) | st.just(" "),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)
bilingual = st.fixed_dictionaries({"es": texts, "en": texts})
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
option_codes = st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True)


@st.composite
def commitments(draw: st.DrawFn, commitment_id: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": commitment_id,
        "title": draw(bilingual),
        "description": draw(bilingual),
        "problem": draw(bilingual),
        "expected_outcome": draw(bilingual),
        "institutions": draw(st.lists(texts, min_size=1, max_size=3)),
        "ogp_values": draw(st.lists(st.sampled_from(OgpValue), min_size=1, unique=True)),
    }
    if draw(st.booleans()):
        data["official"] = {
            "percent": draw(st.floats(0, 100)),
            "source": draw(texts),
            "as_of": draw(days),
        }
    return data


@st.composite
def plans(draw: st.DrawFn) -> ActionPlan:
    start = draw(days)
    ids = draw(
        st.lists(
            st.from_regex(r"[A-Z][A-Z0-9_-]{0,7}", fullmatch=True),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    demographic_ids = draw(
        st.lists(st.from_regex(r"[a-z0-9_]{1,16}", fullmatch=True), max_size=2, unique=True)
    )
    data = {
        "id": draw(st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)),
        "name": draw(bilingual),
        "government": draw(texts),
        "period": {"start": start, "end": draw(st.dates(min_value=start))},
        "default_language": draw(st.sampled_from(LOCALES)),
        "commitments": [draw(commitments(commitment_id)) for commitment_id in ids],
        "demographics": [
            {
                "id": demographic_id,
                "text": draw(bilingual),
                "options": [
                    {"code": code, "label": draw(bilingual)}
                    for code in draw(st.lists(option_codes, min_size=2, max_size=4, unique=True))
                ],
            }
            for demographic_id in demographic_ids
        ],
    }
    return ActionPlan.model_validate(data)


def dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


FEW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(plans())
def test_any_plan_dumps_to_yaml_and_loads_back_equal(plan: ActionPlan) -> None:
    text = dump(plan.model_dump(mode="json"))
    assert parse_plan(text, source="generated.yaml") == plan


def mappings(data: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The path of every mapping in ``data``."""
    if isinstance(data, dict):
        found = [path]
        for key, value in data.items():
            found += mappings(value, (*path, key))
        return found
    if isinstance(data, list):
        return [p for index, item in enumerate(data) for p in mappings(item, (*path, index))]
    return []


def at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def field_name(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@FEW
@given(plans(), st.data())
def test_an_unknown_key_anywhere_is_reported_on_its_line(
    plan: ActionPlan, data: st.DataObject
) -> None:
    document = plan.model_dump(mode="json")
    path = data.draw(st.sampled_from(mappings(document)))
    at(document, path)["zz_typo"] = 1
    text = dump(document)
    with pytest.raises(PlanFileError) as caught:
        parse_plan(text, source="typo.yaml")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "zz_typo" in row)
    field = field_name((*path, "zz_typo"))
    assert [(p.line, p.message) for p in caught.value.problems if p.field == field] == [
        (line, "unknown key")
    ]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "truncate"]))
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "replace":
        row = lines[index]
        position = draw(st.integers(0, max(len(row) - 1, 0)))
        junk = draw(st.text(alphabet=string.printable, min_size=1, max_size=3))
        lines[index] = row[:position] + junk + row[position + 1 :]
    elif kind == "insert":
        lines.insert(index, draw(st.text(alphabet=string.printable, max_size=30)) + "\n")
    else:
        return text[: draw(st.integers(0, len(text)))]
    return "".join(lines)


@FEW
@given(plans(), st.data())
def test_mutated_files_give_a_plan_or_plan_file_error_never_a_crash(
    plan: ActionPlan, data: st.DataObject
) -> None:
    text = data.draw(mutated(dump(plan.model_dump(mode="json"))))
    try:
        parse_plan(text, source="mutated.yaml")
    except PlanFileError as error:
        problems = error.problems
    else:
        return  # some mutations leave a valid plan
    assert problems
    last_line = text.count("\n") + 1
    assert all(p.line is None or 1 <= p.line <= last_line for p in problems)
