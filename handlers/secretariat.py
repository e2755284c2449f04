"""What the Secretariat asks for: /summary, /gap, /trend, /export (and admins' /official).

======================================  ===========================================================
``/summary [ROUND] [COMMITMENT]``       a round's results and charts (default: the latest closed
                                        round), or one commitment question by question
``/gap [ROUND]``                        the reality gap of every commitment, flagged ones first
                                        (default: the latest closed round that asked about change)
``/trend COMMITMENT``                   a commitment round by round, with its chart
``/export [ROUND]``                     a closed round's published figures as a CSV file
``/export ROUND answers``               admins, in private: the round's answer file (audited)
``/official COMMITMENT PERCENT``        admins: record the officially reported completion
======================================  ===========================================================

Secretariat members and admins may use the first four in a private chat or in
a ``SECRETARIAT_CHAT_IDS`` chat (the guard refuses them anywhere else);
everyone else gets a refusal. Everything shown follows ``docs/privacy.md``:
figures from fewer than ``MIN_GROUP_SIZE`` people are never shown, and an open
round shows who took part, never what they answered.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import CommandHandler

from bot.access import Caller
from bot.insights.site import replies_csv
from bot.outbox.outgoing import Outgoing
from bot.settings import SettingsError
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import command_args, guarded, reply
from handlers.results import ResultsView

_COMMITMENT = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")


def parse_round_and_commitment(args: list[str]) -> tuple[int | None, str | None] | None:
    """``[ROUND] [COMMITMENT]`` in either order → (round, commitment); None if malformed."""
    if len(args) > 2:
        return None
    round_id: int | None = None
    commitment_id: str | None = None
    for arg in args:
        if arg.isdigit() and round_id is None and 0 < int(arg) < 2**31:
            round_id = int(arg)
        elif _COMMITMENT.match(arg.upper()) and not arg.isdigit() and commitment_id is None:
            commitment_id = arg.upper()
        else:
            return None
    return round_id, commitment_id


def parse_official(args: list[str]) -> tuple[str, float] | str | None:
    """``COMMITMENT PERCENT`` → (commitment, percent); a message key; None: wrong count."""
    if len(args) != 2 or not _COMMITMENT.match(args[0].upper()):
        return None
    text = args[1].rstrip("%").replace(",", ".")
    try:
        percent = float(text)
    except ValueError:
        return "insights.official.bad_percent"
    if not 0 <= percent <= 100:
        return "insights.official.bad_percent"
    return args[0].upper(), percent


async def send(update: Update, items: list[Outgoing]) -> None:
    """Send texts, photos and documents to the chat the command came from, in order."""
    chat = update.effective_chat
    if chat is None:
        return
    for item in items:
        if item.photo is not None:
            await chat.send_photo(item.photo, caption=item.text or None)
        elif item.document is not None:
            await chat.send_document(
                item.document, filename=item.filename, caption=item.text or None
            )
        else:
            await chat.send_message(item.text, reply_markup=item.keyboard)


async def _working(update: Update) -> None:
    """Charts take a moment: show "sending a photo…" meanwhile."""
    if update.effective_chat is not None:
        await update.effective_chat.send_chat_action(ChatAction.UPLOAD_PHOTO)


@guarded("secretariat")
async def summary(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A round's results (or one commitment's), then the charts."""
    parsed = parse_round_and_commitment(command_args(context))
    if parsed is None:
        await reply(update, context.services.t("insights.summary.usage", caller.locale))
        return
    round_id, commitment_id = parsed
    await _working(update)
    rendered = await ResultsView(context.services).summary(caller.locale, round_id, commitment_id)
    await send(update, rendered.outgoing())


@guarded("secretariat")
async def gap(update: Update, context: PulsoContext, caller: Caller) -> None:
    """The reality gap of every commitment, flagged first, and its chart."""
    args = command_args(context)
    parsed = parse_round_and_commitment(args)
    if parsed is None or parsed[1] is not None:
        await reply(update, context.services.t("insights.gap.usage", caller.locale))
        return
    await _working(update)
    rendered = await ResultsView(context.services).gap(caller.locale, parsed[0])
    await send(update, rendered.outgoing())


@guarded("secretariat")
async def trend(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A commitment round by round, and its chart."""
    parsed = parse_round_and_commitment(command_args(context))
    if parsed is None or parsed[0] is not None or parsed[1] is None:
        await reply(update, context.services.t("insights.trend.usage", caller.locale))
        return
    await _working(update)
    rendered = await ResultsView(context.services).trend(caller.locale, parsed[1])
    await send(update, rendered.outgoing())


def parse_export(args: list[str]) -> tuple[int | None, bool] | None:
    """``[ROUND]`` or ``ROUND answers`` → (round, the answer file?); None if malformed."""
    if len(args) == 2 and args[1].lower() == "answers":
        parsed = parse_round_and_commitment(args[:1])
        if parsed is None or parsed[0] is None:
            return None
        return parsed[0], True
    parsed = parse_round_and_commitment(args)
    if parsed is None or parsed[1] is not None:
        return None
    return parsed[0], False


@guarded("secretariat")
async def export(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A closed round's published figures as a CSV file; for admins in private, on
    request, its answer file (audited)."""
    t = context.services.t
    parsed = parse_export(command_args(context))
    if parsed is None:
        await reply(update, t("insights.export.usage", caller.locale))
        return
    round_id, answers = parsed
    insights = context.services.insights
    if not answers:
        shown, data = await insights.export_aggregates(round_id)
        caption = t(
            "insights.export.caption",
            caller.locale,
            round=shown,
            n=context.services.settings.min_group_size,
        )
        name = f"pulso-round-{shown}-figures.csv"
        files = [Outgoing(caption, document=data, filename=name)]
        # The government's answers up to that round, when there are some (docs/responses.md).
        replies = await context.services.accountability.responsiveness(None, up_to_round=shown)
        if replies:
            files.append(
                Outgoing(
                    t("accountability.export.caption", caller.locale, round=shown),
                    document=b"\xef\xbb\xbf" + replies_csv(replies, context.services.settings.tz),
                    filename=f"pulso-round-{shown}-responses.csv",
                )
            )
        await send(update, files)
        return
    chat = update.effective_chat
    if not caller.is_admin:
        await reply(update, t("error.not_allowed", caller.locale))
        return
    if chat is None or chat.type != ChatType.PRIVATE:
        await reply(update, t("error.private_only", caller.locale))
        return
    assert round_id is not None
    try:
        shown, data = await insights.export_answers(actor=caller.user_id, round_id=round_id)
    except SettingsError:
        await reply(update, t("insights.export.no_secret", caller.locale))
        return
    caption = t("insights.export.answers_caption", caller.locale, round=shown)
    name = f"pulso-round-{shown}-answers.csv"
    await send(update, [Outgoing(caption, document=data, filename=name)])


@guarded("admin")
async def official(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Record a commitment's officially reported completion (audited)."""
    t = context.services.t
    parsed = parse_official(command_args(context))
    if not isinstance(parsed, tuple):
        problem = [t(parsed, caller.locale)] if parsed else []
        await reply(update, "\n".join([*problem, t("insights.official.usage", caller.locale)]))
        return
    commitment_id, percent = parsed
    recorded = await context.services.insights.record_official(
        actor=caller.user_id,
        update_id=update.update_id,
        commitment_id=commitment_id,
        percent=percent,
    )
    key = "insights.official.done" if recorded.previous is None else "insights.official.replaced"
    await reply(
        update,
        t(
            key,
            caller.locale,
            id=recorded.commitment_id,
            percent=f"{recorded.percent:g}",
            previous=f"{recorded.previous:g}" if recorded.previous is not None else "",
        ),
    )


def register(application: PulsoApplication) -> None:
    """Register the Secretariat's commands and /official."""
    application.add_handler(CommandHandler("summary", summary))
    application.add_handler(CommandHandler("gap", gap))
    application.add_handler(CommandHandler("trend", trend))
    application.add_handler(CommandHandler("export", export))
    application.add_handler(CommandHandler("official", official))
