"""Responses (who is targeted by a round, and how far they got), their answers, and feedback.

A response is created for every (round, participant, commitment) a round
targets when it opens, so "targeted" is a count of rows and "is this person
targeted?" is one lookup. ``/forget`` deletes the person's responses (and so
their answers) in every round that has not closed, and their feedback; in
closed rounds it nulls ``participant_id``: those answers stay in the answer
file, unlinked, while what the round published lives on in its snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from bot.storage.repositories.base import Repository, excluded
from bot.storage.schema import (
    answer_choices,
    answers,
    feedback,
    memberships,
    participants,
    responses,
    round_targets,
    rounds,
)
from surveys.answers import Answer

ResponseStatus = Literal["pending", "started", "completed"]


@dataclass(frozen=True, slots=True)
class Response:
    id: int
    round_id: int
    participant_id: int | None
    commitment_id: str
    role: str
    status: ResponseStatus
    cursor: str | None
    prompt_message_id: int | None
    started_at: datetime | None
    completed_at: datetime | None
    round_status: str
    round_closes_at: datetime
    round_closed_at: datetime | None
    # The round's instrument version, read with the round's status: what the journey
    # needs to check a move, without reading the round again.
    instrument_pk: int


@dataclass(frozen=True, slots=True)
class TextScore:
    """A free text's sentiment, computed when it is stored."""

    label: str
    score: float
    language: str
    version: str
    confidence: float | None = None  #: the probability of ``label``


@dataclass(frozen=True, slots=True)
class Target:
    participant_id: int
    commitment_id: str
    role: str


@dataclass(frozen=True, slots=True)
class Recipient:
    """What an invitation or a reminder needs at send time: the response, its round and
    its person (their status and language), read in one query for a whole batch."""

    response: Response
    instrument_pk: int
    participant_status: str
    language: str
    #: Since when they are being asked about themselves, having just joined (None: not).
    onboarding_since: datetime | None = None


_RESPONSE_COLUMNS = (
    responses,
    rounds.c.status.label("round_status"),
    rounds.c.closes_at.label("round_closes_at"),
    rounds.c.closed_at.label("round_closed_at"),
    rounds.c.instrument_pk,
)


def _response(row: sa.Row[Any]) -> Response:
    return Response(
        id=row.id,
        round_id=row.round_id,
        participant_id=row.participant_id,
        commitment_id=row.commitment_id,
        role=row.role,
        status=row.status,
        cursor=row.cursor,
        prompt_message_id=row.prompt_message_id,
        started_at=row.started_at,
        completed_at=row.completed_at,
        round_status=row.round_status,
        round_closes_at=row.round_closes_at,
        round_closed_at=row.round_closed_at,
        instrument_pk=row.instrument_pk,
    )


# Statements on the answer path, built once: building a statement and its cache key
# cost about as much CPU as running it (150 µs of 350 on SQLite, docs/benchmarks.md).
_RESPONSES_WITH_ROUND = sa.select(*_RESPONSE_COLUMNS).join(
    rounds, rounds.c.id == responses.c.round_id
)
_RESPONSE_BY_ID = _RESPONSES_WITH_ROUND.where(responses.c.id == sa.bindparam("response_id"))
#: A response's answers, each with its codes if it is a multiple choice (a row per code):
#: one statement where the state read on every answer took two, and only the columns the
#: survey state needs (issue 12).
_ANSWERS_OF = (
    sa.select(
        answers.c.id,
        answers.c.question_id,
        answers.c.skipped,
        answers.c.text,
        answers.c.choice,
        answers.c.score,
        answer_choices.c.code,
    )
    .select_from(answers.outerjoin(answer_choices, answer_choices.c.answer_id == answers.c.id))
    .where(answers.c.response_id == sa.bindparam("response_id"))
)
#: A person's responses in rounds with the given statuses, oldest round first (every
#: survey move asks for the open ones).
_RESPONSES_OF_PARTICIPANT = _RESPONSES_WITH_ROUND.where(
    responses.c.participant_id == sa.bindparam("participant_id"),
    rounds.c.status.in_(sa.bindparam("round_statuses", expanding=True)),
).order_by(rounds.c.opens_at, responses.c.id)
#: One response changed: the SET clause is the columns named in the parameters
#: (compiled once per set of names, and cached), so the statement itself is built once.
_SET_RESPONSE = sa.update(responses).where(responses.c.id == sa.bindparam("response_id"))
_START_RESPONSE = _SET_RESPONSE.where(responses.c.status == "pending")
_COMPLETE_RESPONSE = _SET_RESPONSE.where(responses.c.status == "started")


class ResponseRepository(Repository):
    async def snapshot_targets(self, round_id: int, now: datetime) -> int:
        """Snapshot a round's targets (idempotent): one pending response per active member
        of a targeted (commitment, role), in one ``INSERT … SELECT`` the database runs by
        itself — a round to 100,000 people passes no row through Python. Returns how many
        were new."""
        member = (
            sa.select(
                sa.literal(round_id, sa.Integer()),
                participants.c.id,
                memberships.c.commitment_id,
                memberships.c.role,
                sa.literal("pending", sa.String()),
                sa.literal(now, responses.c.created_at.type),
                sa.literal(now, responses.c.updated_at.type),
            )
            .select_from(participants)
            .join(memberships, memberships.c.participant_id == participants.c.id)
            .join(
                round_targets,
                sa.and_(
                    round_targets.c.round_id == round_id,
                    round_targets.c.commitment_id == memberships.c.commitment_id,
                    round_targets.c.role == memberships.c.role,
                ),
            )
            # A WHERE is also what lets SQLite parse ``INSERT … SELECT … ON CONFLICT``.
            .where(participants.c.status == "active")
            .order_by(participants.c.id, memberships.c.commitment_id)
        )
        columns = [
            "round_id",
            "participant_id",
            "commitment_id",
            "role",
            "status",
            "created_at",
            "updated_at",
        ]
        statement = self.insert_ignore(
            responses, ["round_id", "participant_id", "commitment_id"], select=(columns, member)
        )
        result = await self.conn.execute(statement)
        return max(result.rowcount, 0)

    async def create_pending(self, round_id: int, targets: Sequence[Target], now: datetime) -> int:
        """Snapshot targets into the round (idempotent); returns how many were new."""
        created = 0
        for start in range(0, len(targets), 500):
            chunk = targets[start : start + 500]
            result = await self.conn.execute(
                self.insert_ignore(responses, ["round_id", "participant_id", "commitment_id"]),
                [
                    {
                        "round_id": round_id,
                        "participant_id": t.participant_id,
                        "commitment_id": t.commitment_id,
                        "role": t.role,
                        "status": "pending",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for t in chunk
                ],
            )
            created += max(result.rowcount, 0)
        return created

    async def get(self, response_id: int) -> Response | None:
        row = (await self.conn.execute(_RESPONSE_BY_ID, {"response_id": response_id})).first()
        return _response(row) if row else None

    async def of_participant(
        self,
        participant_id: int,
        *,
        round_statuses: Collection[str] = ("open",),
        round_id: int | None = None,
    ) -> list[Response]:
        """This person's responses in rounds with these statuses, oldest round first."""
        query = _RESPONSES_OF_PARTICIPANT
        if round_id is not None:
            query = query.where(responses.c.round_id == round_id)
        rows = await self.conn.execute(
            query,
            {"participant_id": participant_id, "round_statuses": list(round_statuses)},
        )
        return [_response(row) for row in rows]

    async def participants_of_round(
        self, round_id: int, statuses: Collection[ResponseStatus] | None = None
    ) -> list[int]:
        """Distinct participants with a response in this round (optionally by status)."""
        query = sa.select(responses.c.participant_id).where(
            responses.c.round_id == round_id, responses.c.participant_id.is_not(None)
        )
        if statuses is not None:
            query = query.where(responses.c.status.in_(list(statuses)))
        rows = await self.conn.execute(query.distinct().order_by(responses.c.participant_id))
        return [int(pid) for pid in rows.scalars()]

    async def recipients(
        self, round_ids: Collection[int], participant_ids: Collection[int]
    ) -> list[Recipient]:
        """Responses of these people in these rounds, with round and person (oldest first)."""
        if not round_ids or not participant_ids:
            return []
        rows = await self.conn.execute(
            sa.select(
                *_RESPONSE_COLUMNS,
                participants.c.status.label("participant_status"),
                participants.c.language,
                participants.c.onboarding_since,
            )
            .join(rounds, rounds.c.id == responses.c.round_id)
            .join(participants, participants.c.id == responses.c.participant_id)
            .where(
                responses.c.round_id.in_(list(round_ids)),
                responses.c.participant_id.in_(list(participant_ids)),
            )
            .order_by(responses.c.round_id, responses.c.participant_id, responses.c.id)
        )
        return [
            Recipient(
                _response(row),
                row.instrument_pk,
                row.participant_status,
                row.language,
                row.onboarding_since,
            )
            for row in rows
        ]

    async def unfinished_recipients(self, round_id: int) -> list[tuple[int, int]]:
        """``(participant id, chat id)`` of active people with a response not completed."""
        rows = await self.conn.execute(
            sa.select(participants.c.id, participants.c.chat_id)
            .join(responses, responses.c.participant_id == participants.c.id)
            .where(
                responses.c.round_id == round_id,
                responses.c.status != "completed",
                participants.c.status == "active",
            )
            .distinct()
            .order_by(participants.c.id)
        )
        return [(int(pid), int(chat)) for pid, chat in rows]

    async def _set(self, statement: Any, response_id: int, now: datetime, **values: Any) -> bool:
        result = await self.conn.execute(
            statement, {"response_id": response_id, "updated_at": now, **values}
        )
        return result.rowcount == 1

    async def start(self, response_id: int, now: datetime) -> bool:
        return await self._set(_START_RESPONSE, response_id, now, status="started", started_at=now)

    async def complete(self, response_id: int, now: datetime) -> bool:
        return await self._set(
            _COMPLETE_RESPONSE,
            response_id,
            now,
            status="completed",
            completed_at=now,
            cursor=None,
        )

    async def set_cursor(self, response_id: int, cursor: str | None, now: datetime) -> None:
        await self._set(_SET_RESPONSE, response_id, now, cursor=cursor)

    async def set_prompt(self, response_id: int, message_id: int | None, now: datetime) -> None:
        await self._set(_SET_RESPONSE, response_id, now, prompt_message_id=message_id)

    async def unlink_participant(self, participant_id: int) -> tuple[int, int]:
        """For /forget: delete untouched responses and those of rounds that have not closed
        (their answers go with them), unlink the rest; (deleted, unlinked).

        A round that has not closed has published nothing, so withdrawing the person
        moves no published figure; leaving their unlinked answers in it would instead
        move them to "did not say" in its breakdowns, a difference anyone could read.
        """
        not_closed = sa.select(rounds.c.id).where(rounds.c.status != "closed")
        deleted = await self.conn.execute(
            sa.delete(responses).where(
                responses.c.participant_id == participant_id,
                sa.or_(responses.c.status == "pending", responses.c.round_id.in_(not_closed)),
            )
        )
        unlinked = await self.conn.execute(
            sa.update(responses)
            .where(responses.c.participant_id == participant_id)
            .values(participant_id=None, cursor=None, prompt_message_id=None)
        )
        return deleted.rowcount, unlinked.rowcount

    # --- answers -------------------------------------------------------------------------

    async def answers(self, response_id: int) -> dict[str, Answer]:
        rows = (await self.conn.execute(_ANSWERS_OF, {"response_id": response_id})).all()
        multi: dict[int, list[str]] = {}
        for row in rows:
            if row.code is not None:
                multi.setdefault(row.id, []).append(row.code)
        found: dict[str, Answer] = {}
        for row in rows:
            if row.question_id in found:
                continue  # a further code of a multiple choice already read
            if row.skipped:
                found[row.question_id] = Answer.skip(row.question_id)
            elif row.text is not None:
                found[row.question_id] = Answer(question_id=row.question_id, text=row.text)
            elif row.choice is not None:
                found[row.question_id] = Answer(
                    question_id=row.question_id, codes=(row.choice,), score=row.score
                )
            else:
                found[row.question_id] = Answer(
                    question_id=row.question_id, codes=tuple(sorted(multi.get(row.id, [])))
                )
        return found

    async def save_answer(
        self,
        response: Response,
        answer: Answer,
        *,
        multi: bool,
        sentiment: TextScore | None,
        now: datetime,
    ) -> None:
        """Insert or replace the answer to one question (one row per response × question)."""
        values: dict[str, Any] = {
            "choice": None if multi or answer.skipped else answer.code,
            "score": answer.score,
            "text": answer.text,
            "skipped": answer.skipped,
            "sentiment_score": sentiment.score if sentiment else None,
            "sentiment_label": sentiment.label if sentiment else None,
            "sentiment_version": sentiment.version if sentiment else None,
            "sentiment_confidence": sentiment.confidence if sentiment else None,
            "text_language": sentiment.language if sentiment else None,
            "updated_at": now,
        }
        statement = self.prebuilt(
            "save_answer",
            lambda: self.upsert(
                answers, ["response_id", "question_id"], {name: excluded(name) for name in values}
            ),
        )
        await self.conn.execute(
            statement,
            {
                "response_id": response.id,
                "round_id": response.round_id,
                "commitment_id": response.commitment_id,
                "role": response.role,
                "question_id": answer.question_id,
                "answered_at": now,
                **values,
            },
        )
        if multi:
            answer_id = (
                await self.conn.execute(
                    sa.select(answers.c.id).where(
                        answers.c.response_id == response.id,
                        answers.c.question_id == answer.question_id,
                    )
                )
            ).scalar_one()
            await self.conn.execute(
                sa.delete(answer_choices).where(answer_choices.c.answer_id == answer_id)
            )
            if answer.codes:
                await self.conn.execute(
                    sa.insert(answer_choices),
                    [{"answer_id": answer_id, "code": code} for code in answer.codes],
                )

    async def delete_answers(self, response_id: int, question_ids: Collection[str]) -> int:
        """Drop answers that no longer apply (a changed earlier answer hid their question)."""
        if not question_ids:
            return 0
        result = await self.conn.execute(
            sa.delete(answers).where(
                answers.c.response_id == response_id, answers.c.question_id.in_(list(question_ids))
            )
        )
        return result.rowcount

    async def progress(self, round_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """``{round: {"targeted": n, "started": n, "completed": n}}``."""
        rows = await self.conn.execute(
            sa.select(responses.c.round_id, responses.c.status, sa.func.count())
            .where(responses.c.round_id.in_(list(round_ids)))
            .group_by(responses.c.round_id, responses.c.status)
        )
        out: dict[int, dict[str, int]] = {
            rid: {"targeted": 0, "started": 0, "completed": 0} for rid in round_ids
        }
        for round_id, status, n in rows:
            counts = out[round_id]
            counts["targeted"] += n
            if status in ("started", "completed"):
                counts["started"] += n
            if status == "completed":
                counts["completed"] += n
        return out

    # --- feedback ------------------------------------------------------------------------

    async def add_feedback(
        self,
        *,
        participant_id: int,
        commitment_id: str,
        role: str,
        text: str,
        sentiment: TextScore | None,
        now: datetime,
    ) -> int:
        result = await self.conn.execute(
            sa.insert(feedback)
            .values(
                participant_id=participant_id,
                commitment_id=commitment_id,
                role=role,
                text=text,
                sentiment_score=sentiment.score if sentiment else None,
                sentiment_label=sentiment.label if sentiment else None,
                sentiment_version=sentiment.version if sentiment else None,
                sentiment_confidence=sentiment.confidence if sentiment else None,
                text_language=sentiment.language if sentiment else None,
                created_at=now,
            )
            .returning(feedback.c.id)
        )
        return int(result.scalar_one())

    async def feedback_of(self, participant_id: int) -> list[Mapping[str, Any]]:
        rows = await self.conn.execute(
            sa.select(feedback.c.commitment_id, feedback.c.text, feedback.c.created_at)
            .where(feedback.c.participant_id == participant_id)
            .order_by(feedback.c.id)
        )
        return [dict(row._mapping) for row in rows]

    async def delete_feedback(self, participant_id: int) -> int:
        """For /forget: a person's /feedback. Rounds that counted it have it in their
        snapshots; nothing else needs it."""
        result = await self.conn.execute(
            sa.delete(feedback).where(feedback.c.participant_id == participant_id)
        )
        return result.rowcount
