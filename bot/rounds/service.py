"""Survey rounds: create, open, remind, close and cancel them, and run recurring schedules.

This module is the one place rounds change state. Every change is a
compare-and-set in the database (``repos.rounds.transition``), made in the
same transaction as what it owes people, so a repeated or late tick, a second
process or a restart changes nothing twice:

* **opening** (``scheduled → open``) snapshots the targets — one pending
  response per active participant × targeted commitment — and enqueues one
  ``invitation`` per person (dedupe key ``r{round}:p{person}:invitation``),
  held back until quiet hours end;
* **reminders** go to active people with a response not completed (dedupe
  ``r{round}:p{person}:reminder{n}``); of several overdue at once only the
  latest is sent, the others are ``skipped``;
* **closing** (``open → closed``, at the deadline or by ``/closeround``, never
  held back by quiet hours) skips the remaining reminders, cancels invitations
  and reminders not yet sent, posts "round N closed: X of Y completed" to every
  Secretariat chat, and hands the round to the insights service;
* **cancelling** (``scheduled|open → cancelled``) cancels what was not sent.

:meth:`RoundsService.tick` does all that is due, in that order, and fires the
recurring schedules; :class:`bot.rounds.scheduler.RoundScheduler` calls it. The
renderers at the bottom turn outbox rows into messages at send time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.accountability import AccountabilityService
from bot.clock import Clock
from bot.i18n import Html, Locale
from bot.insights.service import InsightsService
from bot.logs import describe_exception
from bot.outbox.engine import DeliveryEngine
from bot.rounds.scheduler import RoundScheduler
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.repositories import Repos
from bot.storage.repositories.outbox import NewDelivery, OutboxItem
from bot.storage.repositories.responses import Recipient, Target
from bot.storage.repositories.rounds import Round, Schedule
from surveys.errors import (
    NothingToSurvey,
    UnknownCommitment,
    UnknownInstrument,
    UnknownRound,
    UnknownSchedule,
)
from surveys.plan import Commitment
from surveys.rounds import (
    DEFAULT_REMINDER_OFFSETS,
    Progress,
    QuietHours,
    RoundAction,
    RoundStatus,
    check_cron,
    check_transition,
    next_fire,
    not_before,
    parse_quiet_hours,
    progress_of,
    reminder_times,
    settle_overdue,
)

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

INVITATION = "invitation"
REMINDER = "reminder"
ROUND_CLOSED = "round_closed"
#: Kinds a closing or a cancellation withdraws if they were not sent yet.
PARTICIPANT_KINDS = (INVITATION, REMINDER)
SCHEDULED: tuple[RoundStatus, ...] = ("scheduled",)
OPEN: tuple[RoundStatus, ...] = ("open",)


def invitation_key(round_id: int, participant_id: int) -> str:
    prefix, suffix = _invitation_key_parts(round_id)
    return f"{prefix}{participant_id}{suffix}"


def _invitation_key_parts(round_id: int) -> tuple[str, str]:
    """An invitation's dedupe key around the participant id (the opening builds it in SQL)."""
    return f"r{round_id}:p", f":{INVITATION}"


def reminder_key(round_id: int, participant_id: int, position: int) -> str:
    return f"r{round_id}:p{participant_id}:{REMINDER}{position}"


@dataclass(frozen=True, slots=True)
class NewRound:
    """A round as an admin describes it (already parsed; see :mod:`surveys.rounds`)."""

    instrument_id: str
    commitment_ids: tuple[str, ...] | None  # None: every commitment of the plan
    roles: tuple[str, ...]
    opens_at: datetime
    duration: timedelta
    reminder_offsets: tuple[timedelta, ...] = DEFAULT_REMINDER_OFFSETS
    quiet_hours: str | None = None  # "HH:MM-HH:MM" or "off"; None: the QUIET_HOURS setting
    send_results: bool = True  # each respondent hears their commitment's results at the close


@dataclass(frozen=True, slots=True)
class CreatedRound:
    round: Round
    reach: int  # people it reaches if nobody joins or leaves before it opens


@dataclass(frozen=True, slots=True)
class RoundOverview:
    round: Round
    progress: Progress


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did (counts), for logs and tests."""

    created: int = 0
    opened: int = 0
    reminded: int = 0
    closed: int = 0


class RoundsService:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        insights: InsightsService,
        delivery: DeliveryEngine,
        accountability: AccountabilityService,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.insights = insights
        self.delivery = delivery
        self.accountability = accountability
        self.scheduler = RoundScheduler(
            db=db, clock=clock, tick=self.tick, also_due=accountability.next_due
        )
        self._tick_lock = asyncio.Lock()
        # What the renderers need, loaded per delivery batch (see `preload`).
        self._recipients: dict[tuple[int, int], list[Recipient]] = {}
        # People who changed while a preload was reading (see `person_changed`).
        self._changed_while_loading: set[int] | None = None
        self._titles: dict[str, Commitment] = {}
        #: Rendered (text, button label) by (round, kind, locale, commitments, pending).
        self.texts: dict[tuple[int, str, str, tuple[str, ...], int], tuple[Html, Html]] = {}

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the scheduler: its first tick does whatever fell due while the bot was down."""
        await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        async with self._tick_lock:  # let a tick in progress commit
            pass

    def _changed(self) -> None:
        self.scheduler.changed()
        self.delivery.wake()

    # --- staff actions -------------------------------------------------------------------

    async def create(
        self, request: NewRound, *, actor: int | None, update_id: int | None = None
    ) -> CreatedRound:
        """Schedule a round (audited); it opens at once when ``opens_at`` is now.

        ``update_id``: the Telegram update asking for it; a redelivered update
        creates nothing and returns the round the first delivery created.
        """
        now = self.clock.now()
        async with self.db.write() as repos:
            if update_id is not None and not await repos.updates.claim(update_id, now):
                replayed = await self._created_by_update(repos, "round_create", update_id)
                found = await repos.rounds.get(replayed) if replayed is not None else None
                if found is None:
                    raise UnknownRound(str(replayed or "?"))
                reach = await repos.participants.count_active_members(
                    found.commitment_ids, found.roles
                )
                return CreatedRound(found, reach)
            opens_now = request.opens_at <= now
            # Opened at once: the reach is who the opening invites, counted by the opening
            # itself (a second pass over 100,000 memberships otherwise).
            created = await self._create(
                repos, request, actor=actor, schedule_id=None, now=now, count_reach=not opens_now
            )
            await repos.audit.record(
                actor,
                "round_create",
                {
                    "round": created.round.id,
                    "instrument": request.instrument_id,
                    "targets": [list(t) for t in created.round.targets],
                    "opens_at": created.round.opens_at.isoformat(),
                    "closes_at": created.round.closes_at.isoformat(),
                    "update": update_id,
                },
                now,
            )
        if created.round.opens_at <= now:
            invited = await self._open(created.round.id, now)
            async with self.db.read() as repos:
                opened = await repos.rounds.get(created.round.id)
                if invited is None:  # opened by someone else meanwhile (a scheduler tick)
                    invited = await repos.participants.count_active_members(
                        opened.commitment_ids if opened else (), opened.roles if opened else ()
                    )
            assert opened is not None
            created = CreatedRound(opened, invited)
        self._changed()
        return created

    @staticmethod
    async def _created_by_update(repos: Repos, action: str, update_id: int) -> int | None:
        """What the first delivery of a redelivered update created (from the audit log)."""
        for entry in await repos.audit.recent(limit=200, action=action):
            if entry.details.get("update") == update_id:
                created = entry.details.get("round", entry.details.get("schedule"))
                return int(created) if created is not None else None
        return None

    async def _create(
        self,
        repos: Repos,
        request: NewRound,
        *,
        actor: int | None,
        schedule_id: int | None,
        now: datetime,
        count_reach: bool = True,
    ) -> CreatedRound:
        instrument = await repos.plans.latest_instrument(request.instrument_id)
        if instrument is None:
            raise UnknownInstrument(request.instrument_id)
        available = [c.commitment.id for c in await repos.plans.commitments()]
        if request.commitment_ids is None:
            commitment_ids = tuple(available)
            if not commitment_ids:
                raise NothingToSurvey()
        else:
            commitment_ids = request.commitment_ids
            for commitment_id in commitment_ids:
                if commitment_id not in available:
                    raise UnknownCommitment(commitment_id)
        quiet = request.quiet_hours
        if quiet is not None:
            window = parse_quiet_hours(quiet)
            quiet = str(window) if window is not None else "off"
        closes_at = request.opens_at + request.duration
        round_ = await repos.rounds.create(
            instrument_pk=instrument.pk,
            targets=[(c, r) for c in commitment_ids for r in request.roles],
            opens_at=request.opens_at,
            closes_at=closes_at,
            reminder_times=reminder_times(request.opens_at, closes_at, request.reminder_offsets),
            quiet_hours=quiet,
            send_results=request.send_results,
            created_by=actor,
            schedule_id=schedule_id,
            now=now,
        )
        reach = (
            await repos.participants.count_active_members(commitment_ids, request.roles)
            if count_reach
            else 0
        )
        return CreatedRound(round_, reach)

    async def close(self, round_id: int, *, actor: int | None) -> Round:
        """Close an open round now (audited); a domain error says why it cannot be."""
        await self._staff_transition(round_id, "close")
        if not await self._close(round_id, self.clock.now(), actor=actor, early=True):
            await self._staff_transition(round_id, "close")  # lost a race: say why
        return await self._get(round_id)

    async def cancel(self, round_id: int, *, actor: int | None) -> Round:
        """Cancel a scheduled or open round (audited): nothing more is sent for it."""
        await self._staff_transition(round_id, "cancel")
        now = self.clock.now()
        async with self.db.write() as repos:
            done = await repos.rounds.transition(
                round_id, from_statuses=("scheduled", "open"), to="cancelled", now=now
            )
            if done:
                await repos.rounds.skip_pending_reminders(round_id, now)
                withdrawn = await repos.outbox.cancel(round_id=round_id, kinds=PARTICIPANT_KINDS)
                await repos.audit.record(
                    actor, "round_cancel", {"round": round_id, "withdrawn": withdrawn}, now
                )
        if not done:
            await self._staff_transition(round_id, "cancel")
        log.info("round %d cancelled", round_id)
        self._changed()
        return await self._get(round_id)

    async def _get(self, round_id: int) -> Round:
        async with self.db.read() as repos:
            found = await repos.rounds.get(round_id)
        if found is None:
            raise UnknownRound(str(round_id))
        return found

    async def _staff_transition(self, round_id: int, action: RoundAction) -> None:
        """Raise the domain error that explains why ``action`` is impossible, if it is."""
        found = await self._get(round_id)
        check_transition(round_id, found.status, action)

    async def overview(self, limit: int = 10) -> list[RoundOverview]:
        """The newest rounds with their live counts, for /rounds and ``pulso round list``."""
        async with self.db.read() as repos:
            recent = await repos.rounds.recent(limit=limit)
            ids = [r.id for r in recent]
            responses = await repos.responses.progress(ids) if ids else {}
            outbox = await repos.outbox.counts_by_round(ids) if ids else {}
        return [
            RoundOverview(r, progress_of(responses.get(r.id, {}), outbox.get(r.id, {})))
            for r in recent
        ]

    async def progress(self, round_id: int) -> Progress:
        async with self.db.read() as repos:
            responses = await repos.responses.progress([round_id])
            outbox = await repos.outbox.counts_by_round([round_id])
        return progress_of(responses.get(round_id, {}), outbox.get(round_id, {}))

    # --- recurring schedules -------------------------------------------------------------

    async def add_schedule(
        self,
        *,
        instrument_id: str,
        commitment_ids: tuple[str, ...] | None,
        roles: tuple[str, ...],
        cron: str,
        duration: timedelta,
        actor: int | None,
        update_id: int | None = None,
    ) -> Schedule:
        """A recurring round (audited): validated now, so a typo never fires."""
        now = self.clock.now()
        first = check_cron(cron, self.tz, now=now)
        async with self.db.write() as repos:
            if update_id is not None and not await repos.updates.claim(update_id, now):
                replayed = await self._created_by_update(repos, "schedule_create", update_id)
                found = await repos.rounds.get_schedule(replayed) if replayed else None
                if found is None:
                    raise UnknownSchedule(str(replayed or "?"))
                return found
            if await repos.plans.latest_instrument(instrument_id) is None:
                raise UnknownInstrument(instrument_id)
            available = {c.commitment.id for c in await repos.plans.commitments()}
            for commitment_id in commitment_ids or ():
                if commitment_id not in available:
                    raise UnknownCommitment(commitment_id)
            schedule = await repos.rounds.create_schedule(
                instrument_id=instrument_id,
                commitment_ids=commitment_ids,
                roles=roles,
                cron=cron.strip(),
                duration_seconds=int(duration.total_seconds()),
                timezone=self.settings.timezone,
                next_fire_at=first,
                created_by=actor,
                now=now,
            )
            await repos.audit.record(
                actor,
                "schedule_create",
                {
                    "schedule": schedule.id,
                    "cron": schedule.cron,
                    "instrument": instrument_id,
                    "update": update_id,
                },
                now,
            )
        self._changed()
        return schedule

    async def remove_schedule(self, schedule_id: int, *, actor: int | None) -> Schedule:
        """Stop a recurring schedule (audited); rounds it already created stay."""
        now = self.clock.now()
        async with self.db.write() as repos:
            found = await repos.rounds.get_schedule(schedule_id)
            if found is None or not found.active:
                raise UnknownSchedule(str(schedule_id))
            await repos.rounds.deactivate_schedule(schedule_id)
            await repos.audit.record(actor, "schedule_remove", {"schedule": schedule_id}, now)
        self._changed()
        return found

    async def reminder_moments(self, round_id: int) -> list[datetime]:
        async with self.db.read() as repos:
            return [r.due_at for r in await repos.rounds.reminders_of(round_id)]

    async def instrument_choices(self, locale: Locale) -> list[tuple[str, str]]:
        """``(id, title)`` of every survey a round can use (the wizard's first step)."""
        async with self.db.read() as repos:
            found = await repos.plans.latest_instruments()
        return [(s.id, s.instrument.title.get(locale)) for s in found]

    async def commitment_ids(self) -> list[str]:
        """The plan's commitments a new round may target, in plan order."""
        async with self.db.read() as repos:
            return [c.commitment.id for c in await repos.plans.commitments()]

    async def schedules(self) -> list[Schedule]:
        async with self.db.read() as repos:
            return await repos.rounds.schedules()

    # --- the tick ------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> TickReport:
        """Do everything due at ``now`` (default: the clock): fire schedules, open rounds,
        send reminders, close rounds. Idempotent; safe in several processes at once."""
        async with self._tick_lock:
            now = now or self.clock.now()
            created = await self._fire_schedules(now)
            async with self.db.read() as repos:
                to_open = await repos.rounds.due_to_open(now)
            opened = [round_id for round_id in to_open if await self.open(round_id, now)]
            reminded = await self._remind(now)
            async with self.db.read() as repos:
                to_close = await repos.rounds.due_to_close(now)
            closed = [r for r in to_close if await self._close(r, now, actor=None, early=False)]
            # The government's replies: reminders before their deadline, overdue at it.
            await self.accountability.tick(now)
        report = TickReport(created, len(opened), reminded, len(closed))
        if report != TickReport():
            log.info(
                "rounds: %d created, %d opened, %d reminders queued, %d closed",
                report.created,
                report.opened,
                report.reminded,
                report.closed,
            )
        self.delivery.wake()
        return report

    async def _fire_schedules(self, now: datetime) -> int:
        async with self.db.read() as repos:
            due = await repos.rounds.schedules_due(now)
        created = 0
        for schedule in due:
            try:
                created += await self._fire(schedule, now)
            except Exception as exc:  # one broken schedule must not stop the others
                log.error("schedule %d failed: %s", schedule.id, describe_exception(exc))
        return created

    async def _fire(self, schedule: Schedule, now: datetime) -> int:
        """Create the round for the latest firing that has passed (one, however many were
        missed while the bot was down) and move the schedule to its next firing."""
        assert schedule.next_fire_at is not None
        tz = ZoneInfo(schedule.timezone)
        fired = schedule.next_fire_at
        following = next_fire(schedule.cron, tz, after=fired)
        while following <= now:
            fired, following = following, next_fire(schedule.cron, tz, after=following)
        duration = timedelta(seconds=schedule.duration_seconds)
        request = NewRound(
            instrument_id=schedule.instrument_id,
            commitment_ids=schedule.commitment_ids,
            roles=schedule.roles,
            opens_at=fired,
            duration=duration,
        )
        async with self.db.write() as repos:
            if not await repos.rounds.advance_schedule(
                schedule.id, fired_at=schedule.next_fire_at, next_fire_at=following
            ):
                return 0  # another tick or process fired it
            if fired + duration <= now:
                log.warning("schedule %d: its round's window passed while down", schedule.id)
                return 0
            try:
                async with repos.conn.begin_nested():
                    created = await self._create(
                        repos, request, actor=None, schedule_id=schedule.id, now=now
                    )
            except (UnknownInstrument, UnknownCommitment, NothingToSurvey) as error:
                log.warning("schedule %d could not create a round: %s", schedule.id, error)
                return 0
            await repos.audit.record(
                None, "round_create", {"round": created.round.id, "schedule": schedule.id}, now
            )
        return 1

    async def open(self, round_id: int, now: datetime | None = None) -> bool:
        """``scheduled → open``: snapshot the targets and enqueue their invitations.
        False when the round was not scheduled (already opened, or cancelled)."""
        return await self._open(round_id, now or self.clock.now()) is not None

    async def _open(self, round_id: int, now: datetime) -> int | None:
        """:meth:`open`; how many people were invited, or None when it was not scheduled."""
        async with self.db.write() as repos:
            if not await repos.rounds.transition(
                round_id, from_statuses=SCHEDULED, to="open", now=now
            ):
                return None
            round_ = await repos.rounds.get(round_id)
            assert round_ is not None
            # In the database, one INSERT … SELECT each: a round to 100,000 people passes
            # no row through Python (issue 12: 7 s and 142 MB before, rows in slices).
            targeted = await repos.responses.snapshot_targets(round_id, now)
            start_at = not_before(now, self._quiet(round_), self.tz)
            invited = await repos.outbox.enqueue_for_round(
                round_id,
                kind=INVITATION,
                dedupe_key=_invitation_key_parts(round_id),
                not_before=start_at,
                now=now,
            )
            # After the invitation (a later outbox row for the same chat): "the agency
            # said it would … by …; did it happen?" for each promise whose date passed.
            await self.accountability.queue_promise_checks(repos, round_, now, start_at)
        log.info("round %d opened: %d targets, %d invitations queued", round_id, targeted, invited)
        self.delivery.wake()
        return invited

    async def _remind(self, now: datetime) -> int:
        async with self.db.read() as repos:
            due = await repos.rounds.reminders_due(now)
        by_round: dict[int, list[int]] = {}
        for reminder in due:
            by_round.setdefault(reminder.round_id, []).append(reminder.position)
        queued = 0
        for round_id, positions in sorted(by_round.items()):
            send, skip = settle_overdue(positions)
            async with self.db.write() as repos:
                for position in skip:
                    await repos.rounds.settle_reminder(round_id, position, "skipped", now)
                if send is None or not await repos.rounds.settle_reminder(
                    round_id, send, "enqueued", now
                ):
                    continue
                round_ = await repos.rounds.get(round_id)
                if round_ is None or round_.status != "open":
                    continue
                start_at = not_before(now, self._quiet(round_), self.tz)
                recipients = await repos.responses.unfinished_recipients(round_id)
                queued += await repos.outbox.enqueue(
                    [
                        NewDelivery(
                            dedupe_key=reminder_key(round_id, pid, send),
                            kind=REMINDER,
                            chat_id=chat,
                            not_before=min(start_at, round_.closes_at),
                            round_id=round_id,
                            participant_id=pid,
                        )
                        for pid, chat in recipients
                    ],
                    now,
                )
        return queued

    async def _close(
        self, round_id: int, now: datetime, *, actor: int | None, early: bool
    ) -> bool:
        """``open → closed``: withdraw unsent invitations and reminders, tell the Secretariat."""
        async with self.db.write() as repos:
            if not await repos.rounds.transition(
                round_id, from_statuses=OPEN, to="closed", now=now
            ):
                return False
            await repos.rounds.skip_pending_reminders(round_id, now)
            withdrawn = await repos.outbox.cancel(round_id=round_id, kinds=PARTICIPANT_KINDS)
            counts = (await repos.responses.progress([round_id]))[round_id]
            # A closing never waits for quiet hours: the Secretariat hears now.
            await repos.outbox.enqueue(
                [
                    NewDelivery(
                        dedupe_key=f"r{round_id}:c{chat_id}:{ROUND_CLOSED}",
                        kind=ROUND_CLOSED,
                        chat_id=chat_id,
                        not_before=now,
                        round_id=round_id,
                        payload={"completed": counts["completed"], "targeted": counts["targeted"]},
                    )
                    for chat_id in self.settings.secretariat_chat_ids
                ],
                now,
            )
            closed = await repos.rounds.get(round_id)
            assert closed is not None
            # What the round publishes is frozen, and the summary and results are queued,
            # in this same commit: no crash can close a round without them, and nothing
            # that happens later (a /forget, a late write) can move a published figure.
            await self.insights.take_snapshot(repos, closed, now)
            await self.insights.queue_closing_messages(repos, closed, now)
            # Each commitment's responsible people are asked to answer, in the same commit.
            await self.accountability.request_replies(repos, closed, now)
            await repos.audit.record(
                actor,
                "round_close",
                {"round": round_id, "early": early, "withdrawn": withdrawn, **counts},
                now,
            )
        log.info(
            "round %d closed: %d of %d completed",
            round_id,
            counts["completed"],
            counts["targeted"],
        )
        self.delivery.wake()
        self.insights.published()  # the public site, rebuilt in the background
        return True

    def _quiet(self, round_: Round) -> QuietHours | None:
        return parse_quiet_hours(round_.quiet_hours or self.settings.quiet_hours)

    # --- late joiners --------------------------------------------------------------------

    async def invite_late_joiner(self, participant_id: int, commitment_id: str, role: str) -> int:
        """Target someone who joined a commitment while a round for it is open; returns how
        many open rounds now include them."""
        now = self.clock.now()
        included = 0
        async with self.db.write() as repos:
            person = await repos.participants.get(participant_id)
            if person is None or person.status != "active":
                return 0
            for round_ in await repos.rounds.open_for(commitment_id, role):
                await repos.responses.create_pending(
                    round_.id, [Target(participant_id, commitment_id, role)], now
                )
                await repos.outbox.enqueue(
                    [
                        NewDelivery(
                            dedupe_key=invitation_key(round_.id, participant_id),
                            kind=INVITATION,
                            chat_id=person.chat_id,
                            not_before=not_before(now, self._quiet(round_), self.tz),
                            round_id=round_.id,
                            participant_id=participant_id,
                        )
                    ],
                    now,
                )
                included += 1
        if included:
            self.delivery.wake()
        return included

    # --- what the renderers need ---------------------------------------------------------

    async def preload(self, items: Sequence[OutboxItem]) -> None:
        """Load the responses, rounds and people of a batch of invitations or reminders in
        one query, and the commitments' titles in another."""
        pairs = {(i.round_id, i.participant_id) for i in items}
        round_ids = {r for r, p in pairs if r is not None and p is not None}
        people = {p for r, p in pairs if r is not None and p is not None}
        changed: set[int] = set()
        self._changed_while_loading = changed
        try:
            async with self.db.read() as repos:
                found = await repos.responses.recipients(round_ids, people)
                titles = {
                    c.commitment.id: c.commitment
                    for c in await repos.plans.commitments(include_retired=True)
                }
        finally:
            self._changed_while_loading = None
        self._titles = titles
        self.texts.clear()
        # Only this batch's pairs (the query's rounds × people may match more), and not
        # those whose person changed meanwhile: they are read again at send time.
        wanted = {(r, p) for r, p in pairs if r is not None and p is not None and p not in changed}
        for key in wanted:
            self._recipients[key] = []
        for recipient in found:
            response = recipient.response
            assert response.participant_id is not None
            key = (response.round_id, response.participant_id)
            if key in wanted:
                self._recipients[key].append(recipient)

    def person_changed(self, participant_id: int) -> None:
        """A participant finished a survey, stopped, or was forgotten (just committed):
        their invitations and reminders not sent yet are rendered from a fresh read, not
        from what a batch preloaded before — the "at send time" of the renderers."""
        for key in [k for k in self._recipients if k[1] == participant_id]:
            del self._recipients[key]
        if self._changed_while_loading is not None:
            self._changed_while_loading.add(participant_id)

    async def recipient(self, item: OutboxItem) -> list[Recipient]:
        """The rows preloaded for ``item`` (taken: a retry reads fresh), else one query."""
        if item.round_id is None or item.participant_id is None:
            return []
        key = (item.round_id, item.participant_id)
        found = self._recipients.pop(key, None)
        if found is not None:
            return found
        async with self.db.read() as repos:
            return await repos.responses.recipients([item.round_id], [item.participant_id])

    async def title(self, commitment_id: str, locale: Locale) -> str:
        commitment = self._titles.get(commitment_id)
        if commitment is None:
            async with self.db.read() as repos:
                commitment = await repos.plans.commitment(commitment_id)
            if commitment is None:
                return commitment_id
            self._titles[commitment_id] = commitment
        return commitment.title.get(locale)
