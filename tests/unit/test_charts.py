"""Charts: PNGs a phone can read, in the chat's language, suppressed figures never drawn."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import pytest
from matplotlib.patches import Rectangle

from bot.i18n import translator
from handlers.charts import (
    FLAG,
    VERMILLION,
    gap_chart,
    gap_figure,
    printable,
    tone_figure,
    trend_figure,
)
from handlers.texts.results import as_plain_text
from surveys.aggregation import QuestionTally, RoundCounts, summarise
from surveys.digest import RoundInfo, TrendPoint
from surveys.gap import reality_gap
from surveys.instruments import Role, builtin_instrument

PROGRESS = builtin_instrument("progress")
BEN, IMP = Role.BENEFICIARY, Role.IMPLEMENTER
TITLES = {"A": "Agua potable 🚰 para todos", "B": "Registro", "C": "Becas"}


def label_for(locale: str):
    t = translator()
    return lambda key, **params: as_plain_text(t(key, locale, **params))


def result(min_group_size: int = 5):
    questions = {
        # A: 6 beneficiaries, all "did not change"; 5 implementers say complete
        ("A", BEN, "change"): QuestionTally(6, 0, {"no_change": 6}),
        ("A", IMP, "completion"): QuestionTally(5, 0, {"complete": 5}),
        ("A", BEN, "what_changed"): QuestionTally(6, 0, {}, {"pos": 1, "neu": 2, "neg": 3}),
        # B: 4 beneficiaries (N−1) and 2 implementers: everything suppressed
        ("B", BEN, "change"): QuestionTally(4, 0, {"major": 4}),
        ("B", IMP, "completion"): QuestionTally(2, 0, {"complete": 2}),
        ("B", BEN, "what_changed"): QuestionTally(2, 0, {}, {"pos": 2}),
    }
    targets = [(c, r) for c in "AB" for r in ("beneficiary", "implementer")]
    return summarise(
        PROGRESS, RoundCounts(questions=questions), targets=targets, min_group_size=min_group_size
    )


def texts_of(figure) -> list[str]:
    return [text.get_text() for axes in figure.axes for text in axes.texts]


def bars_of(figure) -> list[Rectangle]:
    return [p for axes in figure.axes for p in axes.patches if isinstance(p, Rectangle)]


def test_the_gap_chart_draws_only_what_may_be_shown() -> None:
    rows = reality_gap(result(), ["A", "B", "C"], {"A": 100.0, "B": 90.0}, threshold=30)
    figure = gap_figure(rows, TITLES, label=label_for("en"), min_group_size=5, round_id=3)
    widths = sorted(round(bar.get_width(), 1) for bar in bars_of(figure))
    # A: official 100, implementers 100, beneficiaries 25; B: official 90 only.
    assert widths == [25.0, 90.0, 100.0, 100.0]
    texts = texts_of(figure)
    assert texts.count("fewer than 5 answers") == 2  # B's implementers and beneficiaries
    assert f"{FLAG} A · Agua potable para todos" in texts  # flagged, emoji dropped
    assert "B · Registro" in texts
    assert not any(t.startswith("C ·") for t in texts)  # not in this round
    flagged = next(t for axes in figure.axes for t in axes.texts if t.get_text().startswith(FLAG))
    assert flagged.get_color() == VERMILLION
    assert figure.axes[0].get_title(loc="left") == "Reported vs perceived · round 3"


def test_labels_follow_the_chat_language() -> None:
    rows = reality_gap(result(), ["A", "B"], {"A": 100.0}, threshold=30)
    figure = gap_figure(rows, TITLES, label=label_for("es"), min_group_size=5, round_id=3)
    assert "menos de 5 respuestas" in texts_of(figure)
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend[:3] == [
        "Oficial (reportado)",
        "Implementación (avance percibido)",
        "Beneficiarias (cambio percibido)",
    ]


def test_a_chart_is_a_phone_sized_png() -> None:
    rows = reality_gap(result(), ["A", "B"], {"A": 100.0}, threshold=30)
    png = gap_chart(rows, TITLES, label=label_for("en"), min_group_size=5, round_id=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1080
    assert 400 < height < 2000


def test_the_tone_chart_leaves_suppressed_groups_undrawn() -> None:
    commitments = result().commitments
    tones = [(c.commitment_id, tuple((g.role, g.tone) for g in c.roles())) for c in commitments]
    figure = tone_figure(tones, TITLES, label=label_for("en"), min_group_size=5, round_id=3)
    widths = [round(bar.get_width(), 1) for bar in bars_of(figure)]
    assert widths == [16.7, 33.3, 50.0]  # only A's comments
    assert "fewer than 5 answers" in texts_of(figure)
    assert {"17%", "33%", "50%"} <= set(texts_of(figure))


def test_the_trend_chart_leaves_gaps_where_figures_are_suppressed() -> None:
    a_shown = result().commitment("A")
    a_hidden = result(min_group_size=7).commitment("A")
    points = [
        TrendPoint(
            RoundInfo(1, PROGRESS.title, "closed", datetime(2026, 1, 10, tzinfo=UTC)), a_hidden, 7
        ),
        TrendPoint(
            RoundInfo(2, PROGRESS.title, "closed", datetime(2026, 2, 10, tzinfo=UTC)), a_shown, 5
        ),
    ]
    figure = trend_figure(
        points, commitment_id="A", title=TITLES["A"], official=100.0, label=label_for("en")
    )
    lines = {line.get_label(): line.get_ydata() for line in figure.axes[0].get_lines()}
    change = lines["Beneficiaries: perceived change"]
    assert math.isnan(change[0])
    assert change[1] == pytest.approx(25.0)
    assert "fewer than 7" in texts_of(figure)
    assert list(lines["Official completion (latest figure)"]) == [100.0, 100.0]


def test_the_trend_chart_marks_the_governments_answer_under_each_round() -> None:
    a = result().commitment("A")
    points = [
        TrendPoint(RoundInfo(n, PROGRESS.title, "closed", datetime(2026, n, 10, tzinfo=UTC)), a, 5)
        for n in (1, 2)
    ]
    answers = {1: "✓ answered on time\npromises kept: 1 of 2"}
    figure = trend_figure(
        points,
        commitment_id="A",
        title=TITLES["A"],
        official=None,
        label=label_for("en"),
        answers=answers,
    )
    ticks = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert ticks[0].endswith("✓ answered on time\npromises kept: 1 of 2")
    assert "answered" not in ticks[1]  # round 2 had no answer owed (yet)


def test_printable_drops_what_the_font_cannot_draw() -> None:
    assert printable("Agua 🚰  potable\nñandú") == "Agua potable ñandú"


# "$" is the peso sign: plan text is drawn as written, never as matplotlib mathtext.
PESOS = {"A": "Becas de $5 mil y $10 mil", "B": r"Apoyo $\x$ (sic)", "C": "Becas"}


def test_plan_text_with_dollar_signs_is_drawn_literally() -> None:
    from matplotlib.text import Text

    from handlers.charts import png

    rows = reality_gap(result(), ["A", "B"], {"A": 100.0}, threshold=30)
    tones = [
        (c.commitment_id, tuple((g.role, g.tone) for g in c.roles())) for c in result().commitments
    ]
    a = result().commitment("A")
    points = [
        TrendPoint(RoundInfo(1, PROGRESS.title, "closed", datetime(2026, 1, 10, tzinfo=UTC)), a, 5)
    ]
    figures = [
        gap_figure(rows, PESOS, label=label_for("es"), min_group_size=5, round_id=3),
        tone_figure(tones, PESOS, label=label_for("es"), min_group_size=5, round_id=3),
        *(
            trend_figure(
                points, commitment_id=c, title=PESOS[c], official=None, label=label_for("es")
            )
            for c in "AB"
        ),
    ]
    for figure in figures:
        # `$\x$` made savefig raise, and the closing summary's outbox row failed.
        assert png(figure)[:8] == b"\x89PNG\r\n\x1a\n"
        with_pesos = [t for t in figure.findobj(Text) if "$" in t.get_text()]
        assert with_pesos
        for text in with_pesos:
            # Not mathtext: "Becas de $5 mil y $10 mil" is not turned into italics.
            assert text._preprocess_math(text.get_text()) == (text.get_text(), False)
    heading = f"{FLAG} A · Becas de $5 mil y $10 mil"
    assert heading in texts_of(figures[0])
    assert gap_chart(rows, PESOS, label=label_for("en"), min_group_size=5, round_id=3)
