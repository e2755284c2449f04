"""Joining: invites issued and revoked, ``/start TOKEN``, consent, demographics, plain /start.

The path::

    invite link ─► /start TOKEN ─► privacy notice [accept] [decline → nothing kept]
                                        │ accept: the person, their membership and the
                                        ▼ invite's use, in one transaction
                        demographics, each skippable ─► "you joined X as Y"

**Nothing before consent.** ``/start TOKEN`` only reads the invite. The
person's row is written by the consent press, together with the use of the
invite, so a declined or failed consent leaves no trace. The token rules
(hashing, what makes an invite usable) are :mod:`surveys.invites`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.access import Caller
from bot.journey.common import JourneyPart, fresh_or_replay
from bot.journey.screens import (
    AlreadyJoined,
    DemographicReply,
    InviteOffer,
    IssuedInvite,
    Joined,
    ReturningParticipant,
    RevokedResult,
)
from bot.storage.engine import Database
from bot.storage.repositories import Repos
from bot.storage.repositories.invites import Invite
from bot.storage.repositories.participants import Membership, Participant
from surveys.answers import validate_demographic
from surveys.errors import InvalidOption, UnknownCommitment, UnknownInvite
from surveys.flow import STALE, Refusal, next_demographic
from surveys.instruments import Role
from surveys.invites import (
    InviteRequest,
    hash_token,
    invite_error,
    invite_problem,
    new_token,
    token_from,
)


async def issue_invite(
    db: Database, request: InviteRequest, *, actor: int | None, now: datetime
) -> IssuedInvite:
    """Store a new invite to an active commitment (audited) and return its token, which
    exists nowhere else; raises UnknownCommitment. Used by /invite and ``pulso invite``."""
    token = new_token()
    async with db.write() as repos:
        active = {c.commitment.id: c.commitment for c in await repos.plans.commitments()}
        commitment = active.get(request.commitment_id)
        if commitment is None:
            raise UnknownCommitment(request.commitment_id)
        invite = await repos.invites.create(
            token_hash=hash_token(token),
            commitment_id=commitment.id,
            role=request.role.value,
            max_uses=request.uses,
            expires_at=now + timedelta(days=request.days),
            created_by=actor,
            now=now,
        )
        # The token itself never reaches the log: with it anyone could join.
        await repos.audit.record(
            actor,
            "invite",
            {
                "invite": invite.id,
                "commitment": commitment.id,
                "role": request.role.value,
                "uses": request.uses,
                "days": request.days,
            },
            now,
        )
    return IssuedInvite(token, invite, commitment)


class Onboarding(JourneyPart):
    """Invites (admins and the command line), and a person joining through one."""

    # --- invites ----------------------------------------------------------------------

    async def create_invite(self, request: InviteRequest, *, actor: int | None) -> IssuedInvite:
        """A new invite to an active commitment (audited); raises UnknownCommitment."""
        return await issue_invite(self.db, request, actor=actor, now=self.now())

    async def revoke_invite(self, token_or_link: str, *, actor: int | None) -> RevokedResult:
        """Make an invite unusable (audited); raises UnknownInvite."""
        now = self.now()
        token_hash = hash_token(token_from(token_or_link))
        async with self.db.write() as repos:
            before = await repos.invites.by_hash(token_hash)
            if before is None:
                raise UnknownInvite()
            invite = await repos.invites.revoke(token_hash, now)
            assert invite is not None
            already = before.revoked_at is not None
            if not already:
                await repos.audit.record(actor, "revoke_invite", {"invite": invite.id}, now)
            commitment = await repos.plans.commitment(invite.commitment_id)
        return RevokedResult(invite, commitment, already)

    # --- joining ----------------------------------------------------------------------

    async def open_invite(
        self, caller: Caller, token: str, *, update_id: int
    ) -> InviteOffer | AlreadyJoined:
        """``/start TOKEN``: the offer to show with the privacy notice, stored nowhere.

        A participant opening an invite they already used (or one for a commitment
        and role they already have) is told so, and resumed if they had stopped.
        Raises an :class:`~surveys.errors.InviteError` saying why an invite cannot be used.
        """
        now = self.now()
        async with self.db.read() as repos:
            invite = await repos.invites.by_hash(hash_token(token))
            commitment = await repos.plans.commitment(invite.commitment_id) if invite else None
            if invite is None or commitment is None:
                raise UnknownInvite()
            member = caller.participant is not None and await self._is_member(
                repos, caller.participant, invite
            )
        role = Role(invite.role)
        if member:
            assert caller.participant is not None
            change = await self.reactivate(caller.participant.id, update_id=update_id)
            return AlreadyJoined(commitment, role, change.changed, change.open_surveys)
        problem = invite_problem(invite, now)
        if problem is not None:
            raise invite_error(problem)
        return InviteOffer(token, commitment, role)

    async def _is_member(self, repos: Repos, participant: Participant, invite: Invite) -> bool:
        memberships = await repos.participants.memberships_of(participant.id)
        return any(
            m.commitment_id == invite.commitment_id and m.role == invite.role for m in memberships
        ) or await repos.invites.has_redeemed(invite.id, participant.id)

    async def consent(self, caller: Caller, token: str, *, update_id: int) -> Joined:
        """The consent button: record the person (if new), use the invite, join.

        All in one transaction: if the invite cannot be used any more (a race for
        its last use, a revocation meanwhile) nothing is written, not even the
        person. Raises an :class:`~surveys.errors.InviteError`. Declining needs no
        method: it stores nothing.
        """
        now = self.now()

        async def apply(repos: Repos) -> tuple[Membership, bool, Joined]:
            membership, new = await self._join(repos, caller, token, now)
            joined = await self._joined(repos, membership)
            if new and joined.next_demographic is not None:
                # Asked about themselves from now on: a round's invitation going out
                # meanwhile waits for the last question (the outbox's renderer).
                await repos.participants.set_onboarding(membership.participant_id, now, now)
            return membership, new, joined

        async def replay() -> tuple[Membership, bool, Joined]:
            async with self.db.read() as repos:
                participant = await repos.participants.by_telegram_id(caller.user_id)
                invite = await repos.invites.by_hash(hash_token(token))
                memberships = (
                    await repos.participants.memberships_of(participant.id) if participant else []
                )
                found = [
                    m
                    for m in memberships
                    if invite is not None
                    and (m.commitment_id, m.role) == (invite.commitment_id, invite.role)
                ]
                if not found:
                    raise UnknownInvite()
                # Repeat the late-joiner call below as if new: it is idempotent.
                return found[0], True, await self._joined(repos, found[0])

        membership, new, joined = await fresh_or_replay(
            self.db, update_id, now, apply=apply, replay=replay
        )
        # An open round's invitation waits until the optional questions are done: a person
        # is never asked about themselves and invited to a survey in the same moment.
        if new and joined.next_demographic is None:
            await self.rounds.invite_late_joiner(
                membership.participant_id, membership.commitment_id, membership.role
            )
            if joined.welcome is not None:
                async with self.db.read() as repos:
                    count = await self.open_survey_count(repos, membership.participant_id)
                joined = replace(joined, welcome=replace(joined.welcome, open_surveys=count))
        return joined

    async def _join(
        self, repos: Repos, caller: Caller, token: str, now: datetime
    ) -> tuple[Membership, bool]:
        invite = await repos.invites.by_hash(hash_token(token))
        if invite is None or await repos.plans.commitment(invite.commitment_id) is None:
            raise UnknownInvite()
        participant = await repos.participants.by_telegram_id(caller.user_id)
        if participant is None:
            participant = await repos.participants.create(
                telegram_user_id=caller.user_id,
                chat_id=caller.chat_id,
                language=caller.locale,
                now=now,
            )
        else:
            # Accepting an invite is asking for surveys: a stopped person is resumed.
            await repos.participants.change_status(
                participant.id, "active", from_statuses=("stopped", "unreachable"), now=now
            )
        if not await self._is_member(repos, participant, invite):
            problem = invite_problem(invite, now)
            if problem is None and not await repos.invites.redeem(invite.id, participant.id, now):
                # Someone took the last use (or it was revoked) since we read it.
                problem = invite_problem(await repos.invites.by_hash(invite.token_hash), now)
            if problem is not None:
                raise invite_error(problem)  # rolls back, the new person included
        return await repos.participants.add_membership(
            participant.id, invite.commitment_id, invite.role, now
        )

    async def _joined(self, repos: Repos, membership: Membership) -> Joined:
        participant = await repos.participants.get(membership.participant_id)
        assert participant is not None
        step = next_demographic(await repos.plans.plan(), participant.demographics)
        return Joined(
            commitment=await self.commitment(repos, membership.commitment_id),
            role=Role(membership.role),
            next_demographic=step,
            welcome=None if step is not None else await self.welcome(repos, participant.id),
        )

    async def answer_demographic(
        self, caller: Caller, question_id: str, code: str | None, *, update_id: int
    ) -> DemographicReply:
        """One onboarding question answered or skipped; only the one being asked counts."""
        if caller.participant is None:
            return DemographicReply(notice=STALE)
        participant_id = caller.participant.id
        now = self.now()

        async def apply(repos: Repos) -> DemographicReply:
            participant = await repos.participants.get(participant_id)
            assert participant is not None
            plan = await repos.plans.plan()
            step = next_demographic(plan, participant.demographics)
            if step is None or step.question.id != question_id:
                raise Refusal(STALE)
            try:
                value = validate_demographic(step.question, code)
            except InvalidOption:
                raise Refusal(STALE) from None
            demographics = {**participant.demographics, question_id: value}
            await repos.participants.set_demographics(participant_id, demographics, now)
            following = next_demographic(plan, demographics)
            if following is None:
                await repos.participants.set_onboarding(participant_id, None, now)
            welcome = None if following else await self.welcome(repos, participant_id)
            return DemographicReply(step, value, following, welcome)

        async def replay() -> DemographicReply:
            async with self.db.read() as repos:
                participant = await repos.participants.get(participant_id)
                assert participant is not None
                following = next_demographic(await repos.plans.plan(), participant.demographics)
                welcome = None if following else await self.welcome(repos, participant_id)
            return DemographicReply(next_demographic=following, welcome=welcome)

        try:
            reply = await fresh_or_replay(self.db, update_id, now, apply=apply, replay=replay)
        except Refusal as refusal:
            return DemographicReply(notice=refusal.notice)
        if reply.welcome is None:
            return reply
        # The last optional question is done: now the open rounds may invite them (the
        # invitation's dedupe key makes a repeat, or a replay, invite nobody twice).
        async with self.db.read() as repos:
            memberships = await repos.participants.memberships_of(participant_id)
        for m in memberships:
            await self.rounds.invite_late_joiner(participant_id, m.commitment_id, m.role)
        async with self.db.read() as repos:
            count = await self.open_survey_count(repos, participant_id)
        return replace(reply, welcome=replace(reply.welcome, open_surveys=count))

    async def returning(self, caller: Caller, *, update_id: int) -> ReturningParticipant | None:
        """A participant's plain ``/start``: resumed if they had stopped or blocked the bot."""
        if caller.participant is None:
            return None
        change = await self.reactivate(caller.participant.id, update_id=update_id)
        async with self.db.read() as repos:
            memberships = await repos.participants.memberships_of(caller.participant.id)
            joined = [
                (await self.commitment(repos, m.commitment_id), Role(m.role)) for m in memberships
            ]
        return ReturningParticipant(tuple(joined), change.changed, change.open_surveys)
