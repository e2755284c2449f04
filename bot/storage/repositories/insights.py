"""What the summaries are computed from, counted in SQL: never a Python loop over answers.

:meth:`InsightsRepository.round_counts` is a handful of ``GROUP BY`` queries
over one round (people per option, texts per sentiment label, responses per
status, feedback per label), whose few hundred result rows become a
:class:`surveys.aggregation.RoundCounts`. The answers query reads only the
covering index ``ix_answers_round_question``. Texts are read for themes and
quotes (a bounded sample per commitment) with who wrote each, answers row by
row only for the audited answer file, streamed. The unit of every count that
crosses commitments is a person: a person in five commitments is one person.
A closed round's snapshot (:mod:`surveys.snapshot`) is stored and read here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import (
    answer_choices,
    answers,
    feedback,
    instruments,
    participants,
    responses,
    round_snapshots,
    round_targets,
    rounds,
)
from surveys.aggregation import CellTally, FeedbackTally, Participation, QuestionTally, RoundCounts
from surveys.instruments import Role
from surveys.sentiment import UNCERTAIN_BELOW
from surveys.themes import AuthoredText, QuoteCandidate

_ANSWERED = ("started", "completed")
#: Who wrote a text once /forget unlinked it: all such texts count as one person together,
#: a lower bound, so a group is never thought larger than it is.
FORGOTTEN_AUTHOR: Final = "forgotten"


def _uncertain(confidence: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """How many rows of a group were labelled with a confidence under UNCERTAIN_BELOW.

    A text scored before confidence was stored (NULL) does not count as uncertain.
    """
    return sa.func.coalesce(sa.func.sum(sa.case((confidence < UNCERTAIN_BELOW, 1), else_=0)), 0)


def _author(participant_id: int | None) -> str:
    return FORGOTTEN_AUTHOR if participant_id is None else f"p{participant_id}"


@dataclass(frozen=True, slots=True)
class TextSample:
    """A commitment's free texts in a round, for themes and quotes.

    ``texts`` holds at most the sample's limit (newest first), each with its author;
    ``quotable`` are the sampled texts of people who agreed to be quoted.
    """

    texts: list[AuthoredText]
    quotable: list[QuoteCandidate]


@dataclass(frozen=True, slots=True)
class Respondent:
    """Someone who answered a round about a commitment, and where to tell them the results."""

    participant_id: int
    chat_id: int
    commitment_id: str
    role: str


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One answer (one chosen option, for a multiple choice) as exported.

    ``telegram_user_id`` is only there to compute the pseudonym; it never leaves
    the process (None once the person used /forget). ``response_id`` tells one
    person's rows from another's once they are unlinked.
    """

    round_id: int
    instrument: str
    commitment_id: str
    role: str
    telegram_user_id: int | None
    response_id: int
    question_id: str
    value: str | None
    score: float | None
    text: str | None
    skipped: bool
    sentiment_label: str | None
    sentiment_score: float | None
    text_language: str | None
    answered_at: datetime


class InsightsRepository(Repository):
    async def round_counts(
        self,
        round_id: int,
        *,
        multi_questions: Collection[str] = (),
        window: tuple[datetime, datetime] | None = None,
        commitment_ids: Collection[str] | None = None,
    ) -> RoundCounts:
        """Everything :func:`surveys.aggregation.summarise` needs about one round.

        ``window`` is when the round was open: ``/feedback`` sent then counts with
        the round's texts. ``commitment_ids`` limits the counting to some commitments.
        """
        questions = await self._question_tallies(round_id, multi_questions, commitment_ids)
        return RoundCounts(
            participation=await self.participation(round_id, commitment_ids),
            questions=questions,
            feedback=await self._feedback(round_id, window, commitment_ids),
        )

    async def _question_tallies(
        self,
        round_id: int,
        multi_questions: Collection[str],
        commitment_ids: Collection[str] | None,
    ) -> dict[tuple[str, Role, str], QuestionTally]:
        columns = (answers.c.commitment_id, answers.c.role, answers.c.question_id)
        query = (
            sa.select(
                *columns,
                answers.c.choice,
                answers.c.skipped,
                answers.c.sentiment_label,
                sa.func.count(),
                _uncertain(answers.c.sentiment_confidence),
            )
            .where(answers.c.round_id == round_id)
            .group_by(*columns, answers.c.choice, answers.c.skipped, answers.c.sentiment_label)
        )
        if commitment_ids is not None:
            query = query.where(answers.c.commitment_id.in_(list(commitment_ids)))
        answered: dict[tuple[str, Role, str], int] = {}
        skipped: dict[tuple[str, Role, str], int] = {}
        codes: dict[tuple[str, Role, str], dict[str, int]] = {}
        tones: dict[tuple[str, Role, str], dict[str, int]] = {}
        uncertain: dict[tuple[str, Role, str], int] = {}
        for (
            commitment_id,
            role,
            question_id,
            choice,
            is_skipped,
            label,
            n,
            doubtful,
        ) in await self.conn.execute(query):
            key = (commitment_id, Role(role), question_id)
            if is_skipped:
                skipped[key] = skipped.get(key, 0) + n
                continue
            answered[key] = answered.get(key, 0) + n
            if choice is not None:
                into = codes.setdefault(key, {})
                into[choice] = into.get(choice, 0) + n
            if label is not None:
                into = tones.setdefault(key, {})
                into[label] = into.get(label, 0) + n
                uncertain[key] = uncertain.get(key, 0) + int(doubtful or 0)
        if multi_questions:
            multi = (
                sa.select(*columns, answer_choices.c.code, sa.func.count())
                .join(answer_choices, answer_choices.c.answer_id == answers.c.id)
                .where(
                    answers.c.round_id == round_id,
                    answers.c.question_id.in_(list(multi_questions)),
                )
                .group_by(*columns, answer_choices.c.code)
            )
            if commitment_ids is not None:
                multi = multi.where(answers.c.commitment_id.in_(list(commitment_ids)))
            for commitment_id, role, question_id, code, n in await self.conn.execute(multi):
                codes.setdefault((commitment_id, Role(role), question_id), {})[code] = n
        return {
            key: QuestionTally(
                answered=answered.get(key, 0),
                skipped=skipped.get(key, 0),
                codes=codes.get(key, {}),
                tones=tones.get(key, {}),
                uncertain=uncertain.get(key, 0),
            )
            for key in answered.keys() | skipped.keys()
        }

    async def participation(
        self, round_id: int, commitment_ids: Collection[str] | None = None
    ) -> dict[tuple[str, Role], Participation]:
        """Targeted, started and finished per commitment and role (who took part, not what
        they said: the only figures of a round that is still open)."""
        query = (
            sa.select(
                responses.c.commitment_id, responses.c.role, responses.c.status, sa.func.count()
            )
            .where(responses.c.round_id == round_id)
            .group_by(responses.c.commitment_id, responses.c.role, responses.c.status)
        )
        if commitment_ids is not None:
            query = query.where(responses.c.commitment_id.in_(list(commitment_ids)))
        by_status: dict[tuple[str, Role], dict[str, int]] = {}
        for commitment_id, role, status, n in await self.conn.execute(query):
            by_status.setdefault((commitment_id, Role(role)), {})[status] = n
        return {
            key: Participation(
                targeted=sum(statuses.values()),
                started=statuses.get("started", 0) + statuses.get("completed", 0),
                completed=statuses.get("completed", 0),
            )
            for key, statuses in by_status.items()
        }

    def _feedback_where(
        self,
        round_id: int,
        window: tuple[datetime, datetime],
        commitment_ids: Collection[str] | None,
    ) -> list[Any]:
        targeted = sa.select(round_targets.c.commitment_id).where(
            round_targets.c.round_id == round_id,
            round_targets.c.role == feedback.c.role,
        )
        where = [
            feedback.c.commitment_id.in_(targeted),
            feedback.c.created_at >= window[0],
            feedback.c.created_at < window[1],
        ]
        if commitment_ids is not None:
            where.append(feedback.c.commitment_id.in_(list(commitment_ids)))
        return where

    async def _feedback(
        self,
        round_id: int,
        window: tuple[datetime, datetime] | None,
        commitment_ids: Collection[str] | None,
    ) -> dict[tuple[str, Role], FeedbackTally]:
        if window is None:
            return {}
        where = self._feedback_where(round_id, window, commitment_ids)
        tones: dict[tuple[str, Role], dict[str, int]] = {}
        uncertain: dict[tuple[str, Role], int] = {}
        for commitment_id, role, label, n, doubtful in await self.conn.execute(
            sa.select(
                feedback.c.commitment_id,
                feedback.c.role,
                feedback.c.sentiment_label,
                sa.func.count(),
                _uncertain(feedback.c.sentiment_confidence),
            )
            .where(*where, feedback.c.sentiment_label.is_not(None))
            .group_by(feedback.c.commitment_id, feedback.c.role, feedback.c.sentiment_label)
        ):
            tones.setdefault((commitment_id, Role(role)), {})[label] = n
            key = (commitment_id, Role(role))
            uncertain[key] = uncertain.get(key, 0) + int(doubtful or 0)
        authors: dict[tuple[str, Role], int] = {}
        forgotten = sa.func.max(sa.case((feedback.c.participant_id.is_(None), 1), else_=0))
        for commitment_id, role, distinct, unlinked in await self.conn.execute(
            sa.select(
                feedback.c.commitment_id,
                feedback.c.role,
                sa.func.count(sa.distinct(feedback.c.participant_id)),
                forgotten,
            )
            .where(*where)
            .group_by(feedback.c.commitment_id, feedback.c.role)
        ):
            # People who used /forget are unlinked: together they count as one, a lower bound.
            authors[(commitment_id, Role(role))] = int(distinct) + int(unlinked or 0)
        return {
            key: FeedbackTally(
                tones=tones.get(key, {}),
                authors=authors.get(key, 0),
                uncertain=uncertain.get(key, 0),
            )
            for key in authors
        }

    async def texts(
        self,
        round_id: int,
        commitment_id: str,
        *,
        question_ids: Collection[str],
        consent_question: str | None,
        window: tuple[datetime, datetime] | None,
        limit: int,
        role: str | None = None,
    ) -> TextSample:
        """The newest ``limit`` texts about a commitment in a round (answers to
        ``question_ids``, and /feedback sent within ``window``), and who may be quoted;
        only ``role``'s when given (themes and quotes are per role)."""
        if not question_ids:
            return TextSample([], [])
        where = [
            answers.c.round_id == round_id,
            answers.c.commitment_id == commitment_id,
            answers.c.question_id.in_(list(question_ids)),
            answers.c.text.is_not(None),
        ]
        if role is not None:
            where.append(answers.c.role == role)
        consent = answers.alias("consent")
        agreed = (
            sa.and_(
                consent.c.response_id == answers.c.response_id,
                consent.c.question_id == consent_question,
                consent.c.choice == "yes",
            )
            if consent_question is not None
            else sa.false()
        )
        rows = (
            await self.conn.execute(
                sa.select(
                    answers.c.id,
                    responses.c.participant_id,
                    answers.c.text,
                    answers.c.sentiment_label,
                    consent.c.id.label("consent_id"),
                )
                .select_from(
                    answers.join(responses, responses.c.id == answers.c.response_id).outerjoin(
                        consent, agreed
                    )
                )
                .where(*where)
                .order_by(answers.c.id.desc())
                .limit(limit)
            )
        ).all()
        texts = [AuthoredText(_author(row.participant_id), row.text) for row in rows]
        quotable = [
            QuoteCandidate(
                row.text,
                author=_author(row.participant_id),
                label=row.sentiment_label,
                order=row.id,
            )
            for row in rows
            # A forgotten person can no longer be asked: their words are not quoted.
            if row.consent_id is not None and row.participant_id is not None
        ]
        if window is not None and len(texts) < limit:
            feedback_where = self._feedback_where(round_id, window, [commitment_id])
            if role is not None:
                feedback_where.append(feedback.c.role == role)
            feedback_texts = await self.conn.execute(
                sa.select(feedback.c.participant_id, feedback.c.text)
                .where(*feedback_where)
                .order_by(feedback.c.id.desc())
                .limit(limit - len(texts))
            )
            texts += [AuthoredText(_author(pid), text) for pid, text in feedback_texts]
        return TextSample(texts, quotable)

    async def demographic_cells(
        self,
        round_id: int,
        *,
        role: str,
        demographic: str,
        measure_questions: Collection[str],
        measured_commitments: Collection[str] | None = None,
    ) -> dict[str | None, CellTally]:
        """People of one role per answer to one demographic question (None: not said, or
        forgotten), with their answers to ``measure_questions`` (only those about
        ``measured_commitments``, when given).

        Counted in people, not in responses: someone who answered about five
        commitments is one person of their group, and their side of the gap is the
        mean of their own answers, so they weigh as much as anyone else.
        """
        value = participants.c.demographics[demographic].as_string()
        about = (
            answers.c.commitment_id.in_(list(measured_commitments) or [""])
            if measured_commitments is not None
            else sa.true()
        )
        measured = sa.and_(
            answers.c.response_id == responses.c.id,
            about,
            answers.c.question_id.in_(list(measure_questions) or [""]),
            answers.c.skipped.is_(False),
            answers.c.score.is_not(None),
        )
        # One row per person (unlinked responses together count as one, a lower bound).
        per_person = (
            sa.select(
                value.label("code"),
                sa.func.count(answers.c.id).label("n"),
                sa.func.coalesce(sa.func.sum(answers.c.score), 0.0).label("total"),
            )
            .select_from(
                responses.outerjoin(
                    participants, participants.c.id == responses.c.participant_id
                ).outerjoin(answers, measured)
            )
            .where(
                responses.c.round_id == round_id,
                responses.c.role == role,
                responses.c.status.in_(_ANSWERED),
            )
            .group_by(responses.c.participant_id, value)
            .subquery()
        )
        rows = await self.conn.execute(
            sa.select(
                per_person.c.code,
                sa.func.count(),
                sa.func.count(sa.case((per_person.c.n > 0, 1))),
                sa.func.coalesce(
                    sa.func.sum(
                        sa.case(
                            (per_person.c.n > 0, per_person.c.total / per_person.c.n), else_=0.0
                        )
                    ),
                    0.0,
                ),
            ).group_by(per_person.c.code)
        )
        cells: dict[str | None, CellTally] = {}
        for code, people, measured_people, total in rows:
            key = str(code) if code is not None else None
            before = cells.get(key, CellTally())
            cells[key] = CellTally(
                before.respondents + int(people),
                before.answers + int(measured_people),
                before.score_sum + float(total),
            )
        return cells

    async def people(self, round_id: int) -> Participation:
        """How many different people the round asked, how many started, how many finished
        every survey they were asked (one person in several commitments counts once)."""
        started = sa.case((responses.c.status.in_(_ANSWERED), 1), else_=0)
        completed = sa.case((responses.c.status == "completed", 1), else_=0)
        per_person = (
            sa.select(
                sa.func.max(started).label("started"),
                sa.func.min(completed).label("completed"),
            )
            .where(responses.c.round_id == round_id)
            .group_by(responses.c.participant_id)
            .subquery()
        )
        row = (
            await self.conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(per_person.c.started), 0),
                    sa.func.coalesce(sa.func.sum(per_person.c.completed), 0),
                )
            )
        ).one()
        return Participation(int(row[0]), int(row[1]), int(row[2]))

    async def snapshot(self, round_id: int) -> Mapping[str, Any] | None:
        """A closed round's stored snapshot (its JSON form), if it was taken."""
        found = await self.conn.execute(
            sa.select(round_snapshots.c.payload).where(round_snapshots.c.round_id == round_id)
        )
        payload = found.scalar()
        return dict(payload) if payload is not None else None

    async def save_snapshot(
        self, round_id: int, payload: Mapping[str, Any], now: datetime
    ) -> bool:
        """Store a round's snapshot once; a second one is ignored (False): what was
        published stays published."""
        result = await self.conn.execute(
            self.insert_ignore(round_snapshots, ["round_id"]).values(
                round_id=round_id, payload=dict(payload), taken_at=now
            )
        )
        return bool(result.rowcount)

    async def respondents(self, round_id: int) -> list[Respondent]:
        """Active participants who started or finished the round, per commitment."""
        rows = await self.conn.execute(
            sa.select(
                responses.c.participant_id,
                participants.c.chat_id,
                responses.c.commitment_id,
                responses.c.role,
            )
            .join(participants, participants.c.id == responses.c.participant_id)
            .where(
                responses.c.round_id == round_id,
                responses.c.status.in_(_ANSWERED),
                participants.c.status == "active",
            )
            .order_by(responses.c.participant_id, responses.c.commitment_id)
        )
        return [Respondent(int(p), int(c), str(cid), str(r)) for p, c, cid, r in rows]

    async def previous_round(self, round_id: int) -> int | None:
        """The closed round of the same instrument that opened last before this one."""
        this = (
            sa.select(rounds.c.opens_at, instruments.c.instrument_id)
            .join(instruments, instruments.c.id == rounds.c.instrument_pk)
            .where(rounds.c.id == round_id)
            .subquery()
        )
        found = await self.conn.execute(
            sa.select(rounds.c.id)
            .join(instruments, instruments.c.id == rounds.c.instrument_pk)
            .where(
                instruments.c.instrument_id == this.c.instrument_id,
                rounds.c.status == "closed",
                rounds.c.id != round_id,
                rounds.c.opens_at <= this.c.opens_at,
            )
            .order_by(rounds.c.opens_at.desc(), rounds.c.id.desc())
            .limit(1)
        )
        return found.scalar()

    async def closed_rounds_of(self, commitment_id: str, limit: int) -> list[int]:
        """The last ``limit`` closed rounds that asked about a commitment, oldest first."""
        found = await self.conn.execute(
            sa.select(rounds.c.id)
            .where(
                rounds.c.status == "closed",
                rounds.c.id.in_(
                    sa.select(round_targets.c.round_id).where(
                        round_targets.c.commitment_id == commitment_id
                    )
                ),
            )
            .order_by(rounds.c.opens_at.desc(), rounds.c.id.desc())
            .limit(limit)
        )
        return list(reversed([int(i) for i in found.scalars()]))

    async def export_rows(self, round_id: int | None = None) -> AsyncIterator[ExportRow]:
        """Every answer of closed rounds (one, or all), one row per chosen option, streamed.

        Only closed rounds: while a round is open nobody sees what was answered."""
        value = sa.func.coalesce(answer_choices.c.code, answers.c.choice)
        query = (
            sa.select(
                answers.c.round_id,
                instruments.c.instrument_id,
                answers.c.commitment_id,
                answers.c.role,
                participants.c.telegram_user_id,
                answers.c.response_id,
                answers.c.question_id,
                value.label("value"),
                answers.c.score,
                answers.c.text,
                answers.c.skipped,
                answers.c.sentiment_label,
                answers.c.sentiment_score,
                answers.c.text_language,
                answers.c.answered_at,
            )
            .select_from(
                answers.join(responses, responses.c.id == answers.c.response_id)
                .join(rounds, rounds.c.id == answers.c.round_id)
                .join(instruments, instruments.c.id == rounds.c.instrument_pk)
                .outerjoin(participants, participants.c.id == responses.c.participant_id)
                .outerjoin(answer_choices, answer_choices.c.answer_id == answers.c.id)
            )
            .order_by(
                answers.c.round_id,
                answers.c.commitment_id,
                answers.c.response_id,
                answers.c.id,
                answer_choices.c.code,
            )
        )
        query = query.where(rounds.c.status == "closed")
        if round_id is not None:
            query = query.where(answers.c.round_id == round_id)
        result = await self.conn.stream(query.execution_options(yield_per=2000))
        async for row in result:
            yield ExportRow(
                round_id=row.round_id,
                instrument=row.instrument_id,
                commitment_id=row.commitment_id,
                role=row.role,
                telegram_user_id=row.telegram_user_id,
                response_id=row.response_id,
                question_id=row.question_id,
                value=row.value,
                score=row.score,
                text=row.text,
                skipped=bool(row.skipped),
                sentiment_label=row.sentiment_label,
                sentiment_score=row.sentiment_score,
                text_language=row.text_language,
                answered_at=row.answered_at,
            )
