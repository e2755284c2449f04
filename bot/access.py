"""Who is calling: their roles and the language to answer them in.

Admins come from ``ADMIN_IDS`` and from ``/grant``; the Secretariat from
``/grant``; participants are people who consented and joined a commitment.
Everyone else is a stranger. Every handler asks here first, so a permission
is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.i18n import Locale, as_locale
from bot.storage.engine import Database
from bot.storage.repositories.participants import Participant
from bot.storage.repositories.staff import StaffRole

Audience = Literal["stranger", "participant", "responsible", "secretariat", "admin"]


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    chat_id: int
    locale: Locale
    participant: Participant | None
    staff: frozenset[StaffRole]
    #: Commitments this person answers for (``/grant USER_ID responsible COMMITMENT``).
    responsible_for: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return "admin" in self.staff

    @property
    def is_staff(self) -> bool:
        """Secretariat or admin: both may read results."""
        return bool(self.staff)

    @property
    def is_participant(self) -> bool:
        return self.participant is not None

    def may(self, audience: Audience) -> bool:
        if audience == "admin":
            return self.is_admin
        if audience == "secretariat":
            return self.is_staff
        if audience == "participant":
            return self.is_participant
        if audience == "responsible":
            return bool(self.responsible_for)
        return True

    @property
    def audiences(self) -> tuple[Audience, ...]:
        """What /help should describe for this person, broadest first."""
        found: list[Audience] = []
        if self.is_participant:
            found.append("participant")
        if self.responsible_for:
            found.append("responsible")
        if self.is_staff:
            found.append("secretariat")
        if self.is_admin:
            found.append("admin")
        return tuple(found) or ("stranger",)


async def identify(
    db: Database,
    *,
    user_id: int,
    chat_id: int,
    language_code: str | None,
    admin_ids: frozenset[int],
    default_language: Locale,
) -> Caller:
    """Look the person up; their stored language wins over Telegram's guess."""
    async with db.read() as repos:
        participant = await repos.participants.by_telegram_id(user_id)
        staff, responsible = await repos.staff.roles_and_commitments(user_id)
        chat_language = None if participant else await repos.chats.language(chat_id)
    if user_id in admin_ids:
        staff.add("admin")
    if participant is not None:
        locale = as_locale(participant.language, default_language)
    elif chat_language is not None:
        locale = as_locale(chat_language, default_language)
    else:
        locale = as_locale(language_code, default_language)
    return Caller(user_id, chat_id, locale, participant, frozenset(staff), responsible)
