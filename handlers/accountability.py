"""The government's public answer to a round, and the next round's check: the Telegram edge.

Commands: ``/respond`` (a commitment's responsible people: the replies they owe,
each with a button to write it) and ``/responses`` (staff: every reply still
owed, overdue first). The writing is a guided flow, one message per step::

    request (outbox, at close) ── [Responder] ──▶ subject 1 of N, three stance buttons:
        act ──▶ "what will you do?" (text) ──▶ "by when? YYYY-MM-DD" (text) ──▶ next subject
        done ─▶ "what was done?" (text) ───────────────────────────────────▶ next subject
        no ───▶ "why not?" (text) ─────────────────────────────────────────▶ next subject
    review: every subject and its stance ── [Publicar] ──▶ published (Secretariat + respondents)
                                         └─ [Guardar borrador] ──▶ kept; /respond to go on

Every step is saved as it is taken (the service, :mod:`bot.accountability`), so a
draft survives a restart, and a redelivered update changes nothing. A text goes
to the flow only when its author is writing a reply that waits for one; any other
text falls through to the participant's handlers (group 1). Also here: the
beneficiary's "did it happen?" buttons, and how each of these messages is drawn
for the outbox (:data:`RENDERERS`, merged into :mod:`handlers.outbox`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
)

from bot.access import Caller
from bot.accountability import (
    PROMISE_CHECK,
    REPLY_OVERDUE,
    REPLY_PUBLISHED,
    REPLY_REMINDER,
    REPLY_REQUEST,
    ReplyScreen,
)
from bot.i18n import Locale, Translator, as_locale, local_date
from bot.outbox.outgoing import Outgoing
from handlers.callback_data import (
    PromiseCode,
    PromisePress,
    ReplyFinish,
    ReplyOpen,
    ReplyStance,
    decode,
    encode,
    matches,
)
from handlers.common import PRIVATE_TEXT
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import explain, guarded, pressed, refuse, reply
from handlers.results import ResultsView
from handlers.texts.accountability import (
    STANCE_ICONS,
    day,
    item_lines,
    published_message,
    subject_text,
)
from handlers.texts.results import split_messages
from surveys.accountability import PromiseAnswer, Stance
from surveys.errors import ReplyError, RoundCancelled, RoundNotOpened, UnknownRound

if TYPE_CHECKING:
    from bot.services import Services
    from bot.storage.repositories.outbox import OutboxItem

PROMISE_CODES: Final[tuple[PromiseCode, ...]] = ("yes", "partly", "no", "unknown")


# --- drawing ---------------------------------------------------------------------------------


def screen_message(
    t: Translator, locale: Locale, screen: ReplyScreen
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One step of writing a reply: the subject and its buttons, a question, or the review."""
    reply_, draft = screen.reply, screen.draft
    head = t(
        "accountability.flow.head",
        locale,
        round=reply_.round_id,
        title=screen.title.get(locale),
        due=local_date(reply_.due_at, locale),
    )
    if reply_.status == "published":
        return "\n\n".join(
            [head, t("accountability.flow.published", locale), *item_lines(t, locale, draft.items)]
        ), None
    if draft.step == "review":
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t("accountability.button.publish", locale),
                        callback_data=encode(ReplyFinish(reply_.id, True)),
                    )
                ],
                [
                    InlineKeyboardButton(
                        t("accountability.button.draft", locale),
                        callback_data=encode(ReplyFinish(reply_.id, False)),
                    )
                ],
            ]
        )
        body = [t("accountability.flow.review", locale), *item_lines(t, locale, draft.items)]
        return "\n\n".join([head, *body]), keyboard
    item = draft.items[draft.cursor]
    position = t(
        "accountability.flow.subject",
        locale,
        n=draft.cursor + 1,
        total=len(draft.items),
        subject=subject_text(t, locale, item.subject),
    )
    if draft.step == "stance" or item.stance is None:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        STANCE_ICONS[stance] + " " + t(f"accountability.stance.{stance}", locale),
                        callback_data=encode(ReplyStance(reply_.id, draft.cursor, stance.value)),
                    )
                ]
                for stance in Stance
            ]
        )
        return "\n\n".join([head, position, t("accountability.flow.stance", locale)]), keyboard
    if draft.step == "when":
        ask = t("accountability.flow.when", locale)
    else:
        ask = t(f"accountability.flow.what.{item.stance.value}", locale)
    return "\n\n".join([head, position, ask]), None


# --- commands and presses ---------------------------------------------------------------------


async def _show(
    update: Update, context: PulsoContext, caller: Caller, screen: ReplyScreen
) -> None:
    text, keyboard = screen_message(context.services.t, caller.locale, screen)
    await reply(update, text, keyboard=keyboard)


@guarded("responsible", private_only=True)
async def respond_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/respond: the replies this person owes, each with a button to write or go on."""
    t, locale = context.services.t, caller.locale
    owed = await context.services.accountability.owed_by(caller.user_id)
    if not owed:
        await reply(update, t("accountability.respond.none", locale))
        return
    rows = [
        [
            InlineKeyboardButton(
                t("accountability.respond.button", locale, round=r.round_id, id=r.commitment_id),
                callback_data=encode(ReplyOpen(r.id)),
            )
        ]
        for r, _ in owed
    ]
    lines = [t("accountability.respond.head", locale)] + [
        t(
            "accountability.respond.line",
            locale,
            round=r.round_id,
            id=r.commitment_id,
            title=title.get(locale),
            due=local_date(r.due_at, locale),
        )
        for r, title in owed
    ]
    await reply(update, "\n".join(lines), keyboard=InlineKeyboardMarkup(rows))


@guarded("secretariat")
async def responses_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/responses: every reply still owed, with its deadline; overdue ones say so."""
    t, locale = context.services.t, caller.locale
    owed = await context.services.accountability.pending()
    if not owed:
        await reply(update, t("accountability.responses.none", locale))
        return
    now = context.services.clock.now()
    lines = [t("accountability.responses.head", locale)]
    for r, title in sorted(owed, key=lambda pair: (pair[0].due_at > now, pair[0].due_at)):
        key = "overdue" if r.due_at <= now else "pending"
        lines.append(
            t(
                f"accountability.responses.{key}",
                locale,
                round=r.round_id,
                id=r.commitment_id,
                title=title.get(locale),
                due=local_date(r.due_at, locale),
                status=t(f"accountability.status.{r.status}", locale),
            )
        )
    # A long backlog (many commitments, rounds unanswered) outgrows one Telegram message.
    for text in split_messages(["\n".join(lines)]):
        await reply(update, text)


async def _edit_or_send(
    update: Update, context: PulsoContext, caller: Caller, screen: ReplyScreen
) -> None:
    """The pressed message becomes the next step (its old buttons go with it)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    text, keyboard = screen_message(context.services.t, caller.locale, screen)
    # "Message is not modified" on a repeated press: nothing to redraw.
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=keyboard)


@guarded("responsible", private_only=True)
async def reply_pressed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A button of the reply flow: open, a stance, publish or keep as a draft."""
    query = update.callback_query
    assert query is not None
    data = decode(query.data)
    if not isinstance(data, ReplyOpen | ReplyStance | ReplyFinish):
        await refuse(update, context, caller, "error.stale_button")
        return
    service = context.services.accountability
    if isinstance(data, ReplyOpen):
        screen = await service.open_reply(
            caller.user_id, data.reply_id, update_id=update.update_id
        )
    elif isinstance(data, ReplyStance):
        screen = await service.choose(
            caller.user_id,
            data.reply_id,
            data.item,
            Stance(data.stance),
            update_id=update.update_id,
        )
    else:
        assert isinstance(data, ReplyFinish)
        screen = await service.finish(
            caller.user_id, data.reply_id, publish=data.publish, update_id=update.update_id
        )
        if not data.publish and screen.reply.status != "published":
            query = update.callback_query
            assert query is not None
            await query.answer()
            await reply(update, context.services.t("accountability.flow.kept", caller.locale))
            return
    if isinstance(data, ReplyOpen):
        assert update.callback_query is not None
        await update.callback_query.answer()
        await _show(update, context, caller, screen)
        return
    await _edit_or_send(update, context, caller, screen)


async def reply_text(update: Update, context: PulsoContext) -> None:
    """A text from someone writing a reply that waits for one; anyone else's text goes on
    to the participant's handlers (nothing is read for them: an in-memory set)."""
    user = update.effective_user
    if user is None or user.id not in context.services.accountability.writers:
        return
    await _reply_text(update, context)


@guarded("responsible", private_only=True)
async def _reply_text(update: Update, context: PulsoContext, caller: Caller) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    try:
        screen = await context.services.accountability.write(
            caller.user_id, message.text, update_id=update.update_id
        )
    except ReplyError as error:
        # What was wrong (a date in the past…); the text is the reply's, not a survey's.
        await explain(update, context, caller, error)
        raise ApplicationHandlerStop from None
    if screen is None:
        return  # not writing a reply: the text is a survey answer or feedback
    await _show(update, context, caller, screen)
    raise ApplicationHandlerStop


@guarded("participant", private_only=True)
async def promise_pressed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A beneficiary's "did it happen?": recorded, and the message shows the answer."""
    press = await pressed(update, context, caller, PromisePress)
    if press is None:
        return
    query, data = press
    t, locale = context.services.t, caller.locale
    check = await context.services.accountability.answer_promise(
        caller.user_id, data.check_id, PromiseAnswer(data.answer), update_id=update.update_id
    )
    if check is None:
        await refuse(update, context, caller, "error.stale_button")
        return
    await query.answer()
    answer = t(f"accountability.promise.{data.answer}", locale)
    question = await _promise_question(context.services, check.id, locale)
    answered = t("accountability.promise.answered", locale, answer=answer)
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(
            f"{question}\n\n{answered}" if question else answered,
            reply_markup=_promise_keyboard(t, locale, data.check_id),
        )


def _promise_keyboard(t: Translator, locale: Locale, check_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(f"accountability.promise.{code}", locale),
                    callback_data=encode(PromisePress(check_id, code)),
                )
                for code in PROMISE_CODES[:2]
            ],
            [
                InlineKeyboardButton(
                    t(f"accountability.promise.{code}", locale),
                    callback_data=encode(PromisePress(check_id, code)),
                )
                for code in PROMISE_CODES[2:]
            ],
        ]
    )


def register(application: PulsoApplication) -> None:
    application.add_handler(CommandHandler("respond", respond_command))
    application.add_handler(CommandHandler("responses", responses_command))
    application.add_handler(
        CallbackQueryHandler(reply_pressed, pattern=matches(ReplyOpen, ReplyStance, ReplyFinish))
    )
    application.add_handler(CallbackQueryHandler(promise_pressed, pattern=matches(PromisePress)))
    # Group 0, before the participant's texts (group 1): a reply being written takes the
    # text and stops it there; any other text goes on.
    application.add_handler(
        MessageHandler(
            PRIVATE_TEXT,
            reply_text,
        )
    )


# --- the outbox's drawings ------------------------------------------------------------------


async def _chat_locale(services: Services, chat_id: int) -> Locale:
    async with services.db.read() as repos:
        language = await repos.chats.language(chat_id)
        if language is None:
            person = await repos.participants.by_telegram_id(chat_id)
            language = person.language if person is not None else None
    return as_locale(language, services.settings.default_language)


def _open_button(t: Translator, locale: Locale, reply_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("accountability.button.open", locale),
                    callback_data=encode(ReplyOpen(reply_id)),
                )
            ]
        ]
    )


async def render_request(services: Services, item: OutboxItem) -> list[Outgoing] | None:
    """To a responsible person: the commitment's published results, then the request."""
    found = await services.accountability.reply(int(item.payload.get("reply_id", 0)))
    if found is None or found[0].status == "published":
        return None
    reply_, title = found
    locale = await _chat_locale(services, item.chat_id)
    t = services.t
    try:
        results = await ResultsView(services).results(
            reply_.round_id, reply_.commitment_id, locale
        )
        digest = await services.insights.closed_digest(reply_.round_id)
    except (UnknownRound, RoundCancelled, RoundNotOpened):
        return None
    row = digest.gap_of(reply_.commitment_id)
    request = [
        t(
            "accountability.request",
            locale,
            round=reply_.round_id,
            title=title.get(locale),
            due=local_date(reply_.due_at, locale),
            days=services.settings.response_days,
        )
    ]
    if row is not None and row.flagged:
        request.insert(0, t("accountability.request.flagged", locale))
    messages = [Outgoing(results)] if results else []
    messages.append(Outgoing("\n\n".join(request), _open_button(t, locale, reply_.id)))
    return messages


async def render_reminder(services: Services, item: OutboxItem) -> Outgoing | None:
    found = await services.accountability.reply(int(item.payload.get("reply_id", 0)))
    if found is None or found[0].status == "published":
        return None
    reply_, title = found
    locale = await _chat_locale(services, item.chat_id)
    text = services.t(
        "accountability.reminder",
        locale,
        round=reply_.round_id,
        title=title.get(locale),
        due=local_date(reply_.due_at, locale),
    )
    return Outgoing(text, _open_button(services.t, locale, reply_.id))


async def render_overdue(services: Services, item: OutboxItem) -> Outgoing | None:
    found = await services.accountability.reply(int(item.payload.get("reply_id", 0)))
    if found is None or found[0].status == "published":
        return None
    reply_, title = found
    locale = await _chat_locale(services, item.chat_id)
    return Outgoing(
        services.t(
            "accountability.overdue",
            locale,
            round=reply_.round_id,
            id=reply_.commitment_id,
            title=title.get(locale),
            due=local_date(reply_.due_at, locale),
        )
    )


async def render_published(services: Services, item: OutboxItem) -> Outgoing | None:
    found = await services.accountability.reply(int(item.payload.get("reply_id", 0)))
    if found is None or found[0].status != "published":
        return None
    reply_, title = found
    if item.participant_id is not None:
        async with services.db.read() as repos:
            person = await repos.participants.get(item.participant_id)
        if person is None or person.status != "active":
            return None  # stopped messages, or gone
        locale = as_locale(person.language, services.settings.default_language)
    else:
        locale = await _chat_locale(services, item.chat_id)
    text = published_message(
        services.t, locale, reply_, title, to_respondent=item.participant_id is not None
    )
    return Outgoing(text) if text else None


async def _promise_question(services: Services, check_id: int, locale: Locale) -> str | None:
    """ "The agency said it would … by …. Did it happen?" (None: no such promise)."""
    found = await services.accountability.promise_check(check_id)
    if found is None:
        return None
    check, reply_ = found
    if reply_.draft is None or not 0 <= check.item < len(reply_.draft.items):
        return None
    promise = reply_.draft.items[check.item]
    if promise.by is None:
        return None
    titled = await services.accountability.reply(reply_.id)
    return services.t(
        "accountability.promise.ask",
        locale,
        title=titled[1].get(locale) if titled else reply_.commitment_id,
        text=promise.text,
        by=day(promise.by, locale),
        round=reply_.round_id,
    )


async def render_promise_check(services: Services, item: OutboxItem) -> Outgoing | None:
    """To a beneficiary, after the invitation: "the agency said it would … by …; did it?"."""
    check_id = int(item.payload.get("check_id", 0))
    found = await services.accountability.promise_check(check_id)
    if found is None:
        return None
    check, _ = found
    if check.participant_status != "active" or check.round_status != "open":
        return None
    locale = as_locale(check.language, services.settings.default_language)
    text = await _promise_question(services, check_id, locale)
    if text is None:
        return None
    return Outgoing(text, _promise_keyboard(services.t, locale, check.id))


RENDERERS: Final = {
    REPLY_REQUEST: render_request,
    REPLY_REMINDER: render_reminder,
    REPLY_OVERDUE: render_overdue,
    REPLY_PUBLISHED: render_published,
    PROMISE_CHECK: render_promise_check,
}
