"""What the summaries are computed from, counted in SQL: never a Python loop over answers.

:meth:`InsightsRepository.round_counts` is a handful of ``GROUP BY`` queries
over one round (people per option, texts per sentiment label, responses per
status, feedback per label), whose few hundred result rows become a
:class:`surveys.aggregation.RoundCounts`. The answers query reads only the
covering index ``ix_answers_round_question``. Texts are read for themes and
quotes (a bounded sample per commitment), answers row by row only for exports,
streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.storage.repositories.base import Repository
from bot.storage.schema import (
    answer_choices,
    answers,
    feedback,
    instruments,
    participants,
    responses,
    round_targets,
    rounds,
)
from surveys.aggregation import (
    CellTally,
    FeedbackTally,
    Participation,
    QuestionTally,
    RoundCounts,
)
from surveys.instruments import Role
from surveys.themes import QuoteCandidate

_ANSWERED = ("started", "completed")


@dataclass(frozen=True, slots=True)
class TextSample:
    """A commitment's free texts in a round, for themes and quotes.

    ``texts`` holds at most the sample's limit (newest first); ``quotable`` are the
    sampled texts of people who agreed to be quoted. How many people wrote comes
    from the round's counts, not from the sample.
    """

    texts: list[str]
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
    the process (None once the person used /forget).
    """

    round_id: int
    instrument: str
    commitment_id: str
    role: str
    telegram_user_id: int | None
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
            participation=await self._participation(round_id, commitment_ids),
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
        for (
            commitment_id,
            role,
            question_id,
            choice,
            is_skipped,
            label,
            n,
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
            )
            for key in answered.keys() | skipped.keys()
        }

    async def _participation(
        self, round_id: int, commitment_ids: Collection[str] | None
    ) -> dict[tuple[str, Role], Participation]:
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
        for commitment_id, role, label, n in await self.conn.execute(
            sa.select(
                feedback.c.commitment_id,
                feedback.c.role,
                feedback.c.sentiment_label,
                sa.func.count(),
            )
            .where(*where, feedback.c.sentiment_label.is_not(None))
            .group_by(feedback.c.commitment_id, feedback.c.role, feedback.c.sentiment_label)
        ):
            tones.setdefault((commitment_id, Role(role)), {})[label] = n
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
            key: FeedbackTally(tones=tones.get(key, {}), authors=authors.get(key, 0))
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
    ) -> TextSample:
        """The newest ``limit`` texts about a commitment in a round (answers to
        ``question_ids``, and /feedback sent within ``window``), and who may be quoted."""
        if not question_ids:
            return TextSample([], [])
        where = (
            answers.c.round_id == round_id,
            answers.c.commitment_id == commitment_id,
            answers.c.question_id.in_(list(question_ids)),
            answers.c.text.is_not(None),
        )
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
                    answers.c.response_id,
                    answers.c.text,
                    answers.c.sentiment_label,
                    consent.c.id.label("consent_id"),
                )
                .select_from(answers.outerjoin(consent, agreed))
                .where(*where)
                .order_by(answers.c.id.desc())
                .limit(limit)
            )
        ).all()
        texts = [row.text for row in rows]
        quotable = [
            QuoteCandidate(
                row.text, author=row.response_id, label=row.sentiment_label, order=row.id
            )
            for row in rows
            if row.consent_id is not None
        ]
        if window is not None and len(texts) < limit:
            feedback_texts = await self.conn.execute(
                sa.select(feedback.c.text)
                .where(*self._feedback_where(round_id, window, [commitment_id]))
                .order_by(feedback.c.id.desc())
                .limit(limit - len(texts))
            )
            texts += list(feedback_texts.scalars())
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
        """Respondents of one role per answer to one demographic question (None: not said,
        or forgotten), with their answers to ``measure_questions`` (only those about
        ``measured_commitments``, when given)."""
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
        rows = await self.conn.execute(
            sa.select(
                value,
                sa.func.count(sa.distinct(responses.c.id)),
                sa.func.count(answers.c.id),
                sa.func.coalesce(sa.func.sum(answers.c.score), 0.0),
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
            .group_by(value)
        )
        cells: dict[str | None, CellTally] = {}
        for code, people, n, total in rows:
            key = str(code) if code is not None else None
            before = cells.get(key, CellTally())
            cells[key] = CellTally(
                before.respondents + int(people),
                before.answers + int(n),
                before.score_sum + float(total),
            )
        return cells

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
        """Every answer (of one round, or all), one row per chosen option, streamed."""
        value = sa.func.coalesce(answer_choices.c.code, answers.c.choice)
        query = (
            sa.select(
                answers.c.round_id,
                instruments.c.instrument_id,
                answers.c.commitment_id,
                answers.c.role,
                participants.c.telegram_user_id,
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
