"""``pulso export``, ``pulso report`` and ``pulso sentiment``: results for people and programs.

::

    pulso export [--round ID] [--format csv|json] [--exact-times]
                                                      the answer file of closed rounds (audited)
    pulso report --round ID --out DIR [--lang es|en]  report.html, its charts, aggregates.csv
    pulso sentiment [--lang es|en] < texts.txt        label<TAB>probability<TAB>score<TAB>text

``export`` is the full answer file (microdata), an admin's operation on the
server, recorded in the audit log: one row per answer (one per chosen option of
a multiple choice) of closed rounds only, with at least round, commitment,
role, pseudonym, question, value, text and answered_at; the pseudonym is
HMAC-SHA256(PSEUDONYM_SECRET, round and Telegram user id), new every round,
never the id or a name, and empty for answers unlinked by /forget; times are
given to the day unless ``--exact-times`` (see ``docs/privacy.md``).
``report`` applies small-group suppression like every summary. ``sentiment``
lets anyone audit the analyser: the language is detected per text unless
``--lang`` is given; the probability is that of the label (under
``surveys.sentiment.UNCERTAIN_BELOW`` the text counts as uncertain), the score
is P(pos) − P(neg). Data goes to standard output, messages to standard error;
all three are safe to run while the bot runs (they only read).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from bot.i18n import LOCALES, translator
from bot.insights.exports import audit_answers_export, write_answers
from bot.settings import Settings
from bot.storage.engine import Database
from handlers.results import ResultsView
from pulso.bootstrap import build_services
from pulso.cli.common import clock, say, with_database
from surveys.errors import PulsoError, RoundStillOpen, UnknownRound
from surveys.sentiment import UNCERTAIN_BELOW, get_analyzer

EXIT_OK, EXIT_FAILED = 0, 1


def export(settings: Settings, args: argparse.Namespace) -> int:
    secret = settings.require_pseudonym_secret()

    async def work(db: Database) -> int:
        if args.round is not None:
            async with db.read() as repos:
                found = await repos.rounds.get(args.round)
                if found is None:
                    raise UnknownRound(str(args.round))
                if found.status != "closed":
                    raise RoundStillOpen(round_id=args.round)
        count = await write_answers(
            db,
            sys.stdout,
            secret=secret,
            round_id=args.round,
            fmt=args.format,
            exact_times=args.exact_times,
        )
        await audit_answers_export(
            db,
            actor=None,
            round_id=args.round,
            rows=count,
            exact_times=args.exact_times,
            now=clock.now(),
        )
        return count

    try:
        count = with_database(settings, work)
    except UnknownRound:
        say(f"pulso export: there is no round {args.round}")
        return EXIT_FAILED
    except RoundStillOpen:
        say(f"pulso export: round {args.round} is not closed; its answers come after it closes")
        return EXIT_FAILED
    sys.stdout.flush()
    scope = f"round {args.round}" if args.round is not None else "every closed round"
    say(f"{count} answer row(s) of {scope} exported as {args.format}")
    return EXIT_OK


def report(settings: Settings, args: argparse.Namespace) -> int:
    locale = args.lang or settings.default_language

    async def work(db: Database) -> dict[str, bytes]:
        services = build_services(settings, db, clock, translator())
        return await ResultsView(services).report(args.round, locale)

    try:
        files = with_database(settings, work)
    except PulsoError as error:
        say(f"pulso report: {error}")
        return EXIT_FAILED
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    say(f"wrote {out / 'report.html'} and {len(files) - 1} more file(s) in {out}")
    return EXIT_OK


def sentiment(settings: Settings, args: argparse.Namespace) -> int:
    analyzer = get_analyzer()
    default = settings.default_language
    # Read and write UTF-8 whatever the terminal's locale, so accents and emoji survive.
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=True)
    count = 0
    try:
        for line in lines:
            text = line.rstrip("\n")
            scored = analyzer.analyse(text, args.lang, default_language=default)
            out.write(f"{scored.label}\t{scored.confidence:.3f}\t{scored.score:+.4f}\t{text}\n")
            count += 1
    finally:
        out.detach()
        lines.detach()
    say(
        f"{count} text(s) scored with {analyzer.version}; "
        f"a probability under {UNCERTAIN_BELOW} is uncertain"
    )
    return EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    exporter = commands.add_parser(
        "export",
        help="the answer file of closed rounds, with per-round pseudonyms, as CSV or JSON on "
        "standard output (recorded in the audit log)",
    )
    exporter.add_argument(
        "--round", type=int, metavar="ID", help="one round (default: every closed round)"
    )
    exporter.add_argument(
        "--exact-times",
        action="store_true",
        help="answered_at to the second (default: the day only)",
    )
    exporter.add_argument(
        "--format", choices=["csv", "json"], default="csv", help="output format (default: csv)"
    )
    exporter.set_defaults(handler=export)

    reporter = commands.add_parser(
        "report", help="a round's report: an HTML page with its charts, and the aggregates"
    )
    reporter.add_argument("--round", type=int, metavar="ID", required=True, help="the round")
    reporter.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
    reporter.add_argument(
        "--lang", choices=list(LOCALES), help="language (default: DEFAULT_LANGUAGE)"
    )
    reporter.set_defaults(handler=report)

    scorer = commands.add_parser(
        "sentiment",
        help="score texts read one per line from standard input: "
        "label<TAB>probability<TAB>score<TAB>text",
    )
    scorer.add_argument(
        "--lang", choices=["es", "en"], help="the texts' language (default: detected per text)"
    )
    scorer.set_defaults(handler=sentiment)
