"""The public results site and ``pulso report``'s page, drawn with Jinja2 templates.

The values come from the runtime (:mod:`bot.insights.site`: closed rounds
only, from their snapshots); this package draws them, in Spanish and English,
as static pages (:func:`render_site`) that need no script, no font and no
request to any other host: CSS inline, charts inline SVG
(:mod:`handlers.site.svg`) each with a data table beside it. Figures are
written by the same helpers as the bot's messages
(:mod:`handlers.texts.results`), per role, beneficiaries first, never pooled;
dates by :func:`bot.i18n.local_date`.

Layout of a built site::

    index.html                 the language choice
    es/index.html, en/…        the plan, each commitment's gap, what changed
    es/c/<commitment>.html     a commitment: answers by role, tone, themes, quotes
    es/methods.html            who was asked, suppression, gap, tone, accuracy
    data/index.html            the open data: *.csv, results.json, datapackage.json

:func:`build_site` collects and writes it (``pulso site build``, ``pulso demo``,
and the bot at every close when ``SITE_DIR`` is set); :func:`report_page` is
``pulso report``'s page, on the same base template.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import jinja2
from markupsafe import Markup

from bot.i18n import LOCALES, Locale, Translator
from bot.insights.site import SiteData, collect, data_files, open_data
from handlers.site.pages import Pages
from handlers.site.svg import safe

if TYPE_CHECKING:
    from bot.services import Services

TEMPLATES: Final = Path(__file__).parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The templates, HTML-escaped by default (every value a person wrote is escaped)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


@cache
def stylesheet() -> Markup:
    return safe((TEMPLATES / "style.css").read_text("utf-8"))


def translate(t: Translator, locale: Locale) -> Any:
    """``t(key, **params)`` for templates: the catalog's HTML, values escaped."""

    def bound(key: str, /, **params: object) -> Markup:
        return safe(t(key, locale, **params))

    return bound


def render(template: str, **context: Any) -> str:
    """One page from ``template`` with the shared stylesheet."""
    return environment().get_template(template).render(css=stylesheet(), **context)


def render_site(site: SiteData, t: Translator) -> dict[str, bytes]:
    """Every file of the site by relative path (pages, open data)."""
    files: dict[str, bytes] = {}
    for locale in LOCALES:
        pages = Pages(site, t, locale)
        files[f"{locale}/index.html"] = render("home.html", **pages.home()).encode()
        files[f"{locale}/methods.html"] = render("methods.html", **pages.methods()).encode()
        for commitment in site.commitments:
            context = pages.commitment(commitment.id)
            files[f"{locale}/c/{commitment.id}.html"] = render(
                "commitment.html", **context
            ).encode()
    data = data_files(site)
    for name, content in data.items():
        files[f"data/{name}"] = content
    described = {f"{table.name}.csv": table.description for table in open_data(site)}
    listing = [
        *((name, described[name]) for name in sorted(described)),
        ("results.json", "Every table as JSON records."),
        ("datapackage.json", "The Frictionless Data Package describing the CSV files."),
    ]
    files["data/index.html"] = render(
        "data.html",
        **Pages(site, t, "es").common("data", root="../", alternate=None),
        files=listing,
    ).encode()
    files["index.html"] = render(
        "languages.html",
        **Pages(site, t, "es").common("languages", root="", alternate=None),
    ).encode()
    return files


def write_site(files: dict[str, bytes], out: Path) -> None:
    """Write the site into ``out`` as a whole: built beside it, then swapped in, so a web
    server publishing ``out`` never serves half a site."""
    out = out.resolve()
    if out.exists() and any(out.iterdir()) and not (out / "index.html").is_file():
        # Replacing a folder that is not a site would delete whatever it holds.
        raise FileExistsError(f"{out} is not empty and holds no site: not replacing it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    for name, content in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    staging.chmod(0o755)
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)


async def build_site(services: Services, out: Path) -> dict[str, bytes]:
    """Collect the published results and write the site into ``out``; the files written."""
    site = await collect(
        services.insights,
        analyser=_analyser_version(),
        accountability=services.accountability,
    )
    files = await asyncio.to_thread(render_site, site, services.t)
    await asyncio.to_thread(write_site, files, out)
    return files


def _analyser_version() -> str:
    from surveys.sentiment import get_analyzer

    return str(get_analyzer().version)


def report_page(
    t: Translator,
    locale: Locale,
    *,
    title: str,
    sections: Sequence[str],
    breakdowns: Sequence[str],
    images: Sequence[tuple[str, str, str]],
) -> str:
    """``pulso report``'s page: the summary as sent, the gap, the breakdowns, the charts.

    ``sections`` are Telegram HTML (every value already escaped, valid HTML) and
    ``breakdowns`` HTML tables drawn with every cell escaped; ``images`` are
    (file, alternative text, caption HTML).
    """
    return render(
        "report.html",
        locale=locale,
        t=translate(t, locale),
        page_title=title,
        alternate=None,
        other="",
        body_class="report",
        root="",
        current="report",
        footer="",
        sections=[safe(s.replace("\n", "<br>")) for s in sections],
        breakdowns=[safe(b) for b in breakdowns],
        images=[(name, alt, safe(caption)) for name, alt, caption in images],
    )


__all__ = ["build_site", "render_site", "report_page", "write_site"]
