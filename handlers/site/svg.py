"""Charts for the results site as inline SVG, built by hand: small, scalable, no script.

Two shapes, both horizontal bars on a 0–100 axis, drawn in a ``viewBox`` so
they shrink to a phone's width without scrolling; each is an image with a
title and a description (``role="img"``, ``aria-labelledby``), and each page
puts the same figures in a data table beside it, which is what a screen
reader reads and what stays exact. Colours are the Okabe–Ito palette (as
:mod:`handlers.charts`); every bar also carries its value as text, so colour
is never the only cue. A missing figure is not drawn: its place says why
("no answers", "fewer than N answers").
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

WIDTH: Final = 640
LABEL_WIDTH: Final = 190
BAR_HEIGHT: Final = 18
ROW_GAP: Final = 6
GROUP_GAP: Final = 16
TEXT: Final = "#1b1b1b"
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its name, value 0–100 (None: not drawn) and what to write instead."""

    name: str
    value: float | None
    colour: str
    text: str  # the value as written ("45/100") or why it is missing


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a stacked bar: a share in percent."""

    name: str
    share: float
    colour: str
    dark_text: bool = False


@dataclass(frozen=True, slots=True)
class Stack:
    """One stacked bar (segments summing to 100) or, when ``segments`` is empty, a note."""

    label: str
    segments: Sequence[Segment]
    missing: str = ""


def safe(html_text: str) -> Markup:
    """Mark HTML as safe for the templates. Only for HTML whose every value was escaped
    where it was put together: the catalogs' texts (:class:`bot.i18n.Translator` escapes
    each parameter), the charts here (:func:`_e`), the stylesheet and the report's
    sections (Telegram HTML drawn by the same translator)."""
    return Markup(html_text)  # noqa: S704 - escaped where built (see the docstring)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _open(height: int, title: str, description: str) -> tuple[str, str]:
    n = next(_ids)
    head = (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="svg{n}t svg{n}d" focusable="false">'
        f'<title id="svg{n}t">{_e(title)}</title><desc id="svg{n}d">{_e(description)}</desc>'
    )
    return head, "</svg>"


def _axis(top: int, bottom: int) -> str:
    scale = WIDTH - LABEL_WIDTH - 60
    lines = []
    for tick in (0, 25, 50, 75, 100):
        x = LABEL_WIDTH + scale * tick / 100
        lines.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#d0d4da"/>'
            f'<text x="{x:.1f}" y="{bottom + 14}" font-size="12" fill="{TEXT}" '
            f'text-anchor="middle">{tick}</text>'
        )
    return "".join(lines)


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[Bar]]], *, title: str, description: str
) -> Markup:
    """Groups of bars (one group per round, say), each group under its heading."""
    scale = WIDTH - LABEL_WIDTH - 60
    y = 8
    body: list[str] = []
    for heading, bars in groups:
        body.append(
            f'<text x="0" y="{y + 13}" font-size="14" font-weight="700" fill="{TEXT}">'
            f"{_e(heading)}</text>"
        )
        y += BAR_HEIGHT + ROW_GAP
        for bar in bars:
            body.append(
                f'<text x="8" y="{y + 13}" font-size="13" fill="{TEXT}">{_e(bar.name)}</text>'
            )
            if bar.value is not None:
                w = max(1.0, scale * max(0.0, min(100.0, bar.value)) / 100)
                body.append(
                    f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
                    f'fill="{bar.colour}" stroke="{TEXT}" stroke-width="0.5"/>'
                    f'<text x="{LABEL_WIDTH + w + 4:.1f}" y="{y + 13}" font-size="13" '
                    f'fill="{TEXT}">{_e(bar.text)}</text>'
                )
            else:
                body.append(
                    f'<text x="{LABEL_WIDTH + 4}" y="{y + 13}" font-size="13" fill="#4a4a4a" '
                    f'font-style="italic">{_e(bar.text)}</text>'
                )
            y += BAR_HEIGHT + ROW_GAP
        y += GROUP_GAP
    height = y + 14
    head, tail = _open(height, title, description)
    return safe(head + _axis(4, y - GROUP_GAP) + "".join(body) + tail)


def stacked_bars(stacks: Sequence[Stack], *, title: str, description: str) -> Markup:
    """One 100 % bar per row (the shares of a scale's options, of a tone's labels)."""
    scale = WIDTH - LABEL_WIDTH - 10
    y = 8
    body: list[str] = []
    for stack in stacks:
        body.append(
            f'<text x="0" y="{y + 13}" font-size="13" fill="{TEXT}">{_e(stack.label)}</text>'
        )
        if not stack.segments:
            body.append(
                f'<text x="{LABEL_WIDTH + 4}" y="{y + 13}" font-size="13" fill="#4a4a4a" '
                f'font-style="italic">{_e(stack.missing)}</text>'
            )
        left = float(LABEL_WIDTH)
        for segment in stack.segments:
            w = scale * segment.share / 100
            if w <= 0:
                continue
            body.append(
                f'<rect x="{left:.1f}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{segment.colour}" stroke="#fff" stroke-width="1">'
                f"<title>{_e(segment.name)}: {round(segment.share)} %</title></rect>"
            )
            if segment.share >= 9:
                colour = TEXT if segment.dark_text else "#fff"
                body.append(
                    f'<text x="{left + w / 2:.1f}" y="{y + 13}" font-size="12" '
                    f'text-anchor="middle" fill="{colour}">{round(segment.share)}%</text>'
                )
            left += w
        y += BAR_HEIGHT + ROW_GAP * 2
    head, tail = _open(y + 4, title, description)
    return safe(head + "".join(body) + tail)
