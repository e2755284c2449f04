"""Admin commands for invitation links: /invite and /revokeinvite.

``/invite COMMITMENT ROLE [USES] [DAYS]`` answers with the deep link
``https://t.me/<bot>?start=<token>`` (defaults: one use, 14 days);
``/revokeinvite TOKEN`` (or the whole link) makes it unusable. The token is
shown once, here: the database keeps only its hash.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.access import Caller
from bot.i18n import local_datetime
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import command_args, guarded, reply
from handlers.keyboards import role_name
from surveys.errors import InviteArgumentError, UnknownInvite
from surveys.invites import (
    DEFAULT_INVITE_DAYS,
    DEFAULT_INVITE_USES,
    invite_link,
    parse_invite_request,
)


@guarded("admin")
async def invite(update: Update, context: PulsoContext, caller: Caller) -> None:
    """A new invitation link for a commitment and role."""
    services = context.services
    t, locale = services.t, caller.locale
    args = command_args(context)
    usage = t("invites.usage", locale, uses=DEFAULT_INVITE_USES, days=DEFAULT_INVITE_DAYS)
    if not 2 <= len(args) <= 4:
        await reply(update, usage)
        return
    try:
        request = parse_invite_request(*args)
    except InviteArgumentError as error:
        await reply(update, f"{t(error.key, locale, **error.params)}\n{usage}")
        return
    issued = await services.journey.create_invite(request, actor=caller.user_id)
    await reply(
        update,
        t(
            "invites.created",
            locale,
            commitment=issued.commitment.title.get(locale),
            id=issued.commitment.id,
            role=role_name(t, locale, request.role),
            uses=request.uses,
            expires=local_datetime(issued.invite.expires_at, locale, services.settings.tz),
            link=invite_link(context.bot.username, issued.token),
            token=issued.token,
        ),
    )


@guarded("admin")
async def revoke_invite(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Withdraw an invitation: its link stops working at once."""
    services = context.services
    t, locale = services.t, caller.locale
    args = command_args(context)
    if len(args) != 1:
        await reply(update, t("invites.revoke_usage", locale))
        return
    try:
        revoked = await services.journey.revoke_invite(args[0], actor=caller.user_id)
    except UnknownInvite:
        await reply(update, t("invites.unknown", locale))
        return
    invite_ = revoked.invite
    if revoked.already:
        assert invite_.revoked_at is not None
        when = local_datetime(invite_.revoked_at, locale, services.settings.tz)
        await reply(update, t("invites.already_revoked", locale, when=when))
        return
    title = revoked.commitment.title.get(locale) if revoked.commitment else invite_.commitment_id
    await reply(
        update,
        t(
            "invites.revoked",
            locale,
            commitment=title,
            role=role_name(t, locale, invite_.role),
            used=invite_.uses,
            max_uses=invite_.max_uses,
        ),
    )


def register(application: PulsoApplication) -> None:
    """Register the invite commands."""
    application.add_handler(CommandHandler("invite", invite))
    application.add_handler(CommandHandler("revokeinvite", revoke_invite))
