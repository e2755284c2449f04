"""What the emulated Telegram knows: chats, their messages, stored files, and waiting.

* :class:`ChatLog` is one chat as the emulator saw it: every bot message in order
  (``messages``), every message of anyone (``history``), the reply keyboard
  currently shown, the chat actions, and ``wait_for_message`` to await the bot's
  next message or edit.
* :class:`ChatMessage` is one message with its plain text, the raw text as sent
  and its ``parse_mode``, buttons, photo/document, edit history and deleted flag.
  ``to_api()`` renders it exactly as the Bot API returns a ``Message``.
* :class:`StoredFile` is an uploaded photo or document (bytes, name, MIME type).
* :class:`Notifier` wakes ``wait_until`` predicates after every change; it costs
  nothing while nobody waits.

Tests reach these through :class:`botapi_emulator.BotApiEmulator` (``emu.chat(id)``,
``user.chat``), never by building them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botapi_emulator.errors import EmulatorTimeoutError
from botapi_emulator.markup import Button

__all__ = [
    "ChatLog",
    "ChatMessage",
    "MessagePredicate",
    "MessageVersion",
    "Notifier",
    "StoredFile",
]

JSONDict = dict[str, Any]
MessagePredicate = Callable[["ChatMessage"], bool]


class Notifier:
    """Event-driven ``wait_until``: predicates are re-checked after each change."""

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def notify(self) -> None:
        """Re-check the predicates of everyone waiting; wake those now satisfied."""
        if not self._waiters:
            return
        still: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            try:
                satisfied = predicate()
            except Exception as exc:  # surface a broken predicate to its waiter
                future.set_exception(exc)
                continue
            if satisfied:
                future.set_result(None)
            else:
                still.append((predicate, future))
        self._waiters = still

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float,
        describe: Callable[[], str] | None = None,
    ) -> None:
        """Return once ``predicate()`` is true; raise :class:`EmulatorTimeoutError` after
        ``timeout`` seconds, with ``describe()`` in the message."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            detail = f": {describe()}" if describe is not None else ""
            raise EmulatorTimeoutError(f"condition not met within {timeout:g}s{detail}") from None


@dataclass(slots=True, eq=False)
class StoredFile:
    """A file the bot uploaded (or referred to by URL / file_id)."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "document"
    data: bytes | None
    filename: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    url: str | None = None
    file_path: str = ""

    @property
    def size(self) -> int:
        """Size in bytes (0 when only a URL is known)."""
        return len(self.data) if self.data is not None else 0

    def photo_sizes(self) -> list[JSONDict]:
        """The ``PhotoSize`` array Telegram returns for this photo."""
        size: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
        }
        if self.data is not None:
            size["file_size"] = self.size
        return [size]

    def document_dict(self) -> JSONDict:
        """The ``Document`` object Telegram returns for this file."""
        doc: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.filename:
            doc["file_name"] = self.filename
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        if self.data is not None:
            doc["file_size"] = self.size
        return doc


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """How a message looked before one of its edits."""

    text: str | None
    raw_text: str | None
    parse_mode: str | None
    entities: list[JSONDict]
    caption: str | None
    reply_markup: JSONDict | None
    buttons: list[list[Button]]
    edit_date: int | None


@dataclass(slots=True, eq=False)
class ChatMessage:
    """One message in a chat, from the bot or from a user.

    ``text`` is the plain text as the user sees it (tags removed, entities decoded);
    ``raw_text`` the text as the bot sent it; ``parse_mode`` what it was sent with.
    Media messages have ``caption``/``raw_caption`` and ``photo`` or ``document``.
    ``buttons`` are the rows of the inline keyboard currently shown.
    """

    chat: ChatLog
    message_id: int
    date: int
    from_bot: bool
    sender: JSONDict | None  # the "from" User; None for channel posts
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    remove_keyboard: bool = False
    photo: StoredFile | None = None
    document: StoredFile | None = None
    reply_to: ChatMessage | None = None
    link_preview_options: JSONDict | None = None
    disable_notification: bool = False
    edit_date: int | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        """The id of the chat the message is in."""
        return self.chat.id

    @property
    def html(self) -> str | None:
        """The raw text or caption if it was sent with ``parse_mode="HTML"``."""
        if self.parse_mode is None or self.parse_mode.lower() != "html":
            return None
        return self.raw_text if self.raw_text is not None else self.raw_caption

    @property
    def content(self) -> str:
        """The plain text, or the caption of a media message, or ``""``."""
        if self.text is not None:
            return self.text
        return self.caption or ""

    @property
    def kind(self) -> str:
        """``"text"``, ``"photo"`` or ``"document"``."""
        if self.photo is not None:
            return "photo"
        if self.document is not None:
            return "document"
        return "text"

    def button_texts(self) -> list[str]:
        """The texts of the inline buttons, row by row."""
        return [button.text for row in self.buttons for button in row]

    def button(self, text: str) -> Button | None:
        """The inline button with exactly this text, if any."""
        for row in self.buttons:
            for button in row:
                if button.text == text:
                    return button
        return None

    def snapshot(self) -> MessageVersion:
        """The current look of the message, kept in ``edits`` before it changes."""
        return MessageVersion(
            text=self.text,
            raw_text=self.raw_text if self.text is not None else self.raw_caption,
            parse_mode=self.parse_mode,
            entities=self.entities if self.text is not None else self.caption_entities,
            caption=self.caption,
            reply_markup=self.reply_markup,
            buttons=self.buttons,
            edit_date=self.edit_date,
        )

    def describe(self) -> str:
        """A one-line summary for error messages."""
        content = self.content.replace("\n", " ")
        if len(content) > 80:
            content = content[:77] + "..."
        who = "bot" if self.from_bot else "user"
        parts = [f"#{self.message_id} ({who}, {self.kind}) {content!r}"]
        texts = self.button_texts()
        if texts:
            parts.append(f"buttons {texts}")
        if self.edit_date is not None:
            parts.append(f"edited {len(self.edits)}x")
        if self.deleted:
            parts.append("deleted")
        return " ".join(parts)

    def to_api(self, *, with_reply: bool = True) -> JSONDict:
        """The message as the Bot API's ``Message`` object."""
        out: JSONDict = {"message_id": self.message_id}
        if self.sender is not None:
            out["from"] = self.sender
        if self.chat.type == "channel":
            out["sender_chat"] = self.chat.to_api()
        out["chat"] = self.chat.to_api()
        out["date"] = self.date
        if self.edit_date is not None:
            out["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            out["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            out["text"] = self.text
            if self.entities:
                out["entities"] = self.entities
        if self.photo is not None:
            out["photo"] = self.photo.photo_sizes()
        if self.document is not None:
            out["document"] = self.document.document_dict()
        if self.caption is not None:
            out["caption"] = self.caption
            if self.caption_entities:
                out["caption_entities"] = self.caption_entities
        if self.reply_markup is not None:
            out["reply_markup"] = self.reply_markup
        return out


@dataclass(slots=True, eq=False)
class _MessageWaiter:
    since: int
    predicate: MessagePredicate | None
    future: asyncio.Future[ChatMessage]


class ChatLog:
    """One chat: its identity and everything that happened in it.

    ``messages`` holds the bot's messages in order (deleted ones included, with
    ``deleted=True``); ``history`` every message of anyone. ``events`` lists the
    bot's messages and edits in the order they happened; ``cursor`` is its length,
    so ``wait_for_message(since=cursor)`` sees exactly what came after.
    """

    def __init__(
        self,
        chat_id: int,
        chat_type: str,
        *,
        notifier: Notifier,
        title: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self.id = chat_id
        self.type = chat_type
        self.title = title
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.messages: list[ChatMessage] = []
        self.history: list[ChatMessage] = []
        self.events: list[ChatMessage] = []
        self.actions: list[str] = []
        self.reply_keyboard: list[list[str]] | None = None
        self.members: set[int] = set()
        self.bot_member = True
        self.bot_is_admin = False
        self.last_error: str | None = None
        self._by_id: dict[int, ChatMessage] = {}
        self._next_message_id = 1
        self._notifier = notifier
        self._waiters: list[_MessageWaiter] = []
        self._api: JSONDict | None = None

    def __repr__(self) -> str:
        name = self.title or self.first_name or ""
        return f"<ChatLog {self.type} {self.id} {name!r}: {len(self.messages)} bot messages>"

    # -- identity -------------------------------------------------------------------------

    def to_api(self) -> JSONDict:
        """The chat as the Bot API's ``Chat`` object."""
        if self._api is None:
            api: JSONDict = {"id": self.id, "type": self.type}
            if self.type == "private":
                api["first_name"] = self.first_name or ""
                if self.last_name:
                    api["last_name"] = self.last_name
            else:
                api["title"] = self.title or ""
            if self.username:
                api["username"] = self.username
            self._api = api
        return self._api

    # -- messages -------------------------------------------------------------------------

    def next_message_id(self) -> int:
        """Allocate the next message id of this chat (users and bot share the sequence)."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    def skip_message_ids(self, used: int) -> None:
        """Make sure later ids are above ``used`` (a message id set from outside)."""
        self._next_message_id = max(self._next_message_id, used + 1)

    def add(self, message: ChatMessage) -> None:
        """Record a new message; a bot message wakes waiters."""
        self._by_id[message.message_id] = message
        self.history.append(message)
        if message.from_bot:
            self.messages.append(message)
            self.record_event(message)
        else:
            self._notifier.notify()

    def record_event(self, message: ChatMessage) -> None:
        """Note that the bot sent or edited ``message``; wake matching waiters."""
        self.events.append(message)
        if self._waiters:
            index = len(self.events) - 1
            still: list[_MessageWaiter] = []
            for waiter in self._waiters:
                if waiter.future.done():
                    continue
                if index < waiter.since:
                    still.append(waiter)
                    continue
                try:
                    matched = waiter.predicate is None or waiter.predicate(message)
                except Exception as exc:
                    waiter.future.set_exception(exc)
                    continue
                if matched:
                    waiter.future.set_result(message)
                else:
                    still.append(waiter)
            self._waiters = still
        self._notifier.notify()

    def changed(self) -> None:
        """Something other than a message or edit changed (e.g. a deletion)."""
        self._notifier.notify()

    def get(self, message_id: int) -> ChatMessage | None:
        """The message with this id (deleted or not), or None."""
        return self._by_id.get(message_id)

    def message(self, message_id: int) -> ChatMessage:
        """The message with this id; a KeyError lists what exists."""
        found = self._by_id.get(message_id)
        if found is None:
            known = ", ".join(str(m.message_id) for m in self.history[-10:])
            raise KeyError(f"chat {self.id} has no message {message_id} (latest: {known})")
        return found

    @property
    def last_message(self) -> ChatMessage | None:
        """The bot's newest message that was not deleted."""
        for message in reversed(self.messages):
            if not message.deleted:
                return message
        return None

    def texts(self, *, include_deleted: bool = False) -> list[str]:
        """Plain texts (captions for media) of the bot's messages, in order."""
        return [m.content for m in self.messages if include_deleted or not m.deleted]

    def find(self, contains: str) -> list[ChatMessage]:
        """The bot's messages whose plain text or caption contains ``contains``."""
        return [m for m in self.messages if contains in m.content]

    def newest_with_button(self, predicate: Callable[[Button], bool]) -> ChatMessage | None:
        """The bot's newest non-deleted message with a button matching ``predicate``."""
        for message in reversed(self.messages):
            if message.deleted:
                continue
            for row in message.buttons:
                if any(predicate(button) for button in row):
                    return message
        return None

    def available_buttons(self, limit: int = 5) -> list[str]:
        """Descriptions of the newest messages that have buttons (for error messages)."""
        out: list[str] = []
        for message in reversed(self.messages):
            if message.buttons and not message.deleted:
                out.append(f"#{message.message_id}: {message.button_texts()}")
                if len(out) >= limit:
                    break
        return out

    # -- waiting --------------------------------------------------------------------------

    @property
    def cursor(self) -> int:
        """Position after the latest bot message/edit, for ``wait_for_message(since=...)``."""
        return len(self.events)

    def describe(self) -> str:
        """Last bot message and last error, for timeout messages."""
        parts = [f"chat {self.id} ({self.title or self.first_name or self.type})"]
        last = self.events[-1] if self.events else None
        parts.append(f"last bot message: {last.describe()}" if last else "no bot message yet")
        if self.last_error:
            parts.append(f"last failed request: {self.last_error}")
        return "; ".join(parts)

    async def wait_for_message(
        self,
        timeout: float = 5.0,
        predicate: MessagePredicate | None = None,
        *,
        since: int | None = None,
    ) -> ChatMessage:
        """Wait for the bot's next message or edit in this chat and return it.

        Only events after ``since`` count (default: now, i.e. ``self.cursor``). With a
        ``predicate``, events it rejects are skipped. On timeout raises
        :class:`EmulatorTimeoutError` saying what was last received.
        """
        start = self.cursor if since is None else since
        for message in self.events[start:]:
            if predicate is None or predicate(message):
                return message
        future: asyncio.Future[ChatMessage] = asyncio.get_running_loop().create_future()
        waiter = _MessageWaiter(start, predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            seen = len(self.events) - start
            rejected = f", {seen} arrived but none matched the predicate" if seen else ""
            raise EmulatorTimeoutError(
                f"no new bot message within {timeout:g}s{rejected}; {self.describe()}"
            ) from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
