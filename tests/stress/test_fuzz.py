"""Fuzzing: hypothesis-driven streams of raw updates through the emulator into the running bot.

Each hypothesis example is one batch of updates (:mod:`tests.stress.updates`) from
one class of sender — strangers, participants, the Secretariat or admins, as the
database says they are at that moment — mixing random and very long texts,
commands with random and with well-formed arguments, real button presses and
forged ones (another person's buttons, codec-shaped payloads with wrong ids,
random strings; on real, missing and inaccessible messages), edits, group and
channel messages,
membership changes and kinds of update Pulso has no handler for. The batch is
queued at once; once the bot has handled all of it:

* nothing escaped as an unhandled exception (the error handler's "handling
  update … failed", or anything else logged at ERROR);
* the emulator refused no call of the bot's (no unescaped HTML, no text too
  long, no message to a chat that does not exist), besides edits of messages
  that are gone or unchanged;
* the database changed only as the senders had the right to: strangers create
  nothing but what consenting with a valid invite creates, participants change
  only their own rows, nobody but admins touches staff roles, rounds,
  schedules, invites or official figures, and every audit entry's actor is an
  admin (or nobody, for a /forget).

The short form (300 updates, SQLite) runs with the normal suite;
``PULSO_STRESS=full`` runs at least 10,000 on SQLite and as many on PostgreSQL.
Hypothesis draws from the session's seed (``PULSO_STRESS_SEED``, see
``tests/stress/conftest.py``), so a run sends the same updates again; it does not
shrink a failing batch (the bot's state has moved on by then) but reports it
whole: the senders, what was drawn, and each update as sent.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st

from bot.i18n import LOCALES
from bot.storage.schema import answers, feedback, participants, staff_roles
from handlers.callback_data import ChooseLanguage
from surveys.instruments import builtin_instrument
from surveys.invites import hash_token, invite_problem
from tests.conftest import drop_postgres_database, make_postgres_database_url
from tests.e2e.harness import ADMIN_ID, SECRETARIAT_CHAT, RunningBot, press, running_bot
from tests.stress.conftest import STRESS_FULL, StressFigures
from tests.stress.observe import Observer, Snapshot, diff, snapshot
from tests.stress.updates import (
    Action,
    ChannelPost,
    GroupText,
    Injector,
    Known,
    Member,
    Ref,
    Tap,
    actions,
)
from tests.stress.world import (
    MIXED,
    add_mixed_instrument,
    grant,
    invite_token,
    new_participant,
    open_round,
)

pytestmark = pytest.mark.stress

BATCH = 25
SHORT_UPDATES = 300
FULL_UPDATES = 10_000
#: Who sends each batch, in turn: every class early, participants and strangers most.
CLASSES = ("stranger", "participant", "secretariat", "admin", "participant", "stranger",
           "secretariat", "participant", "stranger", "admin")  # fmt: skip

#: Tables nobody but an admin may change.
ADMIN_ONLY = frozenset(
    {
        "action_plans",
        "commitments",
        "instruments",
        "official_figures",
        "staff_roles",
        "schedules",
        "rounds",
        "round_targets",
        "reminders",
    }
)
#: Outbox columns the delivery engine moves on its own, for anyone.
DELIVERY = frozenset(
    {"status", "attempts", "next_attempt_at", "claimed_at", "sent_at", "telegram_message_id",
     "last_error"}
)  # fmt: skip
REFUSAL_KEYS = ("error.not_allowed", "error.private_only", "error.stale_button")

_ids = iter(range(7_100_001, 7_999_999))


class Fuzz:
    """The running bot, its people, and what the suite knows about them."""

    def __init__(self, pulso: RunningBot) -> None:
        self.pulso = pulso
        self.observer = Observer(pulso)
        self.injector = Injector(pulso.emulator)
        self.pool: list[int] = []
        self.classes: dict[str, list[int]] = {}
        self.known = Known()
        self.tokens: dict[str, str] = {}
        self.figures: Counter[str] = Counter()
        self.batches = 0
        services = pulso.services
        self.observer.watch = frozenset(
            services.t(key, locale) for key in REFUSAL_KEYS for locale in LOCALES
        )

    @classmethod
    async def start(cls, stack: AsyncExitStack, database: str, folder: Path) -> Fuzz:
        """The bot on a fresh SQLite file, or a fresh PostgreSQL database."""
        url = f"sqlite+aiosqlite:///{folder / 'pulso.db'}"
        if database == "postgresql":
            url, name = await make_postgres_database_url()
            stack.push_async_callback(drop_postgres_database, name)
        pulso = await stack.enter_async_context(running_bot(url))
        fuzz = cls(pulso)
        stack.callback(fuzz.observer.close)
        await fuzz.set_up()
        return fuzz

    async def set_up(self) -> None:
        pulso = self.pulso
        await pulso.import_example_plan()
        await add_mixed_instrument(pulso)
        emulator = pulso.emulator
        group = emulator.group(-1_007_000_001, "Vecinos", type="group")
        channel = emulator.group(-1_007_000_002, "Avisos", type="channel")
        self.known.group = [SECRETARIAT_CHAT, group.id]
        self.known.channel = [channel.id]
        self.known.commitment = ["JAL0001", "JAL0002", "JAL0003", "JAL0099"]
        admin, secretaries = next(_ids), [next(_ids), next(_ids)]
        await grant(pulso, admin, "admin")
        for user_id in secretaries:
            await grant(pulso, user_id, "secretariat")
        for user_id in (ADMIN_ID, admin, *secretaries):
            emulator.user(user_id, language_code="en").started = True
            self.pool.append(user_id)
        await self._ensure_rounds()
        self.tokens["revoked"] = await invite_token(pulso)
        await pulso.services.journey.revoke_invite(self.tokens["revoked"], actor=None)
        await self.refresh()
        await self.observer.settle()

    # --- keeping the world interesting ------------------------------------------------------

    async def _ensure_rounds(self) -> None:
        """A progress round and a mixed one open (admins may have closed or cancelled them)."""
        async with self.pulso.services.db.read() as repos:
            recent = await repos.rounds.recent(limit=50)
        running = {r.instrument_id for r in recent if r.status == "open"}
        if "progress" not in running:
            await open_round(self.pulso, "progress", ("JAL0001", "JAL0002"))
        if MIXED.id not in running:
            await open_round(self.pulso, MIXED.id, ("JAL0003",))

    async def refresh(self) -> None:
        """Who is who now (admins may have granted or revoked roles, people joined or
        left), topped up so every class has people; and the ids worth forging."""
        pulso = self.pulso
        await self._ensure_rounds()
        if "valid" not in self.tokens or not await self._usable(self.tokens["valid"]):
            self.tokens["valid"] = await invite_token(pulso, "JAL0002", "implementer", 10_000)
        self.classes = await self._classify()
        memberships = (
            (("JAL0001", "beneficiary"),),
            (("JAL0001", "implementer"),),
            (("JAL0002", "beneficiary"),),
            (("JAL0003", "beneficiary"), ("JAL0001", "beneficiary")),
        )
        while len(self.classes["participant"]) < 4:
            user_id = next(_ids)
            language = random.Random(user_id).choice(LOCALES)
            which = memberships[user_id % len(memberships)]
            await new_participant(pulso, user_id, which, language=language)
            self.pool.append(user_id)
            self.classes["participant"].append(user_id)
        while len(self.classes["stranger"]) < 3:
            user_id = next(_ids)
            pulso.emulator.user(user_id, language_code=("es", "en", "pt-br")[user_id % 3])
            pulso.emulator.user(user_id).started = True
            self.pool.append(user_id)
            self.classes["stranger"].append(user_id)
        while len(self.classes["secretariat"]) < 1:
            user_id = next(_ids)
            await grant(pulso, user_id, "secretariat")
            pulso.emulator.user(user_id, language_code="es", started=True)
            self.pool.append(user_id)
            self.classes["secretariat"].append(user_id)
        await self._learn()

    async def _usable(self, token: str) -> bool:
        async with self.pulso.services.db.read() as repos:
            invite = await repos.invites.by_hash(hash_token(token))
        return invite_problem(invite, self.pulso.clock.now()) is None

    async def _classify(self) -> dict[str, list[int]]:
        async with self.pulso.services.db.read() as repos:
            joined = set(
                (await repos.conn.execute(sa.select(participants.c.telegram_user_id))).scalars()
            )
            staff = {
                (row.telegram_user_id, row.role)
                for row in await repos.conn.execute(sa.select(staff_roles))
            }
        admins = self.admins(staff)
        out: dict[str, list[int]] = {c: [] for c in set(CLASSES)}
        for user_id in self.pool:
            if user_id in admins:
                out["admin"].append(user_id)
            elif (user_id, "secretariat") in staff:
                out["secretariat"].append(user_id)
            elif user_id in joined:
                out["participant"].append(user_id)
            else:
                out["stranger"].append(user_id)
        return out

    def admins(self, staff: Iterable[tuple[int, str]]) -> set[int]:
        return set(self.pulso.services.admin_ids) | {u for u, role in staff if role == "admin"}

    async def _learn(self) -> None:
        known = self.known
        async with self.pulso.services.db.read() as repos:
            conn = repos.conn
            known.response = list(
                (await conn.execute(sa.text("SELECT id FROM responses ORDER BY id"))).scalars()
            )
            known.round = list(
                (await conn.execute(sa.text("SELECT id FROM rounds ORDER BY id"))).scalars()
            )
            known.schedule = list(
                (await conn.execute(sa.text("SELECT id FROM schedules ORDER BY id"))).scalars()
            )
            plan = await repos.plans.plan()
        questions = {q.id: q for name in ("progress", MIXED.id) for q in self._instrument(name)}
        known.question = sorted(questions)
        known.option = sorted({o.code for q in questions.values() for o in q.choices})
        demographics = plan.demographics if plan else ()
        known.demographic = [q.id for q in demographics]
        known.answer = sorted({o.code for q in demographics for o in q.options})
        known.token = sorted(self.tokens.values())
        known.user = sorted(self.pool)

    def _instrument(self, name: str) -> Sequence[Any]:
        return (MIXED if name == MIXED.id else builtin_instrument(name)).questions

    # --- one batch --------------------------------------------------------------------------

    async def play(self, kind: str, batch: Sequence[Action]) -> None:
        """Send the batch from this class's people, wait until it is handled, and check
        what it did."""
        self.known.senders = self.classes[kind]
        db = self.pulso.services.db
        before = await snapshot(db)
        pressed = len(self.injector.presses)
        forged = self.injector.forged_presses
        logged = len(self.injector.log)
        for action in batch:
            self.injector.inject(action, self.known)
            self.figures[f"kind {type(action).__name__}"] += 1
        await self.observer.drain()
        after = await snapshot(db)
        problems = self.observer.problems()
        self.figures["updates fuzzed"] += len(batch)
        self.figures[f"updates from {kind}s"] += len(batch)
        self.figures["forged presses"] += self.injector.forged_presses - forged
        self.figures["presses"] += len(self.injector.presses) - pressed
        self.figures["refusals seen"] = self.observer.watched
        assert not problems, "\n".join([*problems, "the batch:", *self.injector.log[logged:]])

        known = self.known
        senders = {known.sender(a.sender) for a in batch if not isinstance(a, ChannelPost)}
        presses = self.injector.presses[pressed:]
        consenters = {p.user.id for p in presses if p.data.startswith("c:y:")}
        chats = senders | {
            int(known.resolve(Ref("group", a.group)))
            for a in batch
            if isinstance(a, GroupText | Tap | Member) and a.group is not None
        }
        staff = [(k[0], row["role"]) for k, row in after["staff_roles"].items()]
        wrong = unauthorised(
            kind,
            before,
            after,
            senders=senders,
            consenters=consenters,
            chats=chats,
            admins=self.admins(staff),
        )
        batch_log = self.injector.log[logged:]
        assert not wrong, "\n".join(
            [f"a batch from {kind}s changed what it may not:", *wrong, "the batch:", *batch_log]
        )


def unauthorised(
    kind: str,
    before: Snapshot,
    after: Snapshot,
    *,
    senders: set[int],
    consenters: set[int],
    chats: set[int],
    admins: set[int],
) -> list[str]:
    """Every change in ``after`` that a batch from ``kind`` senders had no right to make."""
    changes = diff(before, after, ignore=("inbox",))
    wrong: list[str] = []
    audit = changes.pop("audit_log", None)
    if audit is not None:
        if audit.removed or audit.changed:
            wrong.append("audit_log: entries removed or rewritten")
        for entry in audit.added:
            actor = entry["actor"]
            if actor is None and entry["action"] == "forget":
                continue
            if actor is None or actor not in admins or kind != "admin":
                wrong.append(f"audit_log: {entry['action']} by {actor} in a {kind}s' batch")
    if kind == "admin":
        return wrong

    pids = {
        row["id"]
        for snap in (before, after)
        for row in snap["participants"].values()
        if row["telegram_user_id"] in senders
    }
    # Someone who sent /forget's confirmation in this batch may also have written or
    # started something in it: new rows that already point at no one are theirs.
    forgot = set(before["participants"].keys() - after["participants"].keys()) & {
        (pid,) for pid in pids
    }
    if forgot:
        pids.add(None)
    responses = {
        row["id"]
        for snap in (before, after)
        for row in snap["responses"].values()
        if row["participant_id"] in pids
        and (row["participant_id"] is not None or (row["id"],) not in before["responses"])
    }
    answers = {
        row["id"]
        for snap in (before, after)
        for row in snap["answers"].values()
        if row["response_id"] in responses
    }

    people = {
        row["id"]: row["telegram_user_id"]
        for snap in (before, after)
        for row in snap["participants"].values()
    }
    owner_of_response = {
        row["id"]: row["participant_id"]
        for snap in (before, after)
        for row in snap["responses"].values()
    }

    def whose(row: dict[str, Any]) -> str:
        pid = row.get("participant_id", owner_of_response.get(row.get("response_id")))
        return f" (participant {pid}, Telegram user {people.get(pid)})" if pid else ""

    def owned(table: str, row: dict[str, Any]) -> bool:
        match table:
            case "participants":
                return row["telegram_user_id"] in senders
            case "memberships" | "invite_redemptions":
                return row["participant_id"] in pids
            case "feedback":
                unlinked_before = row["participant_id"] is None and (row["id"],) in before[table]
                return row["participant_id"] in pids and not unlinked_before
            case "responses":
                return row["id"] in responses
            case "answers":
                return row["id"] in answers
            case "answer_choices":
                return row["answer_id"] in answers
            case "outbox":
                mine = row["participant_id"] is not None and row["participant_id"] in pids
                return mine or row["chat_id"] in senders
            case "chat_settings":
                return kind == "secretariat" and row["chat_id"] in chats
        return False

    for table, change in sorted(changes.items()):
        if table in ADMIN_ONLY:
            wrong.append(f"{table}: changed by {kind}s")
            continue
        if table == "invites":
            uses_only = change.changed_columns() <= {"uses"} and not (
                change.added or change.removed
            )
            if not (uses_only and consenters):
                wrong.append(f"invites: {change.changed_columns()} changed by {kind}s")
            continue
        for row in change.added:
            if table == "participants" and row["telegram_user_id"] not in consenters:
                wrong.append(f"participants: {row['telegram_user_id']} added without consent")
            elif not owned(table, row):
                wrong.append(f"{table}: someone else's row added{whose(row)}: {row}")
        for row in change.removed:
            if not owned(table, row):
                wrong.append(f"{table}: someone else's row removed{whose(row)}: {row}")
        for old, new in change.changed:
            moved = {k for k in old if old[k] != new[k]}
            if table == "outbox" and moved <= DELIVERY and new["status"] != "cancelled":
                continue  # the delivery engine at work
            if (
                table == "participants"
                and moved <= {"status", "updated_at"}
                and new["status"] == "unreachable"
            ):
                continue  # a send found the person had blocked the bot
            if not (owned(table, old) or owned(table, new)):
                wrong.append(
                    f"{table}: someone else's row changed ({sorted(moved)}){whose(old)}: {old}"
                )
    return wrong


# --- the test --------------------------------------------------------------------------------


def _settings(updates: int) -> settings:
    return settings(
        max_examples=math.ceil(updates / BATCH),
        deadline=None,
        database=None,
        phases=(Phase.generate,),  # no shrinking: the bot's state moves on between examples
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


#: The short form fuzzes SQLite; the full form PostgreSQL too (same updates, same seed).
DATABASES = [pytest.param("sqlite", id="sqlite")] + (
    [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]
    if STRESS_FULL
    else []
)


@pytest.mark.timeout(3600 if STRESS_FULL else 120)
@pytest.mark.parametrize("database", DATABASES)
def test_fuzzed_updates_break_nothing(
    database: str, tmp_path: Path, stress_seed: int, stress_figures: StressFigures
) -> None:
    """Batches of random updates from every class of sender: no unhandled exception, no
    refused API call, no change the senders had no right to make."""
    target = FULL_UPDATES if STRESS_FULL else SHORT_UPDATES

    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        fuzz = runner.run(Fuzz.start(stack, database, tmp_path))
        try:

            @_settings(target)
            @given(st.data())
            def batch(data: st.DataObject) -> None:
                runner.run(fuzz.refresh())
                kind = CLASSES[fuzz.batches % len(CLASSES)]
                fuzz.batches += 1
                note(f"senders: {kind}s {fuzz.classes[kind]}")
                drawn = data.draw(
                    st.lists(actions(), min_size=BATCH, max_size=BATCH), label="updates"
                )
                runner.run(fuzz.play(kind, drawn))

            seed(stress_seed)(batch)()
        finally:
            runner.run(stack.aclose())

    figures = fuzz.figures
    assert figures["updates fuzzed"] >= target
    stress_figures.add("updates fuzzed", figures["updates fuzzed"])
    stress_figures.add("forged presses", figures["forged presses"])
    stress_figures.add("refusals checked", figures["refusals seen"])
    print(
        f"\nfuzz on {database} (seed {stress_seed}): "
        + ", ".join(f"{k} {v}" for k, v in figures.items())
    )


# --- what the fuzzing found, pinned ------------------------------------------------------------


@pytest.fixture
async def pulso(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as harness:
        yield harness


async def test_a_double_tapped_language_button_is_not_an_error(pulso: RunningBot) -> None:
    """Found by fuzzing: a second tap on a language button (queued before the first one's
    edit) found the message already saying so, and the "not modified" answer escaped as an
    error, with an apology to the person."""
    observer = Observer(pulso)
    try:
        eva = pulso.person(7_300_001, "Eva")
        mark = eva.chat.cursor
        await eva.send("/language")
        await eva.wait_for_message(predicate=lambda m: bool(m.buttons), since=mark)
        first = await press(eva, ChooseLanguage("en"))
        second = await press(eva, ChooseLanguage("en"))
        await observer.settle()
        assert (await first.wait_answer()).text is None
        assert (await second.wait_answer()).text is None
        assert observer.problems() == []
        assert "Something went wrong" not in " ".join(eva.texts())
    finally:
        observer.close()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def pulso_any_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    if request.param == "sqlite":
        async with running_bot(f"sqlite+aiosqlite:///{tmp_path / 'pulso.db'}") as harness:
            yield harness
        return
    url, name = await make_postgres_database_url()
    try:
        async with running_bot(url) as harness:
            yield harness
    finally:
        await drop_postgres_database(name)


async def test_a_nul_in_what_someone_writes_is_dropped_not_an_error(
    pulso_any_db: RunningBot,
) -> None:
    """Found by fuzzing's texts, on PostgreSQL: a NUL character (which PostgreSQL cannot
    keep in text) in a feedback or a text answer failed the write, and the person got an
    apology instead of a thank-you."""
    pulso = pulso_any_db
    observer = Observer(pulso)
    try:
        await pulso.import_example_plan()
        await add_mixed_instrument(pulso)
        await open_round(pulso, MIXED.id, ("JAL0003",))
        eva, pid = await new_participant(pulso, 7_300_002, (("JAL0003", "beneficiary"),))
        await observer.drain()
        async with pulso.services.db.read() as repos:
            (response,) = await repos.responses.of_participant(pid)
        for data in (f"s:{response.id}", f"m:{response.id}:topics:water",
                     f"d:{response.id}:topics", f"a:{response.id}:score:7"):  # fmt: skip
            await eva.press_data(data)
            await observer.drain()
        await eva.send("hola\x00 mundo")
        await eva.send("/feedback JAL0003 otro\x00 comentario")
        await observer.drain()
        assert observer.problems() == []
        async with pulso.services.db.read() as repos:
            text = await repos.conn.execute(
                sa.select(answers.c.text).where(answers.c.question_id == "why")
            )
            said = await repos.conn.execute(sa.select(feedback.c.text))
            assert (text.scalar_one(), said.scalar_one()) == ("hola mundo", "otro comentario")
    finally:
        observer.close()
