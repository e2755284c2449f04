"""Results as people see them: Telegram messages, PNG charts and the HTML report (drawn
with the results site's templates, :func:`handlers.site.report_page`).

The runtime computes what a round publishes (:class:`bot.insights.service.InsightsService`:
digests from the snapshot taken at close, trends, breakdowns); this module draws it
in a locale, with :mod:`handlers.texts.results` for the words and
:mod:`handlers.charts` for the pictures. It is what ``/summary``, ``/gap`` and
``/trend`` reply, what the outbox sends when a round closes
(:mod:`handlers.outbox`), what ``pulso report`` writes and what ``pulso demo``
prints — "the summary of round 7 in Spanish" is one call::

    rendered = await ResultsView(services).summary("es", round_id=7)
    print(rendered.plain_text()); rendered.charts[0].png

Every figure passes through the privacy model first (``docs/privacy.md``): an
open round shows who took part and nothing else.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.i18n import Locale, Translator, local_date
from bot.insights.site import replies_csv
from bot.outbox.outgoing import Outgoing
from handlers import charts
from handlers.texts.accountability import chart_notes, responsiveness_lines, trend_marks
from handlers.texts.results import (
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
from surveys.aggregation import Figure, breakdown
from surveys.digest import Digest
from surveys.errors import RoundStillOpen
from surveys.gap import BENEFICIARIES_MEASURE, IMPLEMENTERS_MEASURE
from surveys.instruments import MEASURE_LABELS, Role

if TYPE_CHECKING:
    from bot.services import Services


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


class ResultsView:
    """A round's results drawn for people (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.insights = services.insights
        self.accountability = services.accountability
        self.tz = services.settings.tz
        self.t = services.t

    def _t(self, locale: Locale) -> _Bound:
        return _Bound(self.t, locale)

    async def summary(
        self,
        locale: Locale,
        round_id: int | None = None,
        commitment_id: str | None = None,
        *,
        with_charts: bool = True,
    ) -> Rendered:
        """``/summary``: a round (default: the latest closed) or one commitment of it;
        ``with_charts=False`` for the texts alone. An open round: who took part."""
        if commitment_id is not None:
            await self.insights.require_commitment(commitment_id)
        digest = await self.insights.digest(round_id)
        t = self._t(locale)
        if digest.info.status != "closed":
            if commitment_id is not None:
                raise RoundStillOpen(round_id=digest.info.round_id)
            return Rendered(split_messages(progress_sections(t, digest, locale)))
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
            found = await self.accountability.responsiveness(
                [row.commitment_id for row in digest.gap], up_to_round=digest.info.round_id
            )
            png = await asyncio.to_thread(
                charts.gap_chart,
                digest.gap,
                titles,
                label=t.plain,
                min_group_size=size,
                round_id=digest.info.round_id,
                answers=chart_notes(self.t, locale, found),
            )
            made.append(
                charts.Chart(
                    "gap", png, t("insights.chart.gap.caption", round=digest.info.round_id)
                )
            )
        tones: list[charts.ToneRow] = [
            (c.commitment_id, tuple((g.role, g.tone) for g in c.roles()))
            for c in digest.result.commitments
        ]
        if any(not tone.index.empty for _, roles in tones for _, tone in roles):
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
            round_id = await self.insights.latest_measuring_gap()
        digest = await self.insights.closed_digest(round_id)
        sections = gap_sections(self._t(locale), digest, locale)
        # Beside the gap: did the government answer each round, and keep its promises?
        found = await self.accountability.responsiveness(
            [row.commitment_id for row in digest.gap], up_to_round=digest.info.round_id
        )
        answered = responsiveness_lines(self.t, locale, found)
        if answered:
            sections = [*sections, "\n".join(answered)]
        messages = split_messages(sections)
        made = [c for c in await self._round_charts(digest, locale) if c.name == "gap"]
        return Rendered(messages, made)

    async def trend(self, locale: Locale, commitment_id: str) -> Rendered:
        """``/trend``: a commitment round by round, and the trend chart."""
        title, points = await self.insights.trend_points(commitment_id)
        t = self._t(locale)
        sections = trend_sections(t, commitment_id, title, points, locale)
        # Round by round, did the government answer, and keep its promises?
        responsiveness = await self.accountability.responsiveness([commitment_id])
        answered = responsiveness_lines(self.t, locale, responsiveness)
        if answered:
            sections = [*sections, "\n".join(answered)]
        messages = split_messages(sections)
        if not points:
            return Rendered(messages)
        png = await asyncio.to_thread(
            charts.trend_chart,
            points,
            commitment_id=commitment_id,
            title=title.get(locale),
            official=await self.insights.official_percent(commitment_id),
            label=t.plain,
            dates=lambda point: local_date(point.info.when, locale),
            answers=trend_marks(self.t, locale, responsiveness.get(commitment_id, ())),
        )
        caption = t("insights.chart.trend.caption", id=commitment_id)
        return Rendered(messages, [charts.Chart("trend", png, caption)])

    async def results(self, round_id: int, commitment_id: str, locale: Locale) -> str | None:
        """The results message for one respondent's commitment (None: nothing to say)."""
        digest = await self.insights.closed_digest(round_id)
        commitment = digest.result.commitment(commitment_id)
        if commitment is None:
            return None
        return results_message(
            self._t(locale),
            digest.info,
            commitment,
            digest.titles.get(commitment_id),
            locale,
            digest.min_group_size,
        )

    async def report(self, round_id: int, locale: Locale) -> dict[str, bytes]:
        """``pulso report``: files by name — ``report.html``, its charts (PNG) and
        ``aggregates.csv``, every published figure with suppressed ones marked, and
        ``responses.csv``, the government's answers and their promises' outcomes."""
        # Here, not at the top: the site's templates bring jinja2 (11 MB), which the
        # running bot otherwise needs only when it rebuilds the site.
        from handlers.site import report_page

        digest = await self.insights.closed_digest(round_id)
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
        page = report_page(
            self.t,
            locale,
            title=as_plain_text(rendered.messages[0].split("\n", 1)[0]),
            sections=[*rendered.messages, *gap.messages],
            breakdowns=await self.breakdowns(round_id, locale),
            images=[(name, as_plain_text(caption), caption) for name, caption in images],
        )
        _, figures = await self.insights.export_aggregates(round_id)
        replies = await self.accountability.responsiveness(
            [c.commitment_id for c in digest.result.commitments], up_to_round=round_id
        )
        return {
            "report.html": page.encode("utf-8"),
            **files,
            "aggregates.csv": figures.decode("utf-8-sig").encode("utf-8"),
            # The government's answers up to this round (docs/responses.md).
            "responses.csv": replies_csv(replies, self.tz),
        }

    async def breakdowns(self, round_id: int, locale: Locale) -> list[str]:
        """HTML tables of a closed round: each role's people per demographic answer, with
        the role's side of the gap, from the snapshot, small cells suppressed (see
        :func:`surveys.aggregation.breakdown`)."""
        found = await self.insights.breakdowns(round_id)
        t = self._t(locale)
        size = found.min_group_size
        questions = {q.id: q for q in found.demographics}
        tables: list[str] = []
        for (role, demographic), cells in found.cells.items():
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

    def __init__(self, t: Translator, locale: Locale) -> None:
        self._t = t
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
