"""Issue 13's planted case: six beneficiaries answer "worsened" (0) and five implementers the
top of the scale (100) about one commitment. Every surface shows beneficiaries 0/100 and
implementers 100/100 apart, beneficiaries first, and never the pooled 45/100."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

import handlers.charts
from bot.i18n import Locale
from bot.insights.site import collect
from handlers.results import ResultsView
from handlers.site import render_site
from handlers.texts.results import as_plain_text
from surveys.aggregation import Figure
from tests.planted import PLANTED, planted_world

POOLED = re.compile(r"\b45 ?/ ?100\b|\b45(\.0+)?\b")


def _planted_part(text: str) -> str:
    """The part of a text about the planted commitment (up to the next commitment)."""
    start = text.find(f"{PLANTED} · ")
    start = start if start >= 0 else text.find(PLANTED)
    assert start >= 0, text[:200]
    following = [text.find(f"JAL000{k}", start + len(PLANTED)) for k in range(2, 8)]
    end = min([i for i in following if i > start] or [len(text)])
    return text[start:end]


def _roles_apart(text: str, beneficiaries: str, implementers: str) -> None:
    assert "45/100" not in text
    # The beneficiaries' block with figures (a participation line names both roles first).
    for found in re.finditer(re.escape(beneficiaries), text):
        ben = found.start()
        imp = text.find(implementers, ben + 1)
        if imp > ben and "/100" in text[ben:imp]:
            break
    else:
        raise AssertionError(f"no beneficiaries' figures before the implementers': {text}")
    assert re.findall(r"\d+/100", text[ben:imp])[0] == "0/100", text[ben:imp]
    assert "100/100" not in text[ben:imp], text[ben:imp]
    assert re.findall(r"\d+/100", text[imp:])[0] == "100/100", text[imp:]


@pytest.fixture
async def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for name in ("gap_chart", "tone_chart", "trend_chart"):
        original = getattr(handlers.charts, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> bytes:
            calls.append((_name, args))
            drawn: bytes = _original(*args, **kwargs)
            return drawn

        monkeypatch.setattr(handlers.charts, name, spy)
    world = await planted_world(tmp_path)
    try:
        yield world, calls
    finally:
        await world.services.db.close()


@pytest.mark.timeout(240)
async def test_every_surface_shows_each_role_and_never_the_pooled_figure(
    planted, tmp_path: Path
) -> None:
    world, calls = planted
    round_id = world.rounds[1]
    view = ResultsView(world.services)
    words: dict[Locale, tuple[str, str]] = {
        "es": ("Beneficiarias", "Implementación"),
        "en": ("Beneficiaries", "Implementers"),
    }
    for locale, (ben, imp) in words.items():
        summary = (await view.summary(locale, round_id)).plain_text()
        _roles_apart(_planted_part(summary), ben, imp)
        detail = (await view.summary(locale, round_id, PLANTED)).plain_text()
        _roles_apart(detail, ben, imp)
        gap = _planted_part((await view.gap(locale, round_id)).plain_text())
        assert "45/100" not in gap
        assert re.search(r"(beneficiarias|beneficiaries) 0/100", gap), gap
        assert "100/100" in gap
        trend = (await view.trend(locale, PLANTED)).plain_text()
        latest = re.search(rf"(Ronda|Round) {round_id} ·", trend)
        assert latest is not None, trend
        _roles_apart(trend[latest.start() :], ben, imp)
        results = as_plain_text(await view.results(round_id, PLANTED, locale) or "")
        _roles_apart(results, ben, imp)

    files = await view.report(round_id, "en")
    page = re.sub(r"<[^>]+>", " ", files["report.html"].decode())
    _roles_apart(_planted_part(page), "Beneficiaries", "Implementers")
    rows = list(csv.DictReader(io.StringIO(files["aggregates.csv"].decode())))
    mine = [r for r in rows if r["commitment"] == PLANTED]
    assert {r["role"] for r in mine} == {"beneficiary", "implementer", "gap"}  # never "all"
    outcome = {r["role"]: r["value"] for r in mine if r["figure"] == "outcome_index"}
    assert outcome == {"beneficiary": "0.00", "implementer": "100.00"}
    assert not any(POOLED.search(r["value"]) for r in mine)

    # The charts' data: each role's figures, 0 or 100, never 45.
    assert {name for name, _ in calls} >= {"gap_chart", "tone_chart", "trend_chart"}
    figures = [f for _, args in calls for f in _figures(args[0])]
    assert figures
    assert {f.value for f in figures if f.value is not None} <= {0.0, 100.0, 25.0, 66.7, 75.0}
    assert not any(f.value is not None and round(f.value) == 45 for f in figures)

    # The site: every page and the open data.
    site = render_site(await collect(world.services.insights), world.services.t)
    for locale, (ben, imp) in words.items():
        commitment = re.sub(r"<[^>]+>", " ", site[f"{locale}/c/{PLANTED}.html"].decode())
        assert "45/100" not in commitment
        assert ben in commitment
        assert imp in commitment
        home = re.sub(r"<[^>]+>", " ", site[f"{locale}/index.html"].decode())
        assert "45/100" not in home
        assert "0/100" in home
        assert "100/100" in home
    results_json = json.loads(site["data/results.json"])
    planted_figures = [
        f for f in results_json["figures"] if f["commitment"] == PLANTED and f["round"] == round_id
    ]
    outcome_json = {
        f["role"]: f["value"] for f in planted_figures if f["figure"] == "outcome_index"
    }
    assert outcome_json == {"beneficiary": 0.0, "implementer": 100.0}
    assert all(f["value"] != 45.0 for f in planted_figures)
    gap_rows = [g for g in results_json["gap"] if g["commitment"] == PLANTED]
    assert gap_rows[-1]["beneficiaries"] == 0.0
    assert gap_rows[-1]["implementers"] == 100.0
    # Themes per role: the implementers' "mejoró" is never among the beneficiaries' themes.
    themes = [t for t in results_json["themes"] if t["commitment"] == PLANTED]
    assert any(t["term"].startswith("mejor") and t["role"] == "implementer" for t in themes)
    assert not any(t["term"].startswith("mejor") and t["role"] == "beneficiary" for t in themes)


def _figures(data: Any, depth: int = 0) -> list[Figure]:
    """Every Figure in a chart's input that belongs to the planted commitment."""
    found: list[Figure] = []

    def walk(value: Any, inside: bool, depth: int) -> None:
        if depth > 7:
            return
        if isinstance(value, Figure):
            if inside:
                found.append(value)
            return
        if isinstance(value, tuple | list):
            owner = inside or (len(value) == 2 and value[0] == PLANTED)
            for item in value:
                walk(item, owner, depth + 1)
            return
        if hasattr(value, "__dataclass_fields__"):
            owner = inside or getattr(value, "commitment_id", None) == PLANTED
            for name in value.__dataclass_fields__:
                walk(getattr(value, name), owner, depth + 1)

    walk(data, False, depth)
    return found
