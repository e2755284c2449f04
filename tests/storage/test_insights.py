"""The insights repository on SQLite and PostgreSQL: counts, texts, breakdowns, exports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.storage.engine import Database
from surveys.aggregation import CellTally, Participation, summarise
from surveys.instruments import Instrument, Measure, Role, builtin_instrument
from tests.factories import (
    add_commitments,
    add_feedback,
    add_instrument,
    add_person,
    add_response,
    add_round,
)

PROGRESS = builtin_instrument("progress")
BEN, IMP = Role.BENEFICIARY, Role.IMPLEMENTER
C1, C2 = "TST0001", "TST0002"

MULTI = Instrument.model_validate(
    {
        "id": "needs",
        "version": 1,
        "title": {"es": "Necesidades", "en": "Needs"},
        "intro": {"es": "i", "en": "i"},
        "outro": {"es": "o", "en": "o"},
        "questions": [
            {
                "id": "needs",
                "type": "multi",
                "text": {"es": "¿Qué necesita?", "en": "What do you need?"},
                "options": [
                    {"code": "water", "label": {"es": "Agua", "en": "Water"}},
                    {"code": "light", "label": {"es": "Luz", "en": "Light"}},
                    {"code": "road", "label": {"es": "Camino", "en": "Road"}},
                ],
            }
        ],
    }
)

# Six beneficiaries of C1 (change, trust, a text, quote consent) and two implementers.
BENEFICIARIES = [
    (
        {
            "change": "no_change",
            "say": "none",
            "trust": "less",
            "what_changed": "Nada cambió, puro anuncio",
            "may_quote": "yes",
        },
        "neg",
    ),
    (
        {
            "change": "no_change",
            "say": "informed",
            "trust": "same",
            "what_changed": "No hay agua potable todavía",
            "may_quote": "no",
        },
        "neg",
    ),
    (
        {
            "change": "marginal",
            "say": "informed",
            "trust": "same",
            "what_changed": "Llegó el agua potable, gracias",
            "may_quote": "yes",
        },
        "pos",
    ),
    (
        {
            "change": "worsened",
            "say": "none",
            "trust": "less",
            "what_changed": None,
            "may_quote": None,
        },
        None,
    ),
    (
        {
            "change": "major",
            "say": "none",
            "trust": "more",
            "what_changed": "El agua potable llega dos días",
            "may_quote": "yes",
        },
        "neu",
    ),
    (
        {
            "change": "no_change",
            "say": "none",
            "trust": "same",
            "what_changed": "Sigue igual",
            "may_quote": "yes",
        },
        "neu",
    ),
]


@pytest.fixture
async def round_db(db: Database, clock: ManualClock) -> tuple[Database, int]:
    now = clock.now()
    await add_commitments(db, now)
    pk = await add_instrument(db, now)
    round_id = await add_round(
        db,
        now,
        instrument_pk=pk,
        targets=[(C1, "beneficiary"), (C1, "implementer"), (C2, "beneficiary")],
    )
    for n, (given, label) in enumerate(BENEFICIARIES):
        person = await add_person(
            db, now, 1000 + n, demographics={"gender": "woman" if n < 4 else "man"}
        )
        labels = {"what_changed": label} if label else None
        await add_response(
            db,
            now,
            round_id=round_id,
            commitment_id=C1,
            role="beneficiary",
            participant_id=person,
            answers_given=given,
            labels=labels,
        )
    # A forgotten person's answers stay, unlinked.
    await add_response(
        db,
        now,
        round_id=round_id,
        commitment_id=C1,
        role="beneficiary",
        answers_given={"change": "no_change", "say": "none", "trust": "less"},
    )
    for n in range(2):
        person = await add_person(db, now, 2000 + n)
        await add_response(
            db,
            now,
            round_id=round_id,
            commitment_id=C1,
            role="implementer",
            participant_id=person,
            answers_given={"completion": "complete", "change": "major", "say": "decided"},
        )
    # Targeted but never started; started but not finished.
    await add_response(
        db,
        now,
        round_id=round_id,
        commitment_id=C1,
        role="beneficiary",
        participant_id=await add_person(db, now, 3000),
        status="pending",
    )
    await add_response(
        db,
        now,
        round_id=round_id,
        commitment_id=C2,
        role="beneficiary",
        participant_id=await add_person(db, now, 3001),
        status="started",
        answers_given={"change": "major"},
    )
    return db, round_id


async def test_round_counts(round_db: tuple[Database, int]) -> None:
    db, round_id = round_db
    async with db.read() as repos:
        counts = await repos.insights.round_counts(round_id)
    assert counts.participation == {
        (C1, BEN): Participation(targeted=8, started=7, completed=7),
        (C1, IMP): Participation(targeted=2, started=2, completed=2),
        (C2, BEN): Participation(targeted=1, started=1, completed=0),
    }
    change = counts.questions[(C1, BEN, "change")]
    assert change.answered == 7
    assert dict(change.codes) == {"no_change": 4, "marginal": 1, "worsened": 1, "major": 1}
    texts = counts.questions[(C1, BEN, "what_changed")]
    assert texts.answered == 5
    assert texts.skipped == 1
    assert dict(texts.tones) == {"neg": 2, "pos": 1, "neu": 2}
    quote = counts.questions[(C1, BEN, "may_quote")]
    assert dict(quote.codes) == {"yes": 4, "no": 1}
    assert quote.skipped == 1


async def test_counts_summarise_to_the_figures_worked_out_by_hand(
    round_db: tuple[Database, int],
) -> None:
    db, round_id = round_db
    async with db.read() as repos:
        counts = await repos.insights.round_counts(round_id)
    result = summarise(
        PROGRESS, counts, targets=[(C1, "beneficiary"), (C1, "implementer")], min_group_size=5
    )
    c1 = result.commitment(C1)
    assert c1 is not None
    # change: 4 × 25 + 50 + 0 + 75 = 225 / 7 = 32.1; median: cumulative 1, 5 ≥ 3.5 → 25
    ben, imp = Role.BENEFICIARY, Role.IMPLEMENTER
    assert c1.measure(Measure.OUTCOME, ben).mean.value == pytest.approx(225 / 7)
    assert c1.measure(Measure.OUTCOME, ben).median.value == 25
    assert c1.measure(Measure.PERCEIVED_PROGRESS, imp).mean.suppressed  # 2 implementers
    # texts: 5 from 5 people → neg 2, neu 2, pos 1 → tone 50 + 50·(1 − 2)/5 = 40
    assert c1.groups[ben].tone.index.value == pytest.approx(40.0)


async def test_only_the_asked_commitments_are_counted(round_db: tuple[Database, int]) -> None:
    db, round_id = round_db
    async with db.read() as repos:
        counts = await repos.insights.round_counts(round_id, commitment_ids=[C2])
    assert set(counts.participation) == {(C2, BEN)}
    assert {key[0] for key in counts.questions} == {C2}


async def test_feedback_counts_only_while_the_round_was_open(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    await add_commitments(db, now)
    pk = await add_instrument(db, now)
    opens = now - timedelta(days=7)
    round_id = await add_round(
        db, now, instrument_pk=pk, targets=[(C1, "beneficiary")], opens_at=opens
    )
    alice = await add_person(db, now, 1)
    bob = await add_person(db, now, 2)
    inside = opens + timedelta(days=1)
    await add_feedback(db, inside, commitment_id=C1, text="x", participant_id=alice, label="pos")
    await add_feedback(db, inside, commitment_id=C1, text="y", participant_id=alice, label="neg")
    await add_feedback(db, inside, commitment_id=C1, text="z", participant_id=bob, label="neg")
    await add_feedback(db, inside, commitment_id=C1, text="w", participant_id=None, label="neu")
    await add_feedback(db, inside, commitment_id=C1, text="v", role="implementer", label="neg")
    await add_feedback(
        db, opens - timedelta(hours=1), commitment_id=C1, text="before", label="pos"
    )
    await add_feedback(db, now + timedelta(hours=1), commitment_id=C1, text="after", label="pos")
    async with db.read() as repos:
        counts = await repos.insights.round_counts(round_id, window=(opens, now))
        sample = await repos.insights.texts(
            round_id,
            C1,
            question_ids=["what_changed"],
            consent_question="may_quote",
            window=(opens, now),
            limit=10,
        )
    # The implementers' feedback does not count: the round did not ask implementers.
    tally = counts.feedback[(C1, BEN)]
    assert dict(tally.tones) == {"pos": 1, "neg": 2, "neu": 1}
    assert tally.authors == 3  # alice, bob, and the forgotten ones as one
    assert sorted((t.text, t.author) for t in sample.texts) == [
        ("w", "forgotten"),
        ("x", f"p{alice}"),
        ("y", f"p{alice}"),
        ("z", f"p{bob}"),
    ]


async def test_texts_sample_and_who_may_be_quoted(round_db: tuple[Database, int]) -> None:
    db, round_id = round_db
    async with db.read() as repos:
        sample = await repos.insights.texts(
            round_id,
            C1,
            question_ids=["what_changed", "should_change"],
            consent_question="may_quote",
            window=None,
            limit=4,
        )
    assert len(sample.texts) == 4  # the newest four
    assert sample.texts[0].text == "Sigue igual"
    assert {c.text for c in sample.quotable} == {
        "Sigue igual",
        "El agua potable llega dos días",
        "Llegó el agua potable, gracias",
    }
    assert all(c.text != "No hay agua potable todavía" for c in sample.quotable)  # said no


async def test_demographic_cells(round_db: tuple[Database, int]) -> None:
    db, round_id = round_db
    async with db.read() as repos:
        cells = await repos.insights.demographic_cells(
            round_id, role="beneficiary", demographic="gender", measure_questions=["change"]
        )
    # women: no_change, no_change, marginal, worsened = 100; men: major, no_change = 100;
    # not said: the forgotten person (no_change) and C2's respondent (major), whose
    # demographics are unknown.
    assert cells == {
        "woman": CellTally(4, 4, 100.0),
        "man": CellTally(2, 2, 100.0),
        None: CellTally(2, 2, 100.0),
    }


async def test_respondents_are_active_people_who_answered(
    round_db: tuple[Database, int], clock: ManualClock
) -> None:
    db, round_id = round_db
    async with db.write() as repos:
        stopped = await repos.participants.by_telegram_id(1000)
        assert stopped is not None
        await repos.participants.set_status(stopped.id, "stopped", clock.now())
    async with db.read() as repos:
        respondents = await repos.insights.respondents(round_id)
    chats = sorted(r.chat_id for r in respondents)
    assert chats == [1001, 1002, 1003, 1004, 1005, 2000, 2001, 3001]
    assert {(r.commitment_id, r.role) for r in respondents if r.chat_id == 3001} == {
        (C2, "beneficiary")
    }


async def test_export_rows_one_per_chosen_option(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    await add_commitments(db, now)
    pk = await add_instrument(db, now, MULTI)
    round_id = await add_round(db, now, instrument_pk=pk, targets=[(C1, "beneficiary")])
    person = await add_person(db, now, 77)
    await add_response(
        db,
        now,
        round_id=round_id,
        commitment_id=C1,
        role="beneficiary",
        participant_id=person,
        answers_given={"needs": ["road", "water"]},
        instrument=MULTI,
    )
    await add_response(
        db,
        now,
        round_id=round_id,
        commitment_id=C1,
        role="beneficiary",
        answers_given={"needs": ["light"]},
        instrument=MULTI,
    )
    async with db.read() as repos:
        rows = [row async for row in repos.insights.export_rows(round_id)]
        counts = await repos.insights.round_counts(round_id, multi_questions=["needs"])
    assert [(r.telegram_user_id, r.value) for r in rows] == [
        (77, "road"),
        (77, "water"),
        (None, "light"),
    ]
    assert {r.instrument for r in rows} == {"needs"}
    assert dict(counts.questions[(C1, BEN, "needs")].codes) == {"water": 1, "light": 1, "road": 1}
    assert counts.questions[(C1, BEN, "needs")].answered == 2


async def test_previous_round_and_rounds_of_a_commitment(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    await add_commitments(db, now)
    progress = await add_instrument(db, now)
    pulse = await add_instrument(db, now, builtin_instrument("pulse"))
    first = await add_round(db, now, instrument_pk=progress, opens_at=now - timedelta(days=60))
    await add_round(db, now, instrument_pk=pulse, opens_at=now - timedelta(days=40))
    other = await add_round(
        db,
        now,
        instrument_pk=progress,
        opens_at=now - timedelta(days=30),
        targets=[(C2, "beneficiary")],
    )
    latest = await add_round(db, now, instrument_pk=progress, opens_at=now - timedelta(days=10))
    await add_round(
        db, now, instrument_pk=progress, status="open", opens_at=now - timedelta(days=1)
    )
    async with db.read() as repos:
        assert await repos.insights.previous_round(latest) == other
        assert await repos.insights.previous_round(first) is None
        rounds_of_c1 = await repos.insights.closed_rounds_of(C1, limit=12)
        assert await repos.insights.closed_rounds_of(C1, limit=1) == [latest]
    assert rounds_of_c1[0] == first
    assert rounds_of_c1[-1] == latest
    assert other not in rounds_of_c1
    assert len(rounds_of_c1) == 3  # progress, pulse, progress


async def test_uncertain_texts_are_counted(db: Database, clock: ManualClock) -> None:
    """Texts whose confidence is under UNCERTAIN_BELOW count as uncertain; NULL does not."""
    import sqlalchemy as sa

    from bot.storage.schema import answers, feedback
    from surveys.sentiment import UNCERTAIN_BELOW

    now = clock.now()
    await add_commitments(db, now)
    pk = await add_instrument(db, now)
    opens = now - timedelta(days=7)
    round_id = await add_round(
        db, now, instrument_pk=pk, targets=[(C1, "beneficiary")], opens_at=opens
    )
    for n, label in enumerate(["neg", "neg", "pos", "neu"]):
        await add_response(
            db,
            now,
            round_id=round_id,
            commitment_id=C1,
            role="beneficiary",
            participant_id=await add_person(db, now, 500 + n),
            answers_given={"what_changed": f"text {n}"},
            labels={"what_changed": label},
        )
    inside = opens + timedelta(days=1)
    for text in ("a", "b", "c"):
        await add_feedback(db, inside, commitment_id=C1, text=text, label="neg")
    low, high = UNCERTAIN_BELOW - 0.1, UNCERTAIN_BELOW + 0.1
    async with db.write() as repos:
        ids = [
            row.id
            for row in await repos.conn.execute(
                sa.select(answers.c.id)
                .where(answers.c.question_id == "what_changed")
                .order_by(answers.c.id)
            )
        ]
        for answer_id, confidence in zip(ids, [low, low, high, None], strict=True):
            await repos.conn.execute(
                sa.update(answers)
                .where(answers.c.id == answer_id)
                .values(sentiment_confidence=confidence)
            )
        await repos.conn.execute(
            sa.update(feedback).where(feedback.c.text == "a").values(sentiment_confidence=low)
        )
        await repos.conn.execute(
            sa.update(feedback).where(feedback.c.text == "b").values(sentiment_confidence=high)
        )
    async with db.read() as repos:
        counts = await repos.insights.round_counts(round_id, window=(opens, now))
    texts = counts.questions[(C1, BEN, "what_changed")]
    assert dict(texts.tones) == {"neg": 2, "pos": 1, "neu": 1}
    assert texts.uncertain == 2
    assert counts.feedback[(C1, BEN)].uncertain == 1
