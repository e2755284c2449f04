"""Charts for the Secretariat, as PNG bytes made in memory with matplotlib (Agg).

Three charts, each readable on a phone (1080 px wide, large type) and in the
chat's language (every word comes through ``label``, a plain-text catalog
lookup):

* :func:`gap_chart` — per commitment, the official completion, the
  implementers' perceived completion and the beneficiaries' perceived change,
  side by side; flagged commitments are marked;
* :func:`tone_chart` — per commitment and role (beneficiaries first), the
  shares of positive, neutral and negative comments;
* :func:`trend_chart` — one commitment across rounds, each role's figures
  apart.

No chart pools the roles: each figure drawn is one role's (see
:mod:`surveys.aggregation`).

Colours are the Okabe–Ito palette, which stays distinct for the common kinds
of colour blindness, and each series also differs by marker or position. A
suppressed figure is never drawn: its place says "fewer than N answers".
Only matplotlib's object API is used (no ``pyplot``, no global state), so a
chart can be drawn in a worker thread while the bot goes on.

matplotlib (and numpy beneath it) is imported when the first chart is drawn,
not with this module: it costs about 35 MB and a second of start-up, and most
processes never draw (``pulso run`` between summaries, the command line).
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from handlers.texts.results import whole
from surveys.aggregation import Figure, Tone
from surveys.aggregation import Label as ToneLabel
from surveys.digest import TrendPoint
from surveys.gap import GapRow
from surveys.instruments import Measure, Role

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.patches import Patch

BLUE: Final = "#0072B2"
ORANGE: Final = "#E69F00"
GREEN: Final = "#009E73"
VERMILLION: Final = "#D55E00"
SKY: Final = "#56B4E9"
GREY: Final = "#7F7F7F"
LIGHT_GREY: Final = "#BBBBBB"

# 1080 px wide; at a phone's width the 13-point text reads like 10-point type on paper.
WIDTH_INCHES: Final = 7.2
DPI: Final = 150
TITLE_SIZE: Final = 17
TEXT_SIZE: Final = 14
SMALL_SIZE: Final = 13
FLAG: Final = "⚠"


class Label(Protocol):
    """A plain-text catalog lookup in the chart's language."""

    def __call__(self, key: str, /, **params: object) -> str: ...


@dataclass(frozen=True, slots=True)
class Chart:
    """A PNG and the (HTML) caption that goes with it."""

    name: str
    png: bytes
    caption: str


_importing = threading.Lock()


def _import_matplotlib() -> None:
    """Import what the charts use, one thread at a time: charts are drawn in worker
    threads, and two threads importing matplotlib at once can meet it half-initialised."""
    with _importing:
        import matplotlib.backends.backend_agg
        import matplotlib.figure
        import matplotlib.font_manager
        import matplotlib.ft2font
        import matplotlib.patches
        import matplotlib.text  # noqa: F401


@functools.cache
def _glyphs() -> frozenset[int]:
    _import_matplotlib()
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return frozenset(FT2Font(font).get_charmap())


def printable(text: str) -> str:
    """``text`` without the characters the chart font cannot draw (emoji in a title would
    otherwise turn into boxes and a warning)."""
    glyphs = _glyphs()
    kept = "".join(ch for ch in text if ord(ch) in glyphs or ch in "\n ")
    return " ".join(kept.split())


def _short(text: str, limit: int = 34) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _figure(height: float) -> MplFigure:
    _import_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _patch(**properties: Any) -> Patch:
    """A legend entry's swatch."""
    _import_matplotlib()
    from matplotlib.patches import Patch

    return Patch(**properties)


def _literal(figure: MplFigure) -> MplFigure:
    """Every text in ``figure`` drawn as written, never as mathtext.

    matplotlib reads a text with two ``$`` as a formula: "Becas de $5 mil y $10 mil"
    (``$`` is the peso sign) came out in math italics and ``$\\x$`` made the drawing
    raise, failing the closing summary. ``parse_math`` is a property of each text
    artist — titles, tick labels, legend entries, annotations alike — so it is
    switched off on all of them here, once the figure is built; escaping ``$``
    instead would have to reach every place a plan text enters.
    """
    _import_matplotlib()
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        text.set_parse_math(False)
    return figure


def png(figure: MplFigure) -> bytes:
    """The figure as PNG bytes (no timestamp or version in the file)."""
    _literal(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _missing_text(label: Label, figure: Figure, min_group_size: int) -> str:
    if figure.suppressed:
        return label("insights.chart.suppressed", n=min_group_size)
    return label("insights.chart.no_data")


# --- the gap ---------------------------------------------------------------------------------


def gap_figure(
    rows: Sequence[GapRow],
    titles: Mapping[str, str],
    *,
    label: Label,
    min_group_size: int,
    round_id: int,
    answers: Mapping[str, str] | None = None,
) -> MplFigure:
    """Per commitment, a heading and three full-width bars (see the module docstring);
    ``answers``: per commitment, a short note on the government's answer (on time, late,
    never; promises kept), drawn at the right of its heading."""
    shown = [row for row in rows if row.in_round]
    series: tuple[tuple[str, str, str, Callable[[GapRow], Figure]], ...] = (
        (label("insights.chart.official"), BLUE, "", _official),
        (label("insights.chart.implementers"), ORANGE, "///", lambda r: r.implementers.mean),
        (label("insights.chart.beneficiaries"), GREEN, "", lambda r: r.beneficiaries.mean),
    )
    notes = {cid: note for cid, note in (answers or {}).items() if note}
    noted = any(row.commitment_id in notes for row in shown)
    figure = _figure(1.6 + (1.35 if noted else 1.05) * max(1, len(shown)))
    axes = figure.add_subplot()
    block = len(series) + (2.2 if noted else 1.3)
    for position, row in enumerate(shown):
        top = position * block
        _heading(axes, top, row.commitment_id, titles, flagged=row.flagged)
        if row.commitment_id in notes:
            # The government's answer, on a line of its own under the bars.
            axes.text(
                0,
                top + 1 + len(series),
                notes[row.commitment_id],
                va="center",
                ha="left",
                fontsize=SMALL_SIZE,
                color=GREY,
            )
        for offset, (_, colour, hatch, value_of) in enumerate(series):
            y = top + 1 + offset
            value = value_of(row)
            if value.value is not None:
                axes.barh(y, value.value, height=0.8, color=colour, hatch=hatch, edgecolor="white")
                axes.text(
                    value.value + 1,
                    y,
                    str(whole(value.value)),
                    va="center",
                    ha="left",
                    fontsize=TEXT_SIZE,
                )
                continue
            if offset == 0:
                why = label("insights.chart.no_official")
            elif (offset == 1 and not row.implementers_asked) or (
                offset == 2 and not row.measured
            ):
                why = label("insights.chart.not_measured")
            else:
                why = _missing_text(label, value, min_group_size)
            axes.text(
                1,
                y,
                why,
                va="center",
                ha="left",
                fontsize=SMALL_SIZE,
                color=GREY,
                style="italic",
            )
    axes.set_ylim(max(1, len(shown)) * block - 0.6, -1.0)
    axes.set_xlim(0, 110)
    _finish(axes, label("insights.chart.gap.title", round=round_id))
    handles = [
        _patch(facecolor=colour, hatch=hatch, edgecolor="white", label=name)
        for name, colour, hatch, _ in series
    ]
    if any(row.flagged for row in shown):
        handles.append(
            _patch(
                facecolor="none",
                edgecolor="none",
                label=f"{FLAG} " + label("insights.chart.flagged"),
            )
        )
    figure.legend(
        handles=handles, loc="outside lower left", ncols=1, fontsize=SMALL_SIZE, frameon=False
    )
    return _literal(figure)


def _heading(
    axes: Axes, y: float, commitment_id: str, titles: Mapping[str, str], *, flagged: bool
) -> None:
    """A commitment's name above its bars, marked in vermillion when flagged."""
    text = f"{commitment_id} · {_short(titles.get(commitment_id, ''), 44)}"
    axes.text(
        0,
        y,
        f"{FLAG} {text}" if flagged else text,
        va="center",
        ha="left",
        fontsize=TEXT_SIZE,
        fontweight="bold",
        color=VERMILLION if flagged else "black",
    )


def _finish(axes: Axes, title: str) -> None:
    """The common look: 0–100 ticks below, light grid, no box, a left-aligned title."""
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.tick_params(axis="x", labelsize=SMALL_SIZE)
    axes.set_yticks([])
    axes.grid(axis="x", color=LIGHT_GREY, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.set_title(title, fontsize=TITLE_SIZE, loc="left")


def _legend(figure: MplFigure, axes: Axes, *, columns: int) -> None:
    """The legend of what was drawn, under the chart."""
    handles, names = axes.get_legend_handles_labels()
    if handles:
        figure.legend(
            handles,
            names,
            loc="outside lower left",
            ncols=columns,
            fontsize=SMALL_SIZE,
            frameon=False,
        )


def _official(row: GapRow) -> Figure:
    # A government's figure is not people's answers: shown as it is, never suppressed.
    return Figure(row.official, 1) if row.official is not None else Figure(None)


def gap_chart(
    rows: Sequence[GapRow],
    titles: Mapping[str, str],
    *,
    label: Label,
    min_group_size: int,
    round_id: int,
    answers: Mapping[str, str] | None = None,
) -> bytes:
    return png(
        gap_figure(
            rows,
            titles,
            label=label,
            min_group_size=min_group_size,
            round_id=round_id,
            answers=answers,
        )
    )


# --- tone ------------------------------------------------------------------------------------

#: A commitment and its roles' tones, beneficiaries first.
ToneRow = tuple[str, Sequence[tuple[Role, Tone]]]


def tone_figure(
    tones: Sequence[ToneRow],
    titles: Mapping[str, str],
    *,
    label: Label,
    min_group_size: int,
    round_id: int,
) -> MplFigure:
    """Per commitment, a heading and, per role, one bar of positive, neutral and negative
    shares labelled with the role."""
    parts: tuple[tuple[ToneLabel, str, str], ...] = (
        ("pos", label("insights.chart.tone.pos"), GREEN),
        ("neu", label("insights.chart.tone.neu"), LIGHT_GREY),
        ("neg", label("insights.chart.tone.neg"), VERMILLION),
    )
    bars = sum(max(1, len(roles)) for _, roles in tones)
    figure = _figure(1.6 + 0.62 * max(1, len(tones)) + 0.5 * bars)
    axes = figure.add_subplot()
    top = 0.0
    for commitment_id, roles in tones:
        _heading(axes, top, commitment_id, titles, flagged=False)
        for offset, (role, tone) in enumerate(roles):
            y = top + 1.2 + 1.6 * offset
            _tone_bar(axes, y, label(f"insights.role.{role.value}"), tone, parts, label,
                      min_group_size)  # fmt: skip
        top += 1.2 + 1.6 * max(1, len(roles)) + 0.4
    axes.set_ylim(top - 0.4, -1.0)
    axes.set_xlim(0, 100)
    _finish(axes, label("insights.chart.tone.title", round=round_id))
    axes.grid(False)
    figure.legend(
        handles=[_patch(facecolor=colour, label=name) for _, name, colour in parts],
        loc="outside lower left",
        ncols=3,
        fontsize=SMALL_SIZE,
        frameon=False,
    )
    return _literal(figure)


def _tone_bar(
    axes: Axes,
    y: float,
    role: str,
    tone: Tone,
    parts: Sequence[tuple[ToneLabel, str, str]],
    label: Label,
    min_group_size: int,
) -> None:
    """One role's bar of shares, with the role's name above it."""
    axes.text(0, y - 0.65, role, va="center", ha="left", fontsize=SMALL_SIZE)
    if not tone.shown:
        axes.text(
            1,
            y,
            _missing_text(label, tone.index, min_group_size),
            va="center",
            ha="left",
            fontsize=SMALL_SIZE,
            color=GREY,
            style="italic",
        )
        return
    left = 0.0
    for key, _, colour in parts:
        share = tone.shares.get(key, 0.0)
        axes.barh(y, share, left=left, height=0.8, color=colour, edgecolor="white")
        if share >= 9:
            axes.text(
                left + share / 2,
                y,
                f"{whole(share)}%",
                ha="center",
                va="center",
                fontsize=SMALL_SIZE,
                color="black" if key == "neu" else "white",
            )
        left += share


def tone_chart(
    tones: Sequence[ToneRow],
    titles: Mapping[str, str],
    *,
    label: Label,
    min_group_size: int,
    round_id: int,
) -> bytes:
    return png(
        tone_figure(tones, titles, label=label, min_group_size=min_group_size, round_id=round_id)
    )


# --- trend -----------------------------------------------------------------------------------

TrendSeries = tuple[str, str, str, Callable[[TrendPoint], Figure]]


def trend_figure(
    points: Sequence[TrendPoint],
    *,
    commitment_id: str,
    title: str,
    official: float | None,
    label: Label,
    dates: Callable[[TrendPoint], str] = lambda p: p.info.when.date().isoformat(),
    answers: Mapping[int, str] | None = None,
) -> MplFigure:
    """A commitment round by round: the beneficiaries' perceived change and the implementers'
    perceived completion (the two sides of the gap), each role's sentiment index, and the
    latest official figure as a dashed line. ``dates`` writes a round's date (Babel);
    ``answers``, per round, the government's answer to it (on time, late, never; promises
    kept), written under the round."""
    series: tuple[TrendSeries, ...] = (
        (
            label("insights.chart.trend.outcome"),
            GREEN,
            "o",
            lambda p: p.result.measure(Measure.OUTCOME, Role.BENEFICIARY).mean,
        ),
        (
            label("insights.chart.trend.progress"),
            ORANGE,
            "s",
            lambda p: p.result.measure(Measure.PERCEIVED_PROGRESS, Role.IMPLEMENTER).mean,
        ),
        (
            label("insights.chart.trend.sentiment_of", role=label("insights.role.beneficiary")),
            SKY,
            "^",
            lambda p: _sentiment(p, Role.BENEFICIARY),
        ),
        (
            label("insights.chart.trend.sentiment_of", role=label("insights.role.implementer")),
            VERMILLION,
            "v",
            lambda p: _sentiment(p, Role.IMPLEMENTER),
        ),
    )
    marks = {
        round_id: "\n".join(printable(line) for line in mark.splitlines())
        for round_id, mark in (answers or {}).items()
        if mark
    }
    figure = _figure(6.4 if marks else 5.6)
    axes = figure.add_subplot()
    xs = list(range(len(points)))
    for name, colour, marker, value_of in series:
        values = [value_of(point) for point in points]
        if all(v.empty for v in values):
            continue
        ys = [v.value if v.value is not None else math.nan for v in values]
        axes.plot(xs, ys, color=colour, marker=marker, markersize=9, linewidth=2.5, label=name)
        for x, v, point in zip(xs, values, points, strict=True):
            if v.suppressed:
                axes.annotate(
                    label("insights.chart.suppressed_short", n=point.min_group_size),
                    (x, 0),
                    xytext=(0, 6 + 16 * [s[0] for s in series].index(name)),
                    textcoords="offset points",
                    ha="center",
                    fontsize=SMALL_SIZE - 2,
                    color=colour,
                    style="italic",
                )
    if official is not None:
        axes.axhline(
            official,
            color=BLUE,
            linestyle="--",
            linewidth=2.5,
            label=label("insights.chart.trend.official"),
        )
    axes.set_xticks(xs)
    axes.set_xticklabels(
        [
            label("insights.chart.round", round=p.info.round_id)
            + f"\n{dates(p)}"
            + (f"\n{marks[p.info.round_id]}" if p.info.round_id in marks else "")
            for p in points
        ],
        fontsize=SMALL_SIZE,
    )
    axes.set_xlim(-0.5, max(0.5, len(points) - 0.5))
    axes.set_ylim(0, 105)
    axes.set_yticks([0, 25, 50, 75, 100])
    axes.tick_params(axis="y", labelsize=SMALL_SIZE)
    axes.grid(axis="y", color=LIGHT_GREY, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_title(
        label("insights.chart.trend.title", id=commitment_id) + "\n" + _short(title, 60),
        fontsize=TITLE_SIZE,
        loc="left",
    )
    _legend(figure, axes, columns=2)
    return _literal(figure)


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    commitment_id: str,
    title: str,
    official: float | None,
    label: Label,
    dates: Callable[[TrendPoint], str] = lambda p: p.info.when.date().isoformat(),
    answers: Mapping[int, str] | None = None,
) -> bytes:
    return png(
        trend_figure(
            points,
            commitment_id=commitment_id,
            title=title,
            official=official,
            label=label,
            dates=dates,
            answers=answers,
        )
    )


def _sentiment(point: TrendPoint, role: Role) -> Figure:
    group = point.result.groups.get(role)
    return group.sentiment if group is not None else Figure(None)
