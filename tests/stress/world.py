"""The people, rounds and invites the fuzz, authorisation and privacy suites start from.

Plain async functions on a :class:`~tests.e2e.harness.RunningBot`, each doing what
an admin or the command line would, without going through the chat (the suites
test the chat; their set-up need not).
"""

from __future__ import annotations

from datetime import timedelta

from bot.rounds.service import NewRound
from bot.storage.repositories.staff import StaffRole
from botapi_emulator import SimUser
from surveys.instruments import Instrument, Role
from surveys.invites import InviteRequest
from tests.e2e.harness import RunningBot
from tests.factories import add_instrument, add_participant


def _text(es: str, en: str) -> dict[str, str]:
    return {"es": es, "en": en}


#: A survey with one question of each kind a button or a text can answer, so that
#: toggles, "done", skips and text answers all have something real to act on.
MIXED = Instrument.model_validate(
    {
        "id": "mixed",
        "version": 1,
        "title": _text("Encuesta mixta", "Mixed survey"),
        "intro": _text("Una pregunta de cada tipo.", "One question of each kind."),
        "outro": _text("¡Gracias!", "Thank you!"),
        "questions": [
            {
                "id": "topics",
                "type": "multi",
                "max_choices": 2,
                "text": _text("¿Qué temas?", "Which topics?"),
                "options": [
                    {"code": "water", "label": _text("Agua", "Water")},
                    {"code": "roads", "label": _text("Caminos", "Roads")},
                    {"code": "schools", "label": _text("Escuelas", "Schools")},
                ],
            },
            {"id": "score", "type": "rating", "text": _text("Califica de 0 a 10", "Rate 0-10")},
            {
                "id": "why",
                "type": "text",
                "required": False,
                "max_length": 50,
                "text": _text("¿Por qué?", "Why?"),
            },
            {"id": "again", "type": "yes_no", "text": _text("¿Otra vez?", "Again?")},
        ],
    }
)


async def add_mixed_instrument(pulso: RunningBot) -> None:
    await add_instrument(pulso.services.db, pulso.clock.now(), MIXED)


async def new_participant(
    pulso: RunningBot,
    user_id: int,
    memberships: tuple[tuple[str, str], ...] = (("JAL0001", "beneficiary"),),
    *,
    language: str = "es",
    name: str = "",
) -> tuple[SimUser, int]:
    """A consented participant (as if they had joined by invite), included in the open
    rounds of their commitments; their simulated user and participant id."""
    user = pulso.emulator.user(
        user_id, name or f"Persona {user_id}", language_code=language, started=True
    )
    pid = await add_participant(
        pulso.services.db, pulso.clock.now(), user_id, memberships, language=language
    )
    for commitment_id, role in memberships:
        await pulso.services.rounds.invite_late_joiner(pid, commitment_id, role)
    return user, pid


async def grant(pulso: RunningBot, user_id: int, role: StaffRole) -> None:
    async with pulso.services.db.write() as repos:
        await repos.staff.grant(user_id, role, granted_by=None, now=pulso.clock.now())


async def open_round(
    pulso: RunningBot,
    instrument: str,
    commitments: tuple[str, ...],
    roles: tuple[str, ...] = ("beneficiary", "implementer"),
    *,
    days: int = 30,
) -> int:
    """A round opened now (invitations go out); its id."""
    created = await pulso.services.rounds.create(
        NewRound(
            instrument_id=instrument,
            commitment_ids=commitments,
            roles=roles,
            opens_at=pulso.clock.now(),
            duration=timedelta(days=days),
        ),
        actor=None,
    )
    return created.round.id


async def invite_token(
    pulso: RunningBot, commitment: str = "JAL0001", role: str = "beneficiary", uses: int = 1
) -> str:
    """A fresh invite's token (as ``pulso invite`` makes them)."""
    issued = await pulso.services.journey.create_invite(
        InviteRequest(commitment, Role(role), uses=uses), actor=None
    )
    return issued.token
