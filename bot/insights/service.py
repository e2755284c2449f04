"""Insights: summaries, the reality gap, trends, charts, exports and results for respondents.

The one place the Secretariat's figures are put together, under the privacy
model of ``docs/privacy.md``:

* :meth:`InsightsService.take_snapshot` runs in a round's closing transaction:
  it counts everything the round publishes (SQL, see
  :mod:`bot.storage.repositories.insights`; themes and quotes; demographic
  breakdowns in people) and stores it as a :class:`surveys.snapshot.RoundSnapshot`.
  Every output of a closed round is computed from its snapshot, so a published
  figure never moves; an open round shows who took part, never what they said
  (:class:`surveys.aggregation.RoundStillOpen` for anything more);
* :meth:`InsightsService.digest` puts a round's figures together with the
  official ones and the trend against the previous round (:mod:`surveys`:
  aggregation, gap, themes);
* :meth:`InsightsService.summary`, :meth:`~InsightsService.gap` and
  :meth:`~InsightsService.trend` render it in a locale as Telegram messages
  and PNG charts (a :class:`Rendered`): what ``/summary``, ``/gap`` and
  ``/trend`` reply, what the outbox sends, what ``pulso report`` writes and what
  ``pulso demo`` prints — "the summary of round 7 in Spanish" is one call::

      rendered = await services.insights.summary("es", round_id=7)
      print(rendered.plain_text()); rendered.charts[0].png

* :meth:`InsightsService.on_round_closed` queues, in the outbox, a ``summary``
  for every ``SECRETARIAT_CHAT_IDS`` chat and (unless the round turns it off)
  a ``results`` message for every respondent; both are rendered when sent, in
  the chat's or the person's language at that moment (the renderers are at the
  end of this module);
* :meth:`~InsightsService.export_aggregates` is the Secretariat's export (the
  published figures); :func:`write_answers` the full answer file for admins,
  audited (per-round pseudonyms, times to the day).

A closed round's data are read from its snapshot once and kept (a few rounds at
a time): a thousand results messages cost one read.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from bot.insights.exports import aggregates_csv, audit_answers_export, write_answers
from bot.storage.repositories.outbox import NewDelivery
from bot.storage.repositories.rounds import Round
from surveys.aggregation import (
    CellTally,
    Change,
    ChangeKey,
    Participation,
    RoundCounts,
    RoundResult,
    compare,
    consent_question,
    summarise,
    text_questions,
)
from surveys.digest import Digest, RoundInfo, TrendPoint
from surveys.errors import (
    NoRoundYet,
    RoundCancelled,
    RoundNotOpened,
    RoundStillOpen,
    UnknownCommitment,
    UnknownRound,
)
from surveys.gap import BENEFICIARIES_MEASURE, IMPLEMENTERS_MEASURE, reality_gap
from surveys.instruments import Instrument, QuestionType, Role
from surveys.locale import LocalizedText
from surveys.plan import DemographicQuestion
from surveys.rounds import not_before, parse_quiet_hours
from surveys.snapshot import BreakdownKey, RoundSnapshot, WordsKey
from surveys.themes import Themes, find_themes, pick_quotes

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.outbox.engine import DeliveryEngine
    from bot.plans import InstrumentCache
    from bot.settings import Settings
    from bot.storage.engine import Database
    from bot.storage.repositories import Repos

log = logging.getLogger(__name__)

SUMMARY: Final = "summary"
RESULTS: Final = "results"
#: Themes read at most this many texts per commitment and round (the newest): word counts
#: settle long before, and it keeps the summary of a million answers within a second or two.
TEXT_SAMPLE: Final = 2000
TREND_ROUNDS: Final = 12
_CACHED_ROUNDS: Final = 8


@dataclass(frozen=True, slots=True)
class _RoundData:
    """What a round publishes: a closed round's, from its snapshot, never changes; an open
    round's is who took part so far, nothing of what they answered."""

    round: Round
    instrument: Instrument
    result: RoundResult
    people: Participation
    themes: Mapping[WordsKey, Themes]
    quotes: Mapping[WordsKey, tuple[str, ...]]
    breakdowns: Mapping[BreakdownKey, Mapping[str | None, CellTally]]
    previous_round: int | None
    changes: Mapping[str, Mapping[ChangeKey, Change]]


@dataclass(frozen=True, slots=True)
class Breakdowns:
    """A closed round's demographic breakdowns: the plan's questions, and per role and
    question the people per answer (see :func:`surveys.aggregation.breakdown`)."""

    demographics: Sequence[DemographicQuestion]
    cells: Mapping[BreakdownKey, Mapping[str | None, CellTally]]
    min_group_size: int


class _NoSnapshot(Exception):
    """A closed round without a snapshot: one closed before snapshots were taken."""


@dataclass(frozen=True, slots=True)
class OfficialRecorded:
    """What ``/official`` did: the new figure and the one it replaced."""

    commitment_id: str
    percent: float
    previous: float | None
    changed: bool  # False when this update had already been applied


class InsightsService:
    """Results for the Secretariat and for respondents (see the module docstring)."""

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        instruments: InstrumentCache,
        delivery: DeliveryEngine,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.instruments = instruments
        self.delivery = delivery
        self._cache: OrderedDict[int, _RoundData] = OrderedDict()
        self._locks: dict[int, asyncio.Lock] = {}
        self._publish: Callable[[], Awaitable[object]] | None = None
        self._publishing: asyncio.Task[None] | None = None
        self._again = False

    # --- publishing (the public site) ----------------------------------------------------

    def publish_with(self, publish: Callable[[], Awaitable[object]]) -> None:
        """What to run after a round closes to publish its results (the edge's site
        builder, handed over by ``pulso.bootstrap`` when ``SITE_DIR`` is set)."""
        self._publish = publish

    def published(self) -> None:
        """A round has closed (and committed): rebuild what is published, in the background,
        so the close never waits for it; closes during a build make one more build."""
        if self._publish is None:
            return
        if self._publishing is not None and not self._publishing.done():
            self._again = True
            return
        self._publishing = asyncio.get_running_loop().create_task(self._run_publish())

    async def _run_publish(self) -> None:
        assert self._publish is not None
        while True:
            self._again = False
            try:
                await self._publish()
            except Exception:  # a failed build must never touch the round; it is logged
                log.exception("publishing the results site failed")
            if not self._again:
                return

    async def wait_published(self) -> None:
        """Wait for a site build in progress, if any (tests, shutdown)."""
        while self._publishing is not None and not self._publishing.done():
            await asyncio.shield(self._publishing)

    # --- computing -----------------------------------------------------------------------

    async def _resolve(self, repos: Repos, round_id: int | None) -> Round:
        """The round asked for (default: the latest closed), if it has results."""
        if round_id is None:
            found = await repos.rounds.latest_closed()
            if found is None:
                raise NoRoundYet()
            return found
        found = await repos.rounds.get(round_id)
        if found is None:
            raise UnknownRound(str(round_id))
        if found.status == "scheduled":
            raise RoundNotOpened(round_id=round_id)
        if found.status == "cancelled":
            raise RoundCancelled(round_id=round_id)
        return found

    def _window(self, round_: Round) -> tuple[datetime, datetime]:
        """When the round was open: /feedback sent then counts with its texts."""
        start = round_.opened_at or round_.opens_at
        end = round_.closed_at or self.clock.now()
        return start, end

    async def _result(
        self,
        repos: Repos,
        round_: Round,
        counts: RoundCounts,
        min_group_size: int,
        commitment_ids: Sequence[str] | None = None,
    ) -> tuple[Instrument, RoundResult]:
        """``counts`` summarised for the round's targets, in the plan's order."""
        instrument = await self.instruments.get(round_.instrument_pk)
        order = {
            c.commitment.id: c.position
            for c in await repos.plans.commitments(include_retired=True)
        }
        targets = sorted(
            (t for t in round_.targets if commitment_ids is None or t[0] in commitment_ids),
            key=lambda target: (order.get(target[0], len(order)), target[0], target[1]),
        )
        return instrument, summarise(
            instrument, counts, targets=targets, min_group_size=min_group_size
        )

    async def take_snapshot(self, repos: Repos, round_: Round, now: datetime) -> RoundSnapshot:
        """Freeze what a closed round publishes (in the closing's own transaction).

        Everything any later output needs is counted here, once: the answers' counts,
        the people who took part, themes and consented quotes, the demographic
        breakdowns. Afterwards no output of the round reads the answer tables again
        (see :mod:`surveys.snapshot` and ``docs/privacy.md``). Taking it twice keeps
        the first.
        """
        stored = await repos.insights.snapshot(round_.id)
        if stored is not None:
            return RoundSnapshot.from_json(stored)
        size = self.settings.min_group_size
        instrument = await self.instruments.get(round_.instrument_pk)
        multi = [q.id for q in instrument.questions if q.type is QuestionType.MULTI]
        counts = await repos.insights.round_counts(
            round_.id, multi_questions=multi, window=self._window(round_)
        )
        _, result = await self._result(repos, round_, counts, size)
        texts = [q.id for q in text_questions(instrument)]
        consent = consent_question(instrument)
        themes: dict[WordsKey, Themes] = {}
        quotes: dict[WordsKey, tuple[str, ...]] = {}
        for commitment in result.commitments:
            for role in commitment.groups:
                key = (commitment.commitment_id, role)
                sample = await repos.insights.texts(
                    round_.id,
                    commitment.commitment_id,
                    question_ids=texts,
                    consent_question=consent.id if consent else None,
                    window=self._window(round_),
                    limit=TEXT_SAMPLE,
                    role=role.value,
                )
                themes[key] = find_themes(sample.texts, min_group_size=size)
                quotes[key] = pick_quotes(sample.quotable, themes[key], min_group_size=size)
        snapshot = RoundSnapshot(
            min_group_size=size,
            counts=counts,
            people=await repos.insights.people(round_.id),
            themes=themes,
            quotes=quotes,
            breakdowns=await self._breakdown_cells(repos, round_.id, result),
        )
        await repos.insights.save_snapshot(round_.id, snapshot.to_json(), now)
        return snapshot

    async def _breakdown_cells(
        self, repos: Repos, round_id: int, result: RoundResult
    ) -> dict[BreakdownKey, dict[str | None, CellTally]]:
        """Each role's people per demographic answer, with the role's side of the gap.

        The side of the gap pools only the commitments whose own figure for the role is
        shown: each commitment's figure is published beside the table, so one left out
        there but pooled here could be subtracted back out of the table's cells.
        """
        plan = await repos.plans.plan()
        if plan is None:
            return {}
        cells: dict[BreakdownKey, dict[str | None, CellTally]] = {}
        for role, measure in (
            (Role.BENEFICIARY, BENEFICIARIES_MEASURE),
            (Role.IMPLEMENTER, IMPLEMENTERS_MEASURE),
        ):
            if not any(role in c.groups for c in result.commitments):
                continue
            measured = [
                q.id
                for q in result.instrument.for_role(role)
                if q.measure is measure and q.is_scale
            ]
            shown = [
                c.commitment_id for c in result.commitments if c.measure(measure, role).mean.shown
            ]
            for question in plan.demographics:
                cells[(role, question.id)] = await repos.insights.demographic_cells(
                    round_id,
                    role=role.value,
                    demographic=question.id,
                    measure_questions=measured,
                    measured_commitments=shown,
                )
        return cells

    async def _round_data(self, repos: Repos, round_: Round) -> _RoundData:
        """A round's data: from its snapshot when closed; participation only when open."""
        if round_.status != "closed":
            counts = RoundCounts(participation=await repos.insights.participation(round_.id))
            size = self.settings.min_group_size
            instrument, result = await self._result(repos, round_, counts, size)
            people = await repos.insights.people(round_.id)
            return _RoundData(round_, instrument, result, people, {}, {}, {}, None, {})
        stored = await repos.insights.snapshot(round_.id)
        if stored is None:
            raise _NoSnapshot()
        snapshot = RoundSnapshot.from_json(stored)
        instrument, result = await self._result(
            repos, round_, snapshot.counts, snapshot.min_group_size
        )
        previous_id = await repos.insights.previous_round(round_.id)
        changes: dict[str, Mapping[ChangeKey, Change]] = {}
        if previous_id is not None:
            before = (await self._data(previous_id)).result
            for commitment in result.commitments:
                changes[commitment.commitment_id] = compare(
                    commitment, before.commitment(commitment.commitment_id)
                )
        return _RoundData(
            round_,
            instrument,
            result,
            snapshot.people,
            snapshot.themes,
            snapshot.quotes,
            snapshot.breakdowns,
            previous_id,
            changes,
        )

    async def _data(self, round_id: int | None) -> _RoundData:
        """A round's figures; a closed round's come from its snapshot and are kept."""
        async with self.db.read() as repos:
            round_ = await self._resolve(repos, round_id)
            if round_.status != "closed":  # only who took part, never what they said
                return await self._round_data(repos, round_)
        cached = self._cache.get(round_.id)
        if cached is not None:
            self._cache.move_to_end(round_.id)
            return cached
        # Many results messages of one round render at once: read it once, not per message.
        lock = self._locks.setdefault(round_.id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(round_.id)
            if cached is not None:
                return cached
            try:
                async with self.db.read() as repos:
                    data = await self._round_data(repos, round_)
            except _NoSnapshot:
                # A round closed before snapshots existed: freeze it now, once.
                async with self.db.write() as repos:
                    await self.take_snapshot(repos, round_, self.clock.now())
                async with self.db.read() as repos:
                    data = await self._round_data(repos, round_)
            self._cache[round_.id] = data
            while len(self._cache) > _CACHED_ROUNDS:
                evicted, _ = self._cache.popitem(last=False)
                self._locks.pop(evicted, None)
        return data

    async def _closed(self, round_id: int | None) -> _RoundData:
        """A round whose answers may be shown: closed (an open one raises)."""
        data = await self._data(round_id)
        if data.round.status != "closed":
            raise RoundStillOpen(round_id=data.round.id)
        return data

    async def digest(self, round_id: int | None = None) -> Digest:
        """Everything a round's summary shows (default: the latest closed round)."""
        return await self._digest(await self._data(round_id))

    async def _digest(self, data: _RoundData) -> Digest:
        async with self.db.read() as repos:
            official = await repos.plans.official_figures()
            stored = await repos.plans.commitments(include_retired=True)
        in_round = {c.commitment_id for c in data.result.commitments}
        commitment_ids = [
            s.commitment.id for s in stored if not s.retired or s.commitment.id in in_round
        ]
        gap = reality_gap(
            data.result,
            commitment_ids,
            {cid: figure.percent for cid, figure in official.items()},
            threshold=self.settings.gap_threshold_points,
        )
        return Digest(
            info=self._info(data.round, data.instrument),
            result=data.result,
            titles={s.commitment.id: s.commitment.title for s in stored},
            gap=gap,
            themes=data.themes,
            quotes=data.quotes,
            changes=data.changes,
            previous_round=data.previous_round,
            threshold=self.settings.gap_threshold_points,
            people=data.people,
        )

    def _info(self, round_: Round, instrument: Instrument) -> RoundInfo:
        tz = self.settings.tz
        if round_.status == "closed" and round_.closed_at is not None:
            when = round_.closed_at.astimezone(tz)
        else:
            when = self.clock.now().astimezone(tz)
        return RoundInfo(round_.id, instrument.title, round_.status, when)

    async def closed_digest(self, round_id: int | None = None) -> Digest:
        """A closed round's digest (default: the latest closed); an open one raises
        :class:`RoundStillOpen`: what people answered is published when it closes."""
        return await self._digest(await self._closed(round_id))

    async def require_commitment(self, commitment_id: str) -> LocalizedText:
        """The commitment's title; :class:`UnknownCommitment` when there is none."""
        async with self.db.read() as repos:
            found = await repos.plans.commitment(commitment_id)
        if found is None:
            raise UnknownCommitment(commitment_id)
        return found.title

    async def official_percent(self, commitment_id: str) -> float | None:
        """The officially reported completion of a commitment, if recorded."""
        async with self.db.read() as repos:
            official = (await repos.plans.official_figures()).get(commitment_id)
        return official.percent if official else None

    async def breakdowns(self, round_id: int) -> Breakdowns:
        """A closed round's demographic breakdowns, as its snapshot holds them."""
        data = await self._closed(round_id)
        async with self.db.read() as repos:
            plan = await repos.plans.plan()
        return Breakdowns(
            demographics=tuple(plan.demographics) if plan else (),
            cells=data.breakdowns,
            min_group_size=data.result.min_group_size,
        )

    async def latest_measuring_gap(self) -> int | None:
        """The latest closed round whose survey asked beneficiaries about change."""
        async with self.db.read() as repos:
            recent = await repos.rounds.recent(["closed"], limit=50)
        for round_ in recent:
            instrument = await self.instruments.get(round_.instrument_pk)
            if any(
                q.measure is BENEFICIARIES_MEASURE and Role.BENEFICIARY in q.roles
                for q in instrument.questions
            ):
                return round_.id
        return None

    async def trend_points(self, commitment_id: str) -> tuple[LocalizedText, list[TrendPoint]]:
        """A commitment's results in its last closed rounds, oldest first."""
        async with self.db.read() as repos:
            commitment = await repos.plans.commitment(commitment_id)
            if commitment is None:
                raise UnknownCommitment(commitment_id)
            round_ids = await repos.insights.closed_rounds_of(commitment_id, TREND_ROUNDS)
        points: list[TrendPoint] = []
        for round_id in round_ids:
            data = await self._data(round_id)  # each from its snapshot, as it was published
            found = data.result.commitment(commitment_id)
            if found is not None:
                points.append(
                    TrendPoint(
                        self._info(data.round, data.instrument),
                        found,
                        data.result.min_group_size,
                    )
                )
        return commitment.title, points

    # --- posting when a round closes ------------------------------------------------------

    async def on_round_closed(self, round_id: int) -> int:
        """Queue the summary and results of a round that closed earlier (a repair tool:
        closing queues them itself, in its own transaction). Safe to repeat; returns how
        many messages were newly queued."""
        async with self.db.write() as repos:
            round_ = await repos.rounds.get(round_id)
            if round_ is None or round_.status != "closed":
                return 0
            queued = await self.queue_closing_messages(repos, round_, self.clock.now())
        self.delivery.wake()
        return queued

    async def queue_closing_messages(self, repos: Repos, round_: Round, now: datetime) -> int:
        """In the closing's own transaction: the summary for every Secretariat chat and,
        unless the round keeps them to itself, each respondent's results.

        Being part of the closing's commit is what makes them impossible to lose: a
        crash either undoes the closing too, or leaves both done. Messages are
        rendered when sent, so this only writes outbox rows (cheap).
        """
        deliveries = [
            NewDelivery(
                dedupe_key=f"r{round_.id}:c{chat_id}:{SUMMARY}",
                kind=SUMMARY,
                chat_id=chat_id,
                not_before=now,
                round_id=round_.id,
            )
            for chat_id in self.settings.secretariat_chat_ids
        ]
        if round_.send_results:
            quiet = parse_quiet_hours(round_.quiet_hours or self.settings.quiet_hours)
            # People hear back in the morning; the Secretariat at once.
            at = not_before(now, quiet, self.settings.tz)
            deliveries += [
                NewDelivery(
                    dedupe_key=f"r{round_.id}:p{r.participant_id}:{r.commitment_id}:{RESULTS}",
                    kind=RESULTS,
                    chat_id=r.chat_id,
                    not_before=at,
                    round_id=round_.id,
                    participant_id=r.participant_id,
                    payload={"commitment_id": r.commitment_id},
                )
                for r in await repos.insights.respondents(round_.id)
            ]
        queued = await repos.outbox.enqueue(deliveries, now)
        log.info("round %d: %d summaries and results queued", round_.id, queued)
        return queued

    # --- official figures ----------------------------------------------------------------

    async def record_official(
        self, *, actor: int, update_id: int | None, commitment_id: str, percent: float
    ) -> OfficialRecorded:
        """``/official``: record a commitment's officially reported completion (audited).

        Idempotent per update: a redelivered command records nothing more.
        """
        now = self.clock.now()
        async with self.db.write() as repos:
            figures = await repos.plans.official_figures()
            previous = figures.get(commitment_id)
            if update_id is not None and not await repos.updates.claim(update_id, now):
                current = previous.percent if previous else percent
                return OfficialRecorded(commitment_id, current, None, changed=False)
            if await repos.plans.commitment(commitment_id) is None:
                raise UnknownCommitment(commitment_id)
            await repos.plans.record_official(
                commitment_id,
                percent=percent,
                source="/official",
                as_of=now.astimezone(self.settings.tz).date(),
                recorded_by=actor,
                now=now,
            )
            await repos.audit.record(
                actor,
                "official",
                {
                    "commitment": commitment_id,
                    "percent": percent,
                    "previous": previous.percent if previous else None,
                },
                now,
            )
        return OfficialRecorded(
            commitment_id, percent, previous.percent if previous else None, changed=True
        )

    # --- exports -------------------------------------------------------------------------

    async def export_aggregates(self, round_id: int | None = None) -> tuple[int, bytes]:
        """``/export``: a closed round's published figures (default: the latest closed) as
        a CSV file: the same figures, suppressed the same way, as the summary.

        UTF-8 with a byte-order mark, so spreadsheet programs show accents right.
        """
        digest = await self.closed_digest(round_id)
        return digest.info.round_id, ("\ufeff" + aggregates_csv(digest)).encode("utf-8")

    async def export_answers(
        self, *, actor: int | None, round_id: int, exact_times: bool = False
    ) -> tuple[int, bytes]:
        """The full answer file of a closed round, for an admin (audited): CSV, one row per
        answer, per-round pseudonyms, times to the day unless ``exact_times``."""
        secret = self.settings.require_pseudonym_secret()
        data = await self._closed(round_id)
        buffer = io.StringIO()
        count = await write_answers(
            self.db,
            buffer,
            secret=secret,
            round_id=data.round.id,
            fmt="csv",
            exact_times=exact_times,
        )
        await audit_answers_export(
            self.db,
            actor=actor,
            round_id=data.round.id,
            rows=count,
            exact_times=exact_times,
            now=self.clock.now(),
        )
        return data.round.id, ("\ufeff" + buffer.getvalue()).encode("utf-8")
