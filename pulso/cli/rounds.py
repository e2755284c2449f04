"""``pulso round new|list|close|cancel``: survey rounds from the server's command line.

The same service as the Telegram commands (:mod:`bot.rounds.service`), on the same
database, so it is safe while the bot runs: the running bot (another process)
sends what this command queues. ``pulso round new … --now`` opens the round at
once and shows a progress bar on standard error while the bot drains the
invitations, and says so when no bot seems to be sending. ``pulso round list``
writes its table to standard output; everything else goes to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from tqdm import tqdm

from bot.rounds.service import CreatedRound, NewRound
from bot.services import Services
from bot.settings import Settings
from pulso.bootstrap import open_services
from pulso.cli.common import say
from surveys.errors import PulsoError, RoundSpecError
from surveys.rounds import (
    DEFAULT_REMINDER_OFFSETS,
    local_text,
    parse_commitments,
    parse_duration,
    parse_opens,
    parse_quiet_hours,
    parse_reminder_offsets,
    parse_roles,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: With invitations due and none settled for this long, no bot is sending them (the
#: bot looks at the outbox at least every 30 s, and at once when it is woken).
NO_BOT_AFTER_SECONDS = 45.0
POLL_SECONDS = 0.5


def _run(settings: Settings, work: Callable[[Services], Awaitable[int]]) -> int:
    """Open the services on the database (no bot: the running one sends), run ``work``."""

    async def main() -> int:
        services = await open_services(settings)
        try:
            return await work(services)
        except RoundSpecError as error:  # what was typed: a usage error
            say(f"pulso: {error}")
            return EXIT_USAGE
        except PulsoError as error:
            say(f"pulso: {error}")
            return EXIT_FAILED
        finally:
            await services.db.close()

    return asyncio.run(main())


def _request(settings: Settings, args: argparse.Namespace, now_utc: datetime) -> NewRound:
    opens = "now" if args.now else args.opens
    return NewRound(
        instrument_id=args.survey.lower(),
        commitment_ids=parse_commitments(args.commitments),
        roles=tuple(str(r) for r in parse_roles(args.roles)),
        opens_at=parse_opens(opens, now=now_utc, tz=settings.tz),
        duration=parse_duration(args.duration),
        reminder_offsets=(
            parse_reminder_offsets(args.reminders) if args.reminders else DEFAULT_REMINDER_OFFSETS
        ),
        quiet_hours=str(parse_quiet_hours(args.quiet) or "off") if args.quiet else None,
        send_results=not args.no_results,
    )


def new(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        request = _request(settings, args, services.clock.now())
        created = await services.rounds.create(request, actor=None)
        _describe(services, created)
        if created.round.status == "open" and not args.no_wait:
            await _watch(services, created.round.id, created.reach, args.patience)
        return EXIT_OK

    return _run(settings, work)


def _describe(services: Services, created: CreatedRound) -> None:
    tz = services.settings.tz
    round_ = created.round
    state = "opened" if round_.status == "open" else "scheduled"
    say(
        f"round {round_.id} {state}: {round_.instrument_id} for "
        f"{', '.join(round_.commitment_ids)} ({', '.join(round_.roles)}); "
        f"opens {local_text(round_.opens_at, tz)}, closes {local_text(round_.closes_at, tz)} "
        f"({services.settings.timezone}); reaches {created.reach} people"
    )


async def _watch(services: Services, round_id: int, reach: int, patience: float) -> None:
    """A progress bar while the running bot sends the invitations (another process)."""
    last_settled, last_change = -1, time.monotonic()
    with tqdm(total=reach, desc=f"round {round_id} invitations", unit="msg", leave=True) as bar:
        while True:
            progress = await services.rounds.progress(round_id)
            settled = progress.delivered + progress.failed + progress.unreachable
            bar.total = max(reach, settled + progress.waiting)
            bar.update(settled - bar.n)
            bar.set_postfix(failed=progress.failed, unreachable=progress.unreachable)
            if progress.waiting == 0:
                break
            async with services.db.read() as repos:
                next_due = await repos.outbox.next_due_at()
            now = services.clock.now()
            if next_due is not None and next_due > now + timedelta(seconds=5):
                bar.close()
                say(
                    f"the remaining invitations wait for quiet hours to end: "
                    f"{local_text(next_due, services.settings.tz)}"
                )
                return
            if settled != last_settled:
                last_settled, last_change = settled, time.monotonic()
            elif time.monotonic() - last_change > patience:
                bar.close()
                say(
                    f"no bot seems to be running: nothing was sent for {patience:g} s. "
                    "The invitations are queued and go out when `pulso run` is running."
                )
                return
            await asyncio.sleep(POLL_SECONDS)


def list_(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        overview = await services.rounds.overview(limit=args.limit)
        tz = services.settings.tz
        rows: list[tuple[str, ...]] = [
            (
                "id",
                "survey",
                "status",
                "opens",
                "closes",
                "targeted",
                "delivered",
                "started",
                "completed",
                "failed",
                "unreachable",
            )
        ]
        for item in overview:
            r, p = item.round, item.progress
            rows.append(
                (
                    str(r.id),
                    r.instrument_id,
                    r.status,
                    local_text(r.opens_at, tz),
                    local_text(r.closes_at, tz),
                    *(
                        str(n)
                        for n in (
                            p.targeted,
                            p.delivered,
                            p.started,
                            p.completed,
                            p.failed,
                            p.unreachable,
                        )
                    ),
                )
            )
        if len(rows) == 1:
            say("no rounds yet: create one with `pulso round new`")
            return EXIT_OK
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        return EXIT_OK

    return _run(settings, work)


def close(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        await services.rounds.close(args.round, actor=None)
        progress = await services.rounds.progress(args.round)
        say(f"round {args.round} closed: {progress.completed} of {progress.targeted} completed")
        return EXIT_OK

    return _run(settings, work)


def cancel(settings: Settings, args: argparse.Namespace) -> int:
    async def work(services: Services) -> int:
        await services.rounds.cancel(args.round, actor=None)
        say(f"round {args.round} cancelled: nothing more is sent for it")
        return EXIT_OK

    return _run(settings, work)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = commands.add_parser("round", help="create, list, close and cancel survey rounds")
    actions = group.add_subparsers(dest="round_command", metavar="ACTION", required=True)

    create = actions.add_parser("new", help="schedule a round, or open it now (--now)")
    create.add_argument("survey", metavar="SURVEY", help="instrument id, like pulse")
    create.add_argument("commitments", metavar="COMMITMENTS", help="all, or JAL0001,JAL0004")
    create.add_argument("roles", metavar="ROLES", help="all, beneficiary or implementer")
    create.add_argument(
        "duration", metavar="DURATION", help="how long it stays open: 7d, 36h, 90m"
    )
    when = create.add_mutually_exclusive_group(required=True)
    when.add_argument("--now", action="store_true", help="open it now and show the sending")
    when.add_argument("--opens", metavar="'YYYY-MM-DD HH:MM'", help="opening, in TIMEZONE")
    create.add_argument("--reminders", help="none, or up to 3 like 48h,-24h (default)")
    create.add_argument("--quiet", help="quiet hours HH:MM-HH:MM or off (default QUIET_HOURS)")
    create.add_argument(
        "--no-results",
        action="store_true",
        help="do not send respondents their commitment's results when the round closes",
    )
    create.add_argument(
        "--no-wait", action="store_true", help="with --now: do not wait for the sending"
    )
    create.add_argument(
        "--patience",
        type=float,
        default=NO_BOT_AFTER_SECONDS,
        metavar="SECONDS",
        help=f"with --now: conclude no bot is running after this long without progress "
        f"(default {NO_BOT_AFTER_SECONDS:g})",
    )
    create.set_defaults(handler=new)

    listing = actions.add_parser("list", help="the newest rounds with their counts (stdout)")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    listing.set_defaults(handler=list_)

    for name, handler, help_text in (
        ("close", close, "close an open round now"),
        ("cancel", cancel, "cancel a scheduled or open round"),
    ):
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument("round", metavar="ID", type=int, help="the round's id (see `list`)")
        sub.set_defaults(handler=handler)
