"""How each kind of outbox row becomes a message, at the moment it is sent.

The delivery engine (:mod:`bot.outbox.engine`) owns the ``outbox`` table and
Telegram's pace; what a row *says* is presentation, so it is drawn here, at
send time (a person who switched language, or a round that closed meanwhile,
is reflected). :data:`RENDERERS` is the one registry, kind by kind, and
:data:`PRELOADERS` loads in one go what a batch of rows needs; the composition
root (:mod:`pulso.bootstrap`) hands both to the engine. A renderer returning
None means "nothing to send any more" (the row is cancelled, not failed).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import as_locale
from bot.insights.service import RESULTS, SUMMARY
from bot.journey import QuestionScreen
from bot.journey.answering import PROMPT
from bot.outbox import engine
from bot.outbox.outgoing import NotYet, Outgoing
from bot.rounds.service import INVITATION, REMINDER, ROUND_CLOSED
from handlers import accountability
from handlers.callback_data import StartSurvey, encode
from handlers.keyboards import screen_message
from handlers.results import ResultsView
from surveys.errors import RoundCancelled, RoundNotOpened, UnknownRound
from surveys.rounds import local_text

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.repositories.outbox import OutboxItem

#: Draws one kind of outbox row, given the services; see :data:`RENDERERS`.
Renderer = Callable[["Services", "OutboxItem"], Awaitable[Outgoing | list[Outgoing] | None]]
Preloader = Callable[["Services", Sequence["OutboxItem"]], Awaitable[None]]


# --- a round's messages to participants and the Secretariat ---------------------------------


#: How long an invitation waits for someone who just joined to finish the optional
#: questions about themselves.
ONBOARDING_WAIT: Final = timedelta(minutes=10)


async def preload_survey_messages(services: Services, items: Sequence[OutboxItem]) -> None:
    """What a batch of invitations or reminders needs, in a few queries for the batch."""
    await services.rounds.preload(items)


async def _survey_message(services: Services, item: OutboxItem, kind: str) -> Outgoing | None:
    """An invitation or a reminder, or None when it is no longer owed: the person is not
    active, the round is not open, or (reminders) everything is completed."""
    recipients = await services.rounds.recipient(item)
    if not recipients:
        return None
    first = recipients[0]
    response = first.response
    if first.participant_status != "active" or response.round_status != "open":
        return None
    since = first.onboarding_since
    if kind == INVITATION and since is not None and services.clock.now() - since < ONBOARDING_WAIT:
        # Being asked about themselves right now: invited once they are done (or, should
        # they leave the questions, once the wait is over), never in the same moment.
        raise NotYet(1)
    unfinished = [r.response for r in recipients if r.response.status != "completed"]
    if not unfinished:
        return None
    locale = as_locale(first.language, services.settings.default_language)
    rounds = services.rounds
    commitments = tuple(dict.fromkeys(r.response.commitment_id for r in recipients))
    pending = len(unfinished) if kind == REMINDER else 0
    # Everyone in a round with the same language and commitments reads the same text:
    # render it once per delivery batch (the cache is emptied with each preload).
    key = (response.round_id, kind, locale, commitments, pending)
    cached = rounds.texts.get(key)
    if cached is None:
        titles = [await rounds.title(c, locale) for c in commitments]
        instrument = await services.instruments.get(first.instrument_pk)
        t = services.t
        params = {
            "survey": instrument.title.get(locale),
            "commitments": ", ".join(titles),
            "deadline": local_text(response.round_closes_at, rounds.tz),
            "timezone": services.settings.timezone,
        }
        if kind == INVITATION:
            cached = (
                t("rounds.invitation", locale, **params),
                t("rounds.invitation.start", locale),
            )
        else:
            cached = (
                t("rounds.reminder", locale, pending=pending, **params),
                t("rounds.reminder.continue", locale),
            )
        rounds.texts[key] = cached
    text, label = cached
    button = InlineKeyboardButton(label, callback_data=encode(StartSurvey(unfinished[0].id)))
    return Outgoing(text, InlineKeyboardMarkup([[button]]))


async def render_invitation(services: Services, item: OutboxItem) -> Outgoing | None:
    """The invitation: the survey, the commitment(s), the deadline, and a Start button."""
    return await _survey_message(services, item, INVITATION)


async def render_reminder(services: Services, item: OutboxItem) -> Outgoing | None:
    """A reminder to someone who has not finished, with a button to go on."""
    return await _survey_message(services, item, REMINDER)


async def render_round_closed(services: Services, item: OutboxItem) -> Outgoing | None:
    """ "Round N closed: X of Y completed", in the Secretariat chat's language."""
    async with services.db.read() as repos:
        language = await repos.chats.language(item.chat_id)
    locale = as_locale(language, services.settings.default_language)
    payload = item.payload
    return Outgoing(
        services.t(
            "rounds.closed.secretariat",
            locale,
            round=item.round_id,
            completed=payload.get("completed", 0),
            targeted=payload.get("targeted", 0),
        )
    )


# --- a reply owed to a survey move, when the process died before sending it ---------------


#: How long a lost reply waits for the person's unhandled updates; longer, and they are
#: stuck for some other reason and the question goes out anyway.
PROMPT_WAITS_FOR_INBOX: Final = timedelta(seconds=30)


async def render_prompt(services: Services, item: OutboxItem) -> Outgoing | None:
    """The current question (or the recap) of a response whose reply was lost; None
    when there is nothing to say any more."""
    response_id = item.payload.get("response_id")
    if item.participant_id is None or response_id is None:
        return None
    async with services.db.read() as repos:
        if await repos.outbox.superseded(item):
            return None  # a later change owes its own reply, which shows the newer state
        # What the person sent and the bot has not handled yet will move the survey on
        # and bring its own reply: drawn now, this question could arrive after they had
        # answered it, and a text meant for it would answer the next one.
        recently = services.clock.now() - PROMPT_WAITS_FOR_INBOX
        if await repos.updates.waiting_in_chat(item.chat_id, received_since=recently):
            raise NotYet(0.25)
        participant = await repos.participants.get(item.participant_id)
    if participant is None or participant.status != "active":
        return None
    reply = await services.journey.current_prompt(int(response_id))
    if reply is None or not reply.send:
        return None
    locale = as_locale(participant.language, services.settings.default_language)
    screen = reply.send[-1]
    text, keyboard = screen_message(services.t, locale, services.settings.tz, screen)
    if not isinstance(screen, QuestionScreen):
        return Outgoing(text, keyboard)

    async def prompted(message_id: int) -> None:
        # Its buttons are the ones to retire at the next answer, and a text written after
        # it (a later message id) is its answer.
        await services.journey.outbox_prompted(screen.survey.response_id, item.id, message_id)

    return Outgoing(text, keyboard, on_sent=prompted)


# --- a closed round's results ------------------------------------------------------------------


async def render_summary(services: Services, item: OutboxItem) -> list[Outgoing] | None:
    """A closed round's summary and charts, in the Secretariat chat's language."""
    if item.round_id is None:
        return None
    async with services.db.read() as repos:
        language = await repos.chats.language(item.chat_id)
    locale = as_locale(language, services.settings.default_language)
    try:
        rendered = await ResultsView(services).summary(locale, item.round_id)
    except (UnknownRound, RoundCancelled, RoundNotOpened):
        return None
    return rendered.outgoing()


async def render_results(services: Services, item: OutboxItem) -> Outgoing | None:
    """A respondent's results for their commitment, in their language (None if they left)."""
    commitment_id = item.payload.get("commitment_id")
    if item.round_id is None or item.participant_id is None or not commitment_id:
        return None
    async with services.db.read() as repos:
        participant = await repos.participants.get(item.participant_id)
    if participant is None or participant.status != "active":
        return None
    locale = as_locale(participant.language, services.settings.default_language)
    try:
        text = await ResultsView(services).results(item.round_id, str(commitment_id), locale)
    except (UnknownRound, RoundCancelled, RoundNotOpened):
        return None
    return Outgoing(text) if text else None


#: How each kind of outbox row is drawn: one renderer per kind, all of them here.
RENDERERS: Final[Mapping[str, Renderer]] = {
    INVITATION: render_invitation,
    REMINDER: render_reminder,
    ROUND_CLOSED: render_round_closed,
    SUMMARY: render_summary,
    RESULTS: render_results,
    PROMPT: render_prompt,
    # The government's replies and the promise checks (handlers/accountability.py).
    **accountability.RENDERERS,
}

#: Kinds whose batches load what they need in one go before rendering.
PRELOADERS: Final[Mapping[str, Preloader]] = {
    INVITATION: preload_survey_messages,
    REMINDER: preload_survey_messages,
}


def drawings(
    services: Services,
) -> tuple[dict[str, engine.Renderer], dict[str, engine.Preloader]]:
    """The registries with the services given, as the delivery engine calls them."""
    return (
        {kind: functools.partial(render, services) for kind, render in RENDERERS.items()},
        {kind: functools.partial(load, services) for kind, load in PRELOADERS.items()},
    )
