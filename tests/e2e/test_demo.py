"""``pulso demo``: a whole round against the emulator, ending in the Secretariat's summary."""

from __future__ import annotations

import pytest

from bot.settings import load_settings
from pulso.demo import run_demo

pytestmark = pytest.mark.e2e


async def test_the_demo_plants_and_finds_the_gap(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    defaults = load_settings(env_file=None, overrides={"min_group_size": 3})
    assert await run_demo(out, people_per_group=3, seed=7, defaults=defaults) == 0
    printed = capsys.readouterr()
    summary = printed.out
    assert "Resultados de la ronda 1" in summary
    flagged = summary.split("Brecha entre lo reportado y lo percibido")[1].split("\n\n")[0]
    # The planted gap is the widest, so it is listed first.
    assert flagged.split("\n")[1].startswith("• JAL0004")
    charts = sorted(path.name for path in out.glob("chart-*.png"))
    assert charts == ["chart-1.png", "chart-2.png"]
    assert (out / "chart-1.png").read_bytes().startswith(b"\x89PNG")
    assert "done in" in printed.err
    # The demo also builds the results site and says where it is.
    assert f"results site: {(out / 'site' / 'index.html').resolve()}" in printed.err
    assert (out / "site" / "es" / "index.html").is_file()
