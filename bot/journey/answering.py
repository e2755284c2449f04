"""Answering surveys: starting one, each press or text, the recap, revising, and /survey.

The path::

    round opens ─► invitation [Start] ─► intro ─► question 1 … n ─► thanks + recap
                                                    │ [Back] [Skip] [Keep]
                   /survey: resume, or revise until the deadline (a walk through
                   the answers, each kept or changed)

**One gate for survey input**: every press and text goes through
:func:`surveys.flow.check_move` and :func:`surveys.flow.decide`; a refused move
rolls its transaction back and changes nothing. **One survey at a time**: a
started survey must be finished before the next one starts, and each recap
offers the next. A response's ``prompt_message_id`` is the message that holds
the current question's buttons, retired (edited to show the answer, buttons
gone) when the question is answered. A redelivered update changes nothing and
gets the reply for the current state (:meth:`Answering._replay`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final, TypeGuard

from bot.access import Caller
from bot.i18n import Locale
from bot.journey.common import JourneyPart, State, fresh_or_replay, under_way
from bot.journey.screens import (
    CompletedList,
    IntroScreen,
    MessageScreen,
    PendingSurvey,
    RecapScreen,
    Retire,
    Screen,
    SurveyContext,
    SurveyReply,
    answered_screen,
    question_screen,
)
from bot.storage.repositories import Repos
from bot.storage.repositories.outbox import NewDelivery
from bot.storage.repositories.responses import TextScore
from surveys.errors import UnknownQuestion
from surveys.flow import (
    STALE,
    Decision,
    Move,
    Notice,
    Refusal,
    belongs,
    check_move,
    check_open,
    decide,
)
from surveys.instruments import Question, QuestionType
from surveys.sentiment import get_analyzer

#: The outbox kind of a reply owed to a survey move (see :meth:`Answering._owe`).
PROMPT: Final = "prompt"


def _redrawable(question: Question | None) -> TypeGuard[Question]:
    """Whether ``question`` may be drawn in the message whose button was just pressed: any
    but a text question (see :meth:`Answering._onward_in_place`)."""
    return question is not None and question.type is not QuestionType.TEXT


class Answering(JourneyPart):
    """Surveys answered, one press or text at a time.

    ``reply_grace`` is how long the edge has to send a reply itself before the outbox
    row written with the change sends it instead (``REPLY_GRACE_SECONDS``): far longer
    than a send takes, far shorter than a person waits before giving up.
    """

    def __init__(self, *, reply_grace: timedelta, **uses: Any) -> None:
        super().__init__(**uses)
        self.reply_grace = reply_grace

    async def record_prompt(self, response_id: int, message_id: int) -> None:
        """The message now holding this response's question buttons (retired on answer).

        Urgent and without an fsync: the person is waiting for nothing more, but their
        next press waits for this (their updates run in order), and it is no one's
        answer — at a power cut the worst lost is a keyboard left in place.
        """
        async with self.db.write(durability="process", urgent=True) as repos:
            await repos.responses.set_prompt(response_id, message_id, self.now())

    async def start_survey(
        self, caller: Caller, response_id: int, *, update_id: int, message_id: int | None
    ) -> SurveyReply:
        """The Start button (invitations, reminders, "next survey", "change my answers").

        Pending: start it — unless another survey is half done, which comes first.
        Started: show where they are. Completed: walk through the answers to change them.
        """
        participant_id = caller.participant.id if caller.participant else None
        now = self.now()

        async def apply(repos: Repos) -> SurveyReply:
            state = await self.state(repos, response_id)
            if not belongs(state, participant_id):
                raise Refusal(STALE)
            assert state is not None
            assert participant_id is not None
            check_open(state.response, now)
            reply = await self._begin(repos, state, participant_id, message_id, now)
            return await self._owe(repos, reply, caller, response_id, update_id, now)

        async def replay() -> SurveyReply:
            return await self._replay(
                participant_id, response_id, reference=message_id, pressed=None
            )

        try:
            return await fresh_or_replay(self.db, update_id, now, apply=apply, replay=replay)
        except Refusal as refusal:
            return SurveyReply(notice=refusal.notice)

    async def _owe(
        self,
        repos: Repos,
        reply: SurveyReply,
        caller: Caller,
        response_id: int,
        update_id: int,
        now: datetime,
        *,
        edited: bool = False,
    ) -> SurveyReply:
        """Write, with the change, the reply it owes: an outbox row that shows the current
        question (or the recap) should the reply never leave, because the process died
        between this commit and the send. Sent at once by the edge, the row is settled
        in one of the delivery engine's group commits (within ``SETTLE_LINGER``) and never
        sent; otherwise the engine sends it after ``reply_grace``. A reply with nothing to
        send owes nothing, unless it is the next question ``edited`` into the pressed
        message: lost, it would leave the person before an answered question."""
        if not reply.send and not edited:
            return reply
        owed = f"{PROMPT}:u{update_id}"
        await repos.outbox.enqueue(
            [
                NewDelivery(
                    dedupe_key=owed,
                    kind=PROMPT,
                    chat_id=caller.chat_id,
                    not_before=now + self.reply_grace,
                    participant_id=caller.participant.id if caller.participant else None,
                    payload={"response_id": response_id},
                )
            ],
            now,
        )
        return replace(reply, owed=owed)

    async def outbox_prompted(self, response_id: int, outbox_id: int, message_id: int) -> None:
        """A question the outbox sent after a lost reply is the response's prompt; the row
        remembers the message, so a text older than it is known for what it is."""
        async with self.db.write(durability="process", urgent=True) as repos:
            await repos.responses.set_prompt(response_id, message_id, self.now())
            await repos.outbox.note_message(outbox_id, message_id)

    async def current_prompt(self, response_id: int) -> SurveyReply | None:
        """What a person whose reply was lost should see now: the current question, or
        the recap of a finished survey; None when there is nothing to say any more (the
        round closed, the person left)."""
        now = self.now()
        async with self.db.write() as repos:
            state = await self.state(repos, response_id)
            if state is None or state.response.participant_id is None:
                return None
            if state.response.round_status != "open" or state.response.round_closes_at <= now:
                return None
            unprompted = replace(state.response, prompt_message_id=None)
            return await self._present(repos, replace(state, response=unprompted), now)

    async def _begin(
        self,
        repos: Repos,
        state: State,
        participant_id: int,
        pressed: int | None,
        now: datetime,
    ) -> SurveyReply:
        response = state.response
        others = [
            r for r in await self.open_responses(repos, participant_id) if r.id != response.id
        ]
        busy = next((r for r in others if r.status == "started"), None)
        if busy is not None:
            # One survey at a time: finish the one already begun before starting or
            # revising another.
            busy_state = await self.state(repos, busy.id)
            assert busy_state is not None
            reply = await self._present(repos, busy_state, now)
            survey = await self.context(repos, busy_state)
            notice = Notice(
                "journey.survey.busy",
                {
                    "title": survey.instrument.title,
                    "commitment": survey.commitment.title,
                },
            )
            return replace(reply, send=(MessageScreen(notice), *reply.send))
        retire = [Retire(pressed)] if pressed is not None else []
        # A revision left half way through elsewhere ends: its buttons go.
        for other in others:
            if other.status == "completed" and other.cursor is not None:
                await repos.responses.set_cursor(other.id, None, now)
                await repos.responses.set_prompt(other.id, None, now)
                if other.prompt_message_id is not None:
                    retire.append(Retire(other.prompt_message_id))
        participant = await repos.participants.get(participant_id)
        if participant is not None and participant.awaiting is not None:
            await repos.participants.set_awaiting(participant_id, None, now)
        send: list[Screen] = []
        if response.status == "pending":
            await repos.responses.start(response.id, now)
            state = replace(state, response=replace(response, status="started"))
            survey = await self.context(repos, state)
            send.append(
                IntroScreen(survey, len(state.asked()), len(state.instrument.for_role(state.role)))
            )
        elif response.status == "completed" and state.asked():
            first = state.asked()[0]
            await repos.responses.set_cursor(response.id, first.id, now)
            state = replace(state, response=replace(response, cursor=first.id))
        presented = await self._present(repos, state, now)
        retire += [r for r in presented.retire if r.message_id != pressed]
        return SurveyReply(retire=tuple(retire), send=(*send, *presented.send))

    async def _present(self, repos: Repos, state: State, now: datetime) -> SurveyReply:
        """Show the current question anew (or, if nothing is left, complete and recap),
        retiring the buttons of the previous prompt."""
        survey = await self.context(repos, state)
        current = state.current()
        retire: tuple[Retire, ...] = ()
        if state.response.prompt_message_id is not None:
            retire = (Retire(state.response.prompt_message_id),)
        if current is not None:
            return SurveyReply(retire=retire, send=(question_screen(state, survey, current),))
        # A revision that was under way ends here; anything else is a first pass done.
        revised = state.revising and state.response.cursor is not None
        if state.response.status == "started":
            await repos.responses.complete(state.response.id, now)
        await repos.responses.set_prompt(state.response.id, None, now)
        recap = await self._recap(repos, state, survey, revised=revised)
        return SurveyReply(retire=retire, send=(recap,))

    async def _recap(
        self, repos: Repos, state: State, survey: SurveyContext, *, revised: bool
    ) -> RecapScreen:
        next_survey: PendingSurvey | None = None
        assert state.response.participant_id is not None
        for other in await self.open_responses(repos, state.response.participant_id):
            if other.id != state.response.id and other.status != "completed":
                next_survey = PendingSurvey(
                    other.id,
                    await self.instrument(repos, other),
                    await self.commitment(repos, other.commitment_id),
                )
                break
        return RecapScreen(survey, state.recap_items(), revised, next_survey)

    async def survey_press(
        self, caller: Caller, response_id: int, move: Move, *, update_id: int, message_id: int
    ) -> SurveyReply:
        """A survey button: answer, toggle, done/keep, skip or back."""

        async def replay() -> SurveyReply:
            return await self._replay(
                caller.participant.id if caller.participant else None,
                response_id,
                reference=message_id,
                pressed=(message_id, move.question_id),
            )

        return await self._move(
            caller, response_id, move, update_id=update_id, pressed=message_id, replay=replay
        )

    async def text_answer(
        self, caller: Caller, text: str, *, update_id: int, message_id: int
    ) -> SurveyReply | None:
        """A text that is no command and no awaited feedback: the answer to the text
        question in front of the person. None: nothing to say."""
        participant = caller.participant
        assert participant is not None
        async with self.db.read() as repos:
            found = under_way(await self.open_responses(repos, participant.id))
            state = await self.state(repos, found[0].id) if found else None
            current = state.current() if state is not None else None
            awaited = current is not None and current.type is QuestionType.TEXT
            # Staff may be typing to another module's conversation (a wizard), and a
            # redelivered text was answered already: stay quiet for both.
            quiet = not awaited and (caller.is_staff or await repos.updates.seen(update_id))
        prompt = state.response.prompt_message_id if state is not None else None
        if (
            state is not None
            and current is not None
            and awaited
            and prompt is not None
            and message_id < prompt
        ):
            # Written before the question on screen: an answer to it only if that
            # question came the ordinary way (a retried send may have shown it twice).
            # If the outbox sent it, after a crash lost the reply, the text answered
            # the question before; so does the same text retyped (the person saw that
            # question again, or no acknowledgement, and wrote their answer once more).
            async with self.db.read() as repos:
                late = await repos.outbox.sent_as(PROMPT, caller.chat_id, prompt)
            if late or state.repeats_earlier_text(current, text):
                return await self._show_again(caller, state, update_id)
        if state is not None and awaited and prompt is None:
            # The text question was never shown (its message was lost in a crash, or the
            # outbox has not sent it yet): the text answers something else — most likely
            # the previous question, again. Show the question; store nothing. (Not "a text
            # older than the prompt": a reply sent twice by a retry would make every
            # answer to its first copy look older than the second, for ever.)
            return await self._show_again(caller, state, update_id)
        if current is None or not awaited:
            if quiet:
                return None
            if state is None or current is None:
                return SurveyReply(notice=Notice("journey.text.nothing_awaited"))
            # Never point at a message the person may not have (it may have been lost,
            # or scrolled away): the question comes again, with its buttons.
            async with self.db.write() as repos:
                again = await self._present(repos, state, self.now())
            return replace(
                again, send=(MessageScreen(Notice("journey.text.use_buttons")), *again.send)
            )
        response_id = found[0].id

        async def replay() -> SurveyReply:
            return await self._replay(
                participant.id, response_id, reference=message_id, pressed=None
            )

        return await self._move(
            caller,
            response_id,
            Move("text", current.id, text=text),
            update_id=update_id,
            pressed=None,
            replay=replay,
        )

    async def _show_again(self, caller: Caller, state: State, update_id: int) -> SurveyReply:
        """The current question again, for a text that does not answer it; the update is
        claimed with it, so a redelivered text is not taken for an answer once the
        question is on screen."""
        now = self.now()

        async def apply(repos: Repos) -> SurveyReply:
            reply = await self._present(repos, state, now)
            return await self._owe(repos, reply, caller, state.response.id, update_id, now)

        async def replay() -> SurveyReply:
            return SurveyReply()

        return await fresh_or_replay(self.db, update_id, now, apply=apply, replay=replay)

    async def _move(
        self,
        caller: Caller,
        response_id: int,
        move: Move,
        *,
        update_id: int,
        pressed: int | None,
        replay: Callable[[], Awaitable[SurveyReply]],
    ) -> SurveyReply:
        """Check, decide and store one move, then say what to show (after the commit);
        ``replay`` if the update was applied before."""
        participant = caller.participant
        now = self.now()

        async def apply(repos: Repos) -> tuple[SurveyReply, bool]:
            state = await self.state(repos, response_id)
            question = check_move(
                state, move, participant_id=participant.id if participant else None, now=now
            )
            assert state is not None
            assert participant is not None
            # Where the question was shown: the pressed message, or (a text answer)
            # the prompt — read before the move, which may clear the prompt.
            shown_in = pressed if pressed is not None else state.response.prompt_message_id
            decision = decide(state, question, move)
            onward = self._onward_in_place(state, decision, pressed)
            after = await self._apply(
                repos, state, question, decision, caller.locale, now, keep_prompt=onward
            )
            if participant.awaiting is not None:
                # The person went on with the survey: /feedback waits no more.
                await repos.participants.set_awaiting(participant.id, None, now)
            survey = await self.context(repos, after)
            reply = await self._moved(
                repos, after, survey, question, decision, shown_in, onward=onward
            )
            reply = await self._owe(
                repos, reply, caller, response_id, update_id, now, edited=onward
            )
            return reply, after.response.status == "completed"

        async def replayed() -> tuple[SurveyReply, bool]:
            return await replay(), False

        try:
            reply, completed = await fresh_or_replay(
                self.db, update_id, now, apply=apply, replay=replayed
            )
        except Refusal as refusal:
            return SurveyReply(notice=refusal.notice)
        if completed:
            assert participant is not None
            self.rounds.person_changed(participant.id)  # no reminder for it now
        return reply

    @staticmethod
    def _onward_in_place(state: State, decision: Decision, pressed: int | None) -> bool:
        """Whether the pressed message becomes the next question (its text showing the
        answer just given above it), instead of being retired and followed by a new
        message: one Bot API call and no second write, for the common case of a button
        question after a button question.

        Only from the prompt itself (an older message's buttons move on the old way),
        and never onto a text question: a text counts as the answer to the question on
        screen only when it was written after that question's message (``text_answer``),
        and an edited message keeps its older id.
        """
        return (
            not decision.in_place
            and _redrawable(decision.show)
            and pressed is not None
            and pressed == state.response.prompt_message_id
        )

    async def _apply(
        self,
        repos: Repos,
        state: State,
        question: Question,
        decision: Decision,
        language: Locale,
        now: datetime,
        *,
        keep_prompt: bool = False,
    ) -> State:
        """Store what ``decision`` says (texts with their sentiment); the state after it.
        ``keep_prompt``: the next question is shown in the prompt's own message."""
        response = state.response
        if decision.save is not None:
            sentiment = None
            if decision.save.text is not None:
                # The person's language settles texts with no evidence either way ("ok").
                score = get_analyzer().analyse(decision.save.text, default_language=language)
                sentiment = TextScore(
                    score.label, score.score, score.language, score.version, score.confidence
                )
            await repos.responses.save_answer(
                response,
                decision.save,
                multi=question.type is QuestionType.MULTI,
                sentiment=sentiment,
                now=now,
            )
        if decision.delete:
            await repos.responses.delete_answers(response.id, decision.delete)
        status = response.status
        if decision.complete:
            await repos.responses.complete(response.id, now)
            status = "completed"
        elif decision.cursor != response.cursor:
            await repos.responses.set_cursor(response.id, decision.cursor, now)
        prompt = response.prompt_message_id
        if decision.show is None or not (decision.in_place or keep_prompt):
            # The next question is not in front of the person until its message is sent
            # (``record_prompt``): until then no text counts as its answer.
            prompt = None
            await repos.responses.set_prompt(response.id, None, now)
        updated = replace(
            response, status=status, cursor=decision.cursor, prompt_message_id=prompt
        )
        return replace(state, response=updated, answers=decision.answers)

    async def _moved(
        self,
        repos: Repos,
        after: State,
        survey: SurveyContext,
        question: Question,
        decision: Decision,
        shown_in: int | None,
        *,
        onward: bool = False,
    ) -> SurveyReply:
        if decision.in_place:
            assert decision.show is not None
            return SurveyReply(replace=question_screen(after, survey, decision.show))
        if onward:
            assert decision.show is not None
            answered = answered_screen(after, survey, question)
            return SurveyReply(
                replace=question_screen(after, survey, decision.show, answered=answered)
            )
        retire: tuple[Retire, ...] = ()
        if shown_in is not None:
            retire = (Retire(shown_in, answered_screen(after, survey, question)),)
        if decision.show is not None:
            return SurveyReply(
                retire=retire, send=(question_screen(after, survey, decision.show),)
            )
        recap = await self._recap(repos, after, survey, revised=not decision.complete)
        return SurveyReply(retire=retire, send=(recap,))

    async def _replay(
        self,
        participant_id: int | None,
        response_id: int,
        *,
        reference: int | None,
        pressed: tuple[int, str] | None,
    ) -> SurveyReply:
        """The reply for the current state, after a redelivered update (nothing is stored).

        Message ids in a private chat grow with every message, the person's
        included: a prompt newer than the update's own message (the pressed one,
        or the text) means the reply went out before the redelivery, so nothing
        more is sent. Otherwise the current question (or the recap) is shown.
        """
        now = self.now()
        async with self.db.write() as repos:
            state = await self.state(repos, response_id)
            if state is None or not belongs(state, participant_id):
                return SurveyReply()
            prompt = state.response.prompt_message_id
            if prompt is not None and reference is not None and prompt > reference:
                return SurveyReply()
            if pressed is None:
                return await self._present(repos, state, now)
            message_id, question_id = pressed
            survey = await self.context(repos, state)
            current = state.current()
            if current is not None and current.id == question_id:
                return SurveyReply(replace=question_screen(state, survey, current))
            try:
                answered = answered_screen(state, survey, state.instrument.question(question_id))
            except UnknownQuestion:
                answered = None
            if prompt == message_id and _redrawable(current):
                # The move went on in the pressed message itself: draw it again (a
                # redraw that changes nothing is harmless), send nothing new.
                return SurveyReply(
                    replace=question_screen(state, survey, current, answered=answered)
                )
            # The pressed message is the old prompt: retire it showing its answer.
            unprompted = replace(state.response, prompt_message_id=None)
            presented = await self._present(repos, replace(state, response=unprompted), now)
            return replace(presented, retire=(Retire(message_id, answered),))

    async def continue_survey(self, caller: Caller, *, update_id: int) -> SurveyReply:
        """/survey: the survey under way where it stands; else the next one, started; else
        the finished ones, each with a button to change its answers."""
        if caller.participant is None:
            return SurveyReply(notice=STALE)
        participant_id = caller.participant.id
        now = self.now()
        async with self.db.write() as repos:
            fresh = await repos.updates.claim(update_id, now)
            responses = await self.open_responses(repos, participant_id)
            found = under_way(responses)
            if found:
                state = await self.state(repos, found[0].id)
                assert state is not None
                return await self._present(repos, state, now)
            pending = [r for r in responses if r.status == "pending"]
            if pending and fresh:
                state = await self.state(repos, pending[0].id)
                assert state is not None
                return await self._begin(repos, state, participant_id, None, now)
            completed = [r for r in responses if r.status == "completed"]
            if completed and len(completed) == len(responses):
                surveys = []
                for response in completed:
                    state = await self.state(repos, response.id)
                    assert state is not None
                    surveys.append(await self.context(repos, state))
                return SurveyReply(send=(CompletedList(tuple(surveys)),))
            if responses:
                return SurveyReply()  # a redelivered /survey whose start was already shown
        return SurveyReply(send=(MessageScreen(Notice("journey.survey.none_open")),))
