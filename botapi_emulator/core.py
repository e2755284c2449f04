"""The emulator's state, shared by the HTTP side and the test-side API.

:class:`EmulatorCore` owns the bot's identity, the chats, the simulated users and
groups, the update queue, stored files, commands and pending callback queries.
The Bot API methods (:mod:`botapi_emulator.methods`) and the simulated users
(:mod:`botapi_emulator.users`) both work on it; tests use it through
:class:`botapi_emulator.BotApiEmulator`. The core creates the users and groups,
which see it only as :class:`~botapi_emulator.users.EmulatedTelegram`: this
module imports the users, never the other way round.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from botapi_emulator.errors import ButtonNotFoundError, EmulatorError, bad_request
from botapi_emulator.state import ChatLog, ChatMessage, Notifier, StoredFile
from botapi_emulator.updates import UpdateQueue
from botapi_emulator.users import Press, SimGroup, SimUser, command_entities

__all__ = ["EmulatorCore", "image_size"]

JSONDict = dict[str, Any]

_CHAT_TYPES = frozenset({"group", "supergroup", "channel"})
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` of a PNG, JPEG, GIF or WebP image, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(b"GIF8") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "gif", width, height
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp", 512, 512
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[str, int, int] | None:
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return "jpeg", width, height
        i += 2 + length
    return None


class EmulatorCore:
    """Everything the emulated Telegram knows, plus the bookkeeping to change it."""

    def __init__(
        self,
        *,
        token: str,
        bot_username: str,
        bot_first_name: str,
        clock: Callable[[], float] = time.time,
        strict_html: bool = True,
        privacy_mode: bool = True,
        callback_query_ttl: float | None = None,
        first_update_id: int = 1,
        update_history: int = 100_000,
    ) -> None:
        bot_id_text = token.split(":", 1)[0]
        if ":" not in token or not bot_id_text.isdigit():
            raise ValueError("a bot token looks like '123456:secret' (numeric bot id first)")
        self.token = token
        self.bot_id = int(bot_id_text)
        self.bot_username = bot_username
        self.clock = clock
        self.strict_html = strict_html
        self.privacy_mode = privacy_mode
        self.callback_query_ttl = callback_query_ttl
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.bot_from: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.notifier = Notifier()
        self.updates = UpdateQueue(
            first_update_id=first_update_id,
            history_limit=update_history,
            on_change=self.notifier.notify,
        )
        self.chats: dict[int, ChatLog] = {}
        self.chat_usernames: dict[str, ChatLog] = {}
        self.users: dict[int, SimUser] = {}
        self.groups: dict[int, SimGroup] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.queries: dict[str, Press] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_max_connections = 40
        #: Called when setWebhook or deleteWebhook changed the webhook (the pusher).
        self.on_webhook: Callable[[], None] | None = None
        self._file_seq = 0
        self._query_seq = 0

    def webhook_changed(self) -> None:
        if self.on_webhook is not None:
            self.on_webhook()

    def now(self) -> int:
        """The current Unix time, as Telegram dates are."""
        return int(self.clock())

    # -- participants ---------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "es",
        started: bool = False,
    ) -> SimUser:
        """The simulated user with this id, created on first use with its private chat."""
        existing = self.users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if user_id in self.chats:
            raise ValueError(f"chat id {user_id} is already taken")
        chat = ChatLog(
            user_id,
            "private",
            notifier=self.notifier,
            first_name=first_name or f"User{user_id}",
            last_name=last_name,
            username=username,
        )
        self.chats[user_id] = chat
        user = SimUser(
            self,
            chat,
            first_name=first_name or f"User{user_id}",
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        user.started = started
        self.users[user_id] = user
        if username:
            self.chat_usernames[username.lower()] = chat
        return user

    def group(
        self,
        chat_id: int,
        title: str = "",
        *,
        chat_type: str = "supergroup",
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> SimGroup:
        """The simulated group, supergroup or channel with this id (created on first use)."""
        existing = self.groups.get(chat_id)
        if existing is not None:
            return existing
        if chat_type not in _CHAT_TYPES:
            raise ValueError(f"chat_type must be one of {sorted(_CHAT_TYPES)}")
        if chat_id >= 0:
            raise ValueError("group and channel ids are negative")
        if chat_id in self.chats:
            raise ValueError(f"chat id {chat_id} is already taken")
        chat = ChatLog(
            chat_id,
            chat_type,
            notifier=self.notifier,
            title=title or f"Chat {chat_id}",
            username=username,
        )
        chat.bot_is_admin = bot_is_admin or chat_type == "channel"
        self.chats[chat_id] = chat
        group = SimGroup(self, chat)
        self.groups[chat_id] = group
        if username:
            self.chat_usernames[username.lower()] = chat
        return group

    def chat(self, chat_id: int) -> ChatLog:
        """The chat log for ``chat_id``; a KeyError lists the known chats."""
        chat = self.chats.get(chat_id)
        if chat is None:
            known = ", ".join(str(c) for c in list(self.chats)[:20])
            raise KeyError(f"no chat {chat_id}; known chats: {known or 'none'}")
        return chat

    def resolve_chat(self, chat_id: int | str) -> ChatLog:
        """The chat a request names (id or @username), or 400 chat not found."""
        chat = (
            self.chat_usernames.get(chat_id[1:].lower())
            if isinstance(chat_id, str)
            else self.chats.get(chat_id)
        )
        if chat is None:
            raise bad_request("chat not found")
        return chat

    # -- updates --------------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update; it gets the next ``update_id``. Returns the stored update."""
        if not isinstance(update, dict) or not any(k != "update_id" for k in update):
            raise EmulatorError("an update needs a kind, e.g. {'message': {...}}")
        return self.updates.push(update)

    def adopt_message(self, update: JSONDict) -> ChatMessage | None:
        """Record the message of a raw update in its chat, if the chat is known and the
        message id is new (so the bot can reply to or delete an injected message)."""
        for kind in _MESSAGE_KINDS:
            payload = update.get(kind)
            if isinstance(payload, dict):
                break
        else:
            return None
        chat_data = payload.get("chat")
        message_id = payload.get("message_id")
        if not isinstance(chat_data, dict) or not isinstance(message_id, int):
            return None
        chat_id = chat_data.get("id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or chat.get(message_id) is not None:
            return None
        text = payload.get("text")
        message = ChatMessage(
            chat=chat,
            message_id=message_id,
            date=int(payload.get("date") or self.now()),
            from_bot=False,
            sender=payload.get("from"),
            text=text if isinstance(text, str) else None,
            raw_text=text if isinstance(text, str) else None,
            entities=list(payload.get("entities") or []),
        )
        chat.skip_message_ids(message_id)
        chat.add(message)
        return message

    def new_message(
        self,
        chat: ChatLog,
        *,
        from_bot: bool,
        sender: JSONDict | None,
        text: str | None = None,
        entities: list[JSONDict] | None = None,
        reply_to: ChatMessage | None = None,
    ) -> ChatMessage:
        """A message with the chat's next id and today's date (not yet added)."""
        return ChatMessage(
            chat=chat,
            message_id=chat.next_message_id(),
            date=self.now(),
            from_bot=from_bot,
            sender=sender,
            text=text,
            raw_text=text,
            entities=entities or [],
            reply_to=reply_to,
        )

    def user_text_message(
        self,
        chat: ChatLog,
        sender: JSONDict | None,
        text: str,
        *,
        entities: list[JSONDict] | None,
        reply_to: int | None,
    ) -> ChatMessage:
        """Record a text written by a user (or a channel) in ``chat``."""
        if not text:
            raise EmulatorError("a message needs some text")
        replied: ChatMessage | None = None
        if reply_to is not None:
            replied = chat.message(reply_to)
        message = self.new_message(
            chat,
            from_bot=False,
            sender=sender,
            text=text,
            entities=command_entities(text) if entities is None else entities,
            reply_to=replied,
        )
        chat.add(message)
        return message

    def member_update(
        self, chat: ChatLog, actor: JSONDict, old_status: str, new_status: str
    ) -> JSONDict:
        """Queue a ``my_chat_member`` update: the bot's status in ``chat`` changed."""
        old: JSONDict = {"user": self.bot_from, "status": old_status}
        new: JSONDict = {"user": self.bot_from, "status": new_status}
        for member in (old, new):
            if member["status"] == "kicked":
                member["until_date"] = 0
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": actor,
                    "date": self.now(),
                    "old_chat_member": old,
                    "new_chat_member": new,
                }
            }
        )

    # -- callback queries -----------------------------------------------------------------

    def chat_instance(self, chat: ChatLog) -> str:
        """The stable ``chat_instance`` of callback queries from ``chat``."""
        return str(((chat.id * 1_000_003) ^ self.bot_id) & 0x7FFF_FFFF_FFFF_FFFF)

    def press(
        self,
        user: SimUser,
        chat: ChatLog,
        *,
        text: str | None = None,
        data: str | None = None,
        message_id: int | None = None,
    ) -> Press:
        """Press an inline button (by text) or send arbitrary callback data."""
        message = self._pressed_message(chat, text=text, data=data, message_id=message_id)
        if text is not None:
            button = message.button(text)
            if button is None:
                raise self._no_button(chat, f"no button {text!r} on message {message_id}")
            if button.callback_data is None:
                raise EmulatorError(
                    f"button {text!r} is a {button.kind} button, not a callback button"
                )
            data = button.callback_data
        assert data is not None
        self._query_seq += 1
        query_id = str(4_000_000_000_000_000 + self._query_seq)
        update = self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_api(),
                    "message": message.to_api(),
                    "chat_instance": self.chat_instance(chat),
                    "data": data,
                }
            }
        )
        press = Press(query_id, update, message, data, user, created=time.monotonic())
        self.queries[query_id] = press
        return press

    def _pressed_message(
        self, chat: ChatLog, *, text: str | None, data: str | None, message_id: int | None
    ) -> ChatMessage:
        if message_id is not None:
            message = chat.get(message_id)
            if message is None or not message.from_bot:
                raise EmulatorError(f"chat {chat.id} has no bot message {message_id}")
            if message.deleted:
                raise EmulatorError(f"message {message_id} in chat {chat.id} was deleted")
            return message
        if text is not None:
            found = chat.newest_with_button(lambda b: b.text == text)
            if found is None:
                raise self._no_button(chat, f"no message in chat {chat.id} has a button {text!r}")
            return found
        newest = chat.last_message
        if newest is None:
            raise EmulatorError(f"chat {chat.id} has no bot message to press a button on")
        return newest

    @staticmethod
    def _no_button(chat: ChatLog, detail: str) -> EmulatorError:
        available = chat.available_buttons()
        listing = "; ".join(available) if available else "no message has inline buttons"
        return ButtonNotFoundError(f"{detail}. Available: {listing}")

    # -- files ----------------------------------------------------------------------------

    def store_file(
        self,
        kind: str,
        data: bytes | None,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
        url: str | None = None,
    ) -> StoredFile:
        """Keep an uploaded file and give it a ``file_id`` and a download path."""
        self._file_seq += 1
        seq = self._file_seq
        prefix = "AgACAgEAAxk" if kind == "photo" else "BQACAgEAAxk"
        folder = "photos" if kind == "photo" else "documents"
        extension = ""
        if kind == "photo":
            extension = "." + (mime_type or "image/jpeg").split("/")[-1].replace("jpeg", "jpg")
        elif filename and "." in filename:
            extension = "." + filename.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{prefix}{self.bot_id}emu{seq:08d}",
            file_unique_id=f"AQADemu{seq:08d}",
            kind=kind,
            data=data,
            filename=filename,
            mime_type=mime_type,
            width=width,
            height=height,
            url=url,
            file_path=f"{folder}/file_{seq}{extension}",
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored
