"""The results site in a real browser: Debian's chromium, driven by Selenium.

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``apt-get install chromium
chromium-driver``; ``.ci/run`` installs them when missing) and axe-core's
``axe.min.js`` from the npm package (``.ci/run``: ``npm install --prefix .ci/node
axe-core@4``; or ``AXE_CORE_JS=/path/to/axe.min.js``). Without them the tests are
skipped with the reason, and the run's last lines say so; in CI (``CI=true``) they
never skip: a missing browser fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.site import build_site
from tests.planted import planted_world

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(os.environ.get("AXE_CORE_JS", ROOT / ".ci/node/node_modules/axe-core/axe.min.js"))
ARTIFACTS = Path(__file__).parent / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: Why the browser tests could not run here (shown in the run's last lines).
skipped: list[str] = []


def missing() -> str | None:
    """What is missing to run the browser tests, or None."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return (
            f"no {CHROMIUM} or {CHROMEDRIVER} (apt-get install chromium chromium-driver; "
            ".ci/run installs them)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not AXE.exists():
        return f"no axe-core at {AXE} (npm install --prefix .ci/node axe-core@4; .ci/run does)"
    return None


def require_browser() -> None:
    reason = missing()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI runs the browser tests, but {reason}")
    skipped.append(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site() -> Iterator[Path]:
    """The planted case's site, built once for the session."""
    require_browser()
    folder = Path(tempfile.mkdtemp(prefix="pulso-site-"))

    async def build() -> None:
        world = await planted_world(folder)
        try:
            await build_site(world.services, folder / "site")
        finally:
            await world.services.db.close()

    asyncio.run(build())
    yield folder / "site"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(site: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pulso-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say plainly when the browser tests did not run (like the PostgreSQL line)."""
    if skipped:
        terminalreporter.write_sep("-", f"browser tests skipped: {skipped[0]}")
