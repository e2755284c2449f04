"""Free feedback on a commitment: ``/feedback [COMMITMENT] [TEXT]``, its buttons, the text.

Not a survey and not a data right: a person may write to the Secretariat about a
commitment they take part in whenever they like. The text comes on the same
line, or as the next message, which the participant row then awaits
(:class:`~bot.storage.repositories.participants.AwaitingFeedback`).
"""

from __future__ import annotations

from bot.access import Caller
from bot.journey.common import JourneyPart
from bot.journey.screens import FeedbackReply
from bot.storage.repositories.participants import AwaitingFeedback, Membership
from bot.storage.repositories.responses import TextScore
from surveys.answers import clean_text
from surveys.sentiment import get_analyzer

#: Free feedback may be longer than a survey's text answers, but still one message.
FEEDBACK_MAX_LENGTH = 2000


class Feedback(JourneyPart):
    """Feedback asked for, awaited and stored (with its sentiment)."""

    async def feedback(self, caller: Caller, rest: str, *, update_id: int) -> FeedbackReply:
        """``/feedback [COMMITMENT] [TEXT]``: store the text now, or take the next message.

        With several commitments the person names one (its id, as listed) or
        presses its button (:meth:`feedback_about`); the text may follow on the
        same line or come in the next message.
        """
        assert caller.participant is not None
        participant_id = caller.participant.id
        async with self.db.read() as repos:
            memberships = await repos.participants.memberships_of(participant_id)
            commitments = {
                m.commitment_id: await self.commitment(repos, m.commitment_id) for m in memberships
            }
        if not memberships:
            return FeedbackReply("no_commitment")
        words = rest.strip().split(maxsplit=1)
        by_id = {m.commitment_id.upper(): m for m in memberships}
        chosen = by_id.get(words[0].upper()) if words else None
        if chosen is not None:
            rest = words[1] if len(words) > 1 else ""
        elif len(commitments) == 1:
            chosen = memberships[0]
        else:
            return FeedbackReply("choose", choices=tuple(commitments.values()))
        about = AwaitingFeedback(chosen.commitment_id, chosen.role)
        if rest.strip():
            return await self.store(caller, about, rest, update_id=update_id)
        return await self._await(participant_id, chosen, update_id=update_id)

    async def feedback_about(
        self, caller: Caller, commitment_id: str, *, update_id: int
    ) -> FeedbackReply | None:
        """/feedback's button for one of the person's commitments: take their next
        message as feedback on it. None — nothing changes — when they are not in that
        commitment (a forged press, or one from before they left it)."""
        assert caller.participant is not None
        participant_id = caller.participant.id
        async with self.db.read() as repos:
            memberships = await repos.participants.memberships_of(participant_id)
        chosen = next((m for m in memberships if m.commitment_id == commitment_id), None)
        if chosen is None:
            return None
        return await self._await(participant_id, chosen, update_id=update_id)

    async def _await(
        self, participant_id: int, chosen: Membership, *, update_id: int
    ) -> FeedbackReply:
        now = self.now()
        async with self.db.write() as repos:
            if await repos.updates.claim(update_id, now):
                awaiting = AwaitingFeedback(chosen.commitment_id, chosen.role)
                await repos.participants.set_awaiting(participant_id, awaiting, now)
            commitment = await self.commitment(repos, chosen.commitment_id)
        return FeedbackReply("write", commitment=commitment)

    async def store(
        self, caller: Caller, about: AwaitingFeedback, text: str, *, update_id: int
    ) -> FeedbackReply:
        """Keep ``text`` as feedback (once per update) and stop awaiting it."""
        assert caller.participant is not None
        text = clean_text(text)
        if len(text) > FEEDBACK_MAX_LENGTH:
            return FeedbackReply("too_long", length=len(text))
        score = get_analyzer().analyse(text, default_language=caller.locale)
        now = self.now()
        async with self.db.write() as repos:
            commitment = await self.commitment(repos, about.commitment_id)
            if await repos.updates.claim(update_id, now):
                await repos.responses.add_feedback(
                    participant_id=caller.participant.id,
                    commitment_id=about.commitment_id,
                    role=about.role,
                    text=text,
                    sentiment=TextScore(
                        score.label, score.score, score.language, score.version, score.confidence
                    ),
                    now=now,
                )
                await repos.participants.set_awaiting(caller.participant.id, None, now)
        return FeedbackReply("thanks", commitment=commitment)
