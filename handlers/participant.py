"""What a beneficiary or an implementer does in a private chat with the bot.

Each callback parses the update, calls one :class:`bot.journey.JourneyService`
method and shows what it returns; the texts and buttons of the survey come
from :mod:`handlers.keyboards`.

=======  =====================================================================
group    handlers
=======  =====================================================================
-1       /start from a participant: "welcome back" (and resumed if they had
         stopped or blocked the bot); it stops there, so the common /start
         (group 0) still welcomes strangers
0        /start TOKEN, consent (``Consent``), demographics
         (``Demographic``), Start and the survey buttons (``StartSurvey``,
         ``SurveyPress``), /survey, /feedback and its commitment buttons
         (``FeedbackAbout``), /privacy, /mydata, /forget and its confirmation
         (``ConfirmForget``), /stop, /resume; ``my_chat_member``: the person
         blocked or unblocked the bot. Buttons are routed by the type their
         payload decodes to (:func:`handlers.callback_data.matches`)
1        plain texts in private chats (text answers, feedback): a group of
         their own, so conversations other modules keep in group 0 (the
         admin's wizard) still see the texts they wait for
=======  =====================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.access import Caller
from bot.journey import (
    AlreadyJoined,
    FeedbackReply,
    Move,
    QuestionScreen,
    Retire,
    Screen,
    SurveyReply,
)
from bot.logs import describe_exception
from bot.outbox.outgoing import answer_callback, edit_text, send_text
from handlers.callback_data import (
    ConfirmForget,
    Consent,
    Demographic,
    FeedbackAbout,
    StartSurvey,
    SurveyPress,
    decode,
    encode,
    matches,
)
from handlers.common import PRIVATE_TEXT
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import command_args, guarded, pressed, refuse, reply
from handlers.keyboards import (
    answered_text,
    as_plain,
    consent_keyboard,
    consent_notice,
    demographic_answered,
    demographic_message,
    feedback_keyboard,
    feedback_text,
    notice_text,
    question_message,
    returning_text,
    screen_message,
    status_text,
    welcome_text,
)
from handlers.texts.mydata import mydata_file
from surveys.errors import InviteError

log = logging.getLogger(__name__)


async def _quietly(edit: Awaitable[object]) -> None:
    """An edit that may find the message unchanged or gone: that is not a failure."""
    try:
        await edit
    except BadRequest as exc:
        log.debug("edit skipped: %s", describe_exception(exc))


# --- onboarding -----------------------------------------------------------------------------


@guarded(private_only=True)
async def start_with_invite(update: Update, context: PulsoContext, caller: Caller) -> None:
    """The privacy notice with consent buttons (or why the link does not work)."""
    services = context.services
    t, locale = services.t, caller.locale
    offer = await services.journey.open_invite(
        caller, command_args(context)[0], update_id=update.update_id
    )
    if isinstance(offer, AlreadyJoined):
        await reply(update, returning_text(t, locale, offer))
        return
    notice = consent_notice(
        t, locale, offer.commitment, offer.role, services.settings.min_group_size
    )
    await reply(update, notice, keyboard=consent_keyboard(t, locale, offer.token))


@guarded()
async def start_returning(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A participant's plain /start: where they take part, resumed if they had stopped."""
    back = await context.services.journey.returning(caller, update_id=update.update_id)
    if back is None:
        return  # a stranger: the common /start welcomes them
    await reply(update, returning_text(context.services.t, caller.locale, back))
    raise ApplicationHandlerStop


@guarded(private_only=True)
async def consent_pressed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Accept: join (then demographics or the welcome). Decline: nothing is kept."""
    if (press := await pressed(update, context, caller, Consent)) is None:
        return
    query, data = press
    t, locale = context.services.t, caller.locale
    await query.answer()
    if not data.accepted:
        await _quietly(query.edit_message_text(t("journey.consent.declined", locale)))
        return
    try:
        joined = await context.services.journey.consent(
            caller, data.token, update_id=update.update_id
        )
    except InviteError as error:
        await _quietly(query.edit_message_text(t(error.key, locale)))
        return
    notice = consent_notice(
        t, locale, joined.commitment, joined.role, context.services.settings.min_group_size
    )
    accepted = t("journey.consent.accepted", locale)
    await _quietly(query.edit_message_text(f"{notice}\n\n{accepted}"))
    if joined.next_demographic is not None:
        text, keyboard = demographic_message(t, locale, joined.next_demographic)
        await reply(update, text, keyboard=keyboard)
    elif joined.welcome is not None:
        await reply(update, welcome_text(t, locale, joined.welcome))


@guarded(private_only=True)
async def demographic_pressed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Record one optional answer; show the next question or the welcome."""
    if (press := await pressed(update, context, caller, Demographic)) is None:
        return
    query, data = press
    services = context.services
    t, locale = services.t, caller.locale
    outcome = await services.journey.answer_demographic(
        caller, data.question, data.code, update_id=update.update_id
    )
    if outcome.notice is not None:
        tz = services.settings.tz
        await query.answer(as_plain(notice_text(t, locale, tz, outcome.notice)))
        return
    await query.answer()
    if outcome.answered is not None:
        answered = demographic_answered(t, locale, outcome.answered, outcome.value)
        await _quietly(query.edit_message_text(answered))
    if outcome.next_demographic is not None:
        text, keyboard = demographic_message(t, locale, outcome.next_demographic)
        await reply(update, text, keyboard=keyboard)
    elif outcome.welcome is not None:
        await reply(update, welcome_text(t, locale, outcome.welcome))


# --- surveys --------------------------------------------------------------------------------


async def show(
    update: Update, context: PulsoContext, caller: Caller, outcome: SurveyReply
) -> None:
    """Carry out a survey reply: toast or notice, retire old buttons, redraw, send."""
    services = context.services
    t, locale, tz = services.t, caller.locale, services.settings.tz
    query = update.callback_query
    notice = notice_text(t, locale, tz, outcome.notice) if outcome.notice else None
    if query is not None:
        await answer_callback(context.bot, query.id, as_plain(notice) if notice else None)
    elif notice is not None:
        await reply(update, notice)
    for retire in outcome.retire:
        await _retire(context, caller, retire)
    if outcome.replace is not None and query is not None and query.message is not None:
        await _redraw(context, caller, query.message.message_id, outcome)
    for screen in outcome.send:
        sent = await _send(context, caller, screen)
        if isinstance(screen, QuestionScreen):
            await services.journey.record_prompt(screen.survey.response_id, sent)
    if outcome.owed is not None:
        # Sent: the row written with the change to send it after a crash is not needed.
        services.delivery.delivered(outcome.owed)


async def _redraw(
    context: PulsoContext, caller: Caller, pressed: int, outcome: SurveyReply
) -> None:
    """Draw ``outcome.replace`` in the pressed message. When that is the next question (a
    reply is owed) and the message cannot be edited (deleted, or too old), send the
    question as a new message instead, so the person is never left without it."""
    screen = outcome.replace
    assert screen is not None
    text, keyboard = question_message(context.services.t, caller.locale, screen)
    try:
        await edit_text(context.bot, caller.chat_id, pressed, text, keyboard=keyboard)
    except BadRequest as exc:
        if outcome.owed is None or "not modified" in str(exc).lower():
            log.debug("edit skipped: %s", describe_exception(exc))
            return
        log.info("could not redraw message %d: %s; sending anew", pressed, exc)
        sent = await _send(context, caller, screen)
        await context.services.journey.record_prompt(screen.survey.response_id, sent)


async def _retire(context: PulsoContext, caller: Caller, retire: Retire) -> None:
    bot = context.bot
    if retire.screen is None:
        await _quietly(
            bot.edit_message_reply_markup(chat_id=caller.chat_id, message_id=retire.message_id)
        )
        return
    text = answered_text(context.services.t, caller.locale, retire.screen)
    await _quietly(edit_text(bot, caller.chat_id, retire.message_id, text))


async def _send(context: PulsoContext, caller: Caller, screen: Screen) -> int:
    """Send one screen to the caller's chat; its message id."""
    services = context.services
    text, keyboard = screen_message(services.t, caller.locale, services.settings.tz, screen)
    return await send_text(context.bot, caller.chat_id, text, keyboard=keyboard)


@guarded(private_only=True)
async def survey_pressed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Start, answer, toggle, done/keep, skip or back: checked, stored, then shown."""
    query = update.callback_query
    assert query is not None
    data = decode(query.data)
    message_id = query.message.message_id if query.message is not None else None
    journey = context.services.journey
    if isinstance(data, StartSurvey):
        outcome = await journey.start_survey(
            caller, data.response_id, update_id=update.update_id, message_id=message_id
        )
    elif isinstance(data, SurveyPress) and message_id is not None:
        move = Move(data.action, data.question, data.code)
        outcome = await journey.survey_press(
            caller, data.response_id, move, update_id=update.update_id, message_id=message_id
        )
    else:
        await refuse(update, context, caller, "error.stale_button")
        return
    await show(update, context, caller, outcome)


@guarded("participant", private_only=True)
async def survey_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/survey: continue where they were, start the next survey, or revise a finished one."""
    outcome = await context.services.journey.continue_survey(caller, update_id=update.update_id)
    await show(update, context, caller, outcome)


@guarded()
async def text_received(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A message that answers the text question in front of the person, or is feedback."""
    message = update.message
    if message is None or message.text is None:
        return
    outcome = await context.services.journey.text_message(
        caller, message.text, update_id=update.update_id, message_id=message.message_id
    )
    if isinstance(outcome, FeedbackReply):
        await reply(update, feedback_text(context.services.t, caller.locale, outcome))
    elif outcome is not None:
        await show(update, context, caller, outcome)


@guarded("participant", private_only=True)
async def feedback_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/feedback [COMMITMENT] [TEXT]: a comment for the Secretariat, now or next message."""
    text = update.message.text if update.message is not None and update.message.text else ""
    parts = text.split(maxsplit=1)
    outcome = await context.services.journey.feedback(
        caller, parts[1] if len(parts) > 1 else "", update_id=update.update_id
    )
    await reply(
        update,
        feedback_text(context.services.t, caller.locale, outcome),
        keyboard=feedback_keyboard(caller.locale, outcome),
    )


@guarded("participant", private_only=True)
async def feedback_chosen(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A /feedback button: the next message is feedback on that commitment. A press for
    a commitment the person is not in (forged, or left since) changes nothing."""
    if (press := await pressed(update, context, caller, FeedbackAbout)) is None:
        return
    query, data = press
    outcome = await context.services.journey.feedback_about(
        caller, data.commitment_id, update_id=update.update_id
    )
    if outcome is None:
        await refuse(update, context, caller, "error.stale_button")
        return
    await query.answer()
    await _quietly(
        query.edit_message_text(feedback_text(context.services.t, caller.locale, outcome))
    )


@guarded()
async def member_changed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Telegram says the person blocked the bot (``kicked``) or unblocked it (``member``):
    unreachable, or reachable again without /start. Groups are not people: ignored."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    status = change.new_chat_member.status
    if status not in (ChatMemberStatus.BANNED, ChatMemberStatus.MEMBER):
        return
    await context.services.people.reachability(
        caller, reachable=status == ChatMemberStatus.MEMBER, update_id=update.update_id
    )


# --- data rights ----------------------------------------------------------------------------


@guarded()
async def privacy_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """What is stored, who sees what, the rights, and what remains after /forget."""
    services = context.services
    await reply(
        update,
        services.t("journey.privacy", caller.locale, min_group=services.settings.min_group_size),
    )


@guarded("participant", private_only=True)
async def mydata_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/mydata: a text file with everything stored about the person."""
    services = context.services
    data = await services.journey.my_data(caller)
    messages = services.t.catalogs[caller.locale].messages
    filename, content = mydata_file(data, messages, caller.locale, services.settings.tz)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        document=content,
        filename=filename,
        caption=services.t("journey.mydata.caption", caller.locale),
    )


@guarded("participant", private_only=True)
async def forget_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/forget: what will be deleted and what remains, with a confirmation."""
    t, locale = context.services.t, caller.locale
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("journey.forget.yes", locale), callback_data=encode(ConfirmForget(True))
                )
            ],
            [
                InlineKeyboardButton(
                    t("journey.forget.no", locale), callback_data=encode(ConfirmForget(False))
                )
            ],
        ]
    )
    await reply(update, t("journey.forget.confirm", locale), keyboard=keyboard)


@guarded(private_only=True)
async def forget_pressed(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Confirmed: delete and unlink, irreversibly. Cancelled: nothing changes."""
    if (press := await pressed(update, context, caller, ConfirmForget)) is None:
        return
    query, data = press
    t, locale = context.services.t, caller.locale
    if not data.confirmed:
        await query.answer()
        await _quietly(query.edit_message_text(t("journey.forget.cancelled", locale)))
        return
    forgotten = await context.services.journey.forget(caller, update_id=update.update_id)
    if forgotten is None:
        await refuse(update, context, caller, "error.stale_button")
        return
    await query.answer()
    await _quietly(query.edit_message_text(t("journey.forget.done", locale)))
    for message_id in forgotten.prompts:
        await _retire(context, caller, Retire(message_id))


@guarded("participant", private_only=True)
async def stop_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/stop: no more invitations or reminders until /resume."""
    change = await context.services.journey.stop(caller, update_id=update.update_id)
    await reply(update, status_text(context.services.t, caller.locale, "stop", change))


@guarded("participant", private_only=True)
async def resume_command(update: Update, context: PulsoContext, caller: Caller) -> None:
    """/resume: invitations and reminders again."""
    change = await context.services.journey.resume_invitations(caller, update_id=update.update_id)
    await reply(update, status_text(context.services.t, caller.locale, "resume", change))


def register(application: PulsoApplication) -> None:
    """Register the participant's handlers (groups: see the module docstring)."""
    application.add_handler(
        CommandHandler("start", start_returning, filters=filters.ChatType.PRIVATE, has_args=False),
        group=-1,
    )
    application.add_handler(CommandHandler("start", start_with_invite, has_args=True))
    application.add_handler(CallbackQueryHandler(consent_pressed, pattern=matches(Consent)))
    application.add_handler(
        CallbackQueryHandler(demographic_pressed, pattern=matches(Demographic))
    )
    application.add_handler(
        CallbackQueryHandler(survey_pressed, pattern=matches(StartSurvey, SurveyPress))
    )
    application.add_handler(CallbackQueryHandler(forget_pressed, pattern=matches(ConfirmForget)))
    application.add_handler(CommandHandler("survey", survey_command))
    application.add_handler(CommandHandler("feedback", feedback_command))
    application.add_handler(CallbackQueryHandler(feedback_chosen, pattern=matches(FeedbackAbout)))
    application.add_handler(ChatMemberHandler(member_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(CommandHandler("privacy", privacy_command))
    application.add_handler(CommandHandler("mydata", mydata_command))
    application.add_handler(CommandHandler("forget", forget_command))
    application.add_handler(CommandHandler("stop", stop_command))
    application.add_handler(CommandHandler("resume", resume_command))
    application.add_handler(
        MessageHandler(
            PRIVATE_TEXT,
            text_received,
        ),
        group=1,
    )
