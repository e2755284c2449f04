"""Plain functions that put known rows in a database for tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa

from bot.storage.engine import Database
from bot.storage.repositories import Repos
from bot.storage.schema import (
    action_plans,
    answer_choices,
    answers,
    commitments,
    feedback,
    instruments,
    participants,
    responses,
    round_targets,
    rounds,
)
from surveys.answers import validate_answer
from surveys.instruments import Instrument, QuestionType, builtin_instrument
from surveys.sentiment import get_analyzer


async def add_commitments(
    db: Database,
    now: datetime,
    ids: tuple[str, ...] = ("TST0001", "TST0002"),
    plan_id: str = "test",
) -> None:
    """A bare plan with commitments, enough for foreign keys."""
    async with db.write() as repos:
        await repos.conn.execute(
            sa.insert(action_plans).values(
                id=plan_id, definition={}, imported_at=now, updated_at=now
            )
        )
        for position, commitment_id in enumerate(ids):
            await repos.conn.execute(
                sa.insert(commitments).values(
                    id=commitment_id,
                    plan_id=plan_id,
                    position=position,
                    definition={},
                    created_at=now,
                    updated_at=now,
                )
            )


async def add_participant(
    db: Database,
    now: datetime,
    telegram_user_id: int,
    memberships: tuple[tuple[str, str], ...] = (("JAL0001", "beneficiary"),),
    *,
    language: str = "es",
) -> int:
    """A consented, active participant (chat id = user id) in these (commitment, role)s;
    returns the participant's id."""
    async with db.write() as repos:
        person = await repos.participants.create(
            telegram_user_id=telegram_user_id, chat_id=telegram_user_id, language=language, now=now
        )
        for commitment_id, role in memberships:
            await repos.participants.add_membership(person.id, commitment_id, role, now)
    return person.id


async def complete_responses(
    db: Database, round_id: int, participant_id: int, now: datetime
) -> int:
    """Mark a participant's responses in a round completed, as the survey flow would;
    returns how many changed."""
    changed = 0
    async with db.write() as repos:
        for response in await repos.responses.of_participant(participant_id, round_id=round_id):
            await repos.responses.start(response.id, now)
            changed += await repos.responses.complete(response.id, now)
    return changed


async def add_instrument(db: Database, now: datetime, instrument: Instrument | None = None) -> int:
    """An instrument version (the built-in ``progress`` by default); returns its key."""
    instrument = instrument or builtin_instrument("progress")
    async with db.write() as repos:
        found = await repos.conn.execute(
            sa.select(instruments.c.id).where(
                instruments.c.instrument_id == instrument.id,
                instruments.c.version == instrument.version,
            )
        )
        pk = found.scalar()
        if pk is None:
            pk = (await repos.plans.add_instrument(instrument, instrument.fingerprint, now)).pk
    return int(pk)


async def add_round(
    db: Database,
    now: datetime,
    *,
    instrument_pk: int,
    targets: Iterable[tuple[str, str]] = (("TST0001", "beneficiary"), ("TST0001", "implementer")),
    status: str = "closed",
    opens_at: datetime | None = None,
    days: int = 7,
    send_results: bool = True,
) -> int:
    """A round in any status, written directly (no scheduler, no invitations)."""
    opens = opens_at or now - timedelta(days=days)
    closes = opens + timedelta(days=days)
    async with db.write() as repos:
        round_id = (
            await repos.conn.execute(
                sa.insert(rounds)
                .values(
                    instrument_pk=instrument_pk,
                    status=status,
                    opens_at=opens,
                    closes_at=closes,
                    opened_at=opens if status in ("open", "closed") else None,
                    closed_at=closes if status == "closed" else None,
                    send_results=send_results,
                    created_at=now,
                )
                .returning(rounds.c.id)
            )
        ).scalar_one()
        await repos.conn.execute(
            sa.insert(round_targets),
            [{"round_id": round_id, "commitment_id": c, "role": r} for c, r in targets],
        )
    return int(round_id)


async def add_person(
    db: Database,
    now: datetime,
    telegram_user_id: int,
    *,
    language: str = "es",
    status: str = "active",
    demographics: Mapping[str, str | None] | None = None,
) -> int:
    """A consented participant with a status and demographics (no memberships: answers do
    not need them); returns their row id."""
    async with db.write() as repos:
        pid = (
            await repos.conn.execute(
                sa.insert(participants)
                .values(
                    telegram_user_id=telegram_user_id,
                    chat_id=telegram_user_id,
                    language=language,
                    status=status,
                    consented_at=now,
                    demographics=dict(demographics or {}),
                    created_at=now,
                    updated_at=now,
                )
                .returning(participants.c.id)
            )
        ).scalar_one()
    return int(pid)


def _answer_rows(
    instrument: Instrument,
    answers_given: Mapping[str, str | Sequence[str] | None] | None,
    labels: Mapping[str, str] | None,
) -> list[dict[str, object]]:
    """Answer rows validated as the bot would; texts scored unless ``labels`` names a label."""
    rows: list[dict[str, object]] = []
    for question_id, raw in (answers_given or {}).items():
        question = instrument.question(question_id)
        answer = validate_answer(question, raw)
        label: str | None = None
        score: float | None = None
        if answer.text is not None:
            scored = get_analyzer().analyse(answer.text)
            label = (labels or {}).get(question_id, scored.label)
            score = scored.score
        multi = question.type is QuestionType.MULTI
        rows.append(
            {
                "question_id": question_id,
                "choice": None if multi or answer.skipped else answer.code,
                "score": answer.score,
                "text": answer.text,
                "skipped": answer.skipped,
                "sentiment_label": label,
                "sentiment_score": score,
                "sentiment_version": "test" if label else None,
                "text_language": "es" if label else None,
                "codes": answer.codes if multi else (),
            }
        )
    return rows


async def _insert_answers(
    repos: Repos,
    now: datetime,
    *,
    response_id: int,
    round_id: int,
    commitment_id: str,
    role: str,
    rows: list[dict[str, object]],
) -> None:
    for row in rows:
        values = dict(row)
        codes = cast(tuple[str, ...], values.pop("codes"))
        answer_id = (
            await repos.conn.execute(
                sa.insert(answers)
                .values(
                    response_id=response_id,
                    round_id=round_id,
                    commitment_id=commitment_id,
                    role=role,
                    answered_at=now,
                    updated_at=now,
                    **values,
                )
                .returning(answers.c.id)
            )
        ).scalar_one()
        if codes:
            await repos.conn.execute(
                sa.insert(answer_choices),
                [{"answer_id": answer_id, "code": code} for code in codes],
            )


async def add_response(
    db: Database,
    now: datetime,
    *,
    round_id: int,
    commitment_id: str,
    role: str,
    participant_id: int | None = None,
    status: str = "completed",
    answers_given: Mapping[str, str | Sequence[str] | None] | None = None,
    labels: Mapping[str, str] | None = None,
    instrument: Instrument | None = None,
) -> int:
    """A response with its answers, validated as the bot would (None = skipped).

    Text answers are scored with the real analyser unless ``labels`` says the label.
    """
    rows = _answer_rows(instrument or builtin_instrument("progress"), answers_given, labels)
    async with db.write() as repos:
        response_id = (
            await repos.conn.execute(
                sa.insert(responses)
                .values(
                    round_id=round_id,
                    participant_id=participant_id,
                    commitment_id=commitment_id,
                    role=role,
                    status=status,
                    started_at=now if status != "pending" else None,
                    completed_at=now if status == "completed" else None,
                    created_at=now,
                    updated_at=now,
                )
                .returning(responses.c.id)
            )
        ).scalar_one()
        await _insert_answers(
            repos,
            now,
            response_id=response_id,
            round_id=round_id,
            commitment_id=commitment_id,
            role=role,
            rows=rows,
        )
    return int(response_id)


async def add_feedback(
    db: Database,
    at: datetime,
    *,
    commitment_id: str,
    text: str,
    role: str = "beneficiary",
    participant_id: int | None = None,
    label: str | None = None,
) -> None:
    """/feedback sent at ``at``, scored with the real analyser unless ``label`` is given."""
    scored = get_analyzer().analyse(text)
    async with db.write() as repos:
        await repos.conn.execute(
            sa.insert(feedback).values(
                participant_id=participant_id,
                commitment_id=commitment_id,
                role=role,
                text=text,
                sentiment_score=scored.score,
                sentiment_label=label or scored.label,
                sentiment_version="test",
                text_language=scored.language,
                created_at=at,
            )
        )


async def answer_response(
    db: Database,
    now: datetime,
    *,
    round_id: int,
    participant_id: int,
    answers_given: Mapping[str, str | Sequence[str] | None],
    labels: Mapping[str, str] | None = None,
    instrument: Instrument | None = None,
) -> None:
    """Answer and complete a participant's (only) response in a round that a real round
    opening created, as the survey flow would leave it."""
    rows = _answer_rows(instrument or builtin_instrument("progress"), answers_given, labels)
    async with db.write() as repos:
        (response,) = await repos.responses.of_participant(participant_id, round_id=round_id)
        await _insert_answers(
            repos,
            now,
            response_id=response.id,
            round_id=round_id,
            commitment_id=response.commitment_id,
            role=response.role,
            rows=rows,
        )
        await repos.conn.execute(
            sa.update(responses)
            .where(responses.c.id == response.id)
            .values(status="completed", started_at=now, completed_at=now, updated_at=now)
        )
