"""The planted case of issue 13, on a real database: two closed rounds of the example plan.

Round 1 (earlier): JAL0001's beneficiaries answer "did not change" (25), its
implementers "substantial" (67). Round 2 (the planted case): six beneficiaries
answer "worsened" (0) and write that it got worse; five implementers answer the
top of the scale (completion "complete" and change "outstanding", 100) and write
that it improved. Pooled, the commitment would read 45/100
((6 × 0 + 5 × 100) / 11): no surface may ever show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import ManualClock
from bot.i18n import translator
from bot.plans import import_plan
from bot.services import Services
from bot.settings import load_settings
from bot.storage.engine import Database
from bot.storage.migrate import upgrade
from pulso.bootstrap import build_services
from surveys.loader import load_plan
from tests.e2e.harness import EXAMPLE_PLAN
from tests.factories import add_instrument, add_person, add_response, add_round

PLANTED = "JAL0001"
OTHER = "JAL0002"
MIN = 5
START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)

WORSE = "Peor que antes, nada funciona en la oficina"
BETTER = "Mejoró mucho, excelente avance del programa"


@dataclass
class Planted:
    services: Services
    clock: ManualClock
    rounds: tuple[int, int]


async def planted_world(folder: Path, **overrides: object) -> Planted:
    """The database of the planted case in ``folder``; both rounds closed (``overrides``:
    more settings, such as ``site_dir``)."""
    db = Database.from_url(f"sqlite+aiosqlite:///{folder / 'planted.db'}")
    await upgrade(db)
    clock = ManualClock(START)
    settings = load_settings(
        env_file=None,
        overrides={
            "secretariat_chat_ids": [-100_1],
            "quiet_hours": "off",
            "min_group_size": MIN,
            "pseudonym_secret": "planted-secret-0123456789",
            **overrides,
        },
    )
    await import_plan(db, load_plan(EXAMPLE_PLAN), source_file=None, actor=None, now=clock.now())
    services = build_services(settings, db, clock, translator())
    progress = await add_instrument(db, clock.now())
    targets = [(c, r) for c in (PLANTED, OTHER) for r in ("beneficiary", "implementer")]
    ids: list[int] = []
    telegram = 9_100_000
    for number, (ben_change, imp_completion, imp_change) in enumerate(
        (("no_change", "substantial", "major"), ("worsened", "complete", "outstanding"))
    ):
        round_id = await add_round(
            db, clock.now(), instrument_pk=progress, targets=targets, status="open", days=3
        )
        for commitment in (PLANTED, OTHER):
            for role, count, given, label in (
                (
                    "beneficiary",
                    6,
                    {"change": ben_change, "what_changed": WORSE, "may_quote": "yes"},
                    "neg",
                ),
                (
                    "implementer",
                    5,
                    {"completion": imp_completion, "change": imp_change, "what_changed": BETTER},
                    "pos",
                ),
            ):
                for _ in range(count):
                    telegram += 1
                    pid = await add_person(db, clock.now(), telegram, demographics={})
                    await add_response(
                        db,
                        clock.now(),
                        round_id=round_id,
                        commitment_id=commitment,
                        role=role,
                        participant_id=pid,
                        answers_given=given,
                        labels={"what_changed": label},
                    )
        clock.advance(timedelta(hours=1))
        await services.rounds.close(round_id, actor=None)
        ids.append(round_id)
        clock.advance(timedelta(days=30 + number))
    return Planted(services, clock, (ids[0], ids[1]))
