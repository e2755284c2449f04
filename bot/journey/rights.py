"""A person's data rights: /stop and /resume, /forget, and /mydata's record.

/mydata returns :class:`MyData`, everything stored about the person as values;
the edge writes it as a text file in their language
(:mod:`handlers.texts.mydata`). /language is :mod:`bot.people`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.access import Caller
from bot.journey.common import JourneyPart
from bot.journey.screens import Forgotten, StatusChange
from bot.storage.repositories.participants import Membership, Participant
from bot.storage.repositories.responses import Response
from surveys.answers import Answer
from surveys.instruments import Instrument, Question, Role
from surveys.plan import Commitment, DemographicQuestion


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One response in a round that is open, closed or cancelled, and its answers in the
    order they were asked."""

    response: Response
    instrument: Instrument
    answers: tuple[tuple[Question, Answer], ...]


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    commitment_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MyData:
    """/mydata: everything stored about a person, as it was at ``generated_at``."""

    generated_at: datetime
    participant: Participant
    #: The plan's demographic questions they answered or skipped (code None: skipped).
    demographics: tuple[tuple[DemographicQuestion, str | None], ...]
    memberships: tuple[tuple[Membership, Commitment], ...]
    responses: tuple[StoredResponse, ...]
    feedback: tuple[StoredFeedback, ...]


class Rights(JourneyPart):
    """Pausing, erasing and seeing what is stored."""

    async def stop(self, caller: Caller, *, update_id: int) -> StatusChange:
        """/stop: no more invitations or reminders (pending ones are cancelled) until /resume."""
        assert caller.participant is not None
        participant_id = caller.participant.id
        now = self.now()
        async with self.db.write() as repos:
            if await repos.updates.claim(update_id, now):
                changed = await repos.participants.change_status(
                    participant_id, "stopped", from_statuses=("active", "unreachable"), now=now
                )
                if changed:
                    await repos.outbox.cancel_pending_for_chat(
                        caller.participant.chat_id, "stopped by the participant"
                    )
            else:
                found = await repos.participants.get(participant_id)
                changed = found is not None and found.status == "stopped"
            count = await self.open_survey_count(repos, participant_id)
        self.rounds.person_changed(participant_id)  # nothing already claimed goes
        return StatusChange(changed, count)

    async def resume_invitations(self, caller: Caller, *, update_id: int) -> StatusChange:
        """/resume: invitations and reminders again (those cancelled by /stop stay cancelled;
        the open surveys are one /survey away, and the reply says how many)."""
        assert caller.participant is not None
        return await self.reactivate(caller.participant.id, update_id=update_id)

    async def forget(self, caller: Caller, *, update_id: int) -> Forgotten | None:
        """/forget, confirmed: delete the person and unlink their answers, irreversibly.

        Deleted: the participant row (Telegram id, chat, language, demographics),
        memberships, invite redemptions, their /feedback, pending messages, and
        their responses in every round that has not closed. Kept, pointing at
        nobody: their answers in closed rounds (in the admin's answer file; what
        the rounds published is in their snapshots and does not move). None when
        there is no one to forget. On SQLite the freed pages are overwritten
        (``secure_delete``) and the WAL is checkpointed afterwards.
        """
        now = self.now()
        async with self.db.write() as repos:
            fresh = await repos.updates.claim(update_id, now)
            participant = await repos.participants.by_telegram_id(caller.user_id)
            if participant is None:
                return None if fresh else Forgotten(())
            prompts = tuple(
                r.prompt_message_id
                for r in await repos.responses.of_participant(participant.id)
                if r.prompt_message_id is not None
            )
            await repos.outbox.cancel_pending_for_chat(participant.chat_id, "forgotten")
            deleted, unlinked = await repos.responses.unlink_participant(participant.id)
            feedback = await repos.responses.delete_feedback(participant.id)
            await repos.participants.delete(participant.id)
            # Counts only: the record shows the request was honoured, not whose it was.
            await repos.audit.record(
                None,
                "forget",
                {
                    "responses_deleted": deleted,
                    "responses_unlinked": unlinked,
                    "feedback_deleted": feedback,
                },
                now,
            )
        self.rounds.person_changed(participant.id)  # nothing already claimed goes
        await self.db.scrub()
        return Forgotten(prompts)

    async def my_data(self, caller: Caller) -> MyData:
        """/mydata: everything stored about the person (the edge writes the file)."""
        assert caller.participant is not None
        generated_at = self.now()
        async with self.db.read() as repos:
            participant = await repos.participants.get(caller.participant.id)
            assert participant is not None
            plan = await repos.plans.plan()
            questions = plan.demographics if plan is not None else ()
            demographics = tuple(
                (q, participant.demographics[q.id])
                for q in questions
                if q.id in participant.demographics
            )
            memberships = [
                (m, await self.commitment(repos, m.commitment_id))
                for m in await repos.participants.memberships_of(participant.id)
            ]
            responses = []
            for response in await repos.responses.of_participant(
                participant.id, round_statuses=("open", "closed", "cancelled")
            ):
                instrument = await self.instrument(repos, response)
                answers = await repos.responses.answers(response.id)
                asked = instrument.applicable(Role(response.role), answers)
                responses.append(
                    StoredResponse(
                        response,
                        instrument,
                        tuple((q, answers[q.id]) for q in asked if q.id in answers),
                    )
                )
            feedback = tuple(
                StoredFeedback(item["commitment_id"], item["text"], item["created_at"])
                for item in await repos.responses.feedback_of(participant.id)
            )
        return MyData(
            generated_at,
            participant,
            demographics,
            tuple(memberships),
            tuple(responses),
            feedback,
        )
