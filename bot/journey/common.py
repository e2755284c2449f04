"""What every part of the journey reads the same way, and the one way to apply an update once.

:class:`JourneyPart` is the base of :class:`~bot.journey.onboarding.Onboarding`,
:class:`~bot.journey.answering.Answering`, :class:`~bot.journey.feedback.Feedback`
and :class:`~bot.journey.rights.Rights`: the clock, a commitment, the person's
open responses, a response's state and context, the welcome that ends
onboarding, and reactivating a stopped person.

:func:`fresh_or_replay` is *write first, reply second* for an update that may be
redelivered: the update id is claimed in the same transaction as its effect,
and a redelivered update changes nothing and gets the reply for what is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from bot.journey.screens import StatusChange, SurveyContext, Welcome
from bot.storage.engine import Database
from bot.storage.repositories import Repos
from bot.storage.repositories.responses import Response
from surveys.errors import UnknownCommitment
from surveys.flow import SurveyState
from surveys.instruments import Instrument, Role
from surveys.plan import Commitment

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.plans import InstrumentCache
    from bot.rounds.service import RoundsService

T = TypeVar("T")

#: A response as the journey holds it: the stored row, its instrument and answers.
State = SurveyState[Response]


async def fresh_or_replay(
    db: Database,
    update_id: int,
    now: datetime,
    *,
    apply: Callable[[Repos], Awaitable[T]],
    replay: Callable[[], Awaitable[T]],
) -> T:
    """``apply`` the update in one write transaction that claims ``update_id``, or, if the
    update was claimed before (Telegram redelivered it), write nothing and ``replay``:
    the reply for the current state, read after the transaction ends.

    What ``apply`` raises rolls its transaction back, the claim included.
    """
    async with db.write() as repos:
        if await repos.updates.claim(update_id, now):
            return await apply(repos)
    return await replay()


def under_way(responses: Sequence[Response]) -> list[Response]:
    """Responses being answered (a first pass) or revised, the most recently shown first:
    the one a text message answers and /survey continues."""
    found = [
        r
        for r in responses
        if r.status == "started" or (r.status == "completed" and r.cursor is not None)
    ]
    return sorted(found, key=lambda r: r.prompt_message_id or 0, reverse=True)


class JourneyPart:
    """One part of the participant's path, with the lookups every part shares, and what
    the journey uses of the rest of the runtime: the database, the clock, the survey
    instruments, and the rounds service (a new member may be owed an open round's
    invitation; a person who stops or leaves has theirs withdrawn)."""

    def __init__(
        self, *, db: Database, clock: Clock, instruments: InstrumentCache, rounds: RoundsService
    ) -> None:
        self.db = db
        self.clock = clock
        self.instruments = instruments
        self.rounds = rounds

    def now(self) -> datetime:
        return self.clock.now()

    async def commitment(self, repos: Repos, commitment_id: str) -> Commitment:
        found = await repos.plans.commitment(commitment_id)
        if found is None:
            raise UnknownCommitment(commitment_id)
        return found

    async def open_responses(self, repos: Repos, participant_id: int) -> list[Response]:
        """Responses in rounds that are open and before their deadline, oldest round first."""
        now = self.now()
        return [
            r
            for r in await repos.responses.of_participant(participant_id)
            if r.round_closes_at > now
        ]

    async def open_survey_count(self, repos: Repos, participant_id: int) -> int:
        responses = await self.open_responses(repos, participant_id)
        return sum(1 for r in responses if r.status != "completed")

    async def instrument(self, repos: Repos, response: Response) -> Instrument:
        return await self.instruments.get(response.instrument_pk, repos)

    async def state(self, repos: Repos, response_id: int) -> State | None:
        response = await repos.responses.get(response_id)
        if response is None:
            return None
        instrument = await self.instrument(repos, response)
        answers = await repos.responses.answers(response_id)
        return SurveyState(response, instrument, answers)

    async def context(self, repos: Repos, state: State) -> SurveyContext:
        response = state.response
        return SurveyContext(
            response_id=response.id,
            round_id=response.round_id,
            instrument=state.instrument,
            commitment=await self.commitment(repos, response.commitment_id),
            role=state.role,
            closes_at=response.round_closes_at,
        )

    async def welcome(self, repos: Repos, participant_id: int) -> Welcome | None:
        memberships = await repos.participants.memberships_of(participant_id)
        if not memberships:
            return None
        newest = memberships[-1]
        return Welcome(
            commitment=await self.commitment(repos, newest.commitment_id),
            role=Role(newest.role),
            open_surveys=await self.open_survey_count(repos, participant_id),
        )

    async def reactivate(self, participant_id: int, *, update_id: int) -> StatusChange:
        """A stopped (or unreachable) person active again, once per update."""
        now = self.now()
        async with self.db.write() as repos:
            changed = await repos.updates.claim(
                update_id, now
            ) and await repos.participants.change_status(
                participant_id, "active", from_statuses=("stopped", "unreachable"), now=now
            )
            count = await self.open_survey_count(repos, participant_id)
        return StatusChange(changed, count)
