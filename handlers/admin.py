"""Admin commands for roles: /grant USER_ID ROLE and /revoke USER_ID ROLE.

``ROLE`` is ``secretariat`` or ``admin`` (staff), or ``responsible COMMITMENT``:
the person answers publicly for that commitment after each round
(:mod:`bot.accountability`). Admins listed in ``ADMIN_IDS`` cannot be revoked
from Telegram (the setting wins); everyone else's roles live in the database,
and every change is written to the audit log.
"""

from __future__ import annotations

from typing import get_args

from telegram import Update
from telegram.ext import CommandHandler

from bot.access import Caller
from bot.i18n import Translator
from bot.storage.repositories.staff import StaffRole
from handlers.context import PulsoApplication, PulsoContext
from handlers.guards import command_args, guarded, reply
from handlers.menu import refresh_menu

STAFF_ROLES: tuple[StaffRole, ...] = get_args(StaffRole)


RESPONSIBLE = "responsible"


def parse_grant(args: list[str]) -> tuple[int, StaffRole] | tuple[int, str, str] | str | None:
    """``USER_ID ROLE`` → (id, role), ``USER_ID responsible COMMITMENT`` → (id, "responsible",
    commitment); a message key saying what was wrong; None: wrong count."""
    if len(args) not in (2, 3):
        return None
    user_text, role_text, *rest = args
    if not user_text.isdigit() or not 0 < int(user_text) < 2**63:
        return "admin.grant.bad_user"
    role = role_text.lower()
    if role == RESPONSIBLE:
        if len(rest) != 1:
            return "admin.grant.bad_commitment"
        return int(user_text), RESPONSIBLE, rest[0].upper()
    if role not in STAFF_ROLES:
        return "admin.grant.bad_role"
    if rest:
        return None
    return int(user_text), role


def usage(t: Translator, caller: Caller, problem: str | None, usage_key: str) -> str:
    """What was wrong (if one thing was), then the usage line."""
    lines = [t(problem, caller.locale)] if problem else []
    return "\n".join([*lines, t(usage_key, caller.locale)])


@guarded("admin")
async def grant(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Give someone the secretariat or admin role."""
    t = context.services.t
    parsed = parse_grant(command_args(context))
    if not isinstance(parsed, tuple):
        await reply(update, usage(t, caller, parsed, "admin.grant.usage"))
        return
    if len(parsed) == 3:
        user_id, _, commitment_id = parsed
        changed = await context.services.accountability.grant(
            caller.user_id, user_id, commitment_id
        )
        key = "admin.grant.responsible_done" if changed else "admin.grant.responsible_already"
        await reply(update, t(key, caller.locale, user=user_id, commitment=commitment_id))
    else:
        user_id, role = parsed
        changed = await context.services.people.grant(caller.user_id, user_id, role)
        key = "admin.grant.done" if changed else "admin.grant.already"
        role_name = t(f"role.{role}", caller.locale)
        await reply(update, t(key, caller.locale, user=user_id, role=role_name))
    if changed:
        await refresh_menu(context.bot, context.services, user_id)


@guarded("admin")
async def revoke(update: Update, context: PulsoContext, caller: Caller) -> None:
    """Take the secretariat or admin role away from someone."""
    t = context.services.t
    parsed = parse_grant(command_args(context))
    if not isinstance(parsed, tuple):
        await reply(update, usage(t, caller, parsed, "admin.revoke.usage"))
        return
    if len(parsed) == 3:
        user_id, _, commitment_id = parsed
        changed = await context.services.accountability.revoke(
            caller.user_id, user_id, commitment_id
        )
        key = "admin.revoke.responsible_done" if changed else "admin.revoke.responsible_not_held"
        await reply(update, t(key, caller.locale, user=user_id, commitment=commitment_id))
    else:
        user_id, role = parsed
        if role == "admin" and user_id in context.services.admin_ids:
            await reply(update, t("admin.revoke.from_settings", caller.locale, user=user_id))
            return
        changed = await context.services.people.revoke(caller.user_id, user_id, role)
        key = "admin.revoke.done" if changed else "admin.revoke.not_held"
        role_name = t(f"role.{role}", caller.locale)
        await reply(update, t(key, caller.locale, user=user_id, role=role_name))
    if changed:
        await refresh_menu(context.bot, context.services, user_id)


def register(application: PulsoApplication) -> None:
    application.add_handler(CommandHandler("grant", grant))
    application.add_handler(CommandHandler("revoke", revoke))
