"""``pulso demo``: one whole round, from invitation to the Secretariat's summary, with no token.

It runs the real bot against the local Bot API emulator (:mod:`botapi_emulator`)
on a fresh SQLite file in the demo folder, with the Jalisco 2016 example plan
and a few dozen simulated participants (:mod:`botapi_emulator.simulation`, who
read Pulso's buttons through :func:`read_payload`). An admin issues invitations
and opens a round with the same Telegram commands a real admin types; people
join, consent and answer; the admin closes the round; the summary and charts
the Secretariat's chat receives are printed (standard output) and saved (the
demo folder).

The answers plant a reality gap: the state register of farm workers
(JAL0004) is reported complete, its implementers agree, and the farm workers
themselves say nothing changed.

Its command line is :mod:`pulso.cli.demo`.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from bot.plans import import_plan
from bot.settings import Settings, load_settings
from botapi_emulator import BotApiEmulator, ChatLog, ChatMessage, SimUser, simulation
from botapi_emulator.simulation import AnswerPolicy, SimulatedRespondent
from handlers import callback_data
from handlers.site import build_site
from pulso.app import build_application, running
from pulso.cli.common import say
from surveys.loader import load_example_plan

EXIT_OK, EXIT_FAILED = 0, 1
TOKEN = "123456:PULSO-DEMO-TOKEN"  # noqa: S105 - the emulator's, not a secret
ADMIN_ID = 1_000_001
SECRETARIAT_CHAT = -1_001_000_000_001
GAP_COMMITMENT = "JAL0004"
SMALL_COMMITMENT = "JAL0006"  # too few beneficiaries: their figures are suppressed
_LINK = re.compile(r"start=([A-Za-z0-9_-]+)")
_ROUND = re.compile(r"(\d+)")

T = TypeVar("T")

# What simulated people write, by how their commitment is going for them.
TEXTS_BAD = (
    "Nadie nos avisó del padrón, puro anuncio.",
    "No sirvió para nada, seguimos igual en el campo.",
    "Nos pidieron papeles y nunca regresaron.",
    "Nothing changed for us, we never heard back.",
)
TEXTS_GOOD = (
    "Nos tomaron en cuenta y ya se ven resultados.",
    "Hay más información y la respuesta fue rápida.",
    "Se nota el cambio en la colonia, aunque falta.",
    "Things improved and they listened to us.",
)


def read_payload(payload: str) -> simulation.Meaning | None:
    """What one of Pulso's buttons means to a simulated person (None: one they leave alone).

    The simulated people know no payload format; this is the one place that tells
    them Pulso's (:mod:`handlers.callback_data`).
    """
    match callback_data.decode(payload):
        case callback_data.Consent(accepted=accepted):
            return simulation.Consent(accepted)
        case callback_data.Demographic(question=question, code=code):
            return simulation.Demographic(question, code)
        case callback_data.StartSurvey(response_id=response_id):
            return simulation.StartSurvey(response_id)
        case callback_data.SurveyPress(action, response_id, question, code):
            return simulation.SurveyPress(action, response_id, question, code)
    return None


@dataclass(frozen=True)
class Person:
    commitment: str
    role: str
    respondent: SimulatedRespondent


def policy_for(commitment: str, role: str, rng: random.Random) -> AnswerPolicy:
    """Answers that plant the gap in JAL0004 and mild, mixed progress elsewhere."""
    if commitment == GAP_COMMITMENT and role == "beneficiary":
        answers = {
            "change": rng.choice(["no_change", "no_change", "worsened"]),
            "say": "none",
            "trust": rng.choice(["less", "same"]),
            "may_quote": "yes",
        }
        return AnswerPolicy.fixed(answers, {"what_changed": rng.choice(TEXTS_BAD)})
    if commitment == GAP_COMMITMENT:
        answers = {
            "completion": rng.choice(["complete", "substantial"]),
            "change": rng.choice(["major", "marginal"]),
            "say": "consulted",
            "may_quote": "no",
        }
        return AnswerPolicy.fixed(answers, {"what_changed": "El padrón está publicado."})
    # Elsewhere people see most of what is reported: gaps stay under the threshold.
    answers = {
        "completion": rng.choice(["substantial", "complete", "complete"]),
        "change": rng.choice(["major", "outstanding", "major", "outstanding", "marginal"]),
        "say": rng.choice(["consulted", "proposals", "informed"]),
        "response": rng.choice(["replied", "acted"]),
        "trust": rng.choice(["same", "more"]),
        "may_quote": rng.choice(["yes", "no"]),
    }
    return AnswerPolicy.fixed(answers, {"what_changed": rng.choice(TEXTS_GOOD)})


def demo_settings(database: Path, base_url: str, defaults: Settings) -> Settings:
    """The demo's own settings: its database, the emulator, no quiet hours (it may be night)."""
    return load_settings(
        env_file=None,
        overrides={
            "telegram_bot_token": TOKEN,
            "telegram_api_base_url": base_url,
            "database_url": f"sqlite+aiosqlite:///{database}",
            "admin_ids": [ADMIN_ID],
            "secretariat_chat_ids": [SECRETARIAT_CHAT],
            "pseudonym_secret": "pulso-demo-pseudonym-secret",
            "quiet_hours": "off",
            "timezone": defaults.timezone,
            "default_language": defaults.default_language,
            "min_group_size": defaults.min_group_size,
            "gap_threshold_points": defaults.gap_threshold_points,
        },
    )


async def _admin_says(admin: SimUser, text: str, expect: str, timeout: float = 15) -> ChatMessage:
    mark = admin.chat.cursor
    await admin.send(text)
    return await admin.wait_for_message(
        timeout, predicate=lambda m: expect in m.content, since=mark
    )


async def _with_bar(label: str, jobs: list[Awaitable[T]]) -> list[T]:
    """Run ``jobs`` together with a progress bar on standard error."""
    results: list[T] = []
    with tqdm(total=len(jobs), desc=label, unit="person", leave=True) as bar:
        for finished in asyncio.as_completed(jobs):
            results.append(await finished)
            bar.update()
    return results


async def _answer_when_invited(respondent: SimulatedRespondent) -> int:
    await respondent.wait_for_invitation()
    return await respondent.take_surveys()


async def run_demo(out: Path, people_per_group: int, seed: int, defaults: Settings) -> int:
    began = time.monotonic()
    rng = random.Random(seed)
    _fresh_folder(out)
    async with BotApiEmulator(token=TOKEN, bot_username="pulso_demo_bot") as emulator:
        settings = demo_settings(out / "pulso.db", emulator.base_url, defaults)
        application = build_application(settings)
        async with running(application) as services:
            plan = load_example_plan()
            await import_plan(
                services.db, plan, source_file=None, actor=None, now=services.clock.now()
            )
            say(
                f"plan: {plan.plan.name.get(settings.default_language)} "
                f"({len(plan.plan.commitments)} commitments)"
            )
            admin = emulator.user(ADMIN_ID, "Admin", language_code=settings.default_language)
            secretariat = emulator.group(SECRETARIAT_CHAT, "Secretariado Técnico Local")

            people: list[Person] = []
            joins: list[Awaitable[None]] = []
            user_id = 2_000_000
            for commitment in plan.plan.commitments:
                for role, count in (
                    ("beneficiary", 3 if commitment.id == SMALL_COMMITMENT else people_per_group),
                    ("implementer", people_per_group),
                ):
                    reply = await _admin_says(
                        admin, f"/invite {commitment.id} {role} {count} 7", "start="
                    )
                    found = _LINK.search(reply.content)
                    assert found is not None
                    for _ in range(count):
                        user_id += 1
                        language = "en" if rng.random() < 0.25 else "es"
                        user = emulator.user(user_id, f"Persona {user_id}", language_code=language)
                        respondent = SimulatedRespondent(
                            user,
                            policy_for(commitment.id, role, rng),
                            read=read_payload,
                            timeout=30,
                        )
                        people.append(Person(commitment.id, role, respondent))
                        joins.append(respondent.join(found.group(1)))
            await _with_bar("joining", joins)

            created = await _admin_says(admin, "/newround progress all all now 7d", "✅")
            round_id = int(_ROUND.findall(created.content)[0])
            say(f"round {round_id} open: invitations going out to {len(people)} people")
            await _with_bar("answering", [_answer_when_invited(p.respondent) for p in people])

            mark = secretariat.chat.cursor
            await _admin_says(admin, f"/closeround {round_id}", str(round_id))
            say(f"round {round_id} closed; waiting for the Secretariat's summary")
            received = await _summary(secretariat.chat, mark)
            site = out / "site"
            files = await build_site(services, site)
            say(
                f"results site: {site.resolve() / 'index.html'} "
                f"({sum(1 for n in files if n.endswith('.html'))} pages; "
                f"preview with: pulso site serve --dir {site})"
            )
        texts = [m.content for m in received if m.photo is None]
        charts = [m for m in received if m.photo is not None]
        print("\n\n".join(texts))
        for index, chart in enumerate(charts, start=1):
            assert chart.photo is not None
            assert chart.photo.data is not None  # uploaded by the bot, so kept
            path = out / f"chart-{index}.png"
            path.write_bytes(chart.photo.data)
            say(f"chart: {path} — {chart.content}")
    say(f"done in {time.monotonic() - began:.1f} s; database, charts and site in {out}/")
    return EXIT_OK


async def _summary(chat: ChatLog, mark: int) -> list[ChatMessage]:
    """Everything the Secretariat's chat received after ``mark``, once the charts arrived."""
    await chat.wait_for_message(60, predicate=lambda m: m.photo is not None, since=mark)
    # The summary is a few texts, then one photo per chart; give the rest a moment.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        count = len(chat.events)
        await asyncio.sleep(0.5)
        if len(chat.events) == count:
            break
    seen: dict[int, ChatMessage] = {}
    for message in chat.events[mark:]:
        seen[message.message_id] = message
    return sorted(seen.values(), key=lambda m: m.message_id)


def _fresh_folder(out: Path) -> None:
    """The demo starts from nothing each time (its folder holds only what it wrote)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
