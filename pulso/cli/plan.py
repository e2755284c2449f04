"""``pulso plan check|import|show``: validate, load and inspect the action plan.

``check`` and ``import`` take the plan's file, or ``--example`` for the Jalisco
2016 plan shipped with Pulso.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.plans import describe_instrument, import_plan
from bot.settings import Settings
from bot.storage.engine import Database
from pulso.cli.common import clock, say, with_database
from surveys.errors import PlanFileError
from surveys.loader import LoadedPlan, load_example_plan, load_plan

EXIT_OK, EXIT_INVALID = 0, 1


def _source(args: argparse.Namespace) -> str:
    """The plan file named on the command line, or which example."""
    return "example jalisco-2016" if args.example else str(args.file)


def _load(args: argparse.Namespace) -> LoadedPlan | None:
    try:
        return load_example_plan() if args.example else load_plan(Path(args.file))
    except PlanFileError as error:
        for problem in error.problems:
            say(str(problem))
        say(f"{len(error.problems)} problem(s) found; nothing was imported")
        return None


def check(settings: Settings, args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return EXIT_INVALID
    plan = loaded.plan
    say(
        f"{_source(args)}: OK — plan {plan.id}, {len(plan.commitments)} commitments, "
        f"instruments: {', '.join(describe_instrument(i) for i in loaded.instruments.values())}"
    )
    return EXIT_OK


def import_(settings: Settings, args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return EXIT_INVALID

    async def work(db: Database) -> list[str]:
        report = await import_plan(
            db, loaded, source_file=_source(args), actor=None, now=clock.now()
        )
        return report.changes

    changes = with_database(settings, work)
    for line in changes:
        print(line)
    if not changes:
        say("nothing changed: the database already holds this plan")
    return EXIT_OK


def show(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> list[str]:
        async with db.read() as repos:
            plan = await repos.plans.plan()
            stored = await repos.plans.commitments(include_retired=True)
            instruments = await repos.plans.latest_instruments()
            official = await repos.plans.official_figures()
            responsible = await repos.accountability.responsible()
        if plan is None:
            return []
        locale = plan.default_language
        lines = [
            f"{plan.name.get(locale)} — {plan.government} ({plan.period.start:%Y}–"
            f"{plan.period.end:%Y})",
            "",
        ]
        rows: list[tuple[str, ...]] = [("id", "official", "status", "title")]
        for item in stored:
            figure = official.get(item.commitment.id)
            rows.append(
                (
                    item.commitment.id,
                    f"{figure.percent:.0f} %" if figure else "—",
                    "retired" if item.retired else "active",
                    item.commitment.title.get(locale),
                )
            )
        lines += _table(rows)
        lines += ["", "responsible people (Telegram ids; they answer each round's results):"]
        lines += [
            f"  {item.commitment.id}: {', '.join(map(str, responsible[item.commitment.id]))}"
            for item in stored
            if responsible.get(item.commitment.id)
        ] or ["  none yet: /grant USER_ID responsible COMMITMENT, or responsible: in the plan"]
        lines += ["", "instruments:"]
        lines += [f"  {describe_instrument(i.instrument)}" for i in instruments]
        return lines

    lines = with_database(settings, work)
    if not lines:
        say("no plan imported yet: run `pulso plan import FILE`")
        return EXIT_INVALID
    print("\n".join(lines))
    return EXIT_OK


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.append("  ".join([*cells, row[-1]]))
    return out


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plan = commands.add_parser("plan", help="validate, import and show the action plan")
    actions = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)
    for name, handler, help_text in (
        ("check", check, "validate a plan file (and its instruments) without importing it"),
        ("import", import_, "import or update the plan from a file (safe to repeat)"),
    ):
        sub = actions.add_parser(name, help=help_text)
        which = sub.add_mutually_exclusive_group(required=True)
        which.add_argument("file", metavar="FILE", nargs="?", help="the plan's YAML file")
        which.add_argument(
            "--example", action="store_true", help="the Jalisco 2016 example shipped with Pulso"
        )
        sub.set_defaults(handler=handler)
    actions.add_parser("show", help="the imported plan and instruments, as a table").set_defaults(
        handler=show
    )
