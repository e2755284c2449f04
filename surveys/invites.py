"""Invite tokens and their rules: the token, its hash and link, what makes one usable,
and an admin's request for one.

Only a token's hash is ever stored (:func:`hash_token`), so a leaked copy of the
database opens nothing; the token itself is shown once, to whoever asked for it.
An invite is usable while it is not revoked, not expired and has uses left
(:func:`invite_problem`, :func:`invite_error`). Pure: the time is passed in,
and an invite is read through :class:`InviteView`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from surveys.errors import (
    BadInviteDays,
    BadInviteRole,
    BadInviteUses,
    ExpiredInvite,
    InviteError,
    RevokedInvite,
    UnknownInvite,
    UsedUpInvite,
)
from surveys.instruments import Role

#: 24 random bytes: 192 bits, 32 URL-safe characters (Telegram's deep-link limit is 64).
TOKEN_BYTES = 24
DEFAULT_INVITE_USES = 1
DEFAULT_INVITE_DAYS = 14
MAX_INVITE_USES = 10_000
MAX_INVITE_DAYS = 365

InviteProblem = Literal["unknown", "revoked", "expired", "used_up"]

_ROLE_WORDS: Mapping[str, Role] = {
    "beneficiary": Role.BENEFICIARY,
    "beneficiario": Role.BENEFICIARY,
    "beneficiaria": Role.BENEFICIARY,
    "implementer": Role.IMPLEMENTER,
    "implementador": Role.IMPLEMENTER,
    "implementadora": Role.IMPLEMENTER,
}

_INVITE_ERRORS: Mapping[InviteProblem, type[InviteError]] = {
    "unknown": UnknownInvite,
    "revoked": RevokedInvite,
    "expired": ExpiredInvite,
    "used_up": UsedUpInvite,
}


def new_token() -> str:
    """A fresh invite token (only its hash is stored)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: what the database keeps, so a leaked copy opens nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_link(bot_username: str, token: str) -> str:
    """The deep link that opens the bot with ``/start TOKEN``."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def token_from(text: str) -> str:
    """The token in a pasted deep link, or the text itself."""
    text = text.strip()
    if "start=" in text:
        text = text.split("start=", 1)[1]
    return text.split("&", 1)[0]


class InviteView(Protocol):
    """What the rules read of a stored invite."""

    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def uses(self) -> int: ...
    @property
    def max_uses(self) -> int: ...


def invite_problem(invite: InviteView | None, now: datetime) -> InviteProblem | None:
    """Why this invite cannot be used now, or None when it can."""
    if invite is None:
        return "unknown"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= now:
        return "expired"
    if invite.uses >= invite.max_uses:
        return "used_up"
    return None


def invite_error(problem: InviteProblem) -> InviteError:
    """The error that tells a person why their invite cannot be used."""
    return _INVITE_ERRORS[problem]()


@dataclass(frozen=True, slots=True)
class InviteRequest:
    """What an admin asks for: an invite to a commitment, in a role, for so many uses and days."""

    commitment_id: str
    role: Role
    uses: int = DEFAULT_INVITE_USES
    days: int = DEFAULT_INVITE_DAYS


def parse_role(text: str) -> Role:
    """``beneficiary``/``implementer`` (or their Spanish forms); raises BadInviteRole."""
    role = _ROLE_WORDS.get(text.strip().lower())
    if role is None:
        raise BadInviteRole()
    return role


def _bounded(value: str | int | None, default: int, limit: int) -> int | None:
    """The whole number from 1 to ``limit`` (``default`` when absent), or None."""
    if value is None:
        return default
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= limit:
        return None
    return int(text)


def parse_invite_request(
    commitment: str, role: str, uses: str | int | None = None, days: str | int | None = None
) -> InviteRequest:
    """``COMMITMENT ROLE [USES] [DAYS]`` as typed by an admin; raises InviteArgumentError."""
    chosen_role = parse_role(role)
    chosen_uses = _bounded(uses, DEFAULT_INVITE_USES, MAX_INVITE_USES)
    if chosen_uses is None:
        raise BadInviteUses(max_uses=MAX_INVITE_USES)
    chosen_days = _bounded(days, DEFAULT_INVITE_DAYS, MAX_INVITE_DAYS)
    if chosen_days is None:
        raise BadInviteDays(max_days=MAX_INVITE_DAYS)
    return InviteRequest(
        commitment_id=commitment.strip().upper(),
        role=chosen_role,
        uses=chosen_uses,
        days=chosen_days,
    )
