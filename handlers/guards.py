"""The one wrapper every handler goes through: who is calling, may they, and errors.

``@guarded(audience)`` identifies the caller (roles and language), refuses
anyone outside ``audience`` with a short translated message that changes
nothing, refuses staff commands in any chat but a private one or a
``SECRETARIAT_CHAT_IDS`` chat, and turns a domain error (:class:`surveys.errors.PulsoError`, raised
before anything was written) into its translated message. Anything else
propagates to the application's error handler, which logs a redacted line and
apologises.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeAlias, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from bot.access import Audience, Caller, identify
from bot.i18n import Html
from handlers.callback_data import decode
from handlers.context import PulsoContext
from surveys.errors import PulsoError

log = logging.getLogger(__name__)

GuardedCallback: TypeAlias = Callable[[Update, PulsoContext, Caller], Awaitable[None]]
PtbCallback: TypeAlias = Callable[[Update, PulsoContext], Coroutine[Any, Any, None]]


async def caller_of(update: Update, context: PulsoContext) -> Caller | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    services = context.services
    # A stranger's /language choice lives only in memory (user_data): nothing
    # about a person is stored before they consent.
    chosen = context.user_data.get("language") if context.user_data is not None else None
    return await identify(
        services.db,
        user_id=user.id,
        chat_id=chat.id,
        language_code=chosen or user.language_code,
        admin_ids=services.admin_ids,
        default_language=services.settings.default_language,
    )


async def reply(
    update: Update,
    text: str,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Answer in the chat the update came from (HTML parse mode is the default)."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(text, reply_markup=keyboard)


Pressed = TypeVar("Pressed")


async def pressed(
    update: Update, context: PulsoContext, caller: Caller, kind: type[Pressed]
) -> tuple[CallbackQuery, Pressed] | None:
    """The button press and its decoded data, when the data is a ``kind``; otherwise
    (a stale, foreign or forged payload) None, after "this button is no longer valid"."""
    query = update.callback_query
    assert query is not None
    data = decode(query.data)
    if not isinstance(data, kind):
        await refuse(update, context, caller, "error.stale_button")
        return None
    return query, data


async def stale_press(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A press no handler takes (malformed, from an old message, or out of its
    conversation): "this button is no longer valid", and nothing changes."""
    await refuse(update, context, caller, "error.stale_button")


async def refuse(update: Update, context: PulsoContext, caller: Caller, key: str) -> None:
    """A short translated refusal: as a toast for a button, as a message otherwise."""
    text = context.services.t(key, caller.locale)
    if update.callback_query is not None:
        await update.callback_query.answer(_plain(text), show_alert=False)
    else:
        await reply(update, text)


async def explain(
    update: Update, context: PulsoContext, caller: Caller, error: PulsoError
) -> None:
    """A domain error, translated for the caller: a toast for a button, else a message."""
    text = context.services.t(error.key, caller.locale, **error.params)
    if update.callback_query is not None:
        await update.callback_query.answer(_plain(text), show_alert=True)
    else:
        await reply(update, text)


def _plain(text: Html) -> str:
    """Callback-query toasts are plain text: drop the few tags our messages use."""
    for tag in ("<b>", "</b>", "<i>", "</i>"):
        text = Html(text.replace(tag, ""))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_STAFF: frozenset[Audience] = frozenset({"secretariat", "admin"})


def _staff_may_see(update: Update, context: PulsoContext) -> bool:
    """A chat where staff output may appear: a private chat (the caller's own) or one of
    ``SECRETARIAT_CHAT_IDS``."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    return chat.id in context.services.settings.secretariat_chat_ids


def guarded(
    audience: Audience = "stranger", *, private_only: bool = False
) -> Callable[[GuardedCallback], PtbCallback]:
    """Wrap a handler so it only runs for callers in ``audience`` (see module docstring)."""

    def decorate(callback: GuardedCallback) -> PtbCallback:
        @functools.wraps(callback)
        async def wrapper(update: Update, context: PulsoContext) -> None:
            caller = await caller_of(update, context)
            if caller is None:
                return
            if private_only and (
                update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE
            ):
                await refuse(update, context, caller, "error.private_only")
                return
            if not caller.may(audience):
                await refuse(update, context, caller, "error.not_allowed")
                return
            if audience in _STAFF and not _staff_may_see(update, context):
                # Staff output goes only to staff's private chats and the Secretariat's chats
                # (docs/privacy.md): not to a group that merely has a staff member in it.
                await refuse(update, context, caller, "error.staff_chat_only")
                return
            try:
                await callback(update, context, caller)
            except PulsoError as error:
                # A domain error means "nothing was changed; here is why".
                await explain(update, context, caller, error)

        return wrapper

    return decorate


def command_args(context: PulsoContext) -> list[str]:
    return list(context.args or [])
