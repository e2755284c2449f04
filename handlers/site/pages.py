"""What each page of the site says, in one locale: the templates' context.

Every figure is written by :mod:`handlers.texts.results` (the bot's own
words: "0/100", "fewer than 5 answers", "no answers"), per role,
beneficiaries first, never pooled; each chart comes with the table of the
figures it draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from markupsafe import Markup

from bot.i18n import Html, Locale, Translator, local_date
from bot.insights.site import SiteData
from handlers.site.svg import Bar, Segment, Stack, grouped_bars, safe, stacked_bars
from handlers.texts.accountability import item_lines, promise_line
from handlers.texts.results import as_plain_text, delta, index, percent, whole
from surveys.aggregation import NUMERIC_MEASURES, ROLE_ORDER, Figure, GroupResult, compare
from surveys.digest import Digest
from surveys.gap import BENEFICIARIES_MEASURE, IMPLEMENTERS_MEASURE, GapRow
from surveys.instruments import MEASURE_LABELS, Measure, Role

BLUE: Final = "#0072B2"
ORANGE: Final = "#E69F00"
GREEN: Final = "#009E73"
#: Scale answers from worst to best (white text on the dark ones, dark on the light).
SCALE: Final = ("#8a1c00", "#d55e00", "#bbbbbb", "#56b4e9", "#0b4f8a")
TONE: Final = (("pos", "#006b4f", False), ("neu", "#bbbbbb", True), ("neg", "#a33b00", False))
#: The IRM question each role answers on its scale.
IRM_MEASURE: Final = {
    Role.BENEFICIARY: BENEFICIARIES_MEASURE,
    Role.IMPLEMENTER: IMPLEMENTERS_MEASURE,
}


@dataclass(frozen=True, slots=True)
class DataTable:
    caption: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Chart:
    caption: str
    svg: Markup
    table: DataTable


class Pages:
    """The context of every page in one locale."""

    def __init__(self, site: SiteData, t: Translator, locale: Locale) -> None:
        self.site = site
        self._translator = t
        self.locale = locale
        self.other: Locale = "en" if locale == "es" else "es"

    # --- words ---------------------------------------------------------------------------

    def t(self, key: str, /, **params: object) -> Markup:
        return safe(self._translator(key, self.locale, **params))

    def plain(self, key: str, /, **params: object) -> str:
        return as_plain_text(self._translator(key, self.locale, **params))

    def _index(self, figure: Figure, size: int) -> str:
        return as_plain_text(index(self.t, figure, size))

    def _percent(self, value: float | None) -> str:
        return as_plain_text(percent(self.t, value))

    def role(self, role: Role) -> str:
        return self.plain(f"insights.role.{role.value}")

    def title(self, commitment_id: str) -> str:
        found = next((c for c in self.site.commitments if c.id == commitment_id), None)
        if found is not None:
            return found.title.get(self.locale)
        for digest in self.site.rounds:
            if commitment_id in digest.titles:
                return digest.titles[commitment_id].get(self.locale)
        return commitment_id

    def _round(self, digest: Digest) -> str:
        return self.plain("insights.chart.round", round=digest.info.round_id)

    def _official(self, commitment_id: str) -> str:
        found = next((c for c in self.site.commitments if c.id == commitment_id), None)
        if found is None or found.official is None:
            return self.plain("site.official", value=self.plain("site.value.no_official"))
        value = self._percent(found.official)
        if found.official_as_of is not None:
            day = local_date_of(found.official_as_of, self.locale)
            return self.plain("site.official_as_of", value=value, date=day)
        return self.plain("site.official", value=value)

    # --- shared --------------------------------------------------------------------------

    def common(self, current: str, *, root: str, alternate: str | None) -> dict[str, Any]:
        site = self.site
        built = local_date(site.built, self.locale) if site.built else ""
        return {
            "locale": self.locale,
            "other": self.other,
            "t": self.t,
            "root": root,
            "current": current,
            "alternate": alternate,
            "body_class": "",
            "page_title": self.plain("site.brand"),
            "footer": self.plain("site.footer", date=built, n=site.min_group_size),
        }

    def _plan_name(self) -> str:
        name = self.site.plan_name
        return name.get(self.locale) if name else self.plain("site.brand")

    # --- home ----------------------------------------------------------------------------

    def home(self) -> dict[str, Any]:
        site = self.site
        context = self.common("home", root="../", alternate=f"../{self.other}/index.html")
        latest = site.rounds[-1] if site.rounds else None
        context.update(
            page_title=self.plain("site.home.title", plan=self._plan_name()),
            heading=self.plain("site.home.heading", plan=self._plan_name()),
            intro=self.plain("site.home.intro"),
            latest=(
                self.plain(
                    "site.home.latest",
                    round=latest.info.round_id,
                    date=local_date(latest.info.when, self.locale),
                )
                if latest
                else self.plain("site.home.no_rounds")
            ),
            threshold=whole(site.threshold),
            gap_legend=self._gap_legend(),
            commitments=[
                {
                    "id": c.id,
                    "title": c.title.get(self.locale),
                    "official": self._official(c.id),
                    "flagged": bool(latest and (row := latest.gap_of(c.id)) and row.flagged),
                    "gap": self.gap_chart(c.id),
                }
                for c in site.commitments
            ],
            changes=self._changes(),
            changes_intro=(
                self.plain(
                    "site.changes.intro",
                    before=site.rounds[-2].info.round_id,
                    now=site.rounds[-1].info.round_id,
                )
                if len(site.rounds) >= 2
                else ""
            ),
        )
        return context

    def _gap_legend(self) -> list[tuple[str, str]]:
        return [
            (self.plain("insights.chart.official"), BLUE),
            (self.plain("insights.chart.implementers"), ORANGE),
            (self.plain("insights.chart.beneficiaries"), GREEN),
        ]

    def gap_chart(self, commitment_id: str) -> Chart | None:
        """The commitment's gap in every round that measured it: three bars per round."""
        rows: list[tuple[Digest, GapRow]] = [
            (d, row)
            for d in self.site.rounds
            if (row := d.gap_of(commitment_id)) is not None and row.in_round and row.measured
        ]
        if not rows:
            return None
        groups = []
        table = DataTable(
            self.plain("site.gap.caption", id=commitment_id),
            (
                self.plain("site.table.round"),
                self.plain("insights.chart.official"),
                self.plain("insights.chart.implementers"),
                self.plain("insights.chart.beneficiaries"),
                self.plain("site.table.gap"),
            ),
        )
        for digest, row in rows:
            size = digest.min_group_size
            official = Figure(row.official, 1) if row.official is not None else Figure(None)
            official_text = (
                self._percent(row.official)
                if row.official is not None
                else self.plain("site.value.no_official")
            )
            implementers = (
                self._index(row.implementers.mean, size)
                if row.implementers_asked
                else self.plain("insights.gap.not_asked")
            )
            beneficiaries = self._index(row.beneficiaries.mean, size)
            gap = (
                self.plain("insights.value.points", value=_signed(row.gap))
                if row.gap is not None
                else self.plain("insights.value.none")
            )
            heading = f"{self._round(digest)} · {local_date(digest.info.when, self.locale)}"
            if row.flagged:
                heading += " ⚠"
            groups.append(
                (
                    heading,
                    [
                        Bar(
                            self.plain("insights.chart.official"),
                            official.value,
                            BLUE,
                            official_text,
                        ),
                        Bar(
                            self.plain("insights.chart.implementers"),
                            row.implementers.mean.value if row.implementers_asked else None,
                            ORANGE,
                            implementers,
                        ),
                        Bar(
                            self.plain("insights.chart.beneficiaries"),
                            row.beneficiaries.mean.value,
                            GREEN,
                            beneficiaries,
                        ),
                    ],
                )
            )
            table.rows.append((heading, official_text, implementers, beneficiaries, gap))
        svg = grouped_bars(
            groups,
            title=self.plain("site.gap.caption", id=commitment_id),
            description=self.plain("site.gap.description"),
        )
        return Chart(table.caption, svg, table)

    def _changes(self) -> list[str]:
        """Each role's published figures that moved between the last two rounds."""
        if len(self.site.rounds) < 2:
            return []
        before, now = self.site.rounds[-2], self.site.rounds[-1]
        lines: list[str] = []
        for commitment in now.result.commitments:
            cid = commitment.commitment_id
            changes = compare(commitment, before.result.commitment(cid))
            for role in ROLE_ORDER:
                for measure in NUMERIC_MEASURES:
                    change = changes.get((role, measure))
                    if change is None or change.delta is None:
                        continue
                    lines.append(
                        self.plain(
                            "site.changes.row",
                            id=cid,
                            role=self.role(role),
                            measure=MEASURE_LABELS[measure].get(self.locale),
                            was=self._index(change.previous, before.min_group_size),
                            now=self._index(change.current, now.min_group_size),
                            delta=as_plain_text(delta(self.t, change)),
                        )
                    )
        return lines or [self.plain("site.changes.same")]

    # --- a commitment ----------------------------------------------------------------------

    def commitment(self, commitment_id: str) -> dict[str, Any]:
        found = next(c for c in self.site.commitments if c.id == commitment_id)
        context = self.common(
            "commitment", root="../../", alternate=f"../../{self.other}/c/{commitment_id}.html"
        )
        rounds = self.site.commitment_rounds(commitment_id)
        roles = [
            self._role_section(commitment_id, role, rounds)
            for role in ROLE_ORDER
            if any(role in d.result.commitment(commitment_id).groups for d in rounds)  # type: ignore[union-attr]
        ]
        context.update(
            page_title=self.plain(
                "site.commitment.title", id=commitment_id, title=found.title.get(self.locale)
            ),
            c={
                "id": commitment_id,
                "title": found.title.get(self.locale),
                "description": found.description.get(self.locale) if found.description else "",
                "institutions": ", ".join(found.institutions),
                "official": self._official(commitment_id),
                "gap": self.gap_chart(commitment_id),
            },
            roles=roles,
            tone_legend=[
                (self.plain(f"insights.chart.tone.{key}"), colour) for key, colour, _ in TONE
            ],
            responses=[
                {
                    "heading": r.institution
                    + " · "
                    + self.plain("site.commitment.quote_round", round=r.round_id),
                    "lines": r.text.get(self.locale).splitlines(),
                }
                for r in self.site.responses
                if r.commitment_id == commitment_id
            ]
            + self._replies(commitment_id),
        )
        return context

    def _replies(self, commitment_id: str) -> list[dict[str, Any]]:
        """The government's answer to each round: on time or not, what it said subject by
        subject, and each promise's outcome as the beneficiaries judged it."""
        found = []
        for entry in self.site.replies.get(commitment_id, ()):
            reply = entry.reply
            heading = self.plain(
                f"accountability.gap.{entry.timeliness}",
                id=commitment_id,
                round=reply.round_id,
                due=local_date(reply.due_at, self.locale, self.site.tz),
            )
            items = reply.draft.items if reply.draft and reply.status == "published" else ()
            lines = [
                as_plain_text(Html(block)).replace("\n", " — ")
                for block in item_lines(self._translator, self.locale, items)
            ]
            for promise in entry.promises:
                if promise.tally is None or promise.item.by is None:
                    continue
                line = promise_line(self._translator, self.locale, promise)
                lines.append(as_plain_text(Html(line)).strip())
            found.append({"heading": heading, "lines": lines})
        return found

    def _groups(
        self, commitment_id: str, role: Role, rounds: list[Digest]
    ) -> list[tuple[Digest, GroupResult]]:
        found = []
        for digest in rounds:
            commitment = digest.result.commitment(commitment_id)
            if commitment is not None and role in commitment.groups:
                found.append((digest, commitment.groups[role]))
        return found

    def _role_section(
        self, commitment_id: str, role: Role, rounds: list[Digest]
    ) -> dict[str, Any]:
        groups = self._groups(commitment_id, role, rounds)
        name = self.role(role)
        scale, legend = self._scale_chart(role, groups)
        themes = []
        quotes = []
        for digest, _ in groups:
            key = (commitment_id, role)
            found = digest.themes.get(key)
            if found is not None and not found.suppressed and (found.phrases or found.words):
                terms = list(found.phrases[:3])
                in_phrases = {w for term in terms for w in term.text.split()}
                terms += [term for term in found.words if term.text not in in_phrases]
                themes.append(
                    self.plain(
                        "site.commitment.themes_row",
                        round=digest.info.round_id,
                        terms=", ".join(f"{term.text} ({term.count})" for term in terms[:8]),
                    )
                )
            elif found is not None and found.suppressed:
                themes.append(
                    self._round(digest)
                    + ": "
                    + self.plain("insights.summary.themes_suppressed", n=digest.min_group_size)
                )
            quotes += [
                (self.plain("site.commitment.quote_round", round=digest.info.round_id), text)
                for text in digest.quotes.get(key, ())
            ]
        return {
            "key": role.value,
            "name": name,
            "scale": scale,
            "scale_legend": legend,
            "figures": self._figures_table(role, groups),
            "tone": self._tone_chart(role, groups),
            "themes": themes,
            "quotes": quotes,
        }

    def _scale_chart(
        self, role: Role, groups: list[tuple[Digest, GroupResult]]
    ) -> tuple[Chart | None, list[tuple[str, str]]]:
        """The role's IRM question, round by round: the share of each answer."""
        measure = IRM_MEASURE[role]
        stacks: list[Stack] = []
        table: DataTable | None = None
        legend: list[tuple[str, str]] = []
        question_text = ""
        for digest, group in groups:
            result = next(
                (
                    q
                    for q in group.questions
                    if q.question.measure is measure and q.question.is_scale
                ),
                None,
            )
            if result is None:
                continue
            question = result.question
            options = question.choices
            colours = _scale_colours(len(options))
            question_text = MEASURE_LABELS[measure].get(self.locale)
            if table is None:
                legend = [(o.label.get(self.locale), colours[i]) for i, o in enumerate(options)]
                table = DataTable(
                    self.plain(
                        "site.commitment.scale_caption",
                        role=self.role(role),
                        question=question_text,
                    ),
                    (
                        self.plain("site.table.round"),
                        *(o.label.get(self.locale) for o in options),
                        self.plain("site.table.people"),
                    ),
                )
            label = f"{self._round(digest)} · {local_date(digest.info.when, self.locale)}"
            if not result.answered.shown:
                missing = self._index(result.answered, digest.min_group_size)
                stacks.append(Stack(label, (), missing))
                table.rows.append((label, *(["—"] * len(options)), missing))
                continue
            by_code = {o.code: o for o in result.distribution}
            segments = [
                Segment(
                    o.label.get(self.locale),
                    by_code[o.code].share if o.code in by_code else 0.0,
                    colours[i],
                    dark_text=colours[i] in ("#bbbbbb", "#56b4e9"),
                )
                for i, o in enumerate(options)
            ]
            stacks.append(Stack(label, segments))
            table.rows.append(
                (
                    label,
                    *(
                        f"{by_code[o.code].count} ({self._percent(by_code[o.code].share)})"
                        if o.code in by_code
                        else "0"
                        for o in options
                    ),
                    str(whole(result.answered.value or 0)),
                )
            )
        if table is None or not stacks:
            return None, []
        svg = stacked_bars(
            stacks,
            title=table.caption,
            description=self.plain("site.commitment.scale_description"),
        )
        return Chart(table.caption, svg, table), legend

    def _figures_table(self, role: Role, groups: list[tuple[Digest, GroupResult]]) -> DataTable:
        """Each index of the role per round, and its sentiment index (only with texts)."""
        measures: list[Measure] = [
            m for m in NUMERIC_MEASURES if any(m in g.measures for _, g in groups)
        ]
        table = DataTable(
            self.plain("site.commitment.figures", role=self.role(role)),
            (
                self.plain("site.table.round"),
                *(MEASURE_LABELS[m].get(self.locale) for m in measures),
                self.plain("site.table.sentiment"),
            ),
        )
        for digest, group in groups:
            size = digest.min_group_size
            table.rows.append(
                (
                    f"{self._round(digest)} · {local_date(digest.info.when, self.locale)}",
                    *(
                        self._index(group.measures[m].mean, size)
                        if m in group.measures
                        else self.plain("insights.value.none")
                        for m in measures
                    ),
                    self._index(group.sentiment, size),
                )
            )
        return table

    def _tone_chart(self, role: Role, groups: list[tuple[Digest, GroupResult]]) -> Chart:
        caption = self.plain("site.commitment.tone_caption", role=self.role(role))
        names = [self.plain(f"insights.chart.tone.{key}") for key, _, _ in TONE]
        table = DataTable(
            caption, (self.plain("site.table.round"), *names, self.plain("site.table.texts"))
        )
        stacks = []
        for digest, group in groups:
            label = f"{self._round(digest)} · {local_date(digest.info.when, self.locale)}"
            tone = group.tone
            if not tone.shown:
                missing = self._index(tone.index, digest.min_group_size)
                stacks.append(Stack(label, (), missing))
                table.rows.append((label, "—", "—", "—", missing))
                continue
            stacks.append(
                Stack(
                    label,
                    [
                        Segment(name, tone.shares[key], colour, dark_text=dark)  # type: ignore[index]
                        for name, (key, colour, dark) in zip(names, TONE, strict=True)
                    ],
                )
            )
            table.rows.append(
                (
                    label,
                    *(self._percent(tone.shares[key]) for key, _, _ in TONE),  # type: ignore[index]
                    str(tone.index.n),
                )
            )
        svg = stacked_bars(
            stacks, title=caption, description=self.plain("site.commitment.tone_description")
        )
        return Chart(caption, svg, table)

    # --- methods -------------------------------------------------------------------------

    def methods(self) -> dict[str, Any]:
        site = self.site
        context = self.common("methods", root="../", alternate=f"../{self.other}/methods.html")
        rates = None
        if site.rounds:
            rates = DataTable(
                self.plain("site.methods.who"),
                (
                    self.plain("site.table.round"),
                    self.plain("site.table.role"),
                    self.plain("site.table.targeted"),
                    self.plain("site.table.completed"),
                    self.plain("site.table.rate"),
                ),
            )
            for digest in site.rounds:
                for role in ROLE_ORDER:
                    targeted = completed = 0
                    for commitment in digest.result.commitments:
                        group = commitment.groups.get(role)
                        if group is not None:
                            targeted += group.participation.targeted
                            completed += group.participation.completed
                    if targeted:
                        rates.rows.append(
                            (
                                f"{self._round(digest)} · "
                                f"{local_date(digest.info.when, self.locale)}",
                                self.role(role),
                                str(targeted),
                                str(completed),
                                self._percent(100 * completed / targeted),
                            )
                        )
        accuracy = None
        if site.accuracy:
            accuracy = DataTable(
                self.plain("site.methods.tone"),
                (
                    self.plain("site.table.language"),
                    self.plain("site.table.texts"),
                    self.plain("site.table.accuracy"),
                    self.plain("site.table.macro_f1"),
                    self.plain("site.table.negative_recall"),
                ),
                [
                    (
                        a.language,
                        str(a.texts),
                        f"{a.accuracy:.3f}",
                        f"{a.macro_f1:.3f}",
                        f"{a.negative_recall:.3f}",
                    )
                    for a in site.accuracy
                ],
            )
        context.update(
            page_title=self.plain("site.methods.title"),
            rates=rates,
            min_group_size=site.min_group_size,
            threshold=whole(site.threshold),
            accuracy=accuracy,
        )
        return context


def _signed(value: float | None) -> str:
    rounded = whole(value or 0.0)
    return f"+{rounded}" if rounded > 0 else ("0" if rounded == 0 else f"−{-rounded}")


def _scale_colours(n: int) -> tuple[str, ...]:
    if n >= len(SCALE):
        return SCALE + (SCALE[-1],) * (n - len(SCALE))
    if n == 4:
        return (SCALE[0], SCALE[2], SCALE[3], SCALE[4])
    return SCALE[-n:]


def local_date_of(day: Any, locale: Locale) -> str:
    """A calendar day (no time) written as :func:`bot.i18n.local_date` writes one."""
    from datetime import datetime, time

    return local_date(datetime.combine(day, time(12, 0)), locale)
