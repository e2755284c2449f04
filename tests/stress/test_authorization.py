"""The authorisation matrix: every command and every button × every kind of person.

One table (:data:`ACTIONS`): each command of docs/operations.md and each button
action, who may use it, what it does when allowed, and which refusal the others
get. Each cell runs against one bot shared by the module, with people made for
the cell — the person acting (a stranger, a participant of another commitment,
the participant, a Secretariat member, an admin, a commitment's responsible
person with no other role) and the participant whose survey, invite, data or
government reply the action is about — so no cell depends on another:

* an allowed action does its thing (checked in the database or in the reply);
* a refused one gets the translated refusal, in the caller's language (the
  stranger, the other participant and the Secretariat member speak English, the
  participant, the admin and the responsible person Spanish), as a message or a
  button's toast, and the database is exactly as before (every table, every row);
* no Bot API call of the bot's was refused (the emulator parses HTML strictly).

Closing the loop (issue 14, docs/responses.md): the responsible person answers
for :data:`REPLIED`; each cell about a reply closes a round of its own so that a
reply is owed, written as far as the cell needs by that commitment's responsible
person (the actor, when the actor is the responsible person). Forged and stale
presses of the reply flow pass the gate for the responsible person and are
refused by the service (:func:`refused`): someone else's reply, a reply that
does not exist, a step not in front of them, an unfinished or a published reply.

Group chats (:data:`GROUP_ACTIONS`) repeat the Secretariat's commands, and a few
others, in the Secretariat's group. Each refusal checked counts towards the
stress figures ("refusals checked").

:func:`test_injection_is_stored_verbatim_and_shown_escaped` puts SQL, HTML and
Markdown into every free argument and text answer (:data:`INJECTION_POINTS`):
each is stored exactly as written or refused with what was expected, and shown
escaped wherever it appears — replies, the edited question, the recap, /mydata,
and the summary's quotes of what people wrote.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa

from bot.i18n import Locale
from bot.storage.schema import agency_replies, answers, feedback
from botapi_emulator import ChatMessage, SimGroup, SimUser
from tests.e2e.harness import RunningBot, running_bot
from tests.factories import answer_response
from tests.stress.conftest import STRESS_FULL, StressFigures
from tests.stress.observe import Observer, TableDiff, describe, diff, snapshot
from tests.stress.world import (
    MIXED,
    add_mixed_instrument,
    grant,
    invite_token,
    new_participant,
    open_round,
)

pytestmark = [pytest.mark.stress, pytest.mark.asyncio(loop_scope="module")]

ROLES = ("stranger", "other", "participant", "secretariat", "admin", "responsible")
LANGUAGE: dict[str, Locale] = {
    "stranger": "en",
    "other": "en",
    "participant": "es",
    "secretariat": "en",
    "admin": "es",
    "responsible": "es",
}
PARTICIPANTS = frozenset({"other", "participant"})
STAFF = frozenset({"secretariat", "admin"})
EVERYONE = frozenset(ROLES)
ADMINS = frozenset({"admin"})
RESPONSIBLE = frozenset({"responsible"})

#: The commitment the responsible person answers for, and another one's (whose reply
#: they must not touch).
REPLIED = "JAL0004"
ELSEWHERE = "JAL0005"

Changes = dict[str, TableDiff]

#: Injection attempts, each with a marker: wherever the marker shows, the whole text
#: must show as written. One word each, so they reach commands as one argument. The
#: short form tries the first four in every place; PULSO_STRESS=full all of them.
ALL_INJECTIONS = (
    "';DROP/**/TABLE/**/answers;--Zq1",
    "<b>Zq2</b>",
    "&amp;Zq3",
    "</code>Zq7<code>",
    "<script>Zq5</script>",
    "*Zq6*_x_`y`[l](http://x)",
    "&lt;Zq8&gt;&",
    "<i>Zq9",
)
INJECTIONS = ALL_INJECTIONS if STRESS_FULL else ALL_INJECTIONS[:4]
#: And some with spaces, for texts people write.
TEXT_INJECTIONS = (
    "'; DROP TABLE answers;-- Zq10",
    '<a href="tg://user?id=1">Zq11</a>',
    *INJECTIONS,
)
WORDS_IN_ANSWERS = tuple(
    f"El agua mejoró mucho en la colonia {attempt} gracias" for attempt in ALL_INJECTIONS[:5]
)


# --- the world the cells share ---------------------------------------------------------------


class World:
    """One running bot with a plan, open rounds, a closed round with answers, and a
    supply of fresh people."""

    def __init__(self, pulso: RunningBot) -> None:
        self.pulso = pulso
        self.observer = Observer(pulso)
        self.t = pulso.services.t
        self._ids = itertools.count(7_400_001)
        self.token = ""
        self.closed_round = 0
        self.group: SimGroup = pulso.secretariat_chat

    def next_id(self) -> int:
        return next(self._ids)

    async def set_up(self) -> None:
        pulso = self.pulso
        await pulso.import_example_plan()
        await add_mixed_instrument(pulso)
        self.closed_round = await self._closed_round()
        await open_round(pulso, "progress", ("JAL0001", "JAL0002"))
        await open_round(pulso, MIXED.id, ("JAL0003",))
        self.token = await invite_token(pulso, "JAL0002", "implementer", 10_000)
        await self.settle()
        assert self.observer.problems() == []

    async def _closed_round(self) -> int:
        """Round 1: five beneficiaries of JAL0001 answered (their words carry markup and
        SQL, which the summary's quotes must show as written), then it closed."""
        pulso = self.pulso
        round_id = await open_round(pulso, "progress", ("JAL0001",), ("beneficiary",), days=3)
        for words in WORDS_IN_ANSWERS:
            _, pid = await new_participant(pulso, self.next_id(), language="es")
            given = {"change": "marginal", "say": "informed", "trust": "same",
                     "what_changed": words, "may_quote": "yes"}  # fmt: skip
            await answer_response(
                pulso.services.db, pulso.clock.now(), round_id=round_id, participant_id=pid,
                answers_given=given,
            )  # fmt: skip
        await pulso.services.rounds.close(round_id, actor=None)
        return round_id

    async def settle(self) -> None:
        await self.observer.drain()

    # --- people ---------------------------------------------------------------------------

    async def target(self, memberships: tuple[tuple[str, str], ...]) -> Target:
        """A fresh participant (Spanish, demographics not answered yet), invited to the
        open rounds of their commitments."""
        user, pid = await new_participant(self.pulso, self.next_id(), memberships, language="es")
        async with self.pulso.services.db.read() as repos:
            found = await repos.responses.of_participant(pid)
        # Their invitations go out through the outbox, a moment later: on a CI machine whose
        # two cores run the whole suite that moment once took over the default 5 s.
        await self.pulso.emulator.wait_until(
            lambda: len(user.chat.messages) >= len(found), timeout=15.0
        )
        return Target(user, pid, [r.id for r in found])

    async def actor(self, role: str, target: Target | None) -> SimUser:
        pulso, language = self.pulso, LANGUAGE[role]
        if role == "participant":
            assert target is not None
            return target.user
        user_id = self.next_id()
        if role == "other":
            user, pid = await new_participant(
                pulso, user_id, (("JAL0002", "beneficiary"),), language=language
            )
            async with pulso.services.db.write() as repos:
                answered = {"age_band": "30_44", "gender": None, "municipality": "zapopan"}
                await repos.participants.set_demographics(pid, answered, pulso.clock.now())
            return user
        if role == "responsible":
            return await self.responsible_person(REPLIED, language)
        if role in STAFF:
            await grant(pulso, user_id, "admin" if role == "admin" else "secretariat")
        return pulso.emulator.user(user_id, f"Persona {user_id}", language_code=language)

    async def responsible_person(self, commitment: str, language: Locale = "es") -> SimUser:
        """Someone who answers for ``commitment`` and has no other role; they have started
        the bot, so the requests at close reach them."""
        user_id = self.next_id()
        user = self.pulso.emulator.user(
            user_id, f"Persona {user_id}", language_code=language, started=True
        )
        await self.pulso.services.accountability.grant(None, user_id, commitment)
        return user


@dataclass
class Target:
    """The participant an action is about: their user, row id and response ids."""

    user: SimUser
    pid: int
    responses: list[int]


@dataclass
class Reply:
    """What the bot did in the chat the action came from."""

    messages: list[ChatMessage] = field(default_factory=list)
    toast: str | None = None

    @property
    def texts(self) -> list[str]:
        return [m.content for m in self.messages]

    def data(self) -> list[str]:
        return [b.callback_data or "" for m in self.messages for row in m.buttons for b in row]


@dataclass
class Cell:
    world: World
    role: str
    actor: SimUser
    someone: Target | None  # the participant the action is about, if any
    group: SimGroup | None = None
    token: str = ""
    extra: dict[str, int | str] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        assert self.someone is not None, "this action is about no participant"
        return self.someone

    @property
    def locale(self) -> Locale:
        return LANGUAGE[self.role]

    @property
    def pulso(self) -> RunningBot:
        return self.world.pulso

    def t(self, key: str, **params: object) -> str:
        return plain(self.world.t(key, self.locale, **params))

    async def send(self, text: str) -> Reply:
        log = self.group.chat if self.group is not None else self.actor.chat
        mark = log.cursor
        if self.group is not None:
            await self.group.send(self.actor, text)
        else:
            await self.actor.send(text)
        await self.world.settle()
        return Reply(log.events[mark:])

    async def press(self, data: str, message_id: int | None = None) -> Reply:
        """``data`` pressed in the actor's private chat (on ``message_id``, or the newest
        bot message there; a harmless /privacy first if the bot never wrote)."""
        chat = self.actor.chat
        if message_id is None and chat.last_message is None:
            await self.actor.send("/privacy")
            await self.world.settle()
        mark = chat.cursor
        press = await self.actor.press_data(data, message_id=message_id)
        await self.world.settle()
        answer = await press.wait_answer()
        return Reply(chat.events[mark:], answer.text)

    async def survey(self, instrument: str = "progress") -> int:
        """The target's response id in the open round of ``instrument``."""
        async with self.pulso.services.db.read() as repos:
            for response_id in self.target.responses:
                response = await repos.responses.get(response_id)
                assert response is not None
                found = await repos.rounds.get(response.round_id)
                if found is not None and (found.status, found.instrument_id) == (
                    "open",
                    instrument,
                ):
                    return response_id
        raise AssertionError(f"no open {instrument} response for {self.target.pid}")

    async def target_presses(self, *data: str) -> None:
        """The target presses, in their own chat, as arrangement for the cell."""
        for item in data:
            mark = self.target.user.chat.cursor
            press = await self.target.user.press_data(item)
            await self.world.settle()
            assert (await press.wait_answer()).text is None, item
            assert self.target.user.chat.events[mark:], item


def plain(text: str) -> str:
    """HTML as a person sees it."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def count(pulso: RunningBot, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with pulso.services.db.read() as repos:
        query = sa.select(sa.func.count()).select_from(table)
        if where:
            query = query.where(*where)
        return int((await repos.conn.execute(query)).scalar_one())


def only(changes: Changes, *tables: str) -> None:
    """The action changed these tables and no others."""
    assert set(changes) <= set(tables), describe(changes)


def without_owed_reply(changes: Changes) -> Changes:
    """The changes but for the reply a survey move owes (one outbox row of kind "prompt",
    written with the change, settled once the reply went out: docs/operations.md)."""
    outbox_changes = changes.get("outbox")
    if outbox_changes is None:
        return changes
    assert not outbox_changes.removed, describe(changes)
    assert not outbox_changes.changed, describe(changes)
    assert [row["kind"] for row in outbox_changes.added] == ["prompt"], describe(changes)
    assert outbox_changes.added[0]["status"] in ("pending", "sent"), describe(changes)
    return {table: change for table, change in changes.items() if table != "outbox"}


# --- the actions --------------------------------------------------------------------------------

Arrange = Callable[[Cell], Awaitable[None]]
Do = Callable[[Cell], Awaitable[Reply]]
Expect = Callable[[Cell, Reply, Changes], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    name: str
    allowed: frozenset[str]
    do: Do
    expect: Expect
    arrange: Arrange | None = None
    refusal: str = "error.not_allowed"  # what everyone else hears
    memberships: tuple[tuple[str, str], ...] = (("JAL0001", "beneficiary"),)
    about_someone: bool = False  # acts on a participant's survey: make one for every role
    #: Who tries it: everyone, but for a forged variant of a button that has a row of its
    #: own (the gate refuses everyone else before the payload is read, as that row shows).
    roles: tuple[str, ...] = ROLES


async def _nothing(cell: Cell) -> None:
    return None


def command(text: str) -> Do:
    async def do(cell: Cell) -> Reply:
        values = {"token": cell.token, "closed": cell.world.closed_round, **cell.extra}
        return await cell.send(text.format(**values))

    return do


def press(data: str, *, instrument: str = "progress") -> Do:
    async def do(cell: Cell) -> Reply:
        response = await cell.survey(instrument) if "{r}" in data else 0
        return await cell.press(data.format(r=response, token=cell.token, **cell.extra))

    return do


def says(key: str, **params: object) -> Expect:
    """Allowed: the reply holds this text (up to its first parameter left as ``...``),
    and nothing changed."""

    async def expect(cell: Cell, reply: Reply, changes: Changes) -> None:
        filled = {name: "\x00" if value is ... else value for name, value in params.items()}
        wanted = cell.t(key, **filled).split("\x00")[0]
        assert any(wanted in text for text in reply.texts), (wanted, reply.texts)
        only(changes)

    return expect


async def _help(cell: Cell, reply: Reply, changes: Changes) -> None:
    (text,) = reply.texts
    sections = dict.fromkeys(
        ("stranger", "participant", "responsible", "secretariat", "admin"), False
    )
    for audience in sections:
        sections[audience] = cell.t(f"help.{audience}").strip()[:40] in text
    expected = {
        "stranger": {"stranger"},
        "other": {"participant"},
        "participant": {"participant"},
        "secretariat": {"secretariat"},
        "admin": {"secretariat", "admin"},
        "responsible": {"responsible"},
    }[cell.role]
    assert {a for a, shown in sections.items() if shown} == expected
    only(changes)


async def _consent_offered(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert f"c:y:{cell.token}" in reply.data(), reply.texts
    only(changes)


async def _language_buttons(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.data() == ["l:es", "l:en"]
    only(changes)


async def _survey_shown(cell: Cell, reply: Reply, changes: Changes) -> None:
    changes = without_owed_reply(changes)
    assert any(d.startswith("a:") for d in reply.data()), reply.texts
    only(changes, "responses")
    (change,) = changes["responses"].changed
    assert change[1]["status"] == "started"


async def _feedback_stored(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "feedback")
    (row,) = changes["feedback"].added
    assert row["text"] == "Las mesas vecinales sirven"
    async with cell.pulso.services.db.read() as repos:
        author = await repos.participants.by_telegram_id(cell.actor.id)
    assert author is not None
    assert row["participant_id"] == author.id


async def _mydata(cell: Cell, reply: Reply, changes: Changes) -> None:
    (message,) = reply.messages
    assert message.document is not None
    assert message.document.data is not None
    assert str(cell.actor.id) in message.document.data.decode("utf-8")
    only(changes)


async def _forget_asked(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.data() == ["f:y", "f:n"]
    only(changes)


async def _stopped(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "participants", "outbox")
    ((old, new),) = changes["participants"].changed
    assert (old["status"], new["status"], new["telegram_user_id"]) == (
        "active",
        "stopped",
        cell.actor.id,
    )


async def _resumed(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert len(reply.messages) == 1
    only(changes)


def _results(*kinds: str) -> Expect:
    async def expect(cell: Cell, reply: Reply, changes: Changes) -> None:
        assert [m.kind for m in reply.messages] == list(kinds), reply.texts
        only(changes)

    return expect


async def _exported(cell: Cell, reply: Reply, changes: Changes) -> None:
    (message,) = reply.messages
    assert message.document is not None
    assert message.document.filename == f"pulso-round-{cell.world.closed_round}-figures.csv"
    only(changes)


async def _round_created(cell: Cell, reply: Reply, changes: Changes) -> None:
    (row,) = changes["rounds"].added
    assert row["created_by"] == cell.actor.id
    assert {e["action"] for e in changes["audit_log"].added} == {"round_create"}


async def _wizard_started(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert "w:survey:progress" in reply.data()
    only(changes)


async def _schedule_created(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "schedules", "audit_log")
    (row,) = changes["schedules"].added
    assert row["created_by"] == cell.actor.id


async def _new_schedule(cell: Cell) -> None:
    created = await cell.pulso.services.rounds.add_schedule(
        instrument_id="pulse",
        commitment_ids=None,
        roles=("beneficiary",),
        cron="0 9 1 * *",
        duration=timedelta(days=7),
        actor=None,
        update_id=None,
    )
    cell.extra["schedule"] = created.id


async def _unscheduled(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "schedules", "audit_log")
    ((_, new),) = changes["schedules"].changed
    assert new["id"] == cell.extra["schedule"]
    assert not new["active"]


async def _new_round(cell: Cell) -> None:
    cell.extra["round"] = await open_round(cell.pulso, "pulse", ("JAL0006",), days=2)


async def _closed(cell: Cell, reply: Reply, changes: Changes) -> None:
    ((_, new),) = changes["rounds"].changed
    assert (new["id"], new["status"]) == (cell.extra["round"], "closed")
    assert any(e["actor"] == cell.actor.id for e in changes["audit_log"].added)


async def _cancelled(cell: Cell, reply: Reply, changes: Changes) -> None:
    ((_, new),) = changes["rounds"].changed
    assert (new["id"], new["status"]) == (cell.extra["round"], "cancelled")


async def _invited(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "invites", "audit_log")
    (row,) = changes["invites"].added
    assert (row["commitment_id"], row["role"], row["created_by"]) == (
        "JAL0004",
        "beneficiary",
        cell.actor.id,
    )
    assert any("start=" in text for text in reply.texts)


async def _new_invite(cell: Cell) -> None:
    cell.extra["spare"] = await invite_token(cell.pulso, "JAL0004")


async def _invite_revoked(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "invites", "audit_log")
    ((_, new),) = changes["invites"].changed
    assert new["revoked_at"] is not None


async def _granted(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "staff_roles", "audit_log")
    (row,) = changes["staff_roles"].added
    assert (row["telegram_user_id"], row["role"]) == (cell.extra["someone"], "secretariat")


async def _someone(cell: Cell) -> None:
    cell.extra["someone"] = cell.world.next_id()


async def _someone_staff(cell: Cell) -> None:
    await _someone(cell)
    await grant(cell.pulso, int(cell.extra["someone"]), "secretariat")


async def _revoked(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "staff_roles", "audit_log")
    (row,) = changes["staff_roles"].removed
    assert row["telegram_user_id"] == cell.extra["someone"]


async def _official(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "official_figures", "audit_log")
    assert [r["percent"] for r in changes["official_figures"].added] == [40.0]


async def _unknown_command(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.texts == [cell.t("error.unknown_command")]
    only(changes)


# --- buttons ------------------------------------------------------------------------------------


async def _open_invite(cell: Cell) -> None:
    """The actor opened the invite link, so the consent buttons are in front of them."""
    mark = cell.actor.chat.cursor
    await cell.actor.send(f"/start {cell.token}")
    await cell.world.settle()
    assert cell.actor.chat.events[mark:]


async def _joined(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    added = changes["memberships"].added
    assert [(m["commitment_id"], m["role"]) for m in added] == [("JAL0002", "implementer")]
    async with cell.pulso.services.db.read() as repos:
        person = await repos.participants.by_telegram_id(cell.actor.id)
    assert person is not None
    assert added[0]["participant_id"] == person.id
    ((old, new),) = changes["invites"].changed
    assert new["uses"] == old["uses"] + 1
    assert set(changes) <= {
        "participants", "memberships", "invite_redemptions", "invites", "responses", "outbox",
    }  # fmt: skip


async def _declined(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert cell.t("journey.consent.declined")[:30] in " ".join(reply.texts)
    only(changes)


async def _demographic(cell: Cell, reply: Reply, changes: Changes) -> None:
    only(changes, "participants")
    ((_, new),) = changes["participants"].changed
    assert new["telegram_user_id"] == cell.actor.id
    demographics = new["demographics"]
    if isinstance(demographics, str):  # the driver's JSON text
        demographics = json.loads(demographics)
    assert demographics["age_band"] == "18_29"


async def _started(cell: Cell, reply: Reply, changes: Changes) -> None:
    await _survey_shown(cell, reply, changes)


async def _start_survey(cell: Cell) -> None:
    await cell.target_presses(f"s:{await cell.survey()}")


async def _answered(cell: Cell, reply: Reply, changes: Changes) -> None:
    changes = without_owed_reply(changes)
    assert reply.toast is None
    only(changes, "answers", "responses")
    (row,) = changes["answers"].added
    assert (row["question_id"], row["choice"]) == ("change", "marginal")


async def _start_mixed(cell: Cell) -> None:
    await cell.target_presses(f"s:{await cell.survey(MIXED.id)}")


async def _toggled(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    shown = [b.text for m in reply.messages for row in m.buttons for b in row]
    assert "✅ Caminos" in shown, shown  # the question redrawn, roads ticked
    only(changes, "answers", "answer_choices", "responses")


async def _mixed_toggled(cell: Cell) -> None:
    await _start_mixed(cell)
    await cell.target_presses(f"m:{await cell.survey(MIXED.id)}:topics:water")


async def _multi_done(cell: Cell, reply: Reply, changes: Changes) -> None:
    changes = without_owed_reply(changes)
    assert reply.toast is None
    async with cell.pulso.services.db.read() as repos:
        rows = await repos.conn.execute(
            sa.select(answers.c.question_id).where(
                answers.c.response_id == await cell.survey(MIXED.id)
            )
        )
        assert [r.question_id for r in rows] == ["topics"]
    only(changes, "answers", "answer_choices", "responses")


async def _mixed_at_why(cell: Cell) -> None:
    await _mixed_toggled(cell)
    response = await cell.survey(MIXED.id)
    await cell.target_presses(f"d:{response}:topics", f"a:{response}:score:7")


async def _skipped(cell: Cell, reply: Reply, changes: Changes) -> None:
    changes = without_owed_reply(changes)
    assert reply.toast is None
    only(changes, "answers", "responses")
    (row,) = changes["answers"].added
    assert row["question_id"] == "why"
    assert row["skipped"]


async def _mixed_at_score(cell: Cell) -> None:
    await _mixed_toggled(cell)
    await cell.target_presses(f"d:{await cell.survey(MIXED.id)}:topics")


async def _went_back(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    assert "m:" in " ".join(reply.data()), reply.texts  # the multiple choice again
    only(changes, "responses")


async def _forgotten(cell: Cell, reply: Reply, changes: Changes) -> None:
    (row,) = changes["participants"].removed
    assert row["telegram_user_id"] == cell.actor.id
    assert [e["actor"] for e in changes["audit_log"].added] == [None]


async def _forget_cancelled(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    only(changes)


async def _language_set(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    assert reply.texts == [plain(cell.world.t("language.changed", "en"))]
    if cell.role in PARTICIPANTS:
        only(changes, "participants")
    elif cell.role in STAFF or cell.role == "responsible":
        only(changes, "chat_settings")
        (row,) = changes["chat_settings"].added
        assert (row["chat_id"], row["language"]) == (cell.actor.id, "en")
    else:
        only(changes)  # a stranger's choice lives in memory only


WIZARD_STEPS = (
    "w:survey:progress",
    "w:commitment:JAL0005",
    "w:commitment:done",
    "w:roles:beneficiary",
    "w:opens:now",
    "w:duration:7d",
)


def wizard(step: int, data: str) -> tuple[Arrange, Do]:
    """A press of wizard ``data``; an admin has gone through the steps before it."""

    async def arrange(cell: Cell) -> None:
        if cell.role != "admin":
            return
        mark = cell.actor.chat.cursor
        await cell.actor.send("/newround")
        await cell.world.settle()
        assert cell.actor.chat.events[mark:]
        for earlier in WIZARD_STEPS[:step]:
            press = await cell.actor.press_data(earlier)
            await cell.world.settle()
            assert (await press.wait_answer()).text is None, earlier

    async def do(cell: Cell) -> Reply:
        return await cell.press(data)

    return arrange, do


def _wizard_moved(expected_prefix: str) -> Expect:
    async def expect(cell: Cell, reply: Reply, changes: Changes) -> None:
        assert reply.toast is None
        assert any(d.startswith(expected_prefix) for d in reply.data()), reply.data()
        only(changes)

    return expect


async def _wizard_created(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    (row,) = changes["rounds"].added
    assert row["created_by"] == cell.actor.id


async def _wizard_cancelled(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert cell.t("rounds.wizard.cancelled") in reply.texts
    only(changes)


def _wizard_actions() -> list[Action]:
    steps = [
        ("survey", 0, "w:survey:progress", _wizard_moved("w:commitment:")),
        ("commitment", 1, "w:commitment:JAL0005", _wizard_moved("w:commitment:")),
        ("commitments done", 2, "w:commitment:done", _wizard_moved("w:roles:")),
        ("roles", 3, "w:roles:beneficiary", _wizard_moved("w:opens:")),
        ("opens", 4, "w:opens:now", _wizard_moved("w:duration:")),
        ("duration", 5, "w:duration:7d", _wizard_moved("w:confirm:")),
        ("create", 6, "w:confirm:create", _wizard_created),
        ("cancel", 3, "w:cancel:x", _wizard_cancelled),
    ]
    out = []
    for name, step, data, expect in steps:
        arrange, do = wizard(step, data)
        out.append(Action(f"wizard {name}", ADMINS, do, expect, arrange))
    return out


# --- closing the loop: /respond, /responses, the reply flow ---------------------------------


async def _reply_row(cell: Cell) -> sa.RowMapping:
    async with cell.pulso.services.db.read() as repos:
        query = sa.select(agency_replies).where(agency_replies.c.id == cell.extra["reply"])
        return (await repos.conn.execute(query)).mappings().one()


def _draft(row: sa.RowMapping | dict[str, object]) -> dict[str, object]:
    draft = row["draft"]
    if isinstance(draft, str):  # the driver's JSON text
        draft = json.loads(draft)
    assert isinstance(draft, dict), row
    return draft


def owed_reply(commitment: str = REPLIED) -> Arrange:
    """A round of ``commitment`` closed, so a reply is owed (``cell.extra["reply"]``) by its
    responsible person (``cell.extra["agency"]``): the actor when they answer for it,
    someone made for the cell otherwise."""

    async def arrange(cell: Cell) -> None:
        if cell.role == "responsible" and commitment == REPLIED:
            agency = cell.actor
        else:
            agency = await cell.world.responsible_person(commitment)
        # The earlier cells' responsible people no longer answer for it: each close asks
        # only this cell's (otherwise every close would ask everyone made so far).
        service = cell.pulso.services.accountability
        async with cell.pulso.services.db.read() as repos:
            earlier = (await repos.accountability.responsible()).get(commitment, [])
        for user_id in earlier:
            if user_id != agency.id:
                await service.revoke(None, user_id, commitment)
        round_id = await open_round(cell.pulso, "pulse", (commitment,), days=2)
        await cell.pulso.services.rounds.close(round_id, actor=None)
        async with cell.pulso.services.db.read() as repos:
            (found,) = [
                r
                for r in await repos.accountability.of_commitments([commitment])
                if r.round_id == round_id
            ]
        cell.extra.update(reply=found.id, agency=agency.id)
        await cell.world.settle()
        # The request reached them, with its button.
        assert f"p:{found.id}" in Reply(agency.chat.messages).data()

    return arrange


async def agency_does(cell: Cell, *steps: str) -> None:
    """The reply's responsible person presses (``p:``, ``q:``, ``u:`` payloads) or writes,
    in their own chat, as arrangement for the cell."""
    agency = cell.pulso.emulator.user(int(cell.extra["agency"]))
    for step in steps:
        mark = agency.chat.cursor
        if step[:2] in ("p:", "q:", "u:"):
            pressed = await agency.press_data(step.format(**cell.extra))
            await cell.world.settle()
            assert (await pressed.wait_answer()).text is None, step
        else:
            await agency.send(step)
            await cell.world.settle()
        assert agency.chat.events[mark:], step


def opened_reply(commitment: str = REPLIED) -> Arrange:
    """The reply is being written: its first subject waits for a stance."""

    async def arrange(cell: Cell) -> None:
        await owed_reply(commitment)(cell)
        await agency_does(cell, "p:{reply}")

    return arrange


def ready_reply(commitment: str = REPLIED) -> Arrange:
    """Every subject of the reply has a stance and its text: it waits to be published."""

    async def arrange(cell: Cell) -> None:
        await opened_reply(commitment)(cell)
        while (draft := _draft(await _reply_row(cell)))["step"] != "review":
            await agency_does(cell, f"q:{{reply}}:{draft['cursor']}:done", "Se publicó el padrón")

    return arrange


async def _published_reply(cell: Cell) -> None:
    await ready_reply()(cell)
    await agency_does(cell, "u:{reply}:y")
    assert (await _reply_row(cell))["status"] == "published"


async def _owed_listed(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert f"p:{cell.extra['reply']}" in reply.data(), reply.texts
    only(changes)


async def _owed_reported(cell: Cell, reply: Reply, changes: Changes) -> None:
    """Every reply owed (by now many: each cell closes a round), in as many messages as
    fit, the cell's among them."""
    assert reply.texts[0].startswith(cell.t("accountability.responses.head")), reply.texts
    round_id = (await _reply_row(cell))["round_id"]
    assert any(f" {round_id} · {REPLIED} " in text for text in reply.texts), reply.texts
    only(changes)


async def _someone_started(cell: Cell) -> None:
    """Someone with no role who has started the bot (once they answer for a commitment, the
    requests of the later cells' closes reach them)."""
    await _someone(cell)
    cell.pulso.emulator.user(int(cell.extra["someone"]), started=True)


async def _someone_responsible(cell: Cell) -> None:
    await _someone_started(cell)
    await cell.pulso.services.accountability.grant(None, int(cell.extra["someone"]), REPLIED)


def _responsibility(action: str) -> Expect:
    """/grant or /revoke … responsible: one row of responsible_people, audited as the
    admin's."""

    async def expect(cell: Cell, reply: Reply, changes: Changes) -> None:
        only(changes, "responsible_people", "audit_log")
        people = changes["responsible_people"]
        (row,) = people.added if action == "grant" else people.removed
        assert (row["telegram_user_id"], row["commitment_id"]) == (cell.extra["someone"], REPLIED)
        (entry,) = changes["audit_log"].added
        assert (entry["actor"], entry["action"]) == (cell.actor.id, action)
        writers = cell.pulso.services.accountability.writers
        assert (cell.extra["someone"] in writers) == (action == "grant")

    return expect


async def _reply_started(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    assert f"q:{cell.extra['reply']}:0:act" in reply.data(), reply.texts
    only(changes, "agency_replies")
    ((old, new),) = changes["agency_replies"].changed
    assert (old["status"], new["status"], new["updated_by"]) == (
        "requested",
        "draft",
        cell.actor.id,
    )


async def _stance_taken(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    only(changes, "agency_replies")
    ((_, new),) = changes["agency_replies"].changed
    draft = _draft(new)
    assert (draft["step"], draft["items"][0]["stance"]) == ("what", "act")  # type: ignore[index]


async def _reply_published(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    only(changes, "agency_replies", "audit_log", "outbox")
    ((_, new),) = changes["agency_replies"].changed
    assert (new["status"], new["published_by"]) == ("published", cell.actor.id)
    (entry,) = changes["audit_log"].added
    assert (entry["actor"], entry["action"]) == (cell.actor.id, "reply_publish")
    kinds = {row["kind"] for row in changes["outbox"].added}
    assert kinds == {"reply_published"}  # to the Secretariat's chat


async def _reply_kept(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    assert reply.texts == [cell.t("accountability.flow.kept")]
    only(changes)  # every step was saved already


async def _unchanged(cell: Cell, reply: Reply, changes: Changes) -> None:
    assert reply.toast is None
    only(changes)


def refused(key: str) -> Expect:
    """The gate let the caller through; the service refused the press with ``key`` (a
    toast), and nothing changed."""

    async def expect(cell: Cell, reply: Reply, changes: Changes) -> None:
        assert reply.toast == cell.t(key), reply.toast
        assert changes == {}, describe(changes)

    return expect


async def _nothing_allowed(cell: Cell, reply: Reply, changes: Changes) -> None:
    raise AssertionError("nobody may do this here")


def _reply_actions() -> list[Action]:
    mine, elsewhere = "reply", f"reply of {ELSEWHERE}"
    not_yours, stale = refused("error.reply.not_yours"), refused("error.reply.stale")

    def forged(name: str, data: str, expect: Expect, arrange: Arrange | None = None) -> Action:
        """A forged or stale press of a reply button, by the person who passes its gate."""
        return Action(name, RESPONSIBLE, press(data), expect, arrange, roles=("responsible",))

    return [
        Action(f"{mine} open", RESPONSIBLE, press("p:{reply}"), _reply_started, owed_reply()),
        Action(
            f"{mine} stance", RESPONSIBLE, press("q:{reply}:0:act"), _stance_taken, opened_reply()
        ),
        Action(
            f"{mine} publish", RESPONSIBLE, press("u:{reply}:y"), _reply_published, ready_reply()
        ),
        Action(
            f"{mine} keep draft", RESPONSIBLE, press("u:{reply}:n"), _reply_kept, ready_reply()
        ),
        Action(
            f"{mine} publish again",
            RESPONSIBLE,
            press("u:{reply}:y"),
            _unchanged,
            _published_reply,
        ),
        # Someone else's reply, a reply that does not exist, a step not in front of them, an
        # unfinished or a published reply: the service refuses, and nothing changes.
        forged(f"{elsewhere} open", "p:{reply}", not_yours, owed_reply(ELSEWHERE)),
        forged(f"{elsewhere} stance", "q:{reply}:0:act", not_yours, opened_reply(ELSEWHERE)),
        forged(f"{elsewhere} publish", "u:{reply}:y", not_yours, ready_reply(ELSEWHERE)),
        forged(f"{elsewhere} keep draft", "u:{reply}:n", not_yours, ready_reply(ELSEWHERE)),
        forged(f"{mine} no such", "p:999999999", stale),
        forged(f"{mine} stance before opening", "q:{reply}:0:act", stale, owed_reply()),
        forged(f"{mine} stance on another subject", "q:{reply}:7:done", stale, opened_reply()),
        forged(
            f"{mine} publish unfinished",
            "u:{reply}:y",
            refused("error.reply.incomplete"),
            opened_reply(),
        ),
        forged(
            f"{mine} stance after publishing",
            "q:{reply}:0:act",
            refused("error.reply.published"),
            _published_reply,
        ),
        # A payload Pulso never makes (no such stance): no handler takes it, from anyone.
        Action(
            f"{mine} malformed",
            frozenset(),
            press("q:1:0:maybe"),
            _nothing_allowed,
            refusal="error.stale_button",
        ),
        # A beneficiary's "did it happen?" about a question that does not exist.
        Action(
            "promise forged", PARTICIPANTS, press("v:999999999:yes"), refused("error.stale_button")
        ),
    ]


ACTIONS: list[Action] = [
    # Commands for everyone.
    Action("/start TOKEN", EVERYONE, command("/start {token}"), _consent_offered),
    Action("/help", EVERYONE, command("/help"), _help),
    Action("/language", EVERYONE, command("/language"), _language_buttons),
    Action("/privacy", EVERYONE, command("/privacy"), says("journey.privacy", min_group=...)),
    Action("/unknown", EVERYONE, command("/bogus 1 2"), _unknown_command),
    # Participants.
    Action("/survey", PARTICIPANTS, command("/survey"), _survey_shown),
    Action(
        "/feedback",
        PARTICIPANTS,
        command("/feedback Las mesas vecinales sirven"),
        _feedback_stored,
    ),
    Action("/mydata", PARTICIPANTS, command("/mydata"), _mydata),
    Action("/forget", PARTICIPANTS, command("/forget"), _forget_asked),
    Action("/stop", PARTICIPANTS, command("/stop"), _stopped),
    Action("/resume", PARTICIPANTS, command("/resume"), _resumed),
    # The Secretariat (and admins).
    Action("/summary", STAFF, command("/summary {closed}"), _results("text", "photo", "photo")),
    Action("/gap", STAFF, command("/gap {closed}"), _results("text", "photo")),
    Action("/trend", STAFF, command("/trend JAL0001"), _results("text", "photo")),
    Action("/export", STAFF, command("/export {closed}"), _exported),
    # Admins.
    Action(
        "/newround args",
        ADMINS,
        command("/newround progress JAL0004 beneficiary now 7d"),
        _round_created,
    ),
    Action("/newround wizard", ADMINS, command("/newround"), _wizard_started),
    Action(
        "/schedule",
        ADMINS,
        command('/schedule pulse all all "0 9 1 * *" 7d'),
        _schedule_created,
    ),
    Action("/schedules", ADMINS, command("/schedules"), says("rounds.schedules.header")),
    Action("/unschedule", ADMINS, command("/unschedule {schedule}"), _unscheduled, _new_schedule),
    Action("/rounds", ADMINS, command("/rounds"), says("rounds.list.header", timezone=...)),
    Action("/closeround", ADMINS, command("/closeround {round}"), _closed, _new_round),
    Action("/cancelround", ADMINS, command("/cancelround {round}"), _cancelled, _new_round),
    Action("/invite", ADMINS, command("/invite JAL0004 beneficiary 5 3"), _invited),
    Action(
        "/revokeinvite", ADMINS, command("/revokeinvite {spare}"), _invite_revoked, _new_invite
    ),
    Action("/grant", ADMINS, command("/grant {someone} secretariat"), _granted, _someone),
    Action("/revoke", ADMINS, command("/revoke {someone} secretariat"), _revoked, _someone_staff),
    Action("/official", ADMINS, command("/official JAL0002 40"), _official),
    Action(
        "/grant responsible",
        ADMINS,
        command(f"/grant {{someone}} responsible {REPLIED}"),
        _responsibility("grant"),
        _someone_started,
    ),
    Action(
        "/revoke responsible",
        ADMINS,
        command(f"/revoke {{someone}} responsible {REPLIED}"),
        _responsibility("revoke"),
        _someone_responsible,
    ),
    # A commitment's responsible people, and the Secretariat's view of what is owed.
    Action("/respond", RESPONSIBLE, command("/respond"), _owed_listed, owed_reply()),
    Action("/responses", STAFF, command("/responses"), _owed_reported, owed_reply()),
    # Buttons.
    Action("consent yes", EVERYONE, press("c:y:{token}"), _joined, _open_invite),
    Action("consent no", EVERYONE, press("c:n:{token}"), _declined, _open_invite),
    Action(
        "demographic",
        frozenset({"participant"}),
        press("g:age_band:18_29"),
        _demographic,
        refusal="error.stale_button",
    ),
    Action(
        "start survey",
        frozenset({"participant"}),
        press("s:{r}"),
        _started,
        refusal="error.stale_button",
        about_someone=True,
    ),
    Action(
        "answer",
        frozenset({"participant"}),
        press("a:{r}:change:marginal"),
        _answered,
        _start_survey,
        refusal="error.stale_button",
        about_someone=True,
    ),
    Action(
        "toggle",
        frozenset({"participant"}),
        press("m:{r}:topics:roads", instrument=MIXED.id),
        _toggled,
        _start_mixed,
        refusal="error.stale_button",
        memberships=(("JAL0003", "beneficiary"),),
        about_someone=True,
    ),
    Action(
        "done",
        frozenset({"participant"}),
        press("d:{r}:topics", instrument=MIXED.id),
        _multi_done,
        _mixed_toggled,
        refusal="error.stale_button",
        memberships=(("JAL0003", "beneficiary"),),
        about_someone=True,
    ),
    Action(
        "skip",
        frozenset({"participant"}),
        press("k:{r}:why", instrument=MIXED.id),
        _skipped,
        _mixed_at_why,
        refusal="error.stale_button",
        memberships=(("JAL0003", "beneficiary"),),
        about_someone=True,
    ),
    Action(
        "back",
        frozenset({"participant"}),
        press("b:{r}:score", instrument=MIXED.id),
        _went_back,
        _mixed_at_score,
        refusal="error.stale_button",
        memberships=(("JAL0003", "beneficiary"),),
        about_someone=True,
    ),
    Action("forget yes", PARTICIPANTS, press("f:y"), _forgotten, refusal="error.stale_button"),
    Action("forget no", EVERYONE, press("f:n"), _forget_cancelled),
    Action("language", EVERYONE, press("l:en"), _language_set),
    *_wizard_actions(),
    *_reply_actions(),
]


#: In the Secretariat's group: results for staff, and what must stay private.
GROUP_ACTIONS: list[Action] = [
    Action("/summary", STAFF, command("/summary {closed}"), _results("text", "photo", "photo")),
    Action("/gap", STAFF, command("/gap {closed}"), _results("text", "photo")),
    Action("/trend", STAFF, command("/trend JAL0001"), _results("text", "photo")),
    Action("/export", STAFF, command("/export {closed}"), _exported),
    Action("/rounds", ADMINS, command("/rounds"), says("rounds.list.header", timezone=...)),
    Action("/official", ADMINS, command("/official JAL0002 40"), _official),
    Action("/responses", STAFF, command("/responses"), _owed_reported, owed_reply()),
    Action("/help", EVERYONE, command("/help"), _help),
    *(
        Action(name, frozenset(), command(name), _nothing_allowed, refusal="error.private_only")
        for name in (
            "/start {token}",
            "/survey",
            "/feedback hola",
            "/mydata",
            "/forget",
            "/stop",
            "/respond",
        )
    ),
]


# --- the matrix ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    folder: Path = tmp_path_factory.mktemp("authorization")
    async with running_bot(f"sqlite+aiosqlite:///{folder / 'pulso.db'}") as pulso:
        # Who may do what is the question here, not Telegram's pace: a reply cell's two
        # messages to one responsible person need not wait a second between them.
        pulso.services.delivery.per_chat_interval = 0.0
        found = World(pulso)
        await found.set_up()
        try:
            yield found
        finally:
            found.observer.close()


def cells(actions: Iterable[Action], where: str) -> list[object]:
    return [
        pytest.param(action, role, id=f"{where}{action.name}-{role}")
        for action in actions
        for role in action.roles
    ]


async def run_cell(
    world: World, action: Action, role: str, figures: StressFigures, *, in_group: bool
) -> None:
    needed = action.about_someone or role == "participant"
    target = await world.target(action.memberships) if needed else None
    actor = await world.actor(role, target)
    cell = Cell(world, role, actor, target, world.group if in_group else None, world.token)
    if in_group:
        world.group.add_member(actor)
    await (action.arrange or _nothing)(cell)
    await world.settle()
    assert world.observer.problems() == []
    before = await snapshot(world.pulso.services.db)
    reply = await action.do(cell)
    after = await snapshot(world.pulso.services.db)
    assert world.observer.problems() == []
    changes = diff(before, after, ignore=("inbox",))
    if role in action.allowed:
        await action.expect(cell, reply, changes)
        return
    refusal = cell.t(action.refusal)
    shown = reply.toast if reply.toast is not None else " | ".join(reply.texts)
    assert shown == refusal, f"{role} was not refused: {shown!r}"
    assert changes == {}, describe(changes)
    figures.add("refusals checked")


@pytest.mark.parametrize(("action", "role"), cells(ACTIONS, ""))
async def test_private_chat(
    world: World, action: Action, role: str, stress_figures: StressFigures
) -> None:
    await run_cell(world, action, role, stress_figures, in_group=False)


@pytest.mark.parametrize(("action", "role"), cells(GROUP_ACTIONS, "group "))
async def test_secretariat_group(
    world: World, action: Action, role: str, stress_figures: StressFigures
) -> None:
    await run_cell(world, action, role, stress_figures, in_group=True)


# --- injection ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Injection:
    """Where an injected text goes: who types it, and how (``{p}`` is the attempt)."""

    name: str
    role: str
    template: str
    texts: tuple[str, ...] = INJECTIONS
    arrange: Arrange | None = None
    stored: str | None = None  # "feedback" or "answer": must be stored exactly as written


async def _at_text_question(cell: Cell) -> None:
    """The participant's mixed survey is at its (optional) text question."""
    await _mixed_at_why(cell)


async def _wizard_at_opens(cell: Cell) -> None:
    arrange, _ = wizard(4, "")
    await arrange(cell)


async def _wizard_at_duration(cell: Cell) -> None:
    arrange, _ = wizard(5, "")
    await arrange(cell)


INJECTION_POINTS = [
    Injection("/start TOKEN", "stranger", "/start {p}"),
    Injection("/feedback", "participant", "/feedback {p}", TEXT_INJECTIONS, stored="feedback"),
    Injection(
        "text answer",
        "participant",
        "{p}",
        TEXT_INJECTIONS,
        _at_text_question,
        stored="answer",
    ),
    Injection("/summary ROUND", "secretariat", "/summary {p}"),
    Injection("/summary COMMITMENT", "secretariat", "/summary {closed} {p}"),
    Injection("/gap", "secretariat", "/gap {p}"),
    Injection("/trend", "secretariat", "/trend {p}"),
    Injection("/export", "secretariat", "/export {p}"),
    Injection("/invite COMMITMENT", "admin", "/invite {p} beneficiary"),
    Injection("/invite ROLE", "admin", "/invite JAL0001 {p}"),
    Injection("/invite USES", "admin", "/invite JAL0001 beneficiary {p}"),
    Injection("/revokeinvite", "admin", "/revokeinvite {p}"),
    Injection("/official COMMITMENT", "admin", "/official {p} 50"),
    Injection("/official PERCENT", "admin", "/official JAL0001 {p}"),
    Injection("/grant USER", "admin", "/grant {p} secretariat"),
    Injection("/grant ROLE", "admin", "/grant 7999999 {p}"),
    Injection("/revoke", "admin", "/revoke 7999999 {p}"),
    Injection("/newround SURVEY", "admin", "/newround {p} JAL0001 beneficiary now 7d"),
    Injection("/newround COMMITMENTS", "admin", "/newround progress {p} beneficiary now 7d"),
    Injection("/newround ROLES", "admin", "/newround progress JAL0001 {p} now 7d"),
    Injection("/newround OPENS", "admin", "/newround progress JAL0001 beneficiary {p} 7d"),
    Injection("/newround DURATION", "admin", "/newround progress JAL0001 beneficiary now {p}"),
    Injection("/newround OPTION", "admin", "/newround progress all all now 7d reminders={p}"),
    Injection("/newround OPTION NAME", "admin", "/newround progress all all now 7d {p}=1"),
    Injection("/schedule SURVEY", "admin", '/schedule {p} all all "0 9 1 * *" 7d'),
    Injection("/schedule CRON", "admin", '/schedule pulse all all "{p}" 7d'),
    Injection("/unschedule", "admin", "/unschedule {p}"),
    Injection("/closeround", "admin", "/closeround {p}"),
    Injection("/cancelround", "admin", "/cancelround {p}"),
    Injection("wizard OPENS", "admin", "{p}", arrange=_wizard_at_opens),
    Injection("wizard DURATION", "admin", "{p}", arrange=_wizard_at_duration),
]


def shown_as_written(messages: Iterable[ChatMessage], attempt: str) -> None:
    """Wherever the attempt's marker shows, the whole attempt shows, exactly as typed."""
    marker = re.search(r"Zq\d+", attempt)
    assert marker is not None
    for message in messages:
        for text in (message.content, *(v.text or "" for v in message.edits)):
            if marker.group().lower() in text.lower():
                assert attempt.lower() in text.lower(), (attempt, text)


@pytest.mark.parametrize(
    "point", [pytest.param(point, id=point.name) for point in INJECTION_POINTS]
)
async def test_injection_is_stored_verbatim_and_shown_escaped(
    world: World, point: Injection, stress_figures: StressFigures
) -> None:
    """Every attempt in every free argument and text answer: stored exactly as written or
    refused with a usage line, and shown escaped (the emulator's strict HTML parser would
    refuse the message otherwise), never interpreted."""
    pulso = world.pulso
    cell: Cell | None = None
    for attempt in point.texts:
        if cell is None or point.stored == "answer":  # a text answer needs a fresh survey
            target = await world.target((("JAL0003", "beneficiary"),))
            actor = await world.actor(point.role, target)
            cell = Cell(world, point.role, actor, target, None, world.token)
            await (point.arrange or _nothing)(cell)
            await world.settle()
        answers_before = await count(pulso, answers)
        text = point.template.format(p=attempt, closed=world.closed_round)
        reply = await cell.send(text)
        assert world.observer.problems() == [], (point.name, attempt)
        assert reply.messages, (point.name, attempt)  # every attempt gets an answer
        shown_as_written(reply.messages, attempt)
        if point.stored == "feedback":
            async with pulso.services.db.read() as repos:
                rows = await repos.conn.execute(
                    sa.select(feedback.c.text)
                    .where(feedback.c.participant_id == cell.target.pid)
                    .order_by(feedback.c.id.desc())
                    .limit(1)
                )
                assert rows.scalar_one() == attempt.strip()
        if point.stored == "answer":
            async with pulso.services.db.read() as repos:
                rows = await repos.conn.execute(
                    sa.select(answers.c.text).where(
                        answers.c.response_id == await cell.survey(MIXED.id),
                        answers.c.question_id == "why",
                    )
                )
                assert rows.scalars().all() == [attempt.strip()]
            # The recap lists it; their own data, a plain-text file, has it unescaped.
            recap = await cell.press(f"a:{await cell.survey(MIXED.id)}:again:yes")
            assert recap.toast is None
            assert any(attempt.strip() in text for text in recap.texts), recap.texts
            shown_as_written(recap.messages, attempt)
            mydata = await cell.send("/mydata")
            (document,) = [m.document for m in mydata.messages if m.document is not None]
            assert document is not None
            assert document.data is not None
            assert attempt.strip() in document.data.decode("utf-8")
        assert await count(pulso, answers) >= answers_before  # every table still there
    stress_figures.add("injection cases", len(point.texts))


async def test_quotes_of_what_people_wrote_are_shown_escaped(world: World) -> None:
    """The closed round's answers carry markup and SQL; the summary quotes them as written."""
    secretary = await world.actor("secretariat", None)
    cell = Cell(world, "secretariat", secretary, None)
    reply = await cell.send(f"/summary {world.closed_round} JAL0001")
    assert world.observer.problems() == []
    quoted = [words for words in WORDS_IN_ANSWERS if any(words in t for t in reply.texts)]
    assert quoted, reply.texts
    for attempt in ALL_INJECTIONS[:5]:
        shown_as_written(reply.messages, attempt)
