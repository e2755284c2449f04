"""Admin commands for survey rounds and recurring schedules.

    /newround SURVEY COMMITMENTS ROLES OPENS DURATION [reminders=48h,-24h] [quiet=21:00-08:00]
              [results=on|off]
    /newround                      (no arguments: the guided wizard below)
    /schedule SURVEY COMMITMENTS ROLES "CRON" DURATION
    /schedules, /unschedule ID
    /rounds, /closeround ID, /cancelround ID

COMMITMENTS is ``all`` or ``JAL0001,JAL0004``; ROLES ``all``, ``beneficiary`` or
``implementer``; OPENS ``now`` or ``YYYY-MM-DD HH:MM`` in ``TIMEZONE``; DURATION
like ``7d``, ``36h``, ``90m``. Anything malformed gets the first thing that was
wrong and the usage line. Everything here is admin-only; the rounds service
(:mod:`bot.rounds.service`) does the work and writes the audit log.

The wizard is one ``ConversationHandler`` (see docs/rounds.md for the diagram)::

    /newround ─▶ SURVEY ─▶ COMMITMENTS (toggle…, Done) ─▶ ROLES ─▶ OPENS ─▶ DURATION ─▶ CONFIRM
                 buttons   buttons                       buttons  buttons  buttons     Create → END
                                                                  or text  or text     Cancel → END
    /cancel or a Cancel button at any step → END

It is registered in group -1, ahead of every other handler: a date typed in
the wizard must reach the wizard, not the participant's free-text answers
(admins may be participants too). Its callbacks stop further handling once
they have consumed an update.
"""

from __future__ import annotations

import functools
import shlex
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, time, timedelta
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.access import Caller
from bot.i18n import Html, Locale, Translator
from bot.rounds.service import CreatedRound, NewRound, RoundOverview
from bot.storage.repositories.rounds import Schedule
from handlers.callback_data import WizardStep, encode
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import caller_of, command_args, explain, guarded, pressed, refuse, reply
from surveys.errors import PulsoError
from surveys.rounds import (
    DEFAULT_REMINDER_OFFSETS,
    BadOption,
    RoundSpecError,
    RoundStateError,
    format_duration,
    local_text,
    parse_commitments,
    parse_duration,
    parse_opens,
    parse_quiet_hours,
    parse_reminder_offsets,
    parse_roles,
    parse_switch,
)

SURVEY, COMMITMENTS, ROLES, OPENS, DURATION, CONFIRM = range(6)
END = ConversationHandler.END
WIZARD_KEY = "newround_wizard"

StepCallback: TypeAlias = Callable[[Update, PulsoContext, Caller], Awaitable[int]]
PtbStep: TypeAlias = Callable[[Update, PulsoContext], Coroutine[Any, Any, int]]


# --- parsing ------------------------------------------------------------------------------


def parse_newround(args: list[str], *, now: datetime, tz: ZoneInfo) -> NewRound | None:
    """``SURVEY COMMITMENTS ROLES OPENS DURATION [options]`` → a request; None: wrong count.

    OPENS may be two words (``2026-03-05 09:00``). Raises the first
    :class:`RoundSpecError` found, left to right.
    """
    positional = [a for a in args if "=" not in a]
    options = dict(a.split("=", 1) for a in args if "=" in a)
    if len(positional) == 5:
        survey, commitments, roles, opens_text, duration_text = positional
    elif len(positional) == 6:
        survey, commitments, roles, day, clock, duration_text = positional
        opens_text = f"{day} {clock}"
    else:
        return None
    commitment_ids = parse_commitments(commitments)
    role_list = parse_roles(roles)
    opens_at = parse_opens(opens_text, now=now, tz=tz)
    duration = parse_duration(duration_text)
    unknown = set(options) - {"reminders", "quiet", "results"}
    if unknown:
        raise BadOption()
    offsets = DEFAULT_REMINDER_OFFSETS
    if "reminders" in options:
        offsets = parse_reminder_offsets(options["reminders"])
    quiet = options.get("quiet")
    if quiet is not None:
        parse_quiet_hours(quiet)
    send_results = parse_switch(options["results"]) if "results" in options else True
    return NewRound(
        instrument_id=survey.lower(),
        commitment_ids=commitment_ids,
        roles=tuple(str(r) for r in role_list),
        opens_at=opens_at,
        duration=duration,
        reminder_offsets=offsets,
        quiet_hours=quiet,
        send_results=send_results,
    )


def parse_schedule(text: str) -> tuple[str, str, str, str, str] | None:
    """The raw ``/schedule`` text → (survey, commitments, roles, cron, duration); the cron
    in quotes, or as five bare fields. None: the wrong number of parts."""
    try:
        parts = shlex.split(text)[1:]
    except ValueError:
        return None
    if len(parts) == 5:
        survey, commitments, roles, cron, duration = parts
    elif len(parts) == 9:
        survey, commitments, roles, *fields, duration = parts
        cron = " ".join(fields)
    else:
        return None
    return survey, commitments, roles, cron, duration


def parse_id(args: list[str]) -> int | None:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        return None
    value = int(args[0].lstrip("#"))
    return value if 0 < value < 2**31 else None


# --- texts --------------------------------------------------------------------------------


def usage(t: Translator, locale: Locale, usage_key: str, problem: PulsoError | None) -> str:
    """What was wrong (the first thing), then the usage line."""
    lines = [t(problem.key, locale, **problem.params)] if problem else []
    return "\n".join([*lines, t(usage_key, locale)])


def targets_text(
    t: Translator, locale: Locale, commitments: tuple[str, ...], roles: tuple[str, ...]
) -> str:
    role_names = ", ".join(t(f"rounds.role.{role}", locale) for role in roles)
    return f"{', '.join(commitments)} · {role_names}"


def state_error_text(t: Translator, locale: Locale, error: RoundStateError) -> Html:
    params = error.params
    return t(
        "error.round.state",
        locale,
        round=params["round"],
        status=t(f"rounds.status.{params['status']}", locale),
        action=t(f"rounds.action.{params['action']}", locale),
    )


def round_line(context: PulsoContext, locale: Locale, overview: RoundOverview) -> str:
    t = context.services.t
    round_, p = overview.round, overview.progress
    tz = context.services.settings.tz
    return t(
        "rounds.list.line",
        locale,
        round=round_.id,
        survey=round_.instrument_id,
        status=t(f"rounds.status.{round_.status}", locale),
        targets=Html(targets_text(t, locale, round_.commitment_ids, round_.roles)),
        opens=local_text(round_.opens_at, tz),
        closes=local_text(round_.closes_at, tz),
        targeted=p.targeted,
        delivered=p.delivered,
        started=p.started,
        completed=p.completed,
        failed=p.failed,
        unreachable=p.unreachable,
    )


async def created_text(context: PulsoContext, locale: Locale, created: CreatedRound) -> Html:
    """The round's id, targets, reach, opening, closing and reminder moments."""
    services = context.services
    t, tz = services.t, services.settings.tz
    round_ = created.round
    moments = await services.rounds.reminder_moments(round_.id)
    key = "rounds.created.open" if round_.status == "open" else "rounds.created"
    return t(
        key,
        locale,
        round=round_.id,
        survey=round_.instrument_id,
        targets=Html(targets_text(t, locale, round_.commitment_ids, round_.roles)),
        opens=local_text(round_.opens_at, tz),
        closes=local_text(round_.closes_at, tz),
        timezone=services.settings.timezone,
        reach=created.reach,
        reminders=", ".join(local_text(m, tz) for m in moments)
        or t("rounds.reminders.none", locale),
    )


# --- commands with arguments --------------------------------------------------------------


@guarded("admin")
async def schedule(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A recurring round: /schedule SURVEY COMMITMENTS ROLES "CRON" DURATION."""
    t, locale = context.services.t, caller.locale
    message = update.effective_message
    parsed = parse_schedule(message.text or "") if message is not None else None
    if parsed is None:
        await reply(update, usage(t, locale, "rounds.schedule.usage", None))
        return
    survey, commitments, roles, cron, duration_text = parsed
    try:
        commitment_ids = parse_commitments(commitments)
        role_list = tuple(str(r) for r in parse_roles(roles))
        duration = parse_duration(duration_text)
        created = await context.services.rounds.add_schedule(
            instrument_id=survey.lower(),
            commitment_ids=commitment_ids,
            roles=role_list,
            cron=cron,
            duration=duration,
            actor=caller.user_id,
            update_id=update.update_id,
        )
    except RoundSpecError as problem:
        await reply(update, usage(t, locale, "rounds.schedule.usage", problem))
        return
    await reply(update, schedule_text(context, locale, created, "rounds.schedule.created"))


def schedule_text(context: PulsoContext, locale: Locale, item: Schedule, key: str) -> Html:
    t = context.services.t
    everything = t("rounds.all_commitments", locale)
    commitments = ", ".join(item.commitment_ids) if item.commitment_ids else everything
    roles = ", ".join(t(f"rounds.role.{role}", locale) for role in item.roles)
    tz = context.services.settings.tz
    return t(
        key,
        locale,
        schedule=item.id,
        survey=item.instrument_id,
        targets=Html(f"{commitments} · {roles}"),
        cron=item.cron,
        timezone=item.timezone,
        duration=format_duration(timedelta(seconds=item.duration_seconds)),
        next=local_text(item.next_fire_at, tz) if item.next_fire_at else "—",
    )


@guarded("admin")
async def schedules(update: Update, context: PulsoContext, caller: Caller) -> None:
    """The active recurring schedules."""
    found = await context.services.rounds.schedules()
    t, locale = context.services.t, caller.locale
    if not found:
        await reply(update, t("rounds.schedules.empty", locale))
        return
    lines: list[str] = [t("rounds.schedules.header", locale)]
    lines += [schedule_text(context, locale, item, "rounds.schedules.line") for item in found]
    await reply(update, "\n".join(lines))


@guarded("admin")
async def unschedule(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Stop a recurring schedule: /unschedule ID."""
    t, locale = context.services.t, caller.locale
    schedule_id = parse_id(command_args(context))
    if schedule_id is None:
        await reply(update, t("rounds.unschedule.usage", locale))
        return
    removed = await context.services.rounds.remove_schedule(schedule_id, actor=caller.user_id)
    await reply(update, t("rounds.unschedule.done", locale, schedule=removed.id))


@guarded("admin")
async def list_rounds(update: Update, context: PulsoContext, caller: Caller) -> None:
    """The newest rounds with status and live counts."""
    t, locale = context.services.t, caller.locale
    overview = await context.services.rounds.overview()
    if not overview:
        await reply(update, t("rounds.list.empty", locale))
        return
    lines: list[str] = [
        t("rounds.list.header", locale, timezone=context.services.settings.timezone)
    ]
    lines += [round_line(context, locale, item) for item in overview]
    await reply(update, "\n\n".join(lines))


@guarded("admin")
async def close_round(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Close an open round now: /closeround ID."""
    t, locale = context.services.t, caller.locale
    round_id = parse_id(command_args(context))
    if round_id is None:
        await reply(update, t("rounds.close.usage", locale))
        return
    try:
        await context.services.rounds.close(round_id, actor=caller.user_id)
    except RoundStateError as error:
        await reply(update, state_error_text(t, locale, error))
        return
    progress = await context.services.rounds.progress(round_id)
    await reply(
        update,
        t(
            "rounds.close.done",
            locale,
            round=round_id,
            completed=progress.completed,
            targeted=progress.targeted,
        ),
    )


@guarded("admin")
async def cancel_round(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Cancel a scheduled or open round: /cancelround ID."""
    t, locale = context.services.t, caller.locale
    round_id = parse_id(command_args(context))
    if round_id is None:
        await reply(update, t("rounds.cancel.usage", locale))
        return
    try:
        await context.services.rounds.cancel(round_id, actor=caller.user_id)
    except RoundStateError as error:
        await reply(update, state_error_text(t, locale, error))
        return
    await reply(update, t("rounds.cancel.done", locale, round=round_id))


# --- /newround and its wizard -------------------------------------------------------------


def admin_step(callback: StepCallback) -> PtbStep:
    """Like ``guarded("admin")`` for conversation steps: returns the next state, refuses
    others (ending their conversation), and stops later handler groups."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: PulsoContext) -> int:
        caller = await caller_of(update, context)
        state = END
        if caller is not None and not caller.may("admin"):
            await refuse(update, context, caller, "error.not_allowed")
        elif caller is not None:
            try:
                state = await callback(update, context, caller)
            except RoundStateError as error:
                await reply(update, state_error_text(context.services.t, caller.locale, error))
            except PulsoError as error:
                await explain(update, context, caller, error)
                state = _current(context)
        raise ApplicationHandlerStop(state)

    return wrapper


def _wizard(context: PulsoContext) -> dict[str, Any]:
    assert context.user_data is not None
    data: dict[str, Any] = context.user_data.setdefault(WIZARD_KEY, {})
    return data


def _current(context: PulsoContext) -> int:
    state: int = _wizard(context).get("state", END)
    return state


def _goto(context: PulsoContext, state: int) -> int:
    _wizard(context)["state"] = state
    return state


def _button(text: str, step: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(WizardStep(step, value)))


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


@admin_step
async def newround(update: Update, context: PulsoContext, caller: Caller) -> int:
    """With arguments: create the round. Without: start the wizard (pick a survey)."""
    t, locale = context.services.t, caller.locale
    args = command_args(context)
    assert context.user_data is not None
    context.user_data.pop(WIZARD_KEY, None)
    if args:
        try:
            services = context.services
            request = parse_newround(args, now=services.clock.now(), tz=services.settings.tz)
        except RoundSpecError as problem:
            await reply(update, usage(t, locale, "rounds.newround.usage", problem))
            return END
        if request is None:
            await reply(update, usage(t, locale, "rounds.newround.usage", None))
            return END
        created = await context.services.rounds.create(
            request, actor=caller.user_id, update_id=update.update_id
        )
        await reply(update, await created_text(context, locale, created))
        return END
    context.user_data[WIZARD_KEY] = {"commitments": []}
    choices = await context.services.rounds.instrument_choices(locale)
    if not choices:
        await reply(update, t("rounds.wizard.no_instruments", locale))
        return END
    buttons = [_button(f"{title} ({iid})", "survey", iid) for iid, title in choices]
    buttons.append(_button(t("rounds.wizard.cancel", locale), "cancel", "x"))
    keyboard = InlineKeyboardMarkup(_rows(buttons, 1))
    await reply(update, t("rounds.wizard.survey", locale), keyboard=keyboard)
    return _goto(context, SURVEY)


async def _pressed(update: Update, context: PulsoContext, caller: Caller, step: str) -> str | None:
    """The value of a wizard press for ``step``; None (and a toast) for a stale button."""
    if (press := await pressed(update, context, caller, WizardStep)) is None:
        return None
    query, data = press
    if data.step != step:
        await refuse(update, context, caller, "error.stale_button")
        return None
    await query.answer()
    return data.value


async def _edit(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    if query is not None:
        await query.edit_message_text(text, reply_markup=keyboard)
    else:
        await reply(update, text, keyboard=keyboard)


async def _ask_commitments(update: Update, context: PulsoContext, caller: Caller) -> None:
    t, locale = context.services.t, caller.locale
    chosen: list[str] = _wizard(context)["commitments"]
    buttons = [
        _button(("✅ " if cid in chosen else "") + cid, "commitment", cid)
        for cid in await context.services.rounds.commitment_ids()
    ]
    buttons.append(_button(t("rounds.wizard.all", locale), "commitment", "all"))
    buttons.append(_button(t("rounds.wizard.done", locale), "commitment", "done"))
    buttons.append(_button(t("rounds.wizard.cancel", locale), "cancel", "x"))
    await _edit(
        update, t("rounds.wizard.commitments", locale), InlineKeyboardMarkup(_rows(buttons, 3))
    )


@admin_step
async def survey_chosen(update: Update, context: PulsoContext, caller: Caller) -> int:
    """A survey was picked: ask for the commitments."""
    value = await _pressed(update, context, caller, "survey")
    if value is None:
        return SURVEY
    _wizard(context)["survey"] = value
    await _ask_commitments(update, context, caller)
    return _goto(context, COMMITMENTS)


@admin_step
async def commitment_toggled(update: Update, context: PulsoContext, caller: Caller) -> int:
    """Toggle a commitment, take them all, or go on to the roles."""
    t, locale = context.services.t, caller.locale
    value = await _pressed(update, context, caller, "commitment")
    if value is None:
        return COMMITMENTS
    wizard = _wizard(context)
    chosen: list[str] = wizard["commitments"]
    if value == "all":
        wizard["commitments"] = list(await context.services.rounds.commitment_ids())
    elif value != "done":
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)
        await _ask_commitments(update, context, caller)
        return COMMITMENTS
    if not wizard["commitments"]:
        await _ask_commitments(update, context, caller)
        return COMMITMENTS
    buttons = [
        _button(t("rounds.role.beneficiary", locale), "roles", "beneficiary"),
        _button(t("rounds.role.implementer", locale), "roles", "implementer"),
        _button(t("rounds.wizard.both", locale), "roles", "all"),
        _button(t("rounds.wizard.cancel", locale), "cancel", "x"),
    ]
    await _edit(update, t("rounds.wizard.roles", locale), InlineKeyboardMarkup(_rows(buttons, 1)))
    return _goto(context, ROLES)


@admin_step
async def roles_chosen(update: Update, context: PulsoContext, caller: Caller) -> int:
    """Roles picked: ask when the round opens."""
    t, locale = context.services.t, caller.locale
    value = await _pressed(update, context, caller, "roles")
    if value is None:
        return ROLES
    _wizard(context)["roles"] = [str(r) for r in parse_roles(value)]
    buttons = [
        _button(t("rounds.wizard.now", locale), "opens", "now"),
        _button(t("rounds.wizard.tomorrow", locale), "opens", "tomorrow"),
        _button(t("rounds.wizard.cancel", locale), "cancel", "x"),
    ]
    text = t("rounds.wizard.opens", locale, timezone=context.services.settings.timezone)
    await _edit(update, text, InlineKeyboardMarkup(_rows(buttons, 2)))
    return _goto(context, OPENS)


async def _ask_duration(update: Update, context: PulsoContext, caller: Caller) -> int:
    t, locale = context.services.t, caller.locale
    buttons = [_button(d, "duration", d) for d in ("3d", "7d", "14d")]
    buttons.append(_button(t("rounds.wizard.cancel", locale), "cancel", "x"))
    await _edit(
        update, t("rounds.wizard.duration", locale), InlineKeyboardMarkup(_rows(buttons, 3))
    )
    return _goto(context, DURATION)


@admin_step
async def opens_chosen(update: Update, context: PulsoContext, caller: Caller) -> int:
    """Now or tomorrow 09:00: ask for the duration."""
    value = await _pressed(update, context, caller, "opens")
    if value is None:
        return OPENS
    services = context.services
    now = services.clock.now()
    if value == "tomorrow":
        local = now.astimezone(services.settings.tz)
        morning = datetime.combine(
            local.date() + timedelta(days=1), time(9, 0), tzinfo=services.settings.tz
        )
        _wizard(context)["opens"] = local_text(morning, services.settings.tz)
    else:
        _wizard(context)["opens"] = "now"
    return await _ask_duration(update, context, caller)


@admin_step
async def opens_typed(update: Update, context: PulsoContext, caller: Caller) -> int:
    """A typed YYYY-MM-DD HH:MM: checked now, then ask for the duration."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    services = context.services
    parse_opens(text, now=services.clock.now(), tz=services.settings.tz)
    _wizard(context)["opens"] = text.strip()
    return await _ask_duration(update, context, caller)


async def _confirm(update: Update, context: PulsoContext, caller: Caller) -> int:
    t, locale = context.services.t, caller.locale
    wizard = _wizard(context)
    services = context.services
    opens_at = parse_opens(wizard["opens"], now=services.clock.now(), tz=services.settings.tz)
    duration = parse_duration(wizard["duration"])
    tz = services.settings.tz
    text = t(
        "rounds.wizard.confirm",
        locale,
        survey=wizard["survey"],
        targets=Html(
            targets_text(t, locale, tuple(sorted(wizard["commitments"])), tuple(wizard["roles"]))
        ),
        opens=t("rounds.wizard.now", locale)
        if wizard["opens"] == "now"
        else local_text(opens_at, tz),
        closes=local_text(opens_at + duration, tz),
        timezone=services.settings.timezone,
    )
    buttons = [
        _button(t("rounds.wizard.create", locale), "confirm", "create"),
        _button(t("rounds.wizard.cancel", locale), "cancel", "x"),
    ]
    await _edit(update, text, InlineKeyboardMarkup(_rows(buttons, 2)))
    return _goto(context, CONFIRM)


@admin_step
async def duration_chosen(update: Update, context: PulsoContext, caller: Caller) -> int:
    """A preset duration: show the summary to confirm."""
    value = await _pressed(update, context, caller, "duration")
    if value is None:
        return DURATION
    _wizard(context)["duration"] = value
    return await _confirm(update, context, caller)


@admin_step
async def duration_typed(update: Update, context: PulsoContext, caller: Caller) -> int:
    """A typed duration like 36h: checked, then the summary to confirm."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    parse_duration(text)
    _wizard(context)["duration"] = text.strip()
    return await _confirm(update, context, caller)


@admin_step
async def confirmed(update: Update, context: PulsoContext, caller: Caller) -> int:
    """Create the round the wizard describes."""
    value = await _pressed(update, context, caller, "confirm")
    if value is None:
        return CONFIRM
    wizard = _wizard(context)
    services = context.services
    request = NewRound(
        instrument_id=wizard["survey"],
        commitment_ids=tuple(sorted(wizard["commitments"])),
        roles=tuple(wizard["roles"]),
        opens_at=parse_opens(wizard["opens"], now=services.clock.now(), tz=services.settings.tz),
        duration=parse_duration(wizard["duration"]),
    )
    created = await services.rounds.create(
        request, actor=caller.user_id, update_id=update.update_id
    )
    assert context.user_data is not None
    context.user_data.pop(WIZARD_KEY, None)
    await _edit(update, await created_text(context, caller.locale, created))
    return END


@admin_step
async def wizard_cancelled(update: Update, context: PulsoContext, caller: Caller) -> int:
    """The Cancel button or /cancel: nothing is created."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    assert context.user_data is not None
    context.user_data.pop(WIZARD_KEY, None)
    await _edit(update, context.services.t("rounds.wizard.cancelled", caller.locale))
    return END


@guarded("admin")
async def stale_wizard_press(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A wizard button pressed outside a wizard (an old message, a restart): say so."""
    await refuse(update, context, caller, "error.stale_button")


def _step(step: str) -> str:
    return rf"^w:{step}:"


def newround_conversation() -> ConversationHandler[PulsoContext]:
    """/newround with arguments, or the wizard without (see the module docstring)."""
    typed = filters.TEXT & ~filters.COMMAND
    # One conversation per admin and chat is what we want: the wizard has one live
    # message at a time, and each button names its step, so a stale one is refused.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler("newround", newround)],
            states={
                SURVEY: [CallbackQueryHandler(survey_chosen, pattern=_step("survey"))],
                COMMITMENTS: [
                    CallbackQueryHandler(commitment_toggled, pattern=_step("commitment"))
                ],
                ROLES: [CallbackQueryHandler(roles_chosen, pattern=_step("roles"))],
                OPENS: [
                    CallbackQueryHandler(opens_chosen, pattern=_step("opens")),
                    MessageHandler(typed, opens_typed),
                ],
                DURATION: [
                    CallbackQueryHandler(duration_chosen, pattern=_step("duration")),
                    MessageHandler(typed, duration_typed),
                ],
                CONFIRM: [CallbackQueryHandler(confirmed, pattern=_step("confirm"))],
            },
            fallbacks=[
                CommandHandler("cancel", wizard_cancelled),
                CallbackQueryHandler(wizard_cancelled, pattern=_step("cancel")),
            ],
            allow_reentry=True,
            name="newround",
        )


def register(application: PulsoApplication) -> None:
    """Register the round commands; the wizard in group -1 (see the module docstring)."""
    application.add_handler(newround_conversation(), group=-1)
    application.add_handler(CallbackQueryHandler(stale_wizard_press, pattern=r"^w:"))
    application.add_handler(CommandHandler("schedule", schedule))
    application.add_handler(CommandHandler("schedules", schedules))
    application.add_handler(CommandHandler("unschedule", unschedule))
    application.add_handler(CommandHandler("rounds", list_rounds))
    application.add_handler(CommandHandler("closeround", close_round))
    application.add_handler(CommandHandler("cancelround", cancel_round))
