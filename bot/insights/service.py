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
import csv
import hashlib
import hmac
import html
import io
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, TextIO

from bot.i18n import Locale, as_locale
from bot.outbox.outgoing import Outgoing, renders
from bot.storage.repositories.insights import ExportRow
from bot.storage.repositories.outbox import NewDelivery
from bot.storage.repositories.rounds import Round
from handlers import charts
from handlers.texts.results import (
    Digest,
    RoundInfo,
    TrendPoint,
    as_plain_text,
    commitment_sections,
    gap_sections,
    progress_sections,
    results_message,
    split_messages,
    summary_sections,
    trend_sections,
    whole,
)
from surveys.aggregation import (
    LABELS,
    NUMERIC_MEASURES,
    CellTally,
    Change,
    Figure,
    NoRoundYet,
    Participation,
    RoundCancelled,
    RoundCounts,
    RoundNotOpened,
    RoundResult,
    RoundStillOpen,
    breakdown,
    compare,
    consent_question,
    summarise,
    text_questions,
)
from surveys.errors import UnknownCommitment
from surveys.gap import BENEFICIARIES_MEASURE, IMPLEMENTERS_MEASURE, reality_gap
from surveys.instruments import MEASURE_LABELS, Instrument, Measure, QuestionType, Role
from surveys.locale import LocalizedText
from surveys.rounds import UnknownRound, not_before, parse_quiet_hours
from surveys.snapshot import BreakdownKey, RoundSnapshot
from surveys.themes import Themes, find_themes, pick_quotes

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.engine import Database
    from bot.storage.repositories import Repos
    from bot.storage.repositories.outbox import OutboxItem

log = logging.getLogger(__name__)

SUMMARY: Final = "summary"
RESULTS: Final = "results"
#: Themes read at most this many texts per commitment and round (the newest): word counts
#: settle long before, and it keeps the summary of a million answers within a second or two.
TEXT_SAMPLE: Final = 2000
TREND_ROUNDS: Final = 12
_CACHED_ROUNDS: Final = 8

ExportFormat = Literal["csv", "json"]
EXPORT_COLUMNS: Final = (
    "round",
    "instrument",
    "commitment",
    "role",
    "pseudonym",
    "question",
    "value",
    "score",
    "text",
    "skipped",
    "sentiment",
    "sentiment_score",
    "text_language",
    "answered_at",
)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Messages (Telegram HTML, each under 4,096 characters) and charts, in one locale."""

    messages: list[str]
    charts: list[charts.Chart] = field(default_factory=list)

    def outgoing(self) -> list[Outgoing]:
        """Texts first, then one photo per chart with its caption."""
        return [Outgoing(text) for text in self.messages] + [
            Outgoing(chart.caption, photo=chart.png) for chart in self.charts
        ]

    def plain_text(self) -> str:
        """The messages as a terminal shows them (tags dropped, entities decoded)."""
        return "\n\n".join(as_plain_text(message) for message in self.messages)


@dataclass(frozen=True, slots=True)
class _RoundData:
    """What a round publishes: a closed round's, from its snapshot, never changes; an open
    round's is who took part so far, nothing of what they answered."""

    round: Round
    instrument: Instrument
    result: RoundResult
    people: Participation
    themes: Mapping[str, Themes]
    quotes: Mapping[str, tuple[str, ...]]
    breakdowns: Mapping[BreakdownKey, Mapping[str | None, CellTally]]
    previous_round: int | None
    changes: Mapping[str, Mapping[Measure | Literal["sentiment"], Change]]


class _NoSnapshot(Exception):
    """A closed round without a snapshot: one closed before snapshots were taken."""


@dataclass(frozen=True, slots=True)
class OfficialRecorded:
    """What ``/official`` did: the new figure and the one it replaced."""

    commitment_id: str
    percent: float
    previous: float | None
    changed: bool  # False when this update had already been applied


def pseudonym(secret: bytes, round_id: int, telegram_user_id: int | None) -> str:
    """HMAC-SHA256 of the round and the Telegram user id, hex; empty for answers unlinked
    by /forget. A new pseudonym every round: two files cannot be joined into one
    person's history across rounds."""
    if telegram_user_id is None:
        return ""
    message = f"{round_id}:{telegram_user_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class InsightsService:
    """Results for the Secretariat and for respondents (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._cache: OrderedDict[int, _RoundData] = OrderedDict()
        self._locks: dict[int, asyncio.Lock] = {}

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
        end = round_.closed_at or self.services.clock.now()
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
        instrument = await self.services.instruments.get(round_.instrument_pk)
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
        size = self.services.settings.min_group_size
        instrument = await self.services.instruments.get(round_.instrument_pk)
        multi = [q.id for q in instrument.questions if q.type is QuestionType.MULTI]
        counts = await repos.insights.round_counts(
            round_.id, multi_questions=multi, window=self._window(round_)
        )
        _, result = await self._result(repos, round_, counts, size)
        texts = [q.id for q in text_questions(instrument)]
        consent = consent_question(instrument)
        themes: dict[str, Themes] = {}
        quotes: dict[str, tuple[str, ...]] = {}
        for commitment in result.commitments:
            cid = commitment.commitment_id
            sample = await repos.insights.texts(
                round_.id,
                cid,
                question_ids=texts,
                consent_question=consent.id if consent else None,
                window=self._window(round_),
                limit=TEXT_SAMPLE,
            )
            themes[cid] = find_themes(sample.texts, min_group_size=size)
            quotes[cid] = pick_quotes(sample.quotable, themes[cid], min_group_size=size)
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
            size = self.services.settings.min_group_size
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
        changes: dict[str, Mapping[Measure | Literal["sentiment"], Change]] = {}
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
        async with self.services.db.read() as repos:
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
                async with self.services.db.read() as repos:
                    data = await self._round_data(repos, round_)
            except _NoSnapshot:
                # A round closed before snapshots existed: freeze it now, once.
                async with self.services.db.write() as repos:
                    await self.take_snapshot(repos, round_, self.services.clock.now())
                async with self.services.db.read() as repos:
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
        async with self.services.db.read() as repos:
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
            threshold=self.services.settings.gap_threshold_points,
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
            threshold=self.services.settings.gap_threshold_points,
            people=data.people,
        )

    def _info(self, round_: Round, instrument: Instrument) -> RoundInfo:
        tz = self.services.settings.tz
        if round_.status == "closed" and round_.closed_at is not None:
            date = round_.closed_at.astimezone(tz).strftime("%Y-%m-%d")
        else:
            date = self.services.clock.now().astimezone(tz).strftime("%Y-%m-%d %H:%M")
        return RoundInfo(round_.id, instrument.title, round_.status, date)

    # --- rendering -----------------------------------------------------------------------

    def _t(self, locale: Locale) -> _Bound:
        return _Bound(self.services, locale)

    async def summary(
        self,
        locale: Locale,
        round_id: int | None = None,
        commitment_id: str | None = None,
        *,
        with_charts: bool = True,
    ) -> Rendered:
        """``/summary``: a round (default: the latest closed) or one commitment of it;
        ``with_charts=False`` for the texts alone."""
        if commitment_id is not None:
            async with self.services.db.read() as repos:
                if await repos.plans.commitment(commitment_id) is None:
                    raise UnknownCommitment(commitment_id)
        data = await self._data(round_id)
        t = self._t(locale)
        if data.round.status != "closed":
            if commitment_id is not None:
                raise RoundStillOpen(round_id=data.round.id)
            # Who has taken part so far, and nothing of what they answered.
            digest = await self._digest(data)
            return Rendered(split_messages(progress_sections(t, digest, locale)))
        digest = await self._digest(data)
        if commitment_id is not None:
            return Rendered(split_messages(commitment_sections(t, digest, commitment_id, locale)))
        messages = split_messages(summary_sections(t, digest, locale))
        if not with_charts:
            return Rendered(messages)
        return Rendered(messages, await self._round_charts(digest, locale))

    async def _round_charts(self, digest: Digest, locale: Locale) -> list[charts.Chart]:
        t = self._t(locale)
        titles = {cid: title.get(locale) for cid, title in digest.titles.items()}
        size = digest.min_group_size
        made: list[charts.Chart] = []
        if any(row.in_round and row.measured for row in digest.gap):
            png = await asyncio.to_thread(
                charts.gap_chart,
                digest.gap,
                titles,
                label=t.plain,
                min_group_size=size,
                round_id=digest.info.round_id,
            )
            made.append(
                charts.Chart(
                    "gap", png, t("insights.chart.gap.caption", round=digest.info.round_id)
                )
            )
        tones = [(c.commitment_id, c.tone) for c in digest.result.commitments]
        if any(not tone.index.empty for _, tone in tones):
            png = await asyncio.to_thread(
                charts.tone_chart,
                tones,
                titles,
                label=t.plain,
                min_group_size=size,
                round_id=digest.info.round_id,
            )
            made.append(
                charts.Chart(
                    "tone", png, t("insights.chart.tone.caption", round=digest.info.round_id)
                )
            )
        return made

    async def gap(self, locale: Locale, round_id: int | None = None) -> Rendered:
        """``/gap``: every commitment's gap, flagged first, and the gap chart."""
        if round_id is None:
            round_id = await self._latest_measuring_gap()
        digest = await self._digest(await self._closed(round_id))
        messages = split_messages(gap_sections(self._t(locale), digest, locale))
        made = [c for c in await self._round_charts(digest, locale) if c.name == "gap"]
        return Rendered(messages, made)

    async def _latest_measuring_gap(self) -> int | None:
        """The latest closed round whose survey asked beneficiaries about change."""
        async with self.services.db.read() as repos:
            recent = await repos.rounds.recent(["closed"], limit=50)
        for round_ in recent:
            instrument = await self.services.instruments.get(round_.instrument_pk)
            if any(
                q.measure is BENEFICIARIES_MEASURE and Role.BENEFICIARY in q.roles
                for q in instrument.questions
            ):
                return round_.id
        return None

    async def trend_points(self, commitment_id: str) -> tuple[LocalizedText, list[TrendPoint]]:
        """A commitment's results in its last closed rounds, oldest first."""
        async with self.services.db.read() as repos:
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

    async def trend(self, locale: Locale, commitment_id: str) -> Rendered:
        """``/trend``: a commitment round by round, and the trend chart."""
        title, points = await self.trend_points(commitment_id)
        t = self._t(locale)
        messages = split_messages(trend_sections(t, commitment_id, title, points, locale))
        if not points:
            return Rendered(messages)
        async with self.services.db.read() as repos:
            official = (await repos.plans.official_figures()).get(commitment_id)
        png = await asyncio.to_thread(
            charts.trend_chart,
            points,
            commitment_id=commitment_id,
            title=title.get(locale),
            official=official.percent if official else None,
            label=t.plain,
        )
        caption = t("insights.chart.trend.caption", id=commitment_id)
        return Rendered(messages, [charts.Chart("trend", png, caption)])

    async def results(self, round_id: int, commitment_id: str, locale: Locale) -> str | None:
        """The results message for one respondent's commitment (None: nothing to say)."""
        data = await self._closed(round_id)
        commitment = data.result.commitment(commitment_id)
        if commitment is None:
            return None
        async with self.services.db.read() as repos:
            title = await repos.plans.commitment(commitment_id)
        return results_message(
            self._t(locale),
            self._info(data.round, data.instrument),
            commitment,
            title.title if title else None,
            locale,
            data.result.min_group_size,
        )

    # --- posting when a round closes ------------------------------------------------------

    async def on_round_closed(self, round_id: int) -> int:
        """Queue the summary and results of a round that closed earlier (a repair tool:
        closing queues them itself, in its own transaction). Safe to repeat; returns how
        many messages were newly queued."""
        async with self.services.db.write() as repos:
            round_ = await repos.rounds.get(round_id)
            if round_ is None or round_.status != "closed":
                return 0
            queued = await self.queue_closing_messages(repos, round_, self.services.clock.now())
        self.services.delivery.wake()
        return queued

    async def queue_closing_messages(self, repos: Repos, round_: Round, now: datetime) -> int:
        """In the closing's own transaction: the summary for every Secretariat chat and,
        unless the round keeps them to itself, each respondent's results.

        Being part of the closing's commit is what makes them impossible to lose: a
        crash either undoes the closing too, or leaves both done. Messages are
        rendered when sent, so this only writes outbox rows (cheap).
        """
        services = self.services
        deliveries = [
            NewDelivery(
                dedupe_key=f"r{round_.id}:c{chat_id}:{SUMMARY}",
                kind=SUMMARY,
                chat_id=chat_id,
                not_before=now,
                round_id=round_.id,
            )
            for chat_id in services.settings.secretariat_chat_ids
        ]
        if round_.send_results:
            quiet = parse_quiet_hours(round_.quiet_hours or services.settings.quiet_hours)
            # People hear back in the morning; the Secretariat at once.
            at = not_before(now, quiet, services.settings.tz)
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
        now = self.services.clock.now()
        async with self.services.db.write() as repos:
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
                as_of=now.astimezone(self.services.settings.tz).date(),
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
        data = await self._closed(round_id)
        digest = await self._digest(data)
        return data.round.id, ("\ufeff" + _aggregates_csv(digest)).encode("utf-8")

    async def export_answers(
        self, *, actor: int | None, round_id: int, exact_times: bool = False
    ) -> tuple[int, bytes]:
        """The full answer file of a closed round, for an admin (audited): CSV, one row per
        answer, per-round pseudonyms, times to the day unless ``exact_times``."""
        secret = self.services.settings.require_pseudonym_secret()
        data = await self._closed(round_id)
        buffer = io.StringIO()
        count = await write_answers(
            self.services.db,
            buffer,
            secret=secret,
            round_id=data.round.id,
            fmt="csv",
            exact_times=exact_times,
        )
        await audit_answers_export(
            self.services.db,
            actor=actor,
            round_id=data.round.id,
            rows=count,
            exact_times=exact_times,
            now=self.services.clock.now(),
        )
        return data.round.id, ("\ufeff" + buffer.getvalue()).encode("utf-8")

    async def report(self, round_id: int, locale: Locale) -> dict[str, bytes]:
        """``pulso report``: files by name — ``report.html``, its charts (PNG) and
        ``aggregates.csv``, every published figure with suppressed ones marked."""
        data = await self._closed(round_id)
        digest = await self._digest(data)
        rendered = await self.summary(locale, round_id)
        gap = await self.gap(locale, round_id)
        files: dict[str, bytes] = {}
        images: list[tuple[str, str]] = []
        for chart in rendered.charts:
            files[f"{chart.name}.png"] = chart.png
            images.append((f"{chart.name}.png", chart.caption))
        for commitment in digest.result.commitments:
            trend = await self.trend(locale, commitment.commitment_id)
            for chart in trend.charts:
                name = f"trend-{commitment.commitment_id}.png"
                files[name] = chart.png
                images.append((name, chart.caption))
        page = _report_html(
            self._t(locale),
            title=as_plain_text(rendered.messages[0].split("\n", 1)[0]),
            sections=[*rendered.messages, *gap.messages],
            breakdowns=await self.breakdowns(data.round.id, locale),
            images=images,
            locale=locale,
        )
        return {
            "report.html": page.encode("utf-8"),
            **files,
            "aggregates.csv": _aggregates_csv(digest).encode("utf-8"),
        }

    async def breakdowns(self, round_id: int, locale: Locale) -> list[str]:
        """HTML tables of a closed round: each role's people per demographic answer, with
        the role's side of the gap, from the snapshot, small cells suppressed (see
        :func:`surveys.aggregation.breakdown`)."""
        data = await self._closed(round_id)
        t = self._t(locale)
        size = data.result.min_group_size
        async with self.services.db.read() as repos:
            plan = await repos.plans.plan()
        if plan is None:
            return []
        questions = {q.id: q for q in plan.demographics}
        tables: list[str] = []
        for (role, demographic), cells in data.breakdowns.items():
            question = questions.get(demographic)
            if question is None:
                continue
            measure = BENEFICIARIES_MEASURE if role is Role.BENEFICIARY else IMPLEMENTERS_MEASURE
            # The plan's order, then "did not say"; options nobody chose are left out.
            codes: list[str | None] = [o.code for o in question.options]
            ordered = {code: cells[code] for code in [*codes, None] if code in cells}
            labels: dict[str | None, str] = {o.code: o.label.get(locale) for o in question.options}
            labels[None] = t.plain("insights.report.not_said")
            heading = f"{t.plain(f'insights.role.{role.value}')} · {question.text.get(locale)}"
            published = breakdown(ordered, min_group_size=size)
            if ordered and not published:  # the whole group is too small to break down
                tables.append(
                    f"<h3>{html.escape(heading)}</h3>\n"
                    f"<p>{html.escape(t.plain('insights.value.suppressed', n=size))}</p>"
                )
                continue
            tables.append(
                _table(
                    heading,
                    (
                        t.plain("insights.report.answer"),
                        t.plain("insights.report.respondents"),
                        t.plain(
                            "insights.report.measure",
                            measure=MEASURE_LABELS[measure].get(locale),
                        ),
                    ),
                    [
                        (
                            labels.get(cell.code, str(cell.code)),
                            _count_text(t, cell.respondents, size),
                            _index_text(t, cell.mean, size),
                        )
                        for cell in published
                    ],
                )
            )
        return tables


def _table(heading: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table of plain texts (every cell escaped here)."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<h3>{html.escape(heading)}</h3>\n<table><tr>{head}</tr>{body}</table>"


class _Bound:
    """The translator bound to one locale, as the results texts and the charts take it."""

    def __init__(self, services: Services, locale: Locale) -> None:
        self._t = services.t
        self._locale = locale

    def __call__(self, key: str, /, **params: object) -> str:
        return self._t(key, self._locale, **params)

    def plain(self, key: str, /, **params: object) -> str:
        return as_plain_text(self._t(key, self._locale, **params))


def _count_text(t: _Bound, figure: Figure, min_group_size: int) -> str:
    if figure.value is not None:
        return str(whole(figure.value))
    if figure.suppressed:
        return t.plain("insights.value.suppressed", n=min_group_size)
    return "0"


def _index_text(t: _Bound, figure: Figure, min_group_size: int) -> str:
    if figure.value is not None:
        return t.plain("insights.value.index", value=whole(figure.value))
    if figure.suppressed:
        return t.plain("insights.value.suppressed", n=min_group_size)
    return t.plain("insights.value.none")


def _report_html(
    t: _Bound,
    *,
    title: str,
    sections: Sequence[str],
    breakdowns: Sequence[str],
    images: Sequence[tuple[str, str]],
    locale: Locale,
) -> str:
    """A self-contained page: the summary as sent, the gap, the breakdowns, the charts.

    The sections are the Telegram HTML (every value already escaped), which is valid HTML.
    """
    body = "\n".join(f"<section><p>{s.replace(chr(10), '<br>')}</p></section>" for s in sections)
    figures = "\n".join(
        f'<figure><img src="{html.escape(name)}" alt="{html.escape(as_plain_text(caption))}">'
        f"<figcaption>{caption}</figcaption></figure>"
        for name, caption in images
    )
    who = ""
    if breakdowns:
        who = f"<h2>{html.escape(t.plain('insights.report.who'))}</h2>\n" + "\n".join(breakdowns)
    return f"""<!DOCTYPE html>
<html lang="{locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }}
section {{ border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }}
img {{ max-width: 100%; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{body}
{who}
<h2>{html.escape(t.plain("insights.report.charts"))}</h2>
{figures}
</body>
</html>
"""


def _aggregates_csv(digest: Digest) -> str:
    """Every published figure as a row; suppressed ones have no value and say so."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("round", "commitment", "role", "figure", "value", "people", "status"))

    def row(commitment_id: str, role: str, name: str, figure: Figure) -> None:
        status = "shown" if figure.shown else ("suppressed" if figure.suppressed else "empty")
        writer.writerow(
            (
                digest.info.round_id,
                commitment_id,
                role,
                name,
                f"{figure.value:.2f}" if figure.value is not None else "",
                figure.n if figure.shown else "",
                status,
            )
        )

    for commitment in digest.result.commitments:
        cid = commitment.commitment_id
        for role_name, measures, tone, sentiment in [
            ("all", commitment.measures, commitment.tone, commitment.sentiment),
            *[(g.role.value, g.measures, g.tone, g.sentiment) for g in commitment.groups.values()],
        ]:
            for measure in NUMERIC_MEASURES:
                if measure in measures:
                    row(cid, role_name, f"{measure.value}_index", measures[measure].mean)
                    row(cid, role_name, f"{measure.value}_median", measures[measure].median)
            for label in LABELS:
                share = tone.shares.get(label)
                row(
                    cid,
                    role_name,
                    f"tone_{label}_share",
                    Figure(share, tone.index.n) if share is not None else tone.index,
                )
            row(cid, role_name, "sentiment_index", sentiment)
    for gap in digest.gap:
        if gap.gap is not None:
            row(gap.commitment_id, "all", "gap_points", Figure(gap.gap, gap.beneficiaries.mean.n))
    return buffer.getvalue()


# --- the answers export ----------------------------------------------------------------------

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell_text(text: str | None) -> str:
    """A free text for a spreadsheet: one that starts like a formula is shown, not run."""
    if text is None:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _record(row: ExportRow, secret: bytes, *, exact_times: bool) -> dict[str, object]:
    return {
        "round": row.round_id,
        "instrument": row.instrument,
        "commitment": row.commitment_id,
        "role": row.role,
        "pseudonym": pseudonym(secret, row.round_id, row.telegram_user_id),
        "question": row.question_id,
        "value": row.value,
        "score": row.score,
        "text": row.text,
        "skipped": row.skipped,
        "sentiment": row.sentiment_label,
        "sentiment_score": row.sentiment_score,
        "text_language": row.text_language,
        # A day is enough to study a round; the minute an answer came can tell who sent it.
        "answered_at": (
            row.answered_at.isoformat() if exact_times else row.answered_at.date().isoformat()
        ),
    }


async def _rows(db: Database, round_id: int | None) -> AsyncIterator[ExportRow]:
    async with db.read() as repos:
        async for row in repos.insights.export_rows(round_id):
            yield row


async def write_answers(
    db: Database,
    out: TextIO,
    *,
    secret: bytes,
    round_id: int | None,
    fmt: ExportFormat,
    exact_times: bool = False,
) -> int:
    """Write the answers of closed rounds (one, or all) to ``out``; returns how many rows.

    The full answer file (microdata), for admins only (see ``docs/privacy.md``):
    one row per answer, one per chosen option of a multiple choice; people appear
    only as pseudonyms that differ from round to round (HMAC-SHA256 of round and
    Telegram id under ``PSEUDONYM_SECRET``), empty for answers unlinked by /forget;
    times to the day unless ``exact_times``. CSV texts that start like a formula get
    a leading apostrophe; JSON is written as it is stored. The caller audits it
    (:func:`audit_answers_export`).
    """
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        async for row in _rows(db, round_id):
            record = _record(row, secret, exact_times=exact_times)
            record["text"] = _cell_text(row.text)
            record["skipped"] = "true" if row.skipped else "false"
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
            count += 1
        return count
    out.write("[")
    async for row in _rows(db, round_id):
        out.write(
            ("\n" if count == 0 else ",\n")
            + json.dumps(_record(row, secret, exact_times=exact_times), ensure_ascii=False)
        )
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


async def audit_answers_export(
    db: Database,
    *,
    actor: int | None,
    round_id: int | None,
    rows: int,
    exact_times: bool,
    now: datetime,
) -> None:
    """Record that the full answer file left the system: who (None: the command line),
    which round (None: every closed round), how many rows, with exact times or not."""
    async with db.write() as repos:
        await repos.audit.record(
            actor,
            "export_answers",
            {"round": round_id, "rows": rows, "exact_times": exact_times},
            now,
        )


# --- outbox renderers ------------------------------------------------------------------------


@renders(SUMMARY)
async def render_summary(services: Services, item: OutboxItem) -> list[Outgoing] | None:
    """A closed round's summary and charts, in the Secretariat chat's language."""
    if item.round_id is None:
        return None
    async with services.db.read() as repos:
        language = await repos.chats.language(item.chat_id)
    locale = as_locale(language, services.settings.default_language)
    try:
        rendered = await services.insights.summary(locale, item.round_id)
    except (UnknownRound, RoundCancelled, RoundNotOpened):
        return None
    return rendered.outgoing()


@renders(RESULTS)
async def render_results(services: Services, item: OutboxItem) -> Outgoing | None:
    """A respondent's results for their commitment, in their language (None if they left)."""
    commitment_id = item.payload.get("commitment_id")
    if item.round_id is None or item.participant_id is None or not commitment_id:
        return None
    async with services.db.read() as repos:
        participant = await repos.participants.get(item.participant_id)
    if participant is None or participant.status != "active":
        return None
    locale = as_locale(participant.language, services.settings.default_language)
    try:
        text = await services.insights.results(item.round_id, str(commitment_id), locale)
    except (UnknownRound, RoundCancelled, RoundNotOpened):
        return None
    return Outgoing(text) if text else None
