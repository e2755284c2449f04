"""The results site as files: open data valid as a Frictionless Data Package, pages small,
self-contained (no other host), bilingual, every local link resolving; an empty plan."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from bot.insights.site import collect
from handlers.site import build_site, render_site, write_site
from tests.planted import PLANTED, planted_world

PAGE_LIMIT = 300 * 1024


@pytest.fixture
async def built(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    world = await planted_world(tmp_path)
    try:
        files = await build_site(world.services, tmp_path / "site")
    finally:
        await world.services.db.close()
    return tmp_path / "site", files


@pytest.mark.timeout(240)
async def test_the_open_data_is_a_valid_data_package(built) -> None:
    from frictionless import Package, validate

    folder, _ = built
    report = validate(str(folder / "data" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = Package(str(folder / "data" / "datapackage.json"))
    names = {resource.name for resource in package.resources}
    assert names == {
        "commitments",
        "rounds",
        "participation",
        "figures",
        "gap",
        "themes",
        "quotes",
        "responses",  # the government's answers (docs/responses.md)
    }
    results = json.loads((folder / "data" / "results.json").read_text("utf-8"))
    assert {f["role"] for f in results["figures"]} == {"beneficiary", "implementer"}
    suppressed = [f for f in results["figures"] if f["status"] != "shown"]
    assert all(f["value"] is None and f["people"] is None for f in suppressed)


@pytest.mark.timeout(240)
async def test_pages_are_small_self_contained_and_linked(built) -> None:
    folder, files = built
    pages = {name: data for name, data in files.items() if name.endswith(".html")}
    assert {"index.html", "es/index.html", "en/index.html", "es/methods.html"} <= set(pages)
    assert f"es/c/{PLANTED}.html" in pages
    assert f"en/c/{PLANTED}.html" in pages
    for name, data in pages.items():
        assert len(data) < PAGE_LIMIT, name
        text = data.decode()
        # No request to any other host: no script at all, no remote src, href or url().
        assert "<script" not in text, name
        assert not re.search(r"""(src|href)=["'](https?:)?//""", text), name
        assert "url(" not in text, name
        for link in re.findall(r'href="([^"]+)"', text):
            target = urldefrag(link).url
            if target:
                assert (folder / Path(name).parent / target).resolve().is_file(), (name, link)
    assert '<html lang="es">' in pages["es/index.html"].decode()
    assert '<html lang="en">' in pages["en/index.html"].decode()
    assert 'href="../en/index.html"' in pages["es/index.html"].decode()


@pytest.mark.timeout(240)
async def test_the_methods_page_publishes_the_shipped_analysers_figures(built) -> None:
    from surveys.sentiment import get_analyzer
    from surveys.sentiment.measured import recorded_evaluation

    _, files = built
    recorded = recorded_evaluation()
    assert recorded is not None
    assert recorded.analyser == get_analyzer().version
    assert {m.language for m in recorded.languages} == {"es", "en"}
    for locale, complaints in (("en", "Complaints found"), ("es", "Quejas detectadas")):
        page = files[f"{locale}/methods.html"].decode()
        assert complaints in page
        for measured in recorded.languages:
            assert f"{measured.macro_f1:.3f}" in page
            assert f"{measured.negative_recall:.3f}" in page


def test_figures_of_another_analyser_version_are_never_published() -> None:
    from surveys.sentiment import get_analyzer
    from surveys.sentiment.measured import measured_quality

    version = get_analyzer().version
    assert {m.language for m in measured_quality(version)} == {"es", "en"}
    assert measured_quality(version.replace("tone-", "tone-0")) == ()
    assert measured_quality("") == ()


@pytest.mark.timeout(240)
async def test_a_plan_without_closed_rounds_has_a_site_that_says_so(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.clock import ManualClock
    from bot.i18n import translator
    from bot.plans import import_plan
    from bot.settings import load_settings
    from bot.storage.engine import Database
    from bot.storage.migrate import upgrade
    from pulso.bootstrap import build_services
    from surveys.loader import load_plan
    from tests.e2e.harness import EXAMPLE_PLAN

    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    await upgrade(db)
    clock = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
    await import_plan(db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=clock.now())
    services = build_services(load_settings(env_file=None), db, clock, translator())
    try:
        files = render_site(await collect(services.insights), services.t)
    finally:
        await db.close()
    assert "No round has closed yet" in files["en/index.html"].decode()
    # collect() was told no analyser version: no figures, and the page says why.
    assert "No accuracy figures were recorded" in files["en/methods.html"].decode()
    assert "Todavía no cierra ninguna ronda" in files["es/index.html"].decode()


def test_a_folder_that_is_not_a_site_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_site({"index.html": b"x"}, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    write_site({"index.html": b"one"}, tmp_path / "site")
    write_site({"index.html": b"two"}, tmp_path / "site")
    assert (tmp_path / "site" / "index.html").read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "site"]


@pytest.mark.timeout(240)
async def test_site_dir_is_rebuilt_after_every_close(tmp_path: Path) -> None:
    world = await planted_world(tmp_path, site_dir=str(tmp_path / "public"))
    try:
        await world.services.insights.wait_published()
    finally:
        await world.services.db.close()
    home = (tmp_path / "public" / "en" / "index.html").read_text("utf-8")
    assert f"round {world.rounds[1]}, closed on" in home  # the latest close is published
