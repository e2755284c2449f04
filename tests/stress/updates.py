"""Raw Telegram updates for the fuzz suite: hypothesis strategies, and the injector that
turns what they draw into updates the emulator hands to the bot.

Strategies draw *actions* — small frozen values that read well in a failure report
(``Tap(sender=7100003, data='a:12:change:zzz', on='missing')``) — from what the
suite knows about the world at that moment (:class:`Known`: real response ids,
questions, options, tokens, rounds). :class:`Injector` makes each action a raw
update with the exact shape Telegram sends (ids, dates, entities, the message a
button was pressed on) and queues it, so the bot meets it through ``getUpdates``
like any other. Presses are registered with the emulator so that the bot's
``answerCallbackQuery`` is accepted even for a message that never existed.

What is drawn, on purpose, goes beyond what Telegram would send: texts longer than
4,096 characters, empty texts, NUL and other control characters, callback data
longer than 64 bytes, presses on messages of another chat or on no message at all.
"""

from __future__ import annotations

import itertools
import string
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from telegram import Update

from botapi_emulator import BotApiEmulator, ChatLog, ChatMessage, Press, SimUser
from botapi_emulator.users import command_entities

JSONDict = dict[str, Any]

#: Every command Pulso knows (docs/operations.md), and /cancel of the wizard.
COMMANDS = (
    "start", "help", "language", "privacy", "survey", "feedback", "mydata", "forget",
    "stop", "resume", "summary", "gap", "trend", "export", "newround", "schedule",
    "schedules", "unschedule", "rounds", "closeround", "cancelround", "invite",
    "revokeinvite", "grant", "revoke", "official", "cancel",
)  # fmt: skip
#: Commands that write or cost a chart: drawn less often, so a batch stays quick.
HEAVY = frozenset({"summary", "gap", "trend", "export", "newround", "schedule", "mydata"})
UNKNOWN_COMMANDS = ("admin", "delete", "drop", "START", "Help", "start_", "sql", "x" * 32)

INJECTIONS = (
    "'; DROP TABLE answers;--",
    '" OR 1=1 --',
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "&amp; &lt; &gt; & < >",
    '<a href="tg://user?id=1">x</a>',
    "*bold* _it_ `code` [link](http://x)",
    "{name} {0} %s %(x)s",
    "${jndi:ldap://x}",
)
ODD = (
    "",
    " ",
    "\n\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u200f\u202eRTL\u202c",
    "مرحبا بالعالم",
    "👍🏽👨‍👩‍👧‍👦🇲🇽",
    "\ufeff",
    "Ｚａｌｇｏ" + "\u0336" * 20,
    "\r\n",
)
WORDS = (
    "all", "now", "7d", "36h", "90m", "0", "-1", "1", "2", "99999999999999999999",
    "beneficiary", "implementer", "secretariat", "admin", "progress", "pulse", "closing",
    "2026-03-05", "09:00", "2026-13-45", "25:99", "reminders=48h,-24h", "quiet=21:00-08:00",
    "results=off", "x=y", '"0 9 1 * *"', "* * * * *", "JAL0001", "jal0002", "JAL0099",
    "62,5%", "150", "1e9", "nan", "JAL0001,JAL0002", "#1",
)  # fmt: skip
WIZARD_VALUES = ("progress", "pulse", "nope", "all", "done", "beneficiary", "now", "tomorrow",
                 "7d", "0d", "create", "x", "JAL0001", "JAL0099")  # fmt: skip


# --- what the world looks like right now ------------------------------------------------------


@dataclass
class Known:
    """The values drawn references resolve to: the people sending this batch, and real
    ids to build well-formed but forged input from."""

    senders: list[int] = field(default_factory=list)
    response: list[int] = field(default_factory=list)
    question: list[str] = field(default_factory=list)
    option: list[str] = field(default_factory=list)
    demographic: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)  # demographic option codes
    token: list[str] = field(default_factory=list)
    round: list[int] = field(default_factory=list)
    schedule: list[int] = field(default_factory=list)
    user: list[int] = field(default_factory=list)
    commitment: list[str] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)

    def resolve(self, ref: Ref) -> str:
        values: list[Any] = getattr(self, ref.kind)
        return str(values[ref.index % len(values)]) if values else str(ref.index)

    def text(self, parts: Parts) -> str:
        return "".join(self.resolve(p) if isinstance(p, Ref) else p for p in parts)

    def sender(self, index: int) -> int:
        return self.senders[index % len(self.senders)]


# --- actions ---------------------------------------------------------------------------------
#
# Hypothesis draws these without looking at the world (strategies that depend on
# outside state confuse its search), so people, chats and ids are *references*:
# ``sender=3`` is the fourth of this batch's senders (modulo their number),
# ``Ref("response", 7)`` the eighth response id the suite knows of.


@dataclass(frozen=True)
class Ref:
    """The ``index``-th known value of ``kind`` (a field of :class:`Known`)."""

    kind: str
    index: int


Parts = tuple["str | Ref", ...]


@dataclass(frozen=True)
class Text:
    """A private message (a command is just a text starting with ``/``)."""

    sender: int
    text: Parts


@dataclass(frozen=True)
class GroupText:
    sender: int
    group: int
    text: Parts


@dataclass(frozen=True)
class ChannelPost:
    channel: int
    text: Parts
    edited: bool = False


@dataclass(frozen=True)
class Edit:
    """The sender edits one of their earlier private messages (``which`` picks it)."""

    sender: int
    which: int
    text: Parts


@dataclass(frozen=True)
class Tap:
    """A callback query in the sender's private chat (or in a group, if ``group`` is set).

    ``on`` says what is pressed: ``button`` (a real button of the chat, ``which`` picks
    it; ``data`` unused), ``old`` (the same, on a message Telegram no longer shows the
    bot: its date-0 stub), ``copied`` (the data of a real button of *someone else's*
    chat, pressed on a message of this one), ``own`` (``data`` on a bot message of the
    chat), ``missing`` (``data`` on no message at all) or ``inaccessible`` (``data`` on
    a date-0 stub). Telegram only lets people press messages of chats they are in, so
    forgery is in the data, never in the chat.
    """

    sender: int
    data: Parts
    on: str
    which: int = 0
    group: int | None = None


@dataclass(frozen=True)
class Member:
    """``my_chat_member``: the sender blocks/unblocks the bot, or moves it in a group."""

    sender: int
    old: str
    new: str
    group: int | None = None


@dataclass(frozen=True)
class Other:
    """An update of a kind Pulso has no handler for, or a message it does not read."""

    sender: int
    kind: str
    text: str


Action = Text | GroupText | ChannelPost | Edit | Tap | Member | Other

OTHER_KINDS = (
    "poll",
    "poll_answer",
    "inline_query",
    "chosen_inline_result",
    "message_reaction",
    "chat_join_request",
    "chat_member",
    "location",
    "contact",
    "sticker",
    "unknown_field",
    "reply_to_bot",
)


# --- strategies ------------------------------------------------------------------------------


def repeated(unit: str, size: int) -> str:
    """``unit`` repeated up to ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


_long = st.builds(
    repeated,
    st.sampled_from(("a", "ñ", "👍", "<b>", "&", "x y ", "\u200f")),
    st.sampled_from((4095, 4096, 4097, 5000, 10_000)),
)
_plain = st.one_of(
    st.text(max_size=40),
    st.sampled_from(ODD + INJECTIONS),
    st.builds(" ".join, st.lists(st.sampled_from(WORDS + INJECTIONS + ODD), max_size=6)),
    _long,
)
_index = st.integers(min_value=0, max_value=63)


def _ref(kind: str) -> st.SearchStrategy[Ref]:
    return st.builds(Ref, st.just(kind), _index)


_number = st.integers(min_value=-5, max_value=10**19).map(str)
_code = st.from_regex(r"[a-z0-9_]{1,17}", fullmatch=True)
_argument = st.one_of(
    st.sampled_from(WORDS + INJECTIONS),
    _ref("round"),
    _ref("schedule"),
    _ref("user"),
    _ref("token"),
    _ref("commitment"),
    _number,
    st.text(max_size=12),
)
_command = st.builds(
    lambda name, mention, sep, args: (f"/{name}{mention}", *(p for a in args for p in (sep, a))),
    st.one_of(
        st.sampled_from(tuple(c for c in COMMANDS if c not in HEAVY)),
        st.sampled_from(COMMANDS),
        st.sampled_from(UNKNOWN_COMMANDS),
        st.from_regex(r"[A-Za-z0-9_]{1,33}", fullmatch=True),
    ),
    st.sampled_from(("", "", "", "@pulso_test_bot", "@other_bot", "@")),
    st.sampled_from((" ", " ", "  ", "\n", "\t")),
    st.lists(_argument, max_size=7),
)
_role = st.sampled_from(("beneficiary", "implementer", "all", "secretariat", "admin", "x"))
_sp = st.just(" ")
#: Commands with the arguments they expect (real ids, or nearly): what gets past parsing.
_wellformed = st.one_of(
    st.tuples(st.sampled_from(("/grant", "/revoke")), _sp, _ref("user"), _sp, _role),
    st.tuples(st.just("/official"), _sp, _ref("commitment"), _sp, st.sampled_from(("0", "55",
              "62,5%", "100", "101"))),
    st.tuples(st.sampled_from(("/closeround", "/cancelround", "/summary", "/export", "/gap")),
              _sp, _ref("round")),
    st.tuples(st.just("/unschedule"), _sp, _ref("schedule")),
    st.tuples(st.just("/invite"), _sp, _ref("commitment"), _sp, _role, _sp,
              st.sampled_from(("1", "10", "0", "10001")), _sp,
              st.sampled_from(("1", "14", "400"))),
    st.tuples(st.sampled_from(("/revokeinvite", "/start")), _sp, _ref("token")),
    st.tuples(st.just("/newround progress "), _ref("commitment"), _sp, _role,
              st.sampled_from((" now 7d", " 2026-03-05 09:00 36h", " now 0d", " yesterday 7d",
                               " now 7d results=off", " now 7d quiet=25:00-08:00"))),
    st.tuples(st.just('/schedule pulse all all "0 9 1 * *" '),
              st.sampled_from(("7d", "90m", "x"))),
    st.tuples(st.sampled_from(("/trend ", "/feedback ")), _ref("commitment"), _sp, _plain),
    st.tuples(st.sampled_from(("/feedback", "/survey", "/mydata", "/forget", "/stop", "/resume",
                               "/rounds", "/schedules", "/newround", "/cancel", "/language"))),
)  # fmt: skip


def _field(kind: str, wrong: st.SearchStrategy[str]) -> st.SearchStrategy[str | Ref]:
    return st.one_of(_ref(kind), _ref(kind), wrong)


def _payload(*fields: str | st.SearchStrategy[str | Ref]) -> st.SearchStrategy[Parts]:
    return st.tuples(*(st.just(f) if isinstance(f, str) else f for f in fields))


_response = _field("response", _number)
_question = _field("question", _code)
_option = _field("option", st.one_of(_code, st.just("-")))
_forged = st.one_of(
    _payload("a:", _response, ":", _question, ":", _option),
    _payload("m:", _response, ":", _question, ":", _option),
    _payload(st.sampled_from(("d:", "k:", "b:")), _response, ":", _question),
    _payload("s:", _response),
    _payload(
        st.sampled_from(("c:y:", "c:y:", "c:n:")),
        _field("token", st.from_regex(r"[A-Za-z0-9_-]{16,60}", fullmatch=True)),
    ),
    _payload("g:", _field("demographic", _code), ":", _field("answer", st.just("-"))),
    _payload(st.sampled_from(("f:y", "f:n", "f:?"))),
    _payload(st.sampled_from(("l:es", "l:en", "l:pt", "l:"))),
    _payload(
        "w:",
        st.sampled_from(
            ("survey", "commitment", "roles", "opens", "duration", "confirm", "cancel")
        ),
        ":",
        st.one_of(st.sampled_from(WIZARD_VALUES), st.text(max_size=45)),
    ),
)
_data = st.one_of(_forged, _forged, st.text(max_size=70).map(lambda t: (t,)))
_texts = st.one_of(_plain.map(lambda t: (t,)), _command, _wellformed)
_statuses = st.sampled_from(("member", "kicked", "left"))


@st.composite
def actions(draw: st.DrawFn) -> Action:
    """One update from one of a batch's senders, of any kind."""
    who = draw(_index)
    which = draw(_index)
    kind = draw(st.integers(min_value=0, max_value=15))
    if kind <= 1:
        return Text(who, (draw(_plain),))
    if kind <= 3:
        return Text(who, draw(_command))
    if kind == 4:
        return Text(who, draw(_wellformed))
    if kind <= 6:
        return Tap(who, (), "button", which)
    if kind <= 8:
        on = draw(st.sampled_from(("own", "own", "copied", "missing", "inaccessible")))
        return Tap(who, draw(_data), on, which)
    if kind == 9 and draw(st.booleans()):
        return Tap(who, (), "old", which)
    if kind == 9:
        return Edit(who, which, draw(_texts))
    if kind == 10:
        return Member(who, draw(_statuses), draw(_statuses))
    if kind == 11:
        return Other(who, draw(st.sampled_from(OTHER_KINDS)), draw(_plain))
    if kind == 12:
        return GroupText(who, which, draw(_texts))
    if kind == 13:
        on = draw(st.sampled_from(("own", "button")))
        return Tap(who, draw(_data), on, which, draw(_index))
    if kind == 14:
        old = draw(st.sampled_from(("member", "administrator", "left", "kicked")))
        return Member(who, old, draw(_statuses), which)
    return ChannelPost(which, draw(_texts), draw(st.booleans()))


# --- turning actions into updates --------------------------------------------------------------


class Injector:
    """Queues the raw update for each action, shaped as Telegram would send it."""

    MISSING_MESSAGE_ID = 987_654_321

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator
        self.core = emulator.core
        self._queries = itertools.count(9_000_000_000_000_000_001)
        self._ids = itertools.count(1)
        self.presses: list[Press] = []
        self.forged_presses = 0
        #: One line per injected update, for failure reports.
        self.log: list[str] = []

    def _user(self, user_id: int) -> SimUser:
        user = self.emulator.user(user_id, started=True)
        user.started = True  # writing to the bot starts the chat, as user.send() does
        return user

    def _message(
        self, chat: ChatLog, sender: JSONDict | None, text: str, extra: JSONDict | None = None
    ) -> JSONDict:
        payload: JSONDict = {
            "message_id": chat.next_message_id(),
            "date": self.core.now(),
            "chat": chat.to_api(),
        }
        if sender is not None:
            payload["from"] = sender
        if chat.type == "channel":
            payload["sender_chat"] = chat.to_api()
        if text:
            payload["text"] = text
            entities = command_entities(text)
            if entities:
                payload["entities"] = entities
        payload.update(extra or {})
        return payload

    def inject(self, action: Action, known: Known) -> int:
        """Queue the update for ``action``, its references resolved; returns its id."""
        update = self._build(action, known)
        # A shape PTB cannot read would stop its polling for good: that is the suite's
        # mistake, not the bot's, so say so here.
        Update.de_json({"update_id": 0, **update}, None)
        update_id = int(self.emulator.inject_update(update)["update_id"])
        self.log.append(f"#{update_id} {describe_update(update)}")
        return update_id

    def _chat(self, known: Known, kind: str, index: int) -> ChatLog:
        return self.emulator.chat(int(known.resolve(Ref(kind, index))))

    def _build(self, action: Action, known: Known) -> JSONDict:
        match action:
            case Text(sender, text):
                user = self._user(known.sender(sender))
                return {"message": self._message(user.chat, user.to_api(), known.text(text))}
            case GroupText(sender, group, text):
                user, chat = self._user(known.sender(sender)), self._chat(known, "group", group)
                return {"message": self._message(chat, user.to_api(), known.text(text))}
            case ChannelPost(channel, text, edited):
                chat = self._chat(known, "channel", channel)
                if edited and chat.history:
                    payload = self._message(
                        chat, None, known.text(text), {"edit_date": self.core.now()}
                    )
                    payload["message_id"] = chat.history[-1].message_id
                    return {"edited_channel_post": payload}
                return {"channel_post": self._message(chat, None, known.text(text))}
            case Edit(sender, which, text):
                user = self._user(known.sender(sender))
                own = [m for m in user.chat.history if not m.from_bot]
                payload = self._message(
                    user.chat, user.to_api(), known.text(text), {"edit_date": self.core.now()}
                )
                if own:
                    payload["message_id"] = own[which % len(own)].message_id
                return {"edited_message": payload}
            case Tap():
                return self._press(action, known)
            case Member(sender, old, new, group):
                user = self._user(known.sender(sender))
                chat = user.chat if group is None else self._chat(known, "group", group)
                return {"my_chat_member": self._member_change(chat, user.to_api(), old, new)}
            case Other(sender, kind, text):
                return self._other(self._user(known.sender(sender)), kind, text)
        raise AssertionError(action)

    def _member_change(self, chat: ChatLog, actor: JSONDict, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            found: JSONDict = {"user": self.core.bot_from, "status": status}
            if status == "kicked":
                found["until_date"] = 0
            if status == "administrator":
                found.update(
                    can_be_edited=False,
                    is_anonymous=False,
                    can_manage_chat=True,
                    can_delete_messages=False,
                    can_manage_video_chats=False,
                    can_restrict_members=False,
                    can_promote_members=False,
                    can_change_info=False,
                    can_invite_users=False,
                    can_post_stories=False,
                    can_edit_stories=False,
                    can_delete_stories=False,
                )
            return found

        return {
            "chat": chat.to_api(),
            "from": actor,
            "date": self.core.now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def _press(self, action: Tap, known: Known) -> JSONDict:
        user = self._user(known.sender(action.sender))
        chat = user.chat if action.group is None else self._chat(known, "group", action.group)
        data = known.text(action.data)
        if action.on in ("button", "old"):
            buttons = [
                (message, button.callback_data)
                for message in chat.messages
                if not message.deleted
                for row in message.buttons
                for button in row
                if button.callback_data
            ]
            if buttons:
                message, found = buttons[action.which % len(buttons)]
                assert found is not None
                if action.on == "old":
                    stub = {"chat": chat.to_api(), "message_id": message.message_id, "date": 0}
                    return self._register(user, chat, message, found, raw=stub)
                return self._register(user, chat, message, found)
            action = Tap(action.sender, (), "missing")
        self.forged_presses += 1
        if action.on == "copied":
            others = [
                button.callback_data
                for other in self.core.chats.values()
                if other is not chat
                for message in other.messages[-20:]
                for row in message.buttons
                for button in row
                if button.callback_data
            ]
            data = others[action.which % len(others)] if others else data
        if action.on in ("own", "copied"):
            live = [m for m in chat.messages if not m.deleted]
            if live:
                return self._register(user, chat, live[-1 - action.which % len(live)], data)
        message = ChatMessage(
            chat=chat,
            message_id=self.MISSING_MESSAGE_ID + action.which,
            date=self.core.now(),
            from_bot=True,
            sender=self.core.bot_from,
            text="…",
        )
        raw = message.to_api()
        if action.on == "inaccessible":
            raw = {"chat": chat.to_api(), "message_id": message.message_id, "date": 0}
        return self._register(user, chat, message, data, raw=raw)

    def _register(
        self,
        user: SimUser,
        chat: ChatLog,
        message: ChatMessage,
        data: str,
        *,
        raw: JSONDict | None = None,
    ) -> JSONDict:
        query_id = str(next(self._queries))
        update: JSONDict = {
            "callback_query": {
                "id": query_id,
                "from": user.to_api(),
                "message": raw if raw is not None else message.to_api(),
                "chat_instance": self.core.chat_instance(chat),
                "data": data,
            }
        }
        press = Press(query_id, update, message, data, user, created=time.monotonic())
        self.core.queries[query_id] = press
        self.presses.append(press)
        return update

    def _other(self, user: SimUser, kind: str, text: str) -> JSONDict:
        chat, sender, now = user.chat, user.to_api(), self.core.now()
        short = text[:255] or "?"
        unique = str(next(self._ids))
        if kind == "poll":
            return {
                "poll": {
                    "id": unique,
                    "question": short,
                    "options": [
                        {"text": "a", "voter_count": 1, "persistent_id": "0"},
                        {"text": "b", "voter_count": 0, "persistent_id": "1"},
                    ],
                    "total_voter_count": 1,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            }
        if kind == "poll_answer":
            return {
                "poll_answer": {
                    "poll_id": unique,
                    "user": sender,
                    "option_ids": [0],
                    "option_persistent_ids": ["0"],
                }
            }
        if kind == "inline_query":
            return {"inline_query": {"id": unique, "from": sender, "query": short, "offset": ""}}
        if kind == "chosen_inline_result":
            return {"chosen_inline_result": {"result_id": unique, "from": sender, "query": short}}
        if kind == "message_reaction":
            return {
                "message_reaction": {
                    "chat": chat.to_api(),
                    "message_id": max(chat.next_message_id() - 1, 1),
                    "user": sender,
                    "date": now,
                    "old_reaction": [],
                    "new_reaction": [{"type": "emoji", "emoji": "👍"}],
                }
            }
        if kind == "chat_join_request":
            return {
                "chat_join_request": {
                    "chat": chat.to_api(),
                    "from": sender,
                    "user_chat_id": user.id,
                    "date": now,
                }
            }
        if kind == "chat_member":
            change = self._member_change(chat, sender, "left", "member")
            for member in ("old_chat_member", "new_chat_member"):
                change[member]["user"] = sender
            return {"chat_member": change}
        extra: dict[str, Any]
        if kind == "location":
            extra = {"location": {"latitude": 20.6597, "longitude": -103.3496}}
        elif kind == "contact":
            extra = {"contact": {"phone_number": "+523312345678", "first_name": short[:60]}}
        elif kind == "sticker":
            extra = {
                "sticker": {
                    "file_id": "CAAC" + unique,
                    "file_unique_id": "AQAD" + unique,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            }
        elif kind == "reply_to_bot" and chat.messages:
            extra = {"reply_to_message": chat.messages[-1].to_api(with_reply=False)}
            return {"message": self._message(chat, sender, text or "?", extra)}
        else:
            extra = {"x_future_field": {"nested": [1, 2, 3]}, "text": text or "?"}
            return {"message": self._message(chat, sender, "", extra), "x_future_kind": {}}
        return {"message": self._message(chat, sender, "", extra)}


def describe_update(update: JSONDict) -> str:
    """``kind from <user> in <chat>: <text or data>``, shortened."""
    kind = next(k for k in update if k != "update_id")
    body = update[kind]
    message = body.get("message") if kind == "callback_query" else body
    chat = (message or body).get("chat", {}).get("id")
    user = (body.get("from") or body.get("user") or {}).get("id")
    what = body.get("data") if kind == "callback_query" else body.get("text", "")
    where = f" on #{message.get('message_id')}" if kind == "callback_query" and message else ""
    return f"{kind} from {user} in {chat}{where}: {printable(str(what or ''))}"


def printable(text: str, limit: int = 60) -> str:
    """A text shortened and with control characters shown, for figures and messages."""
    shown = "".join(c if c in string.printable[:-5] or ord(c) > 127 else "·" for c in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
