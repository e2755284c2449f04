"""The built results site in headless Chromium: both widths without horizontal scrolling,
every link resolving, no WCAG 2.1 AA violation by axe-core, the language switch, and
screenshots of the home page (``tests/browser/artifacts/``)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.browser.conftest import ARTIFACTS, AXE

WIDTHS = (360, 1280)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

pytestmark = pytest.mark.timeout(600)


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def viewport(driver, width: int, height: int = 900) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def test_every_page_fits_both_widths_without_horizontal_scrolling(site, browser) -> None:
    too_wide = []
    for width in WIDTHS:
        viewport(browser, width)
        for page in pages(site):
            browser.get(page.as_uri())
            scroll, inner = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                too_wide.append((page.relative_to(site).as_posix(), width, scroll))
    assert too_wide == []


def test_every_link_resolves(site, browser) -> None:
    broken = []
    for page in pages(site):
        browser.get(page.as_uri())
        links = browser.execute_script("return Array.from(document.links, a => a.href)")
        for link in links:
            url = urlparse(link)
            assert url.scheme == "file", (page, link)  # nothing on another host
            if not Path(unquote(url.path)).is_file():
                broken.append((page.relative_to(site).as_posix(), link))
    assert broken == []


def test_axe_finds_no_wcag_21_aa_violation(site, browser) -> None:
    source = AXE.read_text("utf-8")
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        viewport(browser, width)
        for page in pages(site):
            browser.get(page.as_uri())
            browser.execute_script(source)
            result = browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
                ".then(r => done(JSON.stringify(r.violations.map(v => "
                "  [v.id, v.impact, v.nodes.length, v.nodes.slice(0, 2).map(n => n.html)]))))"
                ".catch(e => done(JSON.stringify([['axe-error', String(e), 0, []]])));",
                AXE_TAGS,
            )
            violations = json.loads(result)
            if violations:
                found[f"{page.relative_to(site).as_posix()}@{width}"] = violations
    (ARTIFACTS).mkdir(exist_ok=True)
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(found, indent=1))
    assert found == {}


def test_the_language_switch_works(site, browser) -> None:
    viewport(browser, 1280)
    browser.get((site / "es" / "index.html").as_uri())
    assert browser.find_element("tag name", "html").get_attribute("lang") == "es"
    browser.find_element("css selector", 'nav a[hreflang="en"]').click()
    assert browser.current_url.endswith("/en/index.html")
    assert browser.find_element("tag name", "html").get_attribute("lang") == "en"
    assert "what people say" in browser.find_element("tag name", "h1").text
    commitment = browser.find_element("css selector", 'a[href^="c/"]')
    commitment.click()
    assert "/en/c/" in browser.current_url
    browser.find_element("css selector", 'nav a[hreflang="es"]').click()
    assert "/es/c/" in browser.current_url
    assert browser.find_element("tag name", "html").get_attribute("lang") == "es"


def test_screenshots_of_the_home_page(site, browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        viewport(browser, width)
        browser.get((site / "es" / "index.html").as_uri())
        height = browser.execute_script("return document.documentElement.scrollHeight")
        viewport(browser, width, min(int(height), 2600))
        path = ARTIFACTS / f"home-{width}.png"
        assert browser.save_screenshot(str(path))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
