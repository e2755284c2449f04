"""``pulso site build --out DIR`` and ``pulso site serve``: the public results site.

``build`` writes the static, bilingual site of the closed rounds (their
published snapshots only: see ``docs/site.md`` and ``docs/privacy.md``) into
a folder any web server can publish; ``serve`` shows a built folder on
``http://127.0.0.1:PORT/`` to preview it (not for production: use nginx or any
static host).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
from pathlib import Path

from bot.i18n import translator
from bot.settings import Settings
from bot.storage.engine import Database
from pulso.bootstrap import build_services
from pulso.cli.common import clock, say, with_database

EXIT_OK, EXIT_FAILED = 0, 1


def build(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.site import build_site

    out = Path(args.out or settings.site_dir or "site")

    async def work(db: Database) -> dict[str, bytes]:
        services = build_services(settings, db, clock, translator())
        return await build_site(services, out)

    files = with_database(settings, work)
    pages = sum(1 for name in files if name.endswith(".html"))
    say(f"site written to {out.resolve()}: {pages} pages and {len(files) - pages} data files")
    say(f"open {out.resolve() / 'index.html'}, or preview it with: pulso site serve --dir {out}")
    return EXIT_OK


def serve(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.dir or settings.site_dir or "site")
    if not (folder / "index.html").is_file():
        say(f"pulso site serve: no site in {folder}; build one with: pulso site build --out DIR")
        return EXIT_FAILED
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer((args.host, args.port), handler) as server:
        say(f"previewing {folder.resolve()} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    site = commands.add_parser("site", help="the public results site (static, es/en)")
    actions = site.add_subparsers(dest="site_command", metavar="ACTION", required=True)
    builder = actions.add_parser(
        "build", help="write the site of the closed rounds into a folder (default: SITE_DIR)"
    )
    builder.add_argument("--out", metavar="DIR", help="folder to write (replaced as a whole)")
    builder.set_defaults(handler=build)
    server = actions.add_parser("serve", help="preview a built site locally")
    server.add_argument("--dir", metavar="DIR", help="the built site (default: SITE_DIR)")
    server.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    server.set_defaults(handler=serve)
