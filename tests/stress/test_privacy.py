"""Privacy: what leaves Pulso — log lines, exports, published figures — gives no one away.

* **Logs.** A whole journey runs with logging configured as ``pulso run`` does it
  (:func:`bot.logs.configure_logging` at DEBUG, the token as a secret), every
  logger's lines captured as they would reach standard error: invites, consent,
  a survey with text answers, feedback, /mydata, /forget, a person who blocked
  the bot, a fan-out through failing sends, the round's close with its summary,
  /summary and /export in the Secretariat's group, and ``pulso export``. No line
  holds the token, a Telegram user or chat id (every simulated person has one of
  seven digits or more), a name, or anything anyone wrote.
* **Exports** (``docs/privacy.md``, "Exports"). ``pulso export`` (CSV and
  JSON), the admin's answer file, carries per-round pseudonyms only —
  HMAC-SHA256(PSEUDONYM_SECRET, round and Telegram user id) — and nothing of a
  person's id or name; a person who used /forget while the round was open is
  not in it at all. The Secretariat's /export holds published figures only.
* **Small groups.** With MIN_GROUP_SIZE = N, one commitment answered by N − 1
  people and one by N: every published breakdown — the summary sent when the
  round closes, /summary (the round and the commitment), /gap, /trend, the
  charts' data, the results sent to respondents, ``pulso report`` (its page,
  its demographic breakdowns, aggregates.csv) — says "fewer than N" for the
  first, with no figure of it anywhere, not even pooled with the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import hmac
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import handlers.charts
from bot.logs import NOISY_LOGGERS, configure_logging
from botapi_emulator import ChatMessage, SimUser
from botapi_emulator.simulation import AnswerPolicy, SimulatedRespondent
from pulso.cli import main as pulso_cli
from pulso.demo import read_payload
from tests.e2e.harness import SECRETARIAT_CHAT, TOKEN, RunningBot, running_bot
from tests.factories import answer_response
from tests.stress.observe import Observer
from tests.stress.world import grant, new_participant, open_round

pytestmark = [pytest.mark.stress, pytest.mark.asyncio(loop_scope="module")]

ADMIN = 7_700_001
SECRETARY = 7_700_002
SECRET = "e2e-pseudonym-secret-0123456789"  # the harness's PSEUDONYM_SECRET


def pseudonym(round_id: int, user_id: int) -> str:
    message = f"{round_id}:{user_id}".encode()
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


# --- logs as `pulso run` writes them -----------------------------------------------------------


@contextlib.contextmanager
def logs_as_pulso_run_writes_them(token: str) -> Iterator[list[str]]:
    """Every log line, formatted and redacted as it reaches standard error, while the block
    runs; the logging set-up is put back afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved_levels = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep(logging.DEBUG)
    keep.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(keep)  # before configuring, so it gets the redacting filter too
    redacting = configure_logging(logging.DEBUG, secrets=[token])
    try:
        yield lines
    finally:
        for handler in list(root.handlers):
            handler.removeFilter(redacting)
            if handler not in saved_handlers:
                root.removeHandler(handler)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


@dataclass
class Journey:
    """The bot after a whole round, with what the checks need to know."""

    pulso: RunningBot
    observer: Observer
    lines: list[str]
    people: list[SimUser]
    forgotten: SimUser
    blocked: SimUser
    secretary: SimUser
    round_id: int
    texts: list[str]  # everything anyone wrote
    export_document: bytes = b""
    names: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        everyone = [*self.people, self.forgotten, self.blocked, self.secretary]
        return [ADMIN, SECRETARIAT_CHAT, *(p.id for p in everyone)]


NAMES = ("Anastasia", "Bartolomé", "Crisanta", "Desiderio", "Eulalia")


async def _says(pulso: RunningBot, observer: Observer, who: SimUser, text: str) -> None:
    await who.send(text)
    await observer.drain()


async def _group_says(
    pulso: RunningBot, observer: Observer, who: SimUser, text: str
) -> list[ChatMessage]:
    log = pulso.secretariat_chat.chat
    mark = log.cursor
    await pulso.secretariat_chat.send(who, text)
    await observer.drain()
    return log.events[mark:]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def journey(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Journey]:
    folder: Path = tmp_path_factory.mktemp("privacy")
    with logs_as_pulso_run_writes_them(TOKEN) as lines:
        async with running_bot(
            f"sqlite+aiosqlite:///{folder / 'pulso.db'}", admin_ids=[ADMIN]
        ) as pulso:
            observer = Observer(pulso)
            try:
                yield await _a_whole_round(pulso, observer, lines)
            finally:
                observer.close()


async def _a_whole_round(pulso: RunningBot, observer: Observer, lines: list[str]) -> Journey:
    await pulso.import_example_plan()
    emulator = pulso.emulator
    admin = emulator.user(ADMIN, "Administradora", language_code="es")
    secretary = emulator.user(SECRETARY, "Secretaria", language_code="es")
    await _says(pulso, observer, admin, f"/grant {SECRETARY} secretariat")
    mark = admin.chat.cursor
    await _says(pulso, observer, admin, "/invite JAL0001 beneficiary 10")
    token = re.search(r"start=([\w-]+)", admin.chat.events[mark:][-1].content)
    assert token is not None

    texts = [f"Texto-privado-{n} el agua llega tarde" for n in range(len(NAMES))]
    people = [
        emulator.user(7_800_001 + n, name, language_code="es") for n, name in enumerate(NAMES)
    ]
    respondents = [
        SimulatedRespondent(
            user,
            AnswerPolicy.fixed(
                {"change": "marginal", "may_quote": "yes"},
                {"what_changed": texts[n], "should_change": f"Sugerencia-privada-{n}"},
            ),
            read=read_payload,
        )
        for n, user in enumerate(people)
    ]
    for person in respondents:
        await person.join(token.group(1), {"age_band": "30_44", "municipality": "zapopan"})
    blocked = people.pop()
    # A block Telegram has not told the bot about yet: the fan-out meets a 403.
    blocked.block(notify=False)
    await observer.drain()

    # The fan-out meets failing sends and someone who blocked the bot.
    emulator.faults.configure(seed=7, rate_5xx=0.4, methods={"sendMessage"})
    await admin.send("/newround progress JAL0001 beneficiary now 3d")
    await emulator.wait_until(lambda: all(p.messages for p in people), timeout=20)
    emulator.faults.configure()
    await observer.drain()
    async with pulso.services.db.read() as repos:
        (round_,) = [r for r in await repos.rounds.recent(limit=5) if r.status == "open"]

    await asyncio.gather(*(r.take_surveys() for r in respondents[: len(people)]))
    for n, user in enumerate(people):
        await _says(pulso, observer, user, f"/feedback Comentario-privado-{n} sobre el agua")
    forgotten = people.pop()
    await _says(pulso, observer, forgotten, "/mydata")
    await _says(pulso, observer, forgotten, "/forget")
    await forgotten.press_data("f:y")
    await observer.drain()

    await _says(pulso, observer, admin, f"/closeround {round_.id}")
    group = pulso.secretariat_chat
    await emulator.wait_until(lambda: any(m.kind == "photo" for m in group.messages), timeout=20)
    await observer.drain()
    await _group_says(pulso, observer, secretary, f"/summary {round_.id}")
    (document,) = [
        m
        for m in await _group_says(pulso, observer, secretary, f"/export {round_.id}")
        if m.document is not None
    ]
    assert document.document is not None
    assert document.document.data is not None
    return Journey(
        pulso,
        observer,
        lines,
        people,
        forgotten,
        blocked,
        secretary,
        round_.id,
        [*texts, *(f"Sugerencia-privada-{n}" for n in range(len(NAMES))),
         *(f"Comentario-privado-{n}" for n in range(len(NAMES)))],
        document.document.data,
        list(NAMES),
    )  # fmt: skip


async def test_no_log_line_carries_the_token_an_id_or_what_people_wrote(journey: Journey) -> None:
    lines = journey.lines
    # The capture works, and the filter is the one `pulso run` installs.
    logging.getLogger("bot.canary").info("token %s, person %s", TOKEN, journey.people[0].id)
    assert lines[-1].endswith("token [redacted], person [redacted]")
    # It saw the journey: the bot's own loggers, at DEBUG too (the blocked person's
    # invitation is logged at DEBUG by the delivery engine).
    seen = {(line.split()[2], line.split()[3].rstrip(":")) for line in lines}
    loggers = {name for _, name in seen}
    assert {
        "pulso.app",
        "bot.rounds.service",
        "bot.insights.service",
        "bot.outbox.engine",
    } <= loggers
    assert ("DEBUG", "bot.outbox.engine") in seen

    secret_part = TOKEN.split(":", 1)[1]
    forbidden = [TOKEN, secret_part, *journey.texts, *journey.names]
    forbidden += [str(abs(i)) for i in journey.ids]
    leaks = [(word, line) for line in lines for word in forbidden if word in line]
    assert leaks == []


async def test_exports_carry_pseudonyms_only(journey: Journey, tmp_path: Path) -> None:
    settings = journey.pulso.settings
    env = {
        "DATABASE_URL": settings.database_url,
        "PSEUDONYM_SECRET": SECRET,
    }
    outputs = {fmt: await _cli(env, ["export", "--round", str(journey.round_id), "--format", fmt])
               for fmt in ("csv", "json")}  # fmt: skip
    rows = {
        "pulso export --format csv": list(csv.DictReader(io.StringIO(outputs["csv"]))),
        "pulso export --format json": json.loads(outputs["json"]),
    }
    answered = {pseudonym(journey.round_id, p.id) for p in journey.people}
    n = len(journey.people)  # the forgotten person was the one after the others
    forgotten_texts = {t for t in journey.texts if re.search(rf"-privad[oa]-{n}\b", t)}
    assert forgotten_texts
    for source, found in rows.items():
        assert found, source
        given = {row["pseudonym"] for row in found}
        # The forgotten person left while the round was open: their answers went with them.
        assert given == answered, source
        assert not {row["text"] for row in found} & forgotten_texts, source
    # The Secretariat's /export is the published figures: no pseudonym, no text at all.
    figures = list(csv.DictReader(io.StringIO(journey.export_document.decode("utf-8-sig"))))
    assert figures
    assert set(figures[0]) == {
        "round",
        "commitment",
        "role",
        "figure",
        "value",
        "people",
        "status",
    }
    everything = outputs["csv"] + outputs["json"] + journey.export_document.decode("utf-8-sig")
    everyone = [*journey.people, journey.forgotten, journey.blocked, journey.secretary]
    for person in everyone:
        assert str(person.id) not in everything
        assert person.first_name not in everything
    assert journey.observer.problems() == []


async def _cli(env: dict[str, str], argv: list[str]) -> str:
    """Run ``pulso ARGV`` as an operator would (in a thread: it runs its own event loop);
    its standard output."""

    def run() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), _environment(env):
            assert pulso_cli(["--env-file", "/nonexistent", *argv]) == 0
        return out.getvalue()

    return await asyncio.to_thread(run)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    import os

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- small groups ------------------------------------------------------------------------------

SMALL, LARGE = "JAL0001", "JAL0002"


class ChartSpy:
    """Records what each chart is drawn from (the figures, before they become pixels)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def wrap(self, name: str) -> Callable[..., bytes]:
        original = getattr(handlers.charts, name)

        def spy(*args: Any, **kwargs: Any) -> bytes:
            self.calls.append((name, args))
            drawn: bytes = original(*args, **kwargs)
            return drawn

        return spy


async def test_every_published_breakdown_respects_min_group_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N − 1 people answered about one commitment, N about another (N = MIN_GROUP_SIZE)."""
    spy = ChartSpy()
    for name in ("gap_chart", "tone_chart", "trend_chart"):
        monkeypatch.setattr(handlers.charts, name, spy.wrap(name))
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as pulso:
        observer = Observer(pulso)
        try:
            await _small_and_large(pulso, observer, spy, tmp_path)
        finally:
            observer.close()


async def _small_and_large(
    pulso: RunningBot, observer: Observer, spy: ChartSpy, folder: Path
) -> None:
    n = pulso.settings.min_group_size
    await pulso.import_example_plan()
    round_id = await open_round(pulso, "progress", (SMALL, LARGE), ("beneficiary",), days=3)
    # The small group's answers score 0, the large group's 100: any published figure that
    # is not 100 drew on the small group, alone or pooled.
    low = {
        "change": "worsened",
        "say": "none",
        "trust": "less",
        "what_changed": "Peor que antes, terrible, nada funciona",
        "may_quote": "yes",
    }
    high = {"change": "outstanding", "say": "decided", "trust": "more",
            "what_changed": "Excelente, mucho mejor, gracias", "may_quote": "yes"}  # fmt: skip
    respondents: dict[str, list[SimUser]] = {SMALL: [], LARGE: []}
    genders = {SMALL: ["man"] * (n - 1), LARGE: ["woman"] * n}
    for commitment, given, size in ((SMALL, low, n - 1), (LARGE, high, n)):
        for index in range(size):
            user_id = 7_600_001 + len(respondents[SMALL]) + len(respondents[LARGE])
            user, pid = await new_participant(
                pulso, user_id, ((commitment, "beneficiary"),), language="en"
            )
            async with pulso.services.db.write() as repos:
                await repos.participants.set_demographics(
                    pid, {"age_band": "30_44", "gender": genders[commitment][index]},
                    pulso.clock.now(),
                )  # fmt: skip
            await answer_response(
                pulso.services.db, pulso.clock.now(), round_id=round_id, participant_id=pid,
                answers_given=given,
            )  # fmt: skip
            respondents[commitment].append(user)
    secretary = pulso.emulator.user(7_600_100, "Secretary", language_code="en")
    await grant(pulso, secretary.id, "secretariat")
    async with pulso.services.db.write() as repos:
        await repos.chats.set_language(SECRETARIAT_CHAT, "en", pulso.clock.now())
    await observer.drain()

    admin = pulso.admin
    await admin.send(f"/closeround {round_id}")
    group = pulso.secretariat_chat
    everyone = respondents[SMALL] + respondents[LARGE]
    await pulso.emulator.wait_until(
        lambda: (
            any(m.kind == "photo" for m in group.messages)
            and all(any("📊" in m.content for m in u.messages) for u in everyone)
        ),
        timeout=30,
    )
    await observer.drain()
    published: dict[str, str] = {"summary sent at the close": _texts(group.messages)}
    for command in (f"/summary {round_id}", f"/summary {round_id} {SMALL}", f"/gap {round_id}",
                    f"/trend {SMALL}", f"/trend {LARGE}"):  # fmt: skip
        published[command] = _texts(await _group_says(pulso, observer, secretary, command))
    for user in everyone:
        published[f"results to {user.id}"] = _texts(
            [m for m in user.messages if "📊" in m.content]
        )
    files = folder / "report"
    await _cli(
        {"DATABASE_URL": pulso.settings.database_url, "MIN_GROUP_SIZE": str(n)},
        ["report", "--round", str(round_id), "--out", str(files), "--lang", "en"],
    )
    page = (files / "report.html").read_text("utf-8")
    published["pulso report"] = re.sub(r"<[^>]+>", " ", page)
    assert observer.problems() == []

    fewer = f"fewer than {n}"
    for name, text in published.items():
        # Only the large group's figures may be shown, and they are all 100.
        assert set(re.findall(r"(\d+)/100", text)) <= {"100"}, name
        assert set(re.findall(r"(?:positive|neutral|negative) (\d+) ?%", text)) <= {"100", "0"}
        small = _section(text, SMALL)
        if small is not None:
            assert fewer in small or "Fewer than" in small, (name, small)
            assert not re.search(r"\d+/100|positive \d", small), (name, small)
    for user in respondents[SMALL]:
        assert f"Fewer than {n} people answered" in published[f"results to {user.id}"]
    for user in respondents[LARGE]:
        assert "100/100" in published[f"results to {user.id}"]
    assert "100/100" in published[f"/summary {round_id}"]

    # aggregates.csv: the small group's figures are marked suppressed and carry no value.
    aggregates = list(csv.DictReader(io.StringIO((files / "aggregates.csv").read_text("utf-8"))))
    for row in aggregates:
        if row["commitment"] == SMALL:
            assert row["status"] in ("suppressed", "empty")
            assert row["value"] == row["people"] == ""
        elif row["status"] == "shown":
            assert int(row["people"]) >= n
    # The demographic breakdown: N − 1 men, N women; the men's cell is suppressed, and
    # with it the women's (otherwise the total would give it away).
    gender = _table(page, "Which gender do you identify with?")
    assert gender == {"Man": [fewer + " answers"] * 2, "Woman": [fewer + " answers"] * 2}
    age = _table(page, "Which age range are you in?")
    assert age["30 to 44"][0] == str(2 * n - 1)

    # The charts were drawn from suppressed figures for the small group.
    assert {name for name, _ in spy.calls} >= {"gap_chart", "tone_chart", "trend_chart"}
    for name, args in spy.calls:
        for figure in _figures_of(args[0], SMALL):
            assert figure.value is None, (name, figure)
    large = [f for _, args in spy.calls for f in _figures_of(args[0], LARGE)]
    assert any(figure.value == 100.0 for figure in large)


def _texts(messages: list[ChatMessage]) -> str:
    return "\n".join(m.content for m in messages)


def _section(text: str, commitment: str) -> str | None:
    """The part of a published text about one commitment (up to the next one's id)."""
    start = text.find(commitment)
    if start < 0:
        return None
    following = [text.find(f"JAL000{k}", start + 1) for k in range(1, 8)]
    end = min([i for i in following if i > start] or [len(text)])
    return text[start:end]


def _table(page: str, heading: str) -> dict[str, list[str]]:
    """A breakdown table of the report: answer → its other cells, as shown."""
    found = re.search(re.escape(heading) + r"</h3>\s*<table>(.*?)</table>", page, re.S)
    assert found is not None, heading
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", found.group(1))
    return {label: [count, mean] for label, count, mean in rows}


def _figures_of(data: Any, commitment: str) -> list[Any]:
    """Every Figure in a chart's input that belongs to ``commitment``."""
    found: list[Any] = []

    def walk(value: Any, inside: bool, depth: int = 0) -> None:
        if depth > 6:
            return
        if type(value).__name__ == "Figure":
            if inside:
                found.append(value)
            return
        if isinstance(value, tuple | list):
            owner = inside or (len(value) == 2 and value[0] == commitment)
            for item in value:
                walk(item, owner, depth + 1)
            return
        if hasattr(value, "__dataclass_fields__"):
            owner = inside or getattr(value, "commitment_id", None) == commitment
            for name in value.__dataclass_fields__:
                walk(getattr(value, name), owner, depth + 1)

    walk(data, False)
    return found
