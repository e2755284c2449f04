"""Closing the loop: the government answers each round, and the next round checks it.

The rules are in :mod:`surveys.accountability`; this service gives them time,
storage and messages (``docs/responses.md``):

* **who answers** — ``/grant USER_ID responsible COMMITMENT`` or the plan file's
  ``responsible:`` (Telegram ids); audited;
* **the request** — in a round's closing transaction (:meth:`request_replies`),
  one reply owed per targeted commitment that has responsible people, due
  ``RESPONSE_DAYS`` later, and a ``reply_request`` outbox row to each of them
  (the commitment's published results, by role, and a button to answer); the
  promise checks the round asked are frozen into ``promise_outcomes``;
* **the writing** — :meth:`open_reply`, :meth:`choose`, :meth:`write`,
  :meth:`finish`: each step a compare-and-set on the draft in the same
  transaction as the update's claim, so a redelivered update changes nothing;
* **the deadline** — :meth:`tick` (from the rounds service's tick) queues the
  reminders before the deadline and, at the deadline, a ``reply_overdue`` notice
  to every ``SECRETARIAT_CHAT_IDS`` chat;
* **publishing** — the Secretariat's chats and the commitment's respondents of
  that round who are still active get ``reply_published``, in the same commit;
* **the check** — :meth:`queue_promise_checks`, in a round's opening
  transaction, asks each targeted beneficiary about every promise of the
  commitment whose date has passed and that no round asked about yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from bot.clock import Clock
from bot.settings import Settings
from bot.storage.engine import Database
from bot.storage.repositories.accountability import PromiseCheck, Reply
from bot.storage.repositories.outbox import NewDelivery
from bot.storage.repositories.rounds import Round
from surveys.accountability import (
    Draft,
    Item,
    PromiseAnswer,
    PromiseTally,
    Stance,
    Timeliness,
    choose_stance,
    new_draft,
    promise_due,
    promise_outcome,
    reminder_moments,
    subjects,
    timeliness,
    write_text,
)
from surveys.errors import (
    ReplyAlreadyPublished,
    ReplyIncomplete,
    ReplyNotYours,
    ReplyStale,
    UnknownCommitment,
)
from surveys.instruments import Role
from surveys.locale import LocalizedText
from surveys.rounds import not_before, parse_quiet_hours

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.insights.service import InsightsService
    from bot.outbox.engine import DeliveryEngine
    from bot.storage.repositories import Repos

log = logging.getLogger(__name__)


REPLY_REQUEST: Final = "reply_request"
REPLY_REMINDER: Final = "reply_reminder"
REPLY_OVERDUE: Final = "reply_overdue"
REPLY_PUBLISHED: Final = "reply_published"
PROMISE_CHECK: Final = "promise_check"


@dataclass(frozen=True, slots=True)
class ReplyScreen:
    """Where a responsible person is in writing a reply, for the edge to draw."""

    reply: Reply
    title: LocalizedText
    draft: Draft
    changed: bool = True  # False: a redelivered or repeated input, nothing new was saved


@dataclass(frozen=True, slots=True)
class PromiseView:
    """One promise of a reply and what the round that checked it published."""

    reply: Reply
    index: int
    item: Item
    checked_in: int | None  # the round that asked about it
    tally: PromiseTally | None
    min_group_size: int

    @property
    def outcome(self) -> str | None:
        """kept / partly / broken; "suppressed" under MIN_GROUP_SIZE; None: not checked yet."""
        if self.tally is None:
            return None
        found = promise_outcome(self.tally, min_group_size=self.min_group_size)
        return found.value if found else "suppressed"


@dataclass(frozen=True, slots=True)
class Responsiveness:
    """A commitment's answer to one round: on time, late, never or pending, and its promises."""

    reply: Reply
    timeliness: Timeliness
    promises: tuple[PromiseView, ...] = field(default=())

    def count(self, outcome: str) -> int:
        return sum(1 for p in self.promises if p.outcome == outcome)


class AccountabilityService:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        insights: InsightsService,
        delivery: DeliveryEngine,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.insights = insights
        self.delivery = delivery
        #: Telegram ids of responsible people, refreshed at every tick and grant: a text
        #: from anyone else never costs a read here (the participant's path is the hot one).
        self.writers: frozenset[int] = frozenset()

    # --- who answers ----------------------------------------------------------------------

    async def refresh_writers(self) -> None:
        async with self.db.read() as repos:
            found = await repos.accountability.responsible()
        self.writers = frozenset(uid for ids in found.values() for uid in ids)

    async def grant(self, actor: int | None, telegram_user_id: int, commitment_id: str) -> bool:
        """Make someone responsible for a commitment (audited); False if they already were."""
        now = self.clock.now()
        async with self.db.write() as repos:
            if await repos.plans.commitment(commitment_id) is None:
                raise UnknownCommitment(commitment_id)
            granted = await repos.accountability.grant(
                commitment_id, telegram_user_id, granted_by=actor, now=now
            )
            if granted:
                await repos.audit.record(
                    actor,
                    "grant",
                    {"user": telegram_user_id, "role": "responsible", "commitment": commitment_id},
                    now,
                )
        await self.refresh_writers()
        return granted

    async def revoke(self, actor: int | None, telegram_user_id: int, commitment_id: str) -> bool:
        now = self.clock.now()
        async with self.db.write() as repos:
            revoked = await repos.accountability.revoke(commitment_id, telegram_user_id)
            if revoked:
                await repos.audit.record(
                    actor,
                    "revoke",
                    {"user": telegram_user_id, "role": "responsible", "commitment": commitment_id},
                    now,
                )
        await self.refresh_writers()
        return revoked

    # --- at a round's close and opening (inside their transactions) -------------------------

    async def request_replies(self, repos: Repos, round_: Round, now: datetime) -> int:
        """A reply owed for each of the round's commitments with responsible people, and the
        request to each of them; freezes the promise checks the round asked. Messages
        queued."""
        await repos.accountability.freeze_outcomes(round_.id)
        responsible = await repos.accountability.responsible()
        wanted = [c for c in round_.commitment_ids if responsible.get(c)]
        due_at = now + timedelta(days=self.settings.response_days)
        replies = await repos.accountability.request(round_.id, wanted, now=now, due_at=due_at)
        deliveries = [
            NewDelivery(
                dedupe_key=f"a{reply.id}:u{user_id}:{REPLY_REQUEST}",
                kind=REPLY_REQUEST,
                chat_id=user_id,
                not_before=now,
                round_id=round_.id,
                payload={"reply_id": reply.id},
            )
            for reply in replies
            for user_id in responsible[reply.commitment_id]
        ]
        for reply in replies:
            await repos.audit.record(
                None,
                "reply_request",
                {"round": round_.id, "commitment": reply.commitment_id, "reply": reply.id},
                now,
            )
        return await repos.outbox.enqueue(deliveries, now)

    async def queue_promise_checks(
        self, repos: Repos, round_: Round, now: datetime, not_before: datetime
    ) -> int:
        """Ask the round's beneficiaries about each promise of their commitment whose date
        has passed and that no round has asked about yet. Questions queued."""
        commitments = sorted({c for c, role in round_.targets if role == Role.BENEFICIARY.value})
        if not commitments:
            return 0
        today = now.astimezone(self.settings.tz).date()
        deliveries: list[NewDelivery] = []
        for reply in await repos.accountability.of_commitments(commitments):
            if reply.status != "published" or reply.draft is None:
                continue
            for index, item in enumerate(reply.draft.items):
                if not promise_due(item, today=today):
                    continue
                if await repos.accountability.checked(reply.id, index):
                    continue
                for check in await repos.accountability.create_checks(
                    round_.id, reply.id, index, reply.commitment_id, now
                ):
                    deliveries.append(
                        NewDelivery(
                            dedupe_key=f"k{check.id}:{PROMISE_CHECK}",
                            kind=PROMISE_CHECK,
                            chat_id=check.chat_id,
                            not_before=not_before,
                            round_id=round_.id,
                            participant_id=check.participant_id,
                            payload={"check_id": check.id},
                        )
                    )
        return await repos.outbox.enqueue(deliveries, now)

    # --- the deadline ------------------------------------------------------------------------

    async def tick(self, now: datetime) -> int:
        """Reminders due before each deadline, and the overdue notice at it. Messages
        queued; idempotent (compare-and-set on the reply's counters)."""
        await self.refresh_writers()
        async with self.db.read() as repos:
            owed = await repos.accountability.unpublished()
            responsible = await repos.accountability.responsible()
        queued = 0
        for reply in owed:
            if now >= reply.due_at:
                queued += await self._overdue(reply, now)
                continue
            moments = reminder_moments(reply.requested_at, reply.due_at)
            due = sum(1 for m in moments if m <= now)
            if due <= reply.reminders_sent:
                continue
            async with self.db.write() as repos:
                if not await repos.accountability.mark_reminded(
                    reply.id, sent=due, previous=reply.reminders_sent
                ):
                    continue
                queued += await repos.outbox.enqueue(
                    [
                        NewDelivery(
                            dedupe_key=f"a{reply.id}:u{user_id}:{REPLY_REMINDER}{due}",
                            kind=REPLY_REMINDER,
                            chat_id=user_id,
                            not_before=now,
                            round_id=reply.round_id,
                            payload={"reply_id": reply.id},
                        )
                        for user_id in responsible.get(reply.commitment_id, [])
                    ],
                    now,
                )
        if queued:
            self.delivery.wake()
        return queued

    async def _overdue(self, reply: Reply, now: datetime) -> int:
        async with self.db.write() as repos:
            if not await repos.accountability.mark_overdue(reply.id, now):
                return 0
            await repos.audit.record(
                None,
                "reply_overdue",
                {"round": reply.round_id, "commitment": reply.commitment_id, "reply": reply.id},
                now,
            )
            return await repos.outbox.enqueue(
                [
                    NewDelivery(
                        dedupe_key=f"a{reply.id}:c{chat_id}:{REPLY_OVERDUE}",
                        kind=REPLY_OVERDUE,
                        chat_id=chat_id,
                        not_before=now,
                        round_id=reply.round_id,
                        payload={"reply_id": reply.id},
                    )
                    for chat_id in self.settings.secretariat_chat_ids
                ],
                now,
            )

    async def next_due(self) -> datetime | None:
        """The next moment :meth:`tick` has something to do (a reminder or a deadline)."""
        async with self.db.read() as repos:
            owed = await repos.accountability.unpublished()
        moments = [
            m
            for reply in owed
            if reply.overdue_at is None
            for m in (
                *reminder_moments(reply.requested_at, reply.due_at)[reply.reminders_sent :],
                reply.due_at,
            )
        ]
        return min(moments, default=None)

    # --- writing a reply ---------------------------------------------------------------------

    async def _subjects_of(self, reply: Reply) -> Draft:
        """The subjects a reply answers, from the round's published snapshot."""
        digest = await self.insights.closed_digest(reply.round_id)
        row = digest.gap_of(reply.commitment_id)
        terms: list[str] = []
        for role in (Role.BENEFICIARY, Role.IMPLEMENTER):
            found = digest.themes.get((reply.commitment_id, role))
            if found is None or found.suppressed:
                continue
            ranked = sorted((*found.phrases, *found.words), key=lambda term: -term.count)
            terms += [term.text for term in ranked]
        return new_draft(subjects(flagged=row is not None and row.flagged, themes=terms))

    async def _owned(self, repos: Repos, user_id: int, reply_id: int) -> Reply:
        reply = await repos.accountability.get(reply_id)
        if reply is None:
            raise ReplyStale()
        if reply.commitment_id not in await repos.accountability.commitments_of(user_id):
            raise ReplyNotYours()
        return reply

    async def _screen(self, repos: Repos, reply: Reply, *, changed: bool) -> ReplyScreen:
        title = await self._title(repos, reply.commitment_id)
        assert reply.draft is not None
        return ReplyScreen(reply, title, reply.draft, changed)

    async def open_reply(self, user_id: int, reply_id: int, *, update_id: int) -> ReplyScreen:
        """Start (or resume) writing a reply: its subjects come from the round's snapshot."""
        async with self.db.read() as repos:
            reply = await self._owned(repos, user_id, reply_id)
        fresh = reply.draft or await self._subjects_of(reply)
        now = self.clock.now()
        async with self.db.write() as repos:
            reply = await self._owned(repos, user_id, reply_id)
            claimed = await repos.updates.claim(update_id, now)
            if claimed and reply.draft is None and reply.status != "published":
                await repos.accountability.save_draft(
                    reply_id, fresh, by=user_id, now=now, expected=None
                )
                reply = await self._owned(repos, user_id, reply_id)
            if reply.draft is None:
                raise ReplyStale()
            return await self._screen(repos, reply, changed=claimed)

    async def choose(
        self, user_id: int, reply_id: int, item: int, stance: Stance, *, update_id: int
    ) -> ReplyScreen:
        """A stance on the subject in front of the writer."""
        return await self._change(
            user_id, reply_id, update_id, lambda draft: choose_stance(draft, item, stance)
        )

    async def write(self, user_id: int, text: str, *, update_id: int) -> ReplyScreen | None:
        """A text for the reply this person is writing (what, why, or by when); None when
        they are not writing one that waits for a text (the text is someone else's)."""
        if user_id not in self.writers:
            return None
        async with self.db.read() as repos:
            mine = await repos.accountability.commitments_of(user_id)
            owed = [
                r
                for r in await repos.accountability.unpublished()
                if r.commitment_id in mine
                and r.draft is not None
                and r.draft.step in ("what", "when")
            ]
        if not owed:
            return None
        reply = max(owed, key=lambda r: r.id)
        today = self.clock.now().astimezone(self.settings.tz).date()
        return await self._change(
            user_id, reply.id, update_id, lambda draft: write_text(draft, text, today=today)
        )

    async def _change(
        self, user_id: int, reply_id: int, update_id: int, step: Callable[[Draft], Draft]
    ) -> ReplyScreen:
        now = self.clock.now()
        async with self.db.write() as repos:
            reply = await self._owned(repos, user_id, reply_id)
            if reply.status == "published":
                raise ReplyAlreadyPublished()
            if reply.draft is None:
                raise ReplyStale()
            if not await repos.updates.claim(update_id, now):
                return await self._screen(repos, reply, changed=False)
            draft = step(reply.draft)  # a ReplyError here rolls the claim back: nothing changed
            await repos.accountability.save_draft(
                reply_id, draft, by=user_id, now=now, expected=reply.draft
            )
            reply = await self._owned(repos, user_id, reply_id)
            return await self._screen(repos, reply, changed=True)

    async def finish(
        self, user_id: int, reply_id: int, *, publish: bool, update_id: int
    ) -> ReplyScreen:
        """Publish the reply (to the Secretariat and the round's respondents, in the same
        commit), or keep it as a draft."""
        now = self.clock.now()
        async with self.db.write() as repos:
            reply = await self._owned(repos, user_id, reply_id)
            if reply.draft is None:
                raise ReplyStale()
            if not publish or reply.status == "published":
                # "Save the draft": every step is saved already; a published reply stays.
                return await self._screen(repos, reply, changed=False)
            if not reply.draft.ready:
                raise ReplyIncomplete()
            if not await repos.updates.claim(update_id, now):
                return await self._screen(repos, reply, changed=False)
            if not await repos.accountability.publish(reply_id, by=user_id, now=now):
                raise ReplyAlreadyPublished()
            deliveries = [
                NewDelivery(
                    dedupe_key=f"a{reply_id}:c{chat_id}:{REPLY_PUBLISHED}",
                    kind=REPLY_PUBLISHED,
                    chat_id=chat_id,
                    not_before=now,
                    round_id=reply.round_id,
                    payload={"reply_id": reply_id},
                )
                for chat_id in self.settings.secretariat_chat_ids
            ]
            # People hear it after quiet hours; the Secretariat at once.
            morning = not_before(
                now, parse_quiet_hours(self.settings.quiet_hours), self.settings.tz
            )
            deliveries += [
                NewDelivery(
                    dedupe_key=f"a{reply_id}:p{r.participant_id}:{REPLY_PUBLISHED}",
                    kind=REPLY_PUBLISHED,
                    chat_id=r.chat_id,
                    not_before=morning,
                    round_id=reply.round_id,
                    participant_id=r.participant_id,
                    payload={"reply_id": reply_id},
                )
                for r in await repos.insights.respondents(reply.round_id)
                if r.commitment_id == reply.commitment_id
            ]
            queued = await repos.outbox.enqueue(deliveries, now)
            await repos.audit.record(
                user_id,
                "reply_publish",
                {
                    "round": reply.round_id,
                    "commitment": reply.commitment_id,
                    "reply": reply_id,
                    "on_time": now <= reply.due_at,
                    "messages": queued,
                },
                now,
            )
            reply = await self._owned(repos, user_id, reply_id)
            screen = await self._screen(repos, reply, changed=True)
        self.delivery.wake()
        return screen

    async def owed_by(self, user_id: int) -> list[tuple[Reply, LocalizedText]]:
        """The replies a responsible person still owes, earliest deadline first."""
        async with self.db.read() as repos:
            mine = await repos.accountability.commitments_of(user_id)
            owed = [r for r in await repos.accountability.unpublished() if r.commitment_id in mine]
            return [(r, await self._title(repos, r.commitment_id)) for r in owed]

    @staticmethod
    async def _title(repos: Repos, commitment_id: str) -> LocalizedText:
        found = await repos.plans.commitment(commitment_id)
        return found.title if found else LocalizedText(es=commitment_id, en=commitment_id)

    async def reply(self, reply_id: int) -> tuple[Reply, LocalizedText] | None:
        """A reply and its commitment's title (for the renderers)."""
        async with self.db.read() as repos:
            found = await repos.accountability.get(reply_id)
            if found is None:
                return None
            return found, await self._title(repos, found.commitment_id)

    # --- the check -----------------------------------------------------------------------------

    async def promise_check(self, check_id: int) -> tuple[PromiseCheck, Reply] | None:
        async with self.db.read() as repos:
            check = await repos.accountability.check(check_id)
            if check is None:
                return None
            reply = await repos.accountability.get(check.reply_id)
        return (check, reply) if reply is not None else None

    async def answer_promise(
        self, user_id: int, check_id: int, answer: PromiseAnswer, *, update_id: int
    ) -> PromiseCheck | None:
        """A beneficiary's "did it happen?": only their own question, while its round is
        open. None when the press may change nothing (forged, stale, closed)."""
        now = self.clock.now()
        async with self.db.write() as repos:
            check = await repos.accountability.check(check_id)
            if (
                check is None
                or check.participant_telegram_id != user_id
                or check.round_status != "open"
                or now >= check.round_closes_at
            ):
                return None
            if await repos.updates.claim(update_id, now):
                await repos.accountability.answer_check(check_id, answer, now)
            return await repos.accountability.check(check_id)

    # --- what staff read ---------------------------------------------------------------------

    async def pending(self) -> list[tuple[Reply, LocalizedText]]:
        """``/responses``: every reply still owed, earliest deadline first."""
        async with self.db.read() as repos:
            owed = await repos.accountability.unpublished()
            return [(r, await self._title(repos, r.commitment_id)) for r in owed]

    async def responsiveness(
        self, commitment_ids: Sequence[str] | None, *, up_to_round: int | None = None
    ) -> dict[str, list[Responsiveness]]:
        """Per commitment, its replies round by round (up to ``up_to_round``): on time, late,
        never or pending, and each promise's outcome as the round that checked it published."""
        now = self.clock.now()
        async with self.db.read() as repos:
            replies = [
                r
                for r in await repos.accountability.of_commitments(
                    None if commitment_ids is None else list(commitment_ids)
                )
                if up_to_round is None or r.round_id <= up_to_round
            ]
            outcomes = await repos.accountability.outcomes([r.id for r in replies])
        found: dict[str, list[Responsiveness]] = {}
        for reply in replies:
            promises: list[PromiseView] = []
            items = reply.draft.items if reply.draft and reply.status == "published" else ()
            for index, item in enumerate(items):
                if item.stance is not Stance.ACT:
                    continue
                checked = outcomes.get((reply.id, index))
                if checked is not None and up_to_round is not None and checked[0] > up_to_round:
                    checked = None
                promises.append(
                    PromiseView(
                        reply,
                        index,
                        item,
                        checked[0] if checked else None,
                        checked[1] if checked else None,
                        self.settings.min_group_size,
                    )
                )
            found.setdefault(reply.commitment_id, []).append(
                Responsiveness(
                    reply,
                    timeliness(due_at=reply.due_at, published_at=reply.published_at, now=now),
                    tuple(promises),
                )
            )
        return found
