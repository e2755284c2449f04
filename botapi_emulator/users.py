"""Simulated people and group chats: the test side of the emulator.

A :class:`SimUser` writes to the bot in its private chat, presses buttons, edits
its messages, blocks and unblocks the bot; a :class:`SimGroup` is a group,
supergroup or channel where members write and the bot posts. Each action queues
the update Telegram would send, exactly shaped, for the bot's next ``getUpdates``.

::

    user = emu.user(1001, "Ana", language_code="es")
    await user.send("/start abc")                 # message with a bot_command entity
    reply = await user.wait_for_message()         # the bot's next message or edit
    press = await user.press("Sí, acepto")        # newest bot message with that button
    answer = await press.wait_answer()            # what answerCallbackQuery said
    user.block()                                  # the bot now gets 403 for this user

    group = emu.group(-1001, "Secretaría")
    await group.send(user, "/summary")
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Protocol

from botapi_emulator.errors import EmulatorError, EmulatorTimeoutError
from botapi_emulator.html import utf16_len
from botapi_emulator.state import ChatLog, ChatMessage, MessagePredicate

__all__ = [
    "CallbackAnswer",
    "EmulatedTelegram",
    "Press",
    "SimGroup",
    "SimUser",
    "command_entities",
]

JSONDict = dict[str, Any]

_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")


def command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities for every ``/command`` in ``text``, as Telegram adds them."""
    if "/" not in text:
        return []
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND.finditer(text)
    ]


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """What the bot answered to one button press (``answerCallbackQuery``)."""

    query_id: str
    data: str
    message_id: int
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


class Press:
    """One button press: the ``callback_query`` update and, later, the bot's answer."""

    def __init__(
        self,
        query_id: str,
        update: JSONDict,
        message: ChatMessage,
        data: str,
        user: SimUser,
        *,
        created: float,
    ) -> None:
        self.query_id = query_id
        self.update = update
        self.message = message
        self.data = data
        self.user = user
        self.created = created
        self.answer: CallbackAnswer | None = None
        self._answered: asyncio.Future[CallbackAnswer] | None = None

    def __repr__(self) -> str:
        state = f"answered {self.answer.text!r}" if self.answer else "unanswered"
        return f"<Press {self.data!r} on #{self.message.message_id}: {state}>"

    @property
    def update_id(self) -> int:
        """The ``update_id`` of the callback_query update."""
        return int(self.update["update_id"])

    @property
    def answered(self) -> bool:
        """Whether the bot has answered the query."""
        return self.answer is not None

    def resolve(self, answer: CallbackAnswer) -> None:
        """Record the bot's answer (called by ``answerCallbackQuery``)."""
        self.answer = answer
        if self._answered is not None and not self._answered.done():
            self._answered.set_result(answer)

    async def wait_answer(self, timeout: float = 5.0) -> CallbackAnswer:
        """Wait until the bot answers this press; raise :class:`EmulatorTimeoutError`."""
        if self.answer is not None:
            return self.answer
        if self._answered is None:
            self._answered = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(asyncio.shield(self._answered), timeout)
        except TimeoutError:
            raise EmulatorTimeoutError(
                f"press {self.data!r} (query {self.query_id}) was not answered within "
                f"{timeout:g}s; {self.message.chat.describe()}"
            ) from None


class EmulatedTelegram(Protocol):
    """What simulated people need of the emulated Telegram.

    :class:`~botapi_emulator.core.EmulatorCore` is the one implementation; the core
    creates users and groups, so this module never imports it (the arrow points
    from the core to the users only).
    """

    bot_username: str
    privacy_mode: bool
    bot_from: JSONDict

    def now(self) -> int: ...

    def push_update(self, update: JSONDict) -> JSONDict: ...

    def user_text_message(
        self,
        chat: ChatLog,
        sender: JSONDict | None,
        text: str,
        *,
        entities: list[JSONDict] | None,
        reply_to: int | None,
    ) -> ChatMessage: ...

    def member_update(
        self, chat: ChatLog, actor: JSONDict, old_status: str, new_status: str
    ) -> JSONDict: ...

    def press(
        self,
        user: SimUser,
        chat: ChatLog,
        *,
        text: str | None = None,
        data: str | None = None,
        message_id: int | None = None,
    ) -> Press: ...


class _ChatView:
    """Reading helpers shared by users and groups."""

    chat: ChatLog

    @property
    def messages(self) -> list[ChatMessage]:
        """The bot's messages in this chat, in order."""
        return self.chat.messages

    @property
    def last_message(self) -> ChatMessage | None:
        """The bot's newest message here that was not deleted."""
        return self.chat.last_message

    def texts(self) -> list[str]:
        """Plain texts of the bot's messages here."""
        return self.chat.texts()

    async def wait_for_message(
        self,
        timeout: float = 5.0,
        predicate: MessagePredicate | None = None,
        *,
        since: int | None = None,
    ) -> ChatMessage:
        """The bot's next message or edit in this chat (see :meth:`ChatLog.wait_for_message`)."""
        return await self.chat.wait_for_message(timeout, predicate, since=since)


class SimUser(_ChatView):
    """A Telegram user talking to the bot in a private chat (whose id is the user's)."""

    def __init__(
        self,
        core: EmulatedTelegram,
        chat: ChatLog,
        *,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        self._core = core
        self.chat = chat
        self.id = chat.id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = False
        self.blocked = False
        self.deactivated = False
        self.callback_answers: list[CallbackAnswer] = []
        self.presses: list[Press] = []
        self._api: JSONDict | None = None

    def __repr__(self) -> str:
        return f"<SimUser {self.id} {self.first_name!r}>"

    def to_api(self) -> JSONDict:
        """The user as the Bot API's ``User`` object."""
        if self._api is None:
            api: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
            if self.last_name:
                api["last_name"] = self.last_name
            if self.username:
                api["username"] = self.username
            if self.language_code:
                api["language_code"] = self.language_code
            self._api = api
        return self._api

    def _check_can_write(self) -> None:
        if self.blocked:
            raise EmulatorError(f"user {self.id} has blocked the bot; call unblock() first")
        if self.deactivated:
            raise EmulatorError(f"user {self.id} is deactivated")

    async def send(
        self,
        text: str,
        *,
        entities: list[JSONDict] | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """Write ``text`` to the bot; returns the queued ``message`` update.

        ``/commands`` get ``bot_command`` entities unless ``entities`` is given;
        ``reply_to`` is the id of a message in this chat being replied to.
        """
        self._check_can_write()
        self.started = True
        message = self._core.user_text_message(
            self.chat, self.to_api(), text, entities=entities, reply_to=reply_to
        )
        return self._core.push_update({"message": message.to_api()})

    async def start(self, payload: str | None = None) -> JSONDict:
        """Send ``/start`` (with a deep-link payload if given)."""
        return await self.send(f"/start {payload}" if payload else "/start")

    async def edit(self, message_id: int, text: str) -> JSONDict:
        """Edit one of this user's messages; returns the ``edited_message`` update."""
        self._check_can_write()
        message = self.chat.message(message_id)
        if message.from_bot:
            raise EmulatorError(f"message {message_id} is the bot's, a user cannot edit it")
        if message.deleted:
            raise EmulatorError(f"message {message_id} was deleted")
        message.edits.append(message.snapshot())
        message.text = message.raw_text = text
        message.entities = command_entities(text)
        message.edit_date = self._core.now()
        self.chat.changed()
        return self._core.push_update({"edited_message": message.to_api()})

    async def press(self, text: str, *, message_id: int | None = None) -> Press:
        """Press the inline button labelled exactly ``text``.

        Without ``message_id`` the newest bot message showing such a button is used;
        :class:`ButtonNotFoundError` lists the buttons available otherwise.
        """
        self._check_can_write()
        press = self._core.press(self, self.chat, text=text, message_id=message_id)
        self.presses.append(press)
        return press

    async def press_data(self, data: str, *, message_id: int | None = None) -> Press:
        """Send a callback query with arbitrary ``data`` (a forged press), from the
        message ``message_id`` or the bot's newest message."""
        self._check_can_write()
        press = self._core.press(self, self.chat, data=data, message_id=message_id)
        self.presses.append(press)
        return press

    def block(self, *, notify: bool = True) -> None:
        """Block the bot: its sends to this user now fail with 403. Telegram tells the
        bot with a ``my_chat_member`` update (status ``kicked``) unless ``notify=False``."""
        if self.blocked:
            return
        self.blocked = True
        if notify:
            self._core.member_update(self.chat, self.to_api(), "member", "kicked")

    def unblock(self, *, notify: bool = True) -> None:
        """Unblock the bot (``my_chat_member`` back to ``member`` unless ``notify=False``)."""
        if not self.blocked:
            return
        self.blocked = False
        if notify:
            self._core.member_update(self.chat, self.to_api(), "kicked", "member")

    def deactivate(self) -> None:
        """Delete the account: sends fail with 403 ``user is deactivated``."""
        self.deactivated = True


class SimGroup(_ChatView):
    """A group, supergroup or channel the bot is in.

    With privacy mode on (Telegram's default for bots that are not admins) only
    commands, replies to the bot and mentions of it reach the bot; other messages
    are recorded in ``chat.history`` but produce no update.
    """

    def __init__(self, core: EmulatedTelegram, chat: ChatLog) -> None:
        self._core = core
        self.chat = chat
        self.id = chat.id
        self.title = chat.title or ""
        self.type = chat.type

    def __repr__(self) -> str:
        return f"<SimGroup {self.type} {self.id} {self.title!r}>"

    def add_member(self, user: SimUser) -> None:
        """Make ``user`` a member (``send`` does this on first use)."""
        self.chat.members.add(user.id)

    def _delivered(self, message: ChatMessage) -> bool:
        core = self._core
        if not self.chat.bot_member:
            return False
        if self.chat.bot_is_admin or not core.privacy_mode:
            return True
        if message.reply_to is not None and message.reply_to.from_bot:
            return True
        text = message.text or ""
        mention = f"@{core.bot_username}".lower()
        if mention in text.lower():
            return True
        for entity in message.entities:
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = text[: entity["length"]]
                if "@" not in command or command.lower().endswith(mention):
                    return True
        return False

    async def send(
        self,
        user: SimUser,
        text: str,
        *,
        entities: list[JSONDict] | None = None,
        reply_to: int | None = None,
    ) -> JSONDict | None:
        """``user`` writes ``text`` in the group. Returns the ``message`` update, or None
        when privacy mode keeps it from the bot. In a channel this is a ``channel_post``
        signed by ``user``."""
        if self.type == "channel":
            return await self.post(text, author_signature=user.first_name)
        self.add_member(user)
        message = self._core.user_text_message(
            self.chat, user.to_api(), text, entities=entities, reply_to=reply_to
        )
        if not self._delivered(message):
            return None
        return self._core.push_update({"message": message.to_api()})

    async def post(self, text: str, *, author_signature: str | None = None) -> JSONDict:
        """Post ``text`` in a channel; returns the ``channel_post`` update."""
        if self.type != "channel":
            raise EmulatorError(f"{self.id} is a {self.type}; post() is for channels")
        message = self._core.user_text_message(self.chat, None, text, entities=None, reply_to=None)
        payload = message.to_api()
        if author_signature:
            payload["author_signature"] = author_signature
        return self._core.push_update({"channel_post": payload})

    async def press(self, user: SimUser, text: str, *, message_id: int | None = None) -> Press:
        """``user`` presses the inline button ``text`` on a bot message in this chat."""
        self.add_member(user)
        press = self._core.press(user, self.chat, text=text, message_id=message_id)
        user.presses.append(press)
        return press

    async def press_data(
        self, user: SimUser, data: str, *, message_id: int | None = None
    ) -> Press:
        """``user`` sends a callback query with arbitrary ``data`` from this chat."""
        self.add_member(user)
        press = self._core.press(user, self.chat, data=data, message_id=message_id)
        user.presses.append(press)
        return press

    def remove_bot(self, by: SimUser | None = None, *, notify: bool = True) -> None:
        """Remove the bot from the chat: sends get 403; ``my_chat_member`` says so."""
        if not self.chat.bot_member:
            return
        self.chat.bot_member = False
        if notify:
            actor = by.to_api() if by is not None else self._core.bot_from
            old = "administrator" if self.chat.bot_is_admin else "member"
            self._core.member_update(self.chat, actor, old, "kicked")

    def add_bot(self, by: SimUser | None = None, *, notify: bool = True) -> None:
        """Add the bot back to the chat."""
        if self.chat.bot_member:
            return
        self.chat.bot_member = True
        if notify:
            actor = by.to_api() if by is not None else self._core.bot_from
            new = "administrator" if self.chat.bot_is_admin else "member"
            self._core.member_update(self.chat, actor, "kicked", new)
