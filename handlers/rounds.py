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

Where the wizard's state lives: *which step* the admin is at is the
``ConversationHandler``'s state and nothing else's. A callback returns the next
step, or None to stay (a stale press, a bad typed date: PTB keeps the state as
it was), so no copy of the step is kept anywhere. *What was chosen* (survey,
commitments, roles, opening, duration) is a frozen :class:`Draft`, replaced at
each step and kept in ``user_data`` under the conversation's own key (its name
and the chat: with the user, the ``(chat, user)`` key ``ConversationHandler``
uses), so a wizard in a private chat and one in the Secretariat's group stay
apart. It cannot travel in the buttons instead: the opening and the duration
may be typed, and a typed message carries no payload (and a dozen chosen
commitments would not fit in 64 bytes). Both the conversation and the draft
are in memory and end together: a restart forgets both.
"""

from __future__ import annotations

import functools
import shlex
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
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
from handlers.callback_data import WizardStep, encode, matches
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import (
    caller_of,
    command_args,
    explain,
    guarded,
    pressed,
    refuse,
    reply,
    stale_press,
)
from surveys.errors import BadOption, PulsoError, RoundSpecError, RoundStateError
from surveys.rounds import (
    DEFAULT_REMINDER_OFFSETS,
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
CONVERSATION = "newround"

StepCallback: TypeAlias = Callable[[Update, PulsoContext, Caller], Awaitable[int | None]]
PtbStep: TypeAlias = Callable[[Update, PulsoContext], Coroutine[Any, Any, int | None]]


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


@dataclass(frozen=True, slots=True)
class Draft:
    """The wizard's choices so far. Which step comes next is the ConversationHandler's
    state and nothing else's; this holds only what the admin has picked."""

    survey: str = ""
    commitments: frozenset[str] = frozenset()
    roles: tuple[str, ...] = ()
    opens: str = ""  # "now" or YYYY-MM-DD HH:MM in TIMEZONE
    duration: str = ""  # as typed or pressed: 7d, 36h…


class _NoDraft(LookupError):
    """A wizard step with no draft: the conversation outlived it (it cannot, in memory)."""


def _draft_key(update: Update) -> tuple[str, int]:
    """The draft's key in ``user_data``: with the user, the ConversationHandler's own key
    (chat, user), so a wizard in a private chat and one in a group do not mix."""
    chat = update.effective_chat
    assert chat is not None
    return (CONVERSATION, chat.id)


def _draft(update: Update, context: PulsoContext) -> Draft:
    assert context.user_data is not None
    draft = context.user_data.get(_draft_key(update))
    if not isinstance(draft, Draft):
        raise _NoDraft
    return draft


def _keep(update: Update, context: PulsoContext, draft: Draft) -> None:
    assert context.user_data is not None
    context.user_data[_draft_key(update)] = draft


def _drop(update: Update, context: PulsoContext) -> None:
    assert context.user_data is not None
    context.user_data.pop(_draft_key(update), None)


def admin_step(callback: StepCallback, *, on_error: int | None = None) -> PtbStep:
    """Like ``guarded("admin")`` for conversation steps: returns the next state, refuses
    others (ending their conversation), and stops later handler groups. A domain error
    is explained and leaves the conversation where it was (``on_error``: None, PTB's
    "same state"); a step whose draft is gone refuses the press as stale and ends."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: PulsoContext) -> int | None:
        caller = await caller_of(update, context)
        state: int | None = END
        if caller is not None and not caller.may("admin"):
            await refuse(update, context, caller, "error.not_allowed")
        elif caller is not None:
            try:
                state = await callback(update, context, caller)
            except _NoDraft:
                await stale_press(update, context, caller)
            except RoundStateError as error:
                await reply(update, state_error_text(context.services.t, caller.locale, error))
            except PulsoError as error:
                await explain(update, context, caller, error)
                state = on_error
        raise ApplicationHandlerStop(state)

    return wrapper


def _button(text: str, step: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(WizardStep(step, value)))


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


@functools.partial(admin_step, on_error=END)
async def newround(update: Update, context: PulsoContext, caller: Caller) -> int:
    """With arguments: create the round. Without: start the wizard (pick a survey)."""
    t, locale = context.services.t, caller.locale
    args = command_args(context)
    _drop(update, context)
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
    choices = await context.services.rounds.instrument_choices(locale)
    if not choices:
        await reply(update, t("rounds.wizard.no_instruments", locale))
        return END
    _keep(update, context, Draft())
    buttons = [_button(f"{title} ({iid})", "survey", iid) for iid, title in choices]
    buttons.append(_button(t("rounds.wizard.cancel", locale), "cancel", "x"))
    keyboard = InlineKeyboardMarkup(_rows(buttons, 1))
    await reply(update, t("rounds.wizard.survey", locale), keyboard=keyboard)
    return SURVEY


async def _pressed(update: Update, context: PulsoContext, caller: Caller) -> str | None:
    """The value of the wizard button pressed (its step is the one routed here);
    None, after the stale-button toast, if the payload is not a wizard's."""
    if (press := await pressed(update, context, caller, WizardStep)) is None:
        return None
    query, data = press
    await query.answer()
    return data.value


async def _edit(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    query = update.callback_query
    if query is not None:
        await query.edit_message_text(text, reply_markup=keyboard)
    else:
        await reply(update, text, keyboard=keyboard)


async def _ask_commitments(
    update: Update, context: PulsoContext, caller: Caller, chosen: frozenset[str]
) -> int:
    t, locale = context.services.t, caller.locale
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
    return COMMITMENTS


@admin_step
async def survey_chosen(update: Update, context: PulsoContext, caller: Caller) -> int | None:
    """A survey was picked: ask for the commitments."""
    draft = _draft(update, context)
    if (value := await _pressed(update, context, caller)) is None:
        return None
    _keep(update, context, replace(draft, survey=value))
    return await _ask_commitments(update, context, caller, draft.commitments)


@admin_step
async def commitment_toggled(update: Update, context: PulsoContext, caller: Caller) -> int | None:
    """Toggle a commitment, take them all, or go on to the roles."""
    t, locale = context.services.t, caller.locale
    draft = _draft(update, context)
    if (value := await _pressed(update, context, caller)) is None:
        return None
    chosen = draft.commitments
    if value == "all":
        chosen = frozenset(await context.services.rounds.commitment_ids())
    elif value != "done":
        chosen = chosen - {value} if value in chosen else chosen | {value}
    _keep(update, context, replace(draft, commitments=chosen))
    if value not in ("all", "done") or not chosen:
        return await _ask_commitments(update, context, caller, chosen)
    buttons = [
        _button(t("rounds.role.beneficiary", locale), "roles", "beneficiary"),
        _button(t("rounds.role.implementer", locale), "roles", "implementer"),
        _button(t("rounds.wizard.both", locale), "roles", "all"),
        _button(t("rounds.wizard.cancel", locale), "cancel", "x"),
    ]
    await _edit(update, t("rounds.wizard.roles", locale), InlineKeyboardMarkup(_rows(buttons, 1)))
    return ROLES


@admin_step
async def roles_chosen(update: Update, context: PulsoContext, caller: Caller) -> int | None:
    """Roles picked: ask when the round opens."""
    t, locale = context.services.t, caller.locale
    draft = _draft(update, context)
    if (value := await _pressed(update, context, caller)) is None:
        return None
    roles = tuple(str(r) for r in parse_roles(value))
    _keep(update, context, replace(draft, roles=roles))
    buttons = [
        _button(t("rounds.wizard.now", locale), "opens", "now"),
        _button(t("rounds.wizard.tomorrow", locale), "opens", "tomorrow"),
        _button(t("rounds.wizard.cancel", locale), "cancel", "x"),
    ]
    text = t("rounds.wizard.opens", locale, timezone=context.services.settings.timezone)
    await _edit(update, text, InlineKeyboardMarkup(_rows(buttons, 2)))
    return OPENS


async def _ask_duration(update: Update, context: PulsoContext, caller: Caller) -> int:
    t, locale = context.services.t, caller.locale
    buttons = [_button(d, "duration", d) for d in ("3d", "7d", "14d")]
    buttons.append(_button(t("rounds.wizard.cancel", locale), "cancel", "x"))
    await _edit(
        update, t("rounds.wizard.duration", locale), InlineKeyboardMarkup(_rows(buttons, 3))
    )
    return DURATION


@admin_step
async def opens_chosen(update: Update, context: PulsoContext, caller: Caller) -> int | None:
    """Now or tomorrow 09:00: ask for the duration."""
    draft = _draft(update, context)
    if (value := await _pressed(update, context, caller)) is None:
        return None
    opens = "now"
    if value == "tomorrow":
        tz = context.services.settings.tz
        local = context.services.clock.now().astimezone(tz)
        morning = datetime.combine(local.date() + timedelta(days=1), time(9, 0), tzinfo=tz)
        opens = local_text(morning, tz)
    _keep(update, context, replace(draft, opens=opens))
    return await _ask_duration(update, context, caller)


@admin_step
async def opens_typed(update: Update, context: PulsoContext, caller: Caller) -> int:
    """A typed YYYY-MM-DD HH:MM: checked now, then ask for the duration."""
    draft = _draft(update, context)
    text = _typed(update)
    services = context.services
    parse_opens(text, now=services.clock.now(), tz=services.settings.tz)
    _keep(update, context, replace(draft, opens=text.strip()))
    return await _ask_duration(update, context, caller)


def _typed(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message is not None else ""


async def _confirm(update: Update, context: PulsoContext, caller: Caller, draft: Draft) -> int:
    t, locale = context.services.t, caller.locale
    services = context.services
    opens_at = parse_opens(draft.opens, now=services.clock.now(), tz=services.settings.tz)
    duration = parse_duration(draft.duration)
    tz = services.settings.tz
    text = t(
        "rounds.wizard.confirm",
        locale,
        survey=draft.survey,
        targets=Html(targets_text(t, locale, tuple(sorted(draft.commitments)), draft.roles)),
        opens=t("rounds.wizard.now", locale) if draft.opens == "now" else local_text(opens_at, tz),
        closes=local_text(opens_at + duration, tz),
        timezone=services.settings.timezone,
    )
    buttons = [
        _button(t("rounds.wizard.create", locale), "confirm", "create"),
        _button(t("rounds.wizard.cancel", locale), "cancel", "x"),
    ]
    await _edit(update, text, InlineKeyboardMarkup(_rows(buttons, 2)))
    _keep(update, context, draft)
    return CONFIRM


@admin_step
async def duration_chosen(update: Update, context: PulsoContext, caller: Caller) -> int | None:
    """A preset duration: show the summary to confirm."""
    draft = _draft(update, context)
    if (value := await _pressed(update, context, caller)) is None:
        return None
    return await _confirm(update, context, caller, replace(draft, duration=value))


@admin_step
async def duration_typed(update: Update, context: PulsoContext, caller: Caller) -> int:
    """A typed duration like 36h: checked, then the summary to confirm."""
    draft = _draft(update, context)
    text = _typed(update)
    parse_duration(text)
    return await _confirm(update, context, caller, replace(draft, duration=text.strip()))


@admin_step
async def confirmed(update: Update, context: PulsoContext, caller: Caller) -> int | None:
    """Create the round the wizard describes."""
    draft = _draft(update, context)
    if await _pressed(update, context, caller) is None:
        return None
    services = context.services
    request = NewRound(
        instrument_id=draft.survey,
        commitment_ids=tuple(sorted(draft.commitments)),
        roles=draft.roles,
        opens_at=parse_opens(draft.opens, now=services.clock.now(), tz=services.settings.tz),
        duration=parse_duration(draft.duration),
    )
    created = await services.rounds.create(
        request, actor=caller.user_id, update_id=update.update_id
    )
    _drop(update, context)
    await _edit(update, await created_text(context, caller.locale, created))
    return END


@admin_step
async def wizard_cancelled(update: Update, context: PulsoContext, caller: Caller) -> int:
    """The Cancel button or /cancel: nothing is created."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    _drop(update, context)
    await _edit(update, context.services.t("rounds.wizard.cancelled", caller.locale))
    return END


def _step(step: str) -> Callable[[object], bool]:
    """The pattern of one step's buttons (a button names its step: an old one is refused)."""
    return matches(WizardStep, step=step)


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
            name=CONVERSATION,
        )


def register(application: PulsoApplication) -> None:
    """Register the round commands; the wizard in group -1 (see the module docstring). A
    wizard button outside its conversation (an old message, a restart) is stale, for
    admins only: anyone else is told the command is not theirs."""
    application.add_handler(newround_conversation(), group=-1)
    application.add_handler(
        CallbackQueryHandler(guarded("admin")(stale_press), pattern=matches(WizardStep))
    )
    application.add_handler(CommandHandler("schedule", schedule))
    application.add_handler(CommandHandler("schedules", schedules))
    application.add_handler(CommandHandler("unschedule", unschedule))
    application.add_handler(CommandHandler("rounds", list_rounds))
    application.add_handler(CommandHandler("closeround", close_round))
    application.add_handler(CommandHandler("cancelround", cancel_round))
