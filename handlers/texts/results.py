"""Results as Telegram messages: sections of HTML, split below Telegram's limit.

Every function takes ``t``, a :class:`Translate` bound to one locale, so the
words come from the bot's catalogs (``bot/locales/*/insights.po``) while the
layout lives here; ``t`` must return HTML and escape the values it is given,
as :class:`bot.i18n.Translator` does. Everything a person or the plan wrote
(texts, titles, theme words, labels) reaches the output only as such a value,
so it is always escaped. Plan and instrument texts are picked in ``locale``.

A summary is a list of *sections* (one per commitment, one for the gap …);
:func:`split_messages` packs them into as few messages as fit under
Telegram's 4,096 characters, breaking only between sections (and, for a
section longer than a message, between its lines).

A suppressed figure is always written "fewer than N answers" and never as a
number, a figure from nobody "no answers"; see :mod:`surveys.aggregation` for
when a figure is suppressed. Every figure, tone and theme is shown per role,
beneficiaries first (:data:`surveys.aggregation.ROLE_ORDER`), never pooled
across roles; a sentiment index is shown only beside the tone of the texts it
summarises. Dates are written by :func:`bot.i18n.local_date` (Babel), the same
way in every surface.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from bot.i18n import local_date, local_datetime
from surveys.aggregation import (
    NUMERIC_MEASURES,
    ROLE_ORDER,
    Change,
    ChangeKey,
    CommitmentResult,
    Figure,
    GroupResult,
    QuestionResult,
    Tone,
)
from surveys.digest import Digest, RoundInfo, TrendPoint
from surveys.gap import FlagReason, GapRow
from surveys.instruments import MEASURE_LABELS, Measure, Question, QuestionType, Role
from surveys.locale import Locale, LocalizedText
from surveys.themes import Themes

TELEGRAM_LIMIT: Final = 4096
_ROLES: Final = ROLE_ORDER
_TAG: Final = re.compile(r"<[^>]+>")


class Translate(Protocol):
    """A catalog lookup in one locale: returns HTML, escaping every value in ``params``."""

    def __call__(self, key: str, /, **params: object) -> str: ...


# --- numbers ---------------------------------------------------------------------------------


def whole(value: float) -> int:
    """Rounded half up (37.5 → 38), as people round, not to the even neighbour."""
    return math.floor(value + 0.5)


def index(t: Translate, figure: Figure, min_group_size: int) -> str:
    """A 0–100 figure: "38/100", "fewer than 5 answers" or "no answers"."""
    if figure.value is not None:
        return t("insights.value.index", value=whole(figure.value))
    return _missing(t, figure, min_group_size)


def percent(t: Translate, value: float | None) -> str:
    if value is None:
        return t("insights.value.none")
    return t("insights.value.percent", value=whole(value))


def count(t: Translate, figure: Figure, min_group_size: int) -> str:
    if figure.value is not None:
        return str(whole(figure.value))
    return _missing(t, figure, min_group_size)


def _missing(t: Translate, figure: Figure, min_group_size: int) -> str:
    if figure.suppressed:
        return t("insights.value.suppressed", n=min_group_size)
    return t("insights.value.empty")


def delta(t: Translate, change: Change | None) -> str:
    """The change since the previous round, like `` (+13)``; empty unless both are shown."""
    points = change.delta if change is not None else None
    if points is None:
        return ""
    rounded = whole(points)
    signed = f"+{rounded}" if rounded > 0 else ("±0" if rounded == 0 else f"−{-rounded}")
    return t("insights.value.delta", delta=signed)


def median_label(question: Question, code: str | None, locale: Locale) -> str | None:
    """The label of option ``code`` in ``locale`` (None for no code or an unknown one)."""
    option = question.option(code) if code else None
    return option.label.get(locale) if option else None


def round_date(info: RoundInfo, locale: Locale) -> str:
    """When a closed round closed ("9 de marzo de 2026"), or the moment an open round's
    figures are from (with the time)."""
    if info.status == "closed":
        return local_date(info.when, locale)
    return local_datetime(info.when, locale)


# --- the parts of a summary ------------------------------------------------------------------


def _role(t: Translate, role: Role) -> str:
    return t(f"insights.role.{role.value}")


def _participation_line(t: Translate, commitment: CommitmentResult) -> str:
    parts = [
        t(
            "insights.summary.group",
            role=_role(t, role),
            completed=group.participation.completed,
            targeted=group.participation.targeted,
            rate=percent(t, group.participation.response_rate),
        )
        for role in _ROLES
        if (group := commitment.groups.get(role)) is not None
    ]
    return "👥 " + " · ".join(parts)


def _measures_line(
    t: Translate,
    group: GroupResult,
    changes: Mapping[ChangeKey, Change],
    locale: Locale,
    min_group_size: int,
) -> str:
    """One role's measures: "▸ Beneficiaries · Change for people: 0/100 (−5) · …"."""
    parts = [
        t(
            "insights.summary.measure",
            label=MEASURE_LABELS[measure].get(locale),
            value=index(t, group.measures[measure].mean, min_group_size),
            delta=delta(t, changes.get((group.role, measure))),
        )
        for measure in NUMERIC_MEASURES
        if measure in group.measures
    ]
    if not parts:
        return t("insights.summary.role_heading", role=_role(t, group.role))
    return t("insights.summary.role_line", role=_role(t, group.role), figures=" · ".join(parts))


def _tone_line(
    t: Translate,
    tone: Tone,
    sentiment: Figure,
    min_group_size: int,
    change: Change | None = None,
) -> str:
    """The tone of a group's texts and, beside it, the sentiment index; without texts to
    show, only that (an index is never shown without the texts it summarises)."""
    if not tone.shown:
        return t("insights.summary.tone_missing", value=_missing(t, tone.index, min_group_size))
    shares = t(
        "insights.summary.tone",
        pos=percent(t, tone.shares["pos"]),
        neu=percent(t, tone.shares["neu"]),
        neg=percent(t, tone.shares["neg"]),
        texts=tone.index.n,
    )
    if tone.uncertain:
        # A count only, and only beside shares that are shown (docs/sentiment.md).
        shares += " " + t("insights.summary.tone_uncertain", count=tone.uncertain)
    return (
        shares
        + " · "
        + t(
            "insights.summary.sentiment",
            value=index(t, sentiment, min_group_size),
            delta=delta(t, change),
        )
    )


def _themes_lines(
    t: Translate, themes: Themes | None, quotes: Sequence[str], min_group_size: int
) -> list[str]:
    """The top phrases, then words not already in a phrase shown (five terms at most),
    then the quotes."""
    lines: list[str] = []
    if themes is not None and themes.suppressed:
        lines.append(t("insights.summary.themes_suppressed", n=min_group_size))
    elif themes is not None and (themes.words or themes.phrases):
        terms = list(themes.phrases[:3])
        in_phrases = {word for term in terms for word in term.text.split()}
        terms += [term for term in themes.words if term.text not in in_phrases]
        shown = [
            t("insights.summary.term", term=term.text, count=term.count) for term in terms[:5]
        ]
        lines.append(t("insights.summary.themes", terms=", ".join(shown)))
    lines += [t("insights.summary.quote", text=quote) for quote in quotes]
    return lines


def _reasons(t: Translate, row: GapRow, threshold: float) -> str:
    return "; ".join(
        t(f"insights.gap.reason.{reason.value}", threshold=whole(threshold))
        for reason in FlagReason  # in the order the rules are documented
        if reason in row.reasons
    )


def _title(titles: Mapping[str, LocalizedText], commitment_id: str, locale: Locale) -> str:
    title = titles.get(commitment_id)
    return title.get(locale) if title else ""


def header(t: Translate, digest: Digest, locale: Locale) -> str:
    """The first section: which round, when, how many answered, the suppression rule."""
    info = digest.info
    total = digest.people if digest.people is not None else digest.result.participation
    lines = [
        t(
            "insights.summary.title",
            round=info.round_id,
            instrument=info.instrument_title.get(locale),
        ),
        t(f"insights.summary.status.{info.status}", date=round_date(info, locale)),
        t(
            "insights.summary.participation",
            completed=total.completed,
            started=total.started,
            targeted=total.targeted,
            rate=percent(t, total.response_rate),
        ),
        t("insights.summary.suppression", n=digest.min_group_size),
    ]
    if digest.previous_round is not None:
        lines.append(t("insights.summary.compared", round=digest.previous_round))
    return "\n".join(lines)


def flagged_section(t: Translate, digest: Digest, locale: Locale) -> str | None:
    """The commitments the gap flags, with why; None when the round did not measure it."""
    if not any(row.measured for row in digest.gap):
        return None
    flagged = [row for row in digest.gap if row.flagged]
    lines = [t("insights.summary.flagged", count=len(flagged))]
    lines += [
        t(
            "insights.summary.flagged_row",
            id=row.commitment_id,
            title=_title(digest.titles, row.commitment_id, locale),
            reasons=_reasons(t, row, digest.threshold),
        )
        for row in flagged
    ]
    if not flagged:
        lines.append(t("insights.summary.flagged_none"))
    return "\n".join(lines)


def role_lines(
    t: Translate,
    digest: Digest,
    group: GroupResult,
    locale: Locale,
) -> list[str]:
    """One role of a commitment in the summary: its measures, tone, themes and quotes."""
    key = (group.commitment_id, group.role)
    changes = digest.changes.get(group.commitment_id, {})
    lines = [
        _measures_line(t, group, changes, locale, digest.min_group_size),
        _tone_line(
            t,
            group.tone,
            group.sentiment,
            digest.min_group_size,
            changes.get((group.role, "sentiment")),
        ),
    ]
    lines += _themes_lines(
        t, digest.themes.get(key), digest.quotes.get(key, ()), digest.min_group_size
    )
    return lines


def commitment_section(
    t: Translate, digest: Digest, commitment: CommitmentResult, locale: Locale
) -> str:
    """A commitment in the round summary: participation, then each role (beneficiaries
    first) with its indexes, tone, themes and quotes."""
    cid = commitment.commitment_id
    row = digest.gap_of(cid)
    lines = [
        t(
            "insights.summary.commitment",
            id=cid,
            title=_title(digest.titles, cid, locale),
            flag=t("insights.summary.flag") if row is not None and row.flagged else "",
        ),
        _participation_line(t, commitment),
    ]
    for group in commitment.roles():
        lines += role_lines(t, digest, group, locale)
    return "\n".join(lines)


def progress_sections(t: Translate, digest: Digest, locale: Locale) -> list[str]:
    """A round that is still open: who has taken part, per commitment, and when its
    results will be published; nothing of what anyone answered."""
    sections = [header(t, digest, locale), t("insights.summary.published_at_close")]
    sections += [
        "\n".join(
            [
                t(
                    "insights.summary.commitment",
                    id=c.commitment_id,
                    title=_title(digest.titles, c.commitment_id, locale),
                    flag="",
                ),
                _participation_line(t, c),
            ]
        )
        for c in digest.result.commitments
    ]
    return sections


def summary_sections(t: Translate, digest: Digest, locale: Locale) -> list[str]:
    """The round summary: header, flagged commitments, then one section per commitment."""
    sections = [header(t, digest, locale)]
    flagged = flagged_section(t, digest, locale)
    if flagged:
        sections.append(flagged)
    sections += [commitment_section(t, digest, c, locale) for c in digest.result.commitments]
    return sections


# --- one commitment in detail ----------------------------------------------------------------


def _question_label(question: Question, locale: Locale) -> str:
    if question.measure is not None and question.measure.is_numeric:
        return MEASURE_LABELS[question.measure].get(locale)
    text = " ".join(question.text.get(locale).split())
    return text if len(text) <= 70 else text[:69].rsplit(" ", 1)[0] + "…"


def question_lines(
    t: Translate, result: QuestionResult, locale: Locale, min_group_size: int
) -> list[str]:
    """One question of one group: how many answered, then mean, median and distribution."""
    question = result.question
    label = _question_label(question, locale)
    if question.measure is Measure.QUOTE_CONSENT:
        return []  # how many agreed to be quoted is nobody's result
    if not result.answered.shown:
        return [
            t(
                "insights.detail.question_missing",
                label=label,
                value=_missing(t, result.answered, min_group_size),
            )
        ]
    n = whole(result.answered.value or 0)
    if question.type is QuestionType.TEXT:
        return [t("insights.detail.texts", label=label, count=n)]
    lines = [t("insights.detail.question", label=label, count=n)]
    if result.mean.shown:
        lines.append(
            t(
                "insights.detail.scale",
                mean=index(t, result.mean, min_group_size),
                median=median_label(question, result.median_code, locale) or "",
            )
        )
    options = [
        t(
            "insights.detail.option",
            label=median_label(question, option.code, locale) or option.code,
            count=option.count,
            share=percent(t, option.share),
        )
        for option in result.distribution
    ]
    if options:
        lines.append(" · ".join(options))
    return lines


def group_section(
    t: Translate,
    group: GroupResult,
    locale: Locale,
    min_group_size: int,
    themes: Themes | None = None,
    quotes: Sequence[str] = (),
) -> str:
    """One role's results for a commitment, question by question, its tone, themes and
    quotes."""
    p = group.participation
    lines = [
        t(
            "insights.detail.role",
            role=_role(t, group.role),
            completed=p.completed,
            started=p.started,
            targeted=p.targeted,
            rate=percent(t, p.response_rate),
        )
    ]
    for question in group.questions:
        lines += question_lines(t, question, locale, min_group_size)
    lines.append(_tone_line(t, group.tone, group.sentiment, min_group_size))
    lines += _themes_lines(t, themes, quotes, min_group_size)
    return "\n".join(lines)


def commitment_sections(
    t: Translate, digest: Digest, commitment_id: str, locale: Locale
) -> list[str]:
    """``/summary ROUND COMMITMENT``: one commitment, each role question by question."""
    commitment = digest.result.commitment(commitment_id)
    title = _title(digest.titles, commitment_id, locale)
    first = [
        t(
            "insights.detail.title",
            id=commitment_id,
            title=title,
            round=digest.info.round_id,
            instrument=digest.info.instrument_title.get(locale),
        ),
        t(
            f"insights.summary.status.{digest.info.status}",
            date=round_date(digest.info, locale),
        ),
        t("insights.summary.suppression", n=digest.min_group_size),
    ]
    if commitment is None:
        return ["\n".join([*first, t("insights.detail.not_in_round")])]
    sections = ["\n".join(first)]
    row = digest.gap_of(commitment_id)
    if row is not None and row.measured:
        sections.append(
            "\n".join(
                gap_row_lines(
                    t, row, digest.titles, locale, digest.min_group_size, digest.threshold
                )
            )
        )
    sections += [
        group_section(
            t,
            group,
            locale,
            digest.min_group_size,
            digest.themes.get((commitment_id, group.role)),
            digest.quotes.get((commitment_id, group.role), ()),
        )
        for group in commitment.roles()
    ]
    return sections


# --- the gap table ---------------------------------------------------------------------------


def gap_row_lines(
    t: Translate,
    row: GapRow,
    titles: Mapping[str, LocalizedText],
    locale: Locale,
    min_group_size: int,
    threshold: float,
) -> list[str]:
    """One commitment of the gap table: its figures, and why it is flagged."""
    lines = [
        t(
            "insights.gap.row",
            flag=t("insights.summary.flag") if row.flagged else "",
            id=row.commitment_id,
            title=_title(titles, row.commitment_id, locale),
        )
    ]
    official = (
        percent(t, row.official) if row.official is not None else t("insights.gap.no_official")
    )
    if not row.in_round:
        lines.append(t("insights.gap.not_in_round", official=official))
        return lines
    if not row.measured:
        lines.append(t("insights.gap.not_measured", official=official))
        return lines
    gap = (
        t("insights.value.points", value=_signed(row.gap))
        if row.gap is not None
        else t("insights.value.none")
    )
    lines.append(
        t(
            "insights.gap.figures",
            official=official,
            implementers=index(t, row.implementers.mean, min_group_size)
            if row.implementers_asked
            else t("insights.gap.not_asked"),
            beneficiaries=index(t, row.beneficiaries.mean, min_group_size),
            gap=gap,
        )
    )
    if row.flagged:
        lines.append(t("insights.gap.why", reasons=_reasons(t, row, threshold)))
    return lines


def _signed(value: float | None) -> str:
    rounded = whole(value or 0.0)
    return f"+{rounded}" if rounded > 0 else ("0" if rounded == 0 else f"−{-rounded}")


def gap_sections(t: Translate, digest: Digest, locale: Locale) -> list[str]:
    """``/gap``: every commitment, flagged first, with a legend of the three figures."""
    flagged = sum(1 for row in digest.gap if row.flagged)
    first = "\n".join(
        [
            t(
                "insights.gap.title",
                round=digest.info.round_id,
                instrument=digest.info.instrument_title.get(locale),
            ),
            t("insights.gap.legend", threshold=whole(digest.threshold)),
            t("insights.summary.suppression", n=digest.min_group_size),
            t("insights.summary.flagged", count=flagged),
        ]
    )
    rows = [
        "\n".join(
            gap_row_lines(t, row, digest.titles, locale, digest.min_group_size, digest.threshold)
        )
        for row in digest.gap
    ]
    return [first, *rows]


# --- trends ----------------------------------------------------------------------------------


def trend_sections(
    t: Translate,
    commitment_id: str,
    title: LocalizedText | None,
    points: Sequence[TrendPoint],
    locale: Locale,
) -> list[str]:
    """``/trend COMMITMENT``: each closed round's indexes for the commitment, oldest first."""
    first = t("insights.trend.title", id=commitment_id, title=title.get(locale) if title else "")
    if not points:
        return [first + "\n" + t("insights.trend.empty")]
    rows = []
    for point in points:
        lines = [
            t(
                "insights.trend.row",
                round=point.info.round_id,
                date=round_date(point.info, locale),
                instrument=point.info.instrument_title.get(locale),
            )
        ]
        for group in point.result.roles():
            figures = [
                t(
                    "insights.trend.figure",
                    label=MEASURE_LABELS[measure].get(locale),
                    value=index(t, group.measures[measure].mean, point.min_group_size),
                )
                for measure in NUMERIC_MEASURES
                if measure in group.measures
            ]
            figures.append(
                t(
                    "insights.trend.figure",
                    label=t("insights.trend.sentiment"),
                    value=index(t, group.sentiment, point.min_group_size),
                )
            )
            lines.append(
                t(
                    "insights.trend.role",
                    role=_role(t, group.role),
                    completed=group.participation.completed,
                    targeted=group.participation.targeted,
                    figures=" · ".join(figures),
                )
            )
        rows.append("\n".join(lines))
    return [first, *rows]


# --- results for respondents -----------------------------------------------------------------


def results_message(
    t: Translate,
    info: RoundInfo,
    commitment: CommitmentResult,
    title: LocalizedText | None,
    locale: Locale,
    min_group_size: int,
) -> str:
    """What a respondent gets when the round closes: their commitment, in a few lines."""
    lines = [
        t(
            "insights.results.title",
            title=title.get(locale) if title else commitment.commitment_id,
        ),
        t(
            "insights.results.intro",
            instrument=info.instrument_title.get(locale),
            count=commitment.participation.started,
        ),
    ]
    for group in commitment.roles():
        lines += _results_lines(t, group, locale, min_group_size)
    lines.append(t("insights.results.outro"))
    return "\n".join(lines)


def _results_lines(
    t: Translate, group: GroupResult, locale: Locale, min_group_size: int
) -> list[str]:
    """One role's part of a respondent's results: its shown figures and tone."""
    lines = [t("insights.results.role", role=_role(t, group.role))]
    asked = [m for m in NUMERIC_MEASURES if m in group.measures]
    shown = [m for m in asked if group.measures[m].mean.shown]
    if not shown and not group.tone.shown:
        lines.append(t("insights.results.suppressed", n=min_group_size))
        return lines
    lines += [
        t(
            "insights.results.measure",
            label=MEASURE_LABELS[m].get(locale),
            value=index(t, group.measures[m].mean, min_group_size),
        )
        for m in shown
    ]
    if group.tone.shown:
        lines.append(
            t(
                "insights.results.tone",
                pos=percent(t, group.tone.shares["pos"]),
                neu=percent(t, group.tone.shares["neu"]),
                neg=percent(t, group.tone.shares["neg"]),
            )
        )
    if len(shown) < len(asked):
        lines.append(t("insights.results.partly_suppressed", n=min_group_size))
    return lines


# --- splitting -------------------------------------------------------------------------------


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units), of the HTML as sent: an upper
    bound of the parsed text Telegram limits, so what fits here fits there."""
    return len(text.encode("utf-16-le")) // 2


def split_messages(sections: Sequence[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pack sections into messages under ``limit``, breaking between sections; a section
    too long for one message is broken between its lines (a line is never cut)."""
    messages: list[str] = []
    current = ""
    for section in sections:
        if telegram_length(section) <= limit:
            pieces, joiner = [section], "\n\n"
        else:
            pieces, joiner = section.split("\n"), "\n"
            if current:
                messages.append(current)
                current = ""
        for piece in pieces:
            if telegram_length(piece) > limit:
                raise ValueError("a single line is longer than a Telegram message")
            joined = f"{current}{joiner}{piece}" if current else piece
            if telegram_length(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
        if joiner == "\n" and current:
            messages.append(current)
            current = ""
    if current:
        messages.append(current)
    return messages


def as_plain_text(text: str) -> str:
    """Telegram HTML as a terminal shows it: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))
