"""What the public results site shows, as values: closed rounds only, from their snapshots.

:func:`collect` reads, through :class:`~bot.insights.service.InsightsService`,
every closed round's published digest (the snapshot taken at close: see
``docs/privacy.md``), the plan and its official figures, and the sentiment
analyser's figures on its test split (recorded with the model:
:mod:`surveys.sentiment.measured`). :func:`open_data` turns them into the tables
the site publishes as open data (``results.json``, one CSV per table and a
Frictionless ``datapackage.json``: :func:`data_files`). Nothing here draws
HTML: the pages are the edge's (``handlers.site``), from these values.

Every figure is per role, never pooled across roles; a suppressed figure has
no value (its status says ``suppressed``); an open round is not on the site
at all.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from surveys.aggregation import LABELS, NUMERIC_MEASURES, Figure
from surveys.digest import Digest
from surveys.locale import LocalizedText
from surveys.sentiment.measured import Measured, measured_quality

if TYPE_CHECKING:
    from bot.accountability import AccountabilityService, Responsiveness
    from bot.insights.service import InsightsService

#: Rounds the site shows (the newest); older ones stay in the answer file and reports.
SITE_ROUNDS: Final = 24


@dataclass(frozen=True, slots=True)
class SiteCommitment:
    """A commitment of the plan as the site lists it."""

    id: str
    title: LocalizedText
    description: LocalizedText | None
    institutions: tuple[str, ...]
    official: float | None  # the latest officially reported completion, percent
    official_as_of: date | None


@dataclass(frozen=True, slots=True)
class InstitutionalResponse:
    """What a responsible institution answered about a round's results (none recorded yet:
    the site's section for them renders only when there are some)."""

    round_id: int
    commitment_id: str
    institution: str
    text: LocalizedText


@dataclass(frozen=True, slots=True)
class SiteData:
    """Everything the site shows: the plan, and each closed round's digest, oldest first."""

    plan_name: LocalizedText | None
    government: str
    commitments: tuple[SiteCommitment, ...]
    rounds: tuple[Digest, ...]
    min_group_size: int
    threshold: float
    accuracy: tuple[Measured, ...] = ()
    responses: tuple[InstitutionalResponse, ...] = ()
    #: Per commitment, the government's answer to each round and its promises' outcomes
    #: (docs/responses.md): published answers only say what the agency wrote.
    replies: Mapping[str, Sequence[Responsiveness]] = field(default_factory=dict)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Mexico_City"))
    built: datetime | None = None
    analyser: str = ""

    def commitment_rounds(self, commitment_id: str) -> list[Digest]:
        """The closed rounds that asked about a commitment, oldest first."""
        return [d for d in self.rounds if d.result.commitment(commitment_id) is not None]


async def collect(
    insights: InsightsService,
    *,
    analyser: str = "",
    accountability: AccountabilityService | None = None,
) -> SiteData:
    """The site's values: closed rounds from their snapshots (never an open round), and
    the government's answers to them when ``accountability`` is given."""
    async with insights.db.read() as repos:
        plan = await repos.plans.plan()
        stored = await repos.plans.commitments(include_retired=False)
        official = await repos.plans.official_figures()
        closed = await repos.rounds.recent(["closed"], limit=SITE_ROUNDS)
    digests = [await insights.closed_digest(r.id) for r in reversed(closed)]
    commitments = tuple(
        SiteCommitment(
            id=s.commitment.id,
            title=s.commitment.title,
            description=s.commitment.description,
            institutions=tuple(str(i) for i in s.commitment.institutions),
            official=official[s.commitment.id].percent if s.commitment.id in official else None,
            official_as_of=(
                official[s.commitment.id].as_of if s.commitment.id in official else None
            ),
        )
        for s in stored
    )
    replies = (
        await accountability.responsiveness([c.id for c in commitments])
        if accountability is not None
        else {}
    )
    return SiteData(
        plan_name=plan.name if plan else None,
        government=str(plan.government) if plan else "",
        commitments=commitments,
        rounds=tuple(digests),
        min_group_size=insights.settings.min_group_size,
        threshold=insights.settings.gap_threshold_points,
        accuracy=measured_quality(analyser),
        replies=replies,
        tz=insights.settings.tz,
        built=insights.clock.now(),
        analyser=analyser,
    )


# --- open data -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    """One open-data table: its name, a description and its typed columns, and rows."""

    name: str
    description: str
    fields: Sequence[tuple[str, str, str]]  # (name, Table Schema type, description)
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def _value(figure: Figure) -> float | None:
    return round(figure.value, 2) if figure.value is not None else None


def _status(figure: Figure) -> str:
    return "shown" if figure.shown else ("suppressed" if figure.suppressed else "empty")


def open_data(site: SiteData) -> list[Table]:
    """The site's tables: rounds, participation, figures (per role), the gap, themes,
    quotes and commitments. Suppressed figures have no value and say so."""
    rounds = Table(
        "rounds",
        "Each closed round the site publishes.",
        (
            ("round", "integer", "Round number"),
            ("instrument", "string", "Survey instrument (English title)"),
            ("closed", "date", "Day the round closed (local time)"),
            ("min_group_size", "integer", "Smallest group a figure is published for"),
            ("targeted", "integer", "Different people asked"),
            ("started", "integer", "Different people who started"),
            ("completed", "integer", "Different people who completed"),
        ),
    )
    participation = Table(
        "participation",
        "Who took part, per round, commitment and role.",
        (
            ("round", "integer", "Round number"),
            ("commitment", "string", "Commitment id"),
            ("role", "string", "beneficiary or implementer"),
            ("targeted", "integer", "People asked"),
            ("started", "integer", "People who started"),
            ("completed", "integer", "People who completed"),
        ),
    )
    figures = Table(
        "figures",
        "Every published figure, per round, commitment and role (never pooled across roles).",
        (
            ("round", "integer", "Round number"),
            ("commitment", "string", "Commitment id"),
            ("role", "string", "beneficiary or implementer"),
            ("figure", "string", "Measure index or median (0-100), tone share, sentiment index"),
            ("value", "number", "The figure; empty when suppressed or without answers"),
            ("people", "integer", "People (or texts, for tone) it is drawn from"),
            ("status", "string", "shown, suppressed (too few people) or empty"),
        ),
    )
    gap = Table(
        "gap",
        "The reality gap per round and commitment: official vs implementers vs beneficiaries.",
        (
            ("round", "integer", "Round number"),
            ("commitment", "string", "Commitment id"),
            ("official", "number", "Officially reported completion, percent"),
            ("implementers", "number", "Implementers' perceived completion, 0-100"),
            ("beneficiaries", "number", "Beneficiaries' perceived change, 0-100"),
            ("gap", "number", "Most optimistic reported figure minus beneficiaries, points"),
            ("flagged", "boolean", "Whether the gap is flagged"),
        ),
    )
    themes = Table(
        "themes",
        "Words and phrases used by at least min_group_size different people, per role.",
        (
            ("round", "integer", "Round number"),
            ("commitment", "string", "Commitment id"),
            ("role", "string", "beneficiary or implementer"),
            ("kind", "string", "word or phrase"),
            ("term", "string", "The word or phrase"),
            ("people", "integer", "Different people who used it"),
        ),
    )
    quotes = Table(
        "quotes",
        "Words quoted with their author's consent, per role.",
        (
            ("round", "integer", "Round number"),
            ("commitment", "string", "Commitment id"),
            ("role", "string", "beneficiary or implementer"),
            ("text", "string", "The quoted text"),
        ),
    )
    commitments = Table(
        "commitments",
        "The plan's commitments and their latest official completion.",
        (
            ("commitment", "string", "Commitment id"),
            ("title_es", "string", "Title in Spanish"),
            ("title_en", "string", "Title in English"),
            ("official", "number", "Latest officially reported completion, percent"),
        ),
    )
    for c in site.commitments:
        commitments.rows.append((c.id, c.title.get("es"), c.title.get("en"), c.official))
    for digest in site.rounds:
        rid = digest.info.round_id
        people = digest.people or digest.result.participation
        rounds.rows.append(
            (
                rid,
                digest.info.instrument_title.get("en"),
                digest.info.when.date().isoformat(),
                digest.min_group_size,
                people.targeted,
                people.started,
                people.completed,
            )
        )
        for commitment in digest.result.commitments:
            cid = commitment.commitment_id
            for group in commitment.roles():
                role = group.role.value
                p = group.participation
                participation.rows.append((rid, cid, role, p.targeted, p.started, p.completed))

                def add(
                    name: str, figure: Figure, rid: int = rid, cid: str = cid, role: str = role
                ) -> None:
                    people = figure.n if figure.shown else None
                    figures.rows.append(
                        (rid, cid, role, name, _value(figure), people, _status(figure))
                    )

                for measure in NUMERIC_MEASURES:
                    if measure in group.measures:
                        add(f"{measure.value}_index", group.measures[measure].mean)
                        add(f"{measure.value}_median", group.measures[measure].median)
                for label in LABELS:
                    share = group.tone.shares.get(label)
                    tone = group.tone.index
                    add(
                        f"tone_{label}_share", Figure(share, tone.n) if share is not None else tone
                    )
                add("sentiment_index", group.sentiment)
                found = digest.themes.get((cid, group.role))
                if found is not None and not found.suppressed:
                    themes.rows.extend(
                        (rid, cid, role, "phrase", t.text, t.count) for t in found.phrases
                    )
                    themes.rows.extend(
                        (rid, cid, role, "word", t.text, t.count) for t in found.words
                    )
                quotes.rows.extend(
                    (rid, cid, role, text) for text in digest.quotes.get((cid, group.role), ())
                )
        for row in digest.gap:
            if not row.in_round or not row.measured:
                continue
            gap.rows.append(
                (
                    rid,
                    row.commitment_id,
                    row.official,
                    _value(row.implementers.mean) if row.implementers_asked else None,
                    _value(row.beneficiaries.mean),
                    round(row.gap, 2) if row.gap is not None else None,
                    row.flagged,
                )
            )
    replies = replies_table(site.replies, site.tz)
    return [commitments, rounds, participation, figures, gap, themes, quotes, replies]


def replies_csv(replies: Mapping[str, Sequence[Responsiveness]], tz: ZoneInfo) -> bytes:
    """The government's answers as a CSV file (the site's ``responses.csv``; ``pulso
    report`` writes it too)."""
    return _csv(replies_table(replies, tz))


def replies_table(replies: Mapping[str, Sequence[Responsiveness]], tz: ZoneInfo) -> Table:
    """The government's answers: one row per subject of each published answer (and one
    per answer owed but not given), with each promise's outcome as the round that checked
    it published (its counts in people; the outcome empty under ``min_group_size``)."""
    table = Table(
        "responses",
        "The responsible agency's public answer to each round, subject by subject, and "
        "whether the beneficiaries said each promise was kept.",
        (
            ("round", "integer", "Round the answer is about"),
            ("commitment", "string", "Commitment id"),
            ("timeliness", "string", "on_time, late, never (deadline passed) or pending"),
            ("due", "date", "Deadline of the answer"),
            ("published", "date", "Day it was published (empty: not published)"),
            ("subject", "string", "gap, theme or general"),
            ("theme", "string", "The theme's words, for a theme"),
            ("stance", "string", "act (we will act), done (already done), no (not possible)"),
            ("text", "string", "What the agency wrote"),
            ("promised_by", "date", "The promised date (stance act)"),
            ("checked_in_round", "integer", "Round whose beneficiaries judged the promise"),
            ("yes", "integer", "People who said it happened"),
            ("partly", "integer", "People who said it partly happened"),
            ("no", "integer", "People who said it did not happen"),
            ("unknown", "integer", "People who did not know"),
            ("outcome", "string", "kept, partly, broken, suppressed, or empty"),
        ),
    )
    for commitment_id in sorted(replies):
        for entry in replies[commitment_id]:
            reply = entry.reply
            published = reply.published_at
            base = (
                reply.round_id,
                commitment_id,
                entry.timeliness,
                reply.due_at.astimezone(tz).date().isoformat(),
                published.astimezone(tz).date().isoformat() if published else None,
            )
            items = reply.draft.items if reply.draft and reply.status == "published" else ()
            if not items:
                table.rows.append((*base, *([None] * 11)))
                continue
            promises = {p.index: p for p in entry.promises}
            for index, item in enumerate(items):
                promise = promises.get(index)
                tally = promise.tally if promise else None
                table.rows.append(
                    (
                        *base,
                        item.subject.kind,
                        item.subject.term or None,
                        item.stance.value if item.stance else None,
                        item.text,
                        item.by.isoformat() if item.by else None,
                        promise.checked_in if promise else None,
                        tally.yes if tally else None,
                        tally.partly if tally else None,
                        tally.no if tally else None,
                        tally.unknown if tally else None,
                        promise.outcome if promise else None,
                    )
                )
    return table


def _csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _, _ in table.fields])
    for row in table.rows:
        writer.writerow(
            [
                "" if v is None else ("true" if v is True else "false" if v is False else v)
                for v in row
            ]
        )
    return buffer.getvalue().encode("utf-8")


def data_files(site: SiteData) -> dict[str, bytes]:
    """The open data, by file name: one CSV per table, ``results.json`` (every table as
    records) and ``datapackage.json`` (a Frictionless Data Package describing the CSVs)."""
    tables = open_data(site)
    files = {f"{table.name}.csv": _csv(table) for table in tables}
    results = {
        "plan": site.plan_name.get("en") if site.plan_name else None,
        "government": site.government,
        "min_group_size": site.min_group_size,
        "gap_threshold_points": site.threshold,
        **{
            table.name: [
                dict(zip([name for name, _, _ in table.fields], row, strict=True))
                for row in table.rows
            ]
            for table in tables
        },
    }
    files["results.json"] = json.dumps(results, ensure_ascii=False, indent=1).encode("utf-8")
    package = {
        "name": "pulso-results",
        "title": "Pulso: published results of an open-government action plan",
        "description": (
            "Figures published when each survey round closed, per commitment and role; "
            f"groups of fewer than {site.min_group_size} people are suppressed."
        ),
        "licenses": [
            {
                "name": "CC-BY-4.0",
                "title": "Creative Commons Attribution 4.0",
                "path": "https://creativecommons.org/licenses/by/4.0/",
            }
        ],
        "resources": [
            {
                "name": table.name,
                "path": f"{table.name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": table.description,
                "schema": {
                    "fields": [
                        {"name": name, "type": kind, "description": text}
                        for name, kind, text in table.fields
                    ],
                    "missingValues": [""],
                },
            }
            for table in tables
        ],
    }
    files["datapackage.json"] = json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")
    return files


def table_rows(site: SiteData) -> Mapping[str, Table]:
    """The open-data tables by name (what the pages' data tables are drawn from)."""
    return {table.name: table for table in open_data(site)}
