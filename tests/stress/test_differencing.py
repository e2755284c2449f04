"""Differencing: what Pulso publishes cannot be subtracted to learn one person's answer.

Every test names the rule of ``docs/privacy.md`` it checks.

* **The hypothesis suite** builds random populations — people in several
  commitments, in either role, with demographics, free texts and quoting
  consent —, runs a round through its life (answers while open, late answers,
  the close, ``/forget`` of respondents, a second round) and takes every
  surface at each moment: the summary texts in both languages, one commitment
  in detail, the gap, the trend, the results each respondent receives, the
  Secretariat's export and the report's demographic breakdowns. It asserts:

  - *R1 counted in people*: every figure shown is drawn from at least
    ``MIN_GROUP_SIZE`` different people, as the test's own population says,
    and a person in several commitments is one person of a breakdown;
  - *R2 complementary cells*: no breakdown hides exactly one non-empty cell
    (its total is public, so one hidden cell would be a subtraction away);
  - *R3 open rounds*: while a round is open nothing of what anyone answered is
    shown, only who took part;
  - *R4 snapshot*: what a closed round published is the same, to the byte, at
    every later moment (after ``/forget``, after other rounds), so no two
    outputs can be subtracted;
  - *R5 themes*: every theme is used by ``MIN_GROUP_SIZE`` different people;
    quotes only from people who agreed, and not from people who left.

  Short form: 8 populations on SQLite in every run; ``PULSO_STRESS=full``: 150.
* **The regression tests** reproduce issue 10's five leaks, on SQLite and on
  PostgreSQL.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.access import Caller
from bot.clock import ManualClock
from bot.i18n import translator
from bot.plans import import_plan
from bot.services import Services
from bot.settings import load_settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade
from handlers.results import ResultsView
from pulso.bootstrap import build_services
from surveys.aggregation import Figure
from surveys.errors import RoundStillOpen
from surveys.instruments import Role
from surveys.loader import load_plan
from surveys.themes import _terms, fold
from tests.e2e.harness import EXAMPLE_PLAN
from tests.factories import add_feedback, add_instrument, add_person, add_round
from tests.factories import add_response as add_response_row
from tests.stress.conftest import STRESS_FULL

pytestmark = [pytest.mark.stress]

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COMMITMENTS = ("JAL0001", "JAL0002", "JAL0003")
ROLES = ("beneficiary", "implementer")
GENDERS = ("woman", "man", "nonbinary", None)
CHANGE = ("worsened", "no_change", "marginal", "major", "outstanding")
WORDS = ("agua", "registro", "tarjeta", "clinica", "pago", "escuela", "camino")
NAMES = ("Xochitl", "Anselmo", "Guadalupe", "Refugio")  # a term that may be a name
MIN = 3


# --- a population, as the test knows it ----------------------------------------------------


@dataclass
class Person:
    key: int
    role: str
    gender: str | None
    answers: dict[str, tuple[str, str | None, bool]]  # commitment -> (change, text, may quote)
    late: bool = False  # answers after the first look at the open round
    forgets: bool = False  # uses /forget after the round closed
    pid: int = 0

    @property
    def telegram_id(self) -> int:
        return 5_000_000 + self.key


@dataclass
class Population:
    people: list[Person]
    feedback: list[tuple[int, str, str]] = field(default_factory=list)  # person, commitment, text

    def answered(self, commitment: str, role: str, *, late_too: bool = True) -> list[Person]:
        return [
            p
            for p in self.people
            if p.role == role and commitment in p.answers and (late_too or not p.late)
        ]


@st.composite
def populations(draw: st.DrawFn) -> Population:
    size = draw(st.integers(min_value=2, max_value=18))
    people = []
    for key in range(size):
        commitments = draw(
            st.lists(st.sampled_from(COMMITMENTS), min_size=1, max_size=3, unique=True)
        )
        answers = {}
        for commitment in commitments:
            words = draw(st.lists(st.sampled_from(WORDS + NAMES), min_size=0, max_size=5))
            text = " ".join(words) if words else None
            answers[commitment] = (draw(st.sampled_from(CHANGE)), text, draw(st.booleans()))
        people.append(
            Person(
                key=key,
                role=draw(st.sampled_from(ROLES)),
                gender=draw(st.sampled_from(GENDERS)),
                answers=answers,
                late=draw(st.booleans()),
                forgets=draw(st.booleans()),
            )
        )
    population = Population(people)
    for person in people:
        for commitment in person.answers:
            if draw(st.integers(0, 4)) == 0:
                population.feedback.append((person.key, commitment, draw(st.sampled_from(NAMES))))
    return population


# --- the bot's services on a real database ------------------------------------------------


async def start(db: Database, clock: ManualClock) -> Services:
    settings = load_settings(
        env_file=None,
        overrides={
            "secretariat_chat_ids": [-100_1],
            "quiet_hours": "off",
            "min_group_size": MIN,
            "pseudonym_secret": "differencing-secret-0123456789",
        },
    )
    await import_plan(db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=clock.now())
    return build_services(settings, db, clock, translator())


async def answer(services: Services, round_id: int, person: Person, now: datetime) -> None:
    for commitment, (change, text, may_quote) in person.answers.items():
        await add_response_row(
            services.db,
            now,
            round_id=round_id,
            commitment_id=commitment,
            role=person.role,
            participant_id=person.pid,
            answers_given={
                "change": change,
                "say": "consulted",
                "what_changed": text,
                "may_quote": "yes" if may_quote else "no",
            },
            labels={"what_changed": "neg"} if text else None,
        )


async def forget(services: Services, person: Person) -> None:
    async with services.db.read() as repos:
        participant = await repos.participants.get(person.pid)
    assert participant is not None
    caller = Caller(person.telegram_id, person.telegram_id, "es", participant, frozenset())
    await services.journey.forget(caller, update_id=900_000 + person.key)


@dataclass(frozen=True)
class Surfaces:
    """Every output of one round at one moment, as text or values."""

    digest: object
    summaries: tuple[str, ...]
    details: tuple[str, ...]
    gap: tuple[str, ...]
    trends: tuple[object, ...]
    results: tuple[str | None, ...]
    export: bytes
    breakdowns: tuple[str, ...]


async def closed_surfaces(services: Services, round_id: int) -> Surfaces:
    insights = services.insights
    view = ResultsView(services)
    summaries, details, gaps, results = [], [], [], []
    for locale in ("es", "en"):
        summaries += (await view.summary(locale, round_id, with_charts=False)).messages
        gaps += (await view.gap(locale, round_id)).messages
        for commitment in COMMITMENTS:
            with_answers = await insights.digest(round_id)
            if with_answers.result.commitment(commitment) is None:
                continue
            details += (await view.summary(locale, round_id, commitment)).messages
            results.append(await view.results(round_id, commitment, locale))
    # This round's point of each trend (later rounds add points of their own).
    trends = [
        point
        for c in COMMITMENTS
        for point in (await insights.trend_points(c))[1]
        if point.info.round_id == round_id
    ]
    _, export = await insights.export_aggregates(round_id)
    return Surfaces(
        digest=await insights.digest(round_id),
        summaries=tuple(summaries),
        details=tuple(details),
        gap=tuple(gaps),
        trends=tuple(trends),
        results=tuple(results),
        export=export,
        breakdowns=tuple(await view.breakdowns(round_id, "en")),
    )


# --- the rules, checked against the population -------------------------------------------


def shown_figures(digest) -> Iterable[tuple[str, str | None, Figure, set[int] | None]]:
    """(commitment, role, figure, the people it may come from): roles are never pooled."""
    for commitment in digest.result.commitments:
        for role, group in commitment.groups.items():
            for question in group.questions:
                yield commitment.commitment_id, role.value, question.answered, None
                yield commitment.commitment_id, role.value, question.mean, None
            for measure in group.measures.values():
                yield commitment.commitment_id, role.value, measure.mean, None
                yield commitment.commitment_id, role.value, measure.median, None


def check_people_behind_figures(digest, population: Population) -> None:
    """R1: every figure shown comes from at least MIN people of its group."""
    for commitment_id, role, figure, _ in shown_figures(digest):
        if not figure.shown:
            continue
        roles = [role] if role is not None else list(ROLES)
        people = sum(len(population.answered(commitment_id, r)) for r in roles)
        assert MIN <= figure.n <= people, (commitment_id, role, figure)
    for commitment in digest.result.commitments:
        for role, group in commitment.groups.items():
            if group.tone.shown:
                cid = commitment.commitment_id
                authors = {
                    p.key for p in population.answered(cid, role.value) if p.answers[cid][1]
                } | {
                    key
                    for key, c, _ in population.feedback
                    if c == cid and population.people[key].role == role.value
                }
                assert len(authors) >= MIN, (commitment.commitment_id, role, group.tone)


def check_themes_and_quotes(digest, population: Population) -> None:
    """R5: a theme is used by MIN different people; quotes only with consent, not forgotten."""
    for (commitment_id, role), themes in digest.themes.items():
        writers: dict[str, set[int]] = {}
        for person in population.people:
            if person.role != role.value:
                continue  # themes are per role: only that role's people count
            texts = [person.answers[commitment_id][1]] if commitment_id in person.answers else []
            texts += [
                t for k, c, t in population.feedback if k == person.key and c == commitment_id
            ]
            for text in texts:
                if not text:
                    continue
                words, phrases = _terms(text)
                for key, _ in (*words, *phrases):
                    writers.setdefault(key, set()).add(person.key)
        for term in (*themes.words, *themes.phrases):
            assert len(writers.get(fold(term.text), set())) >= MIN, (commitment_id, term)
    for (commitment_id, role), quotes in digest.quotes.items():
        allowed = {
            p.answers[commitment_id][1]
            for p in population.people
            if commitment_id in p.answers and p.answers[commitment_id][2] and p.role == role.value
        }
        assert set(quotes) <= allowed, (commitment_id, quotes)


_ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>")
_GENDER_LABELS = {
    "Woman": "woman",
    "Man": "man",
    "Non-binary": "nonbinary",
    "Preferred not to say": None,
}


def check_breakdowns(tables: Iterable[str], population: Population) -> None:
    """R1 and R2 on the report's demographic tables (the gender ones, which vary)."""
    for table in tables:
        heading = re.search(r"<h3>(.*?)</h3>", table)
        assert heading is not None
        if "gender" not in heading.group(1):
            continue
        role = "beneficiary" if heading.group(1).startswith("Beneficiar") else "implementer"
        respondents = [p for p in population.people if p.role == role]
        truth: dict[str | None, int] = {}
        for person in respondents:
            truth[person.gender] = truth.get(person.gender, 0) + 1  # once, however many answers
        hidden = 0
        for label, count, _mean in _ROW.findall(table):
            code = _GENDER_LABELS.get(label, label)
            if count.isdigit():
                assert int(count) == truth.get(code, 0) >= MIN, (label, count, truth)
            else:
                hidden += 1
        assert hidden != 1, table  # R2: one hidden cell is the total minus the rest


def check_nothing_answered_is_shown(digest) -> None:
    """R3: an open round's digest holds participation and nothing else."""
    for _, _, figure, _ in shown_figures(digest):
        assert not figure.shown, figure
        assert not figure.suppressed, figure
    assert not digest.themes
    assert not digest.quotes


async def a_round_lived_through(services: Services, clock: ManualClock, population: Population):
    progress = await add_instrument(services.db, clock.now())
    targets = [(c, r) for c in COMMITMENTS for r in ROLES]
    round_id = await add_round(
        services.db, clock.now(), instrument_pk=progress, targets=targets, status="open", days=3
    )
    for person in population.people:
        if not person.pid:
            person.pid = await add_person(
                services.db,
                clock.now(),
                person.telegram_id,
                demographics={"gender": person.gender},
            )
    for person in population.people:
        if not person.late:
            await answer(services, round_id, person, clock.now())
    for key, commitment, text in population.feedback:
        person = population.people[key]
        await add_feedback(
            services.db,
            clock.now(),
            commitment_id=commitment,
            text=text,
            participant_id=person.pid,
            role=person.role,
            label="neg",
        )
    # R3: the Secretariat looks while the round is open, before and after late answers.
    early = await services.insights.digest(round_id)
    check_nothing_answered_is_shown(early)
    for person in population.people:
        if person.late:
            await answer(services, round_id, person, clock.now())
    later = await services.insights.digest(round_id)
    check_nothing_answered_is_shown(later)
    with pytest.raises(RoundStillOpen):
        await services.insights.export_aggregates(round_id)
    clock.advance(timedelta(hours=1))
    await services.rounds.close(round_id, actor=None)
    return round_id


@pytest.mark.asyncio
@pytest.mark.timeout(1800 if STRESS_FULL else 120)
@settings(
    max_examples=150 if STRESS_FULL else 8,
    deadline=None,
    derandomize=not STRESS_FULL,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(population=populations())
async def test_no_output_reveals_one_persons_answer(
    population: Population, stress_figures
) -> None:
    """R1–R5 over random populations, at every moment of a round's life."""
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite+aiosqlite:///{Path(folder) / 'pulso.db'}")
        try:
            await upgrade(db)
            clock = ManualClock(NOW)
            services = await start(db, clock)
            round_id = await a_round_lived_through(services, clock, population)

            published = await closed_surfaces(services, round_id)
            check_people_behind_figures(published.digest, population)
            check_themes_and_quotes(published.digest, population)
            check_breakdowns(published.breakdowns, population)

            # R4: people leave, another round comes and goes; nothing published moves.
            for person in population.people:
                if person.forgets:
                    await forget(services, person)
            clock.advance(timedelta(days=1))
            second = Population([p for p in population.people if not p.forgets])
            if second.people:
                await a_round_lived_through(services, clock, second)
            services.insights._cache.clear()  # read the snapshot again, not a kept copy
            assert await closed_surfaces(services, round_id) == published
        finally:
            await db.close()
    stress_figures.add("differencing: populations", 1)
    stress_figures.add("differencing: people", len(population.people))


# --- issue 10's five leaks, as reproduced ---------------------------------------------------


@pytest.fixture
async def services(db: Database) -> Services:
    return await start(db, ManualClock(NOW))


async def people(services: Services, count: int, first: int, **demographics: str) -> list[int]:
    return [
        await add_person(services.db, NOW, 6_000_000 + first + n, demographics=demographics)
        for n in range(count)
    ]


async def test_leak_1_a_person_in_five_commitments_is_one_person(services: Services) -> None:
    """R1: breakdowns count people, not responses."""
    progress = await add_instrument(services.db, NOW)
    five = ("JAL0001", "JAL0002", "JAL0003", "JAL0004", "JAL0005")
    round_id = await add_round(
        services.db, NOW, instrument_pk=progress, targets=[(c, "beneficiary") for c in five]
    )
    for i, commitment in enumerate(five):
        for pid in await people(services, 5, 10 * i, age_band="30_44"):
            await add_response_row(
                services.db, NOW, round_id=round_id, commitment_id=commitment,
                role="beneficiary", participant_id=pid, answers_given={"change": "major"},
            )  # fmt: skip
    # Four more people of 45 to 59, so the cell hidden with the elder's is theirs.
    for pid in await people(services, 4, 800, age_band="45_59"):
        await add_response_row(
            services.db, NOW, round_id=round_id, commitment_id="JAL0001", role="beneficiary",
            participant_id=pid, answers_given={"change": "major"},
        )  # fmt: skip
    (elder,) = await people(services, 1, 900, age_band="60_plus")
    for commitment in five:
        await add_response_row(
            services.db, NOW, round_id=round_id, commitment_id=commitment, role="beneficiary",
            participant_id=elder, answers_given={"change": "worsened"},
        )  # fmt: skip
    tables = await ResultsView(services).breakdowns(round_id, "en")
    ages = next(t for t in tables if "age range" in t)
    assert "<td>60 or older</td><td>5</td>" not in ages
    assert "<td>60 or older</td><td>fewer than 3 answers</td>" in ages
    assert "<td>30 to 44</td><td>25</td>" in ages


async def test_leak_3_an_open_round_cannot_be_differenced(services: Services) -> None:
    """R3: one more person finishing changes who took part, never a published figure."""
    progress = await add_instrument(services.db, NOW)
    round_id = await add_round(
        services.db, NOW, instrument_pk=progress, targets=[("JAL0001", "beneficiary")],
        status="open",
    )  # fmt: skip
    pids = await people(services, 7, 0)
    for pid in pids[:5]:
        await add_response_row(
            services.db, NOW, round_id=round_id, commitment_id="JAL0001", role="beneficiary",
            participant_id=pid, answers_given={"change": "marginal", "trust": "more"},
        )  # fmt: skip
    before = (await ResultsView(services).summary("en", round_id)).plain_text()
    await add_response_row(
        services.db, NOW, round_id=round_id, commitment_id="JAL0001", role="beneficiary",
        participant_id=pids[5], answers_given={"change": "worsened", "trust": "less"},
    )  # fmt: skip
    after = (await ResultsView(services).summary("en", round_id)).plain_text()
    assert "/100" not in before + after
    # Only the counts of who took part moved: the texts are the same but for numbers.
    assert re.sub(r"\d+", "#", before) == re.sub(r"\d+", "#", after)
    with pytest.raises(RoundStillOpen):
        await ResultsView(services).gap("en", round_id)


async def test_leak_4_forget_between_two_reports_moves_nothing(services: Services) -> None:
    """R4: /forget unlinks a person but does not move a published figure."""
    progress = await add_instrument(services.db, NOW)
    round_id = await add_round(
        services.db, NOW, instrument_pk=progress, targets=[("JAL0001", "beneficiary")],
        status="open",
    )  # fmt: skip
    women = await people(services, 4, 0, gender="woman")
    men = await people(services, 4, 100, gender="man")
    for pid in women + men:
        await add_response_row(
            services.db, NOW, round_id=round_id, commitment_id="JAL0001", role="beneficiary",
            participant_id=pid, answers_given={"change": "major"},
        )  # fmt: skip
    await services.rounds.close(round_id, actor=None)
    before = await ResultsView(services).report(round_id, "en")
    # The first woman (Telegram id 6,000,000) leaves.
    person = Person(key=1_000_000, role="beneficiary", gender="woman", answers={}, pid=women[0])
    await forget(services, person)
    services.insights._cache.clear()
    after = await ResultsView(services).report(round_id, "en")
    assert after["report.html"] == before["report.html"]
    assert after["aggregates.csv"] == before["aggregates.csv"]


async def test_leak_5_one_persons_feedback_makes_no_theme(services: Services) -> None:
    """R5: a term needs MIN different authors, however often one person writes it."""
    progress = await add_instrument(services.db, NOW)
    round_id = await add_round(
        services.db, NOW, instrument_pk=progress, targets=[("JAL0001", "beneficiary")],
        status="open", opens_at=NOW - timedelta(days=1),
    )  # fmt: skip
    pids = await people(services, 4, 0)
    for pid in pids:
        await add_response_row(
            services.db, NOW, round_id=round_id, commitment_id="JAL0001", role="beneficiary",
            participant_id=pid, answers_given={"what_changed": "nadie contesta en la oficina"},
        )  # fmt: skip
    for _ in range(3):
        await add_feedback(
            services.db, NOW - timedelta(hours=1), commitment_id="JAL0001",
            text="Anselmo Ruiz cobra de más",
            participant_id=pids[0], label="neg",
        )  # fmt: skip
    await services.rounds.close(round_id, actor=None)
    digest = await services.insights.digest(round_id)
    words = [t.text for t in digest.themes[("JAL0001", Role.BENEFICIARY)].words]
    assert "oficina" in words
    assert "anselmo" not in words
    assert "ruiz" not in words
