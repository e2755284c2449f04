"""The Bot API methods the emulator implements, with Telegram's checks and answers.

:class:`BotApi` maps a method name (any case) to a coroutine taking the request's
:class:`~botapi_emulator.params.Params` and returning the ``result`` of the answer, or
raising :class:`~botapi_emulator.errors.ApiError`. HTTP plumbing, faults and
statistics live in :mod:`botapi_emulator.server`.

Implemented: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, logOut,
close, setMyCommands, getMyCommands, deleteMyCommands, sendMessage,
editMessageText, editMessageCaption, editMessageReplyMarkup, deleteMessage,
deleteMessages, answerCallbackQuery, sendPhoto, sendDocument, sendChatAction,
getChat, getChatMember, getChatMemberCount, getFile, setChatMenuButton,
getChatMenuButton, set/getMyDescription, set/getMyShortDescription, set/getMyName.

Text: ``parse_mode`` HTML is parsed and validated (:mod:`botapi_emulator.html`);
``Markdown``/``MarkdownV2`` texts are kept as sent, not interpreted; explicit
``entities`` are kept. Leading/trailing whitespace is trimmed as Telegram does,
and limits (4096 for texts, 1024 for captions) count the resulting plain text.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from botapi_emulator.core import EmulatorCore, image_size
from botapi_emulator.errors import ApiError, bad_request, forbidden
from botapi_emulator.html import EntityParseError, ParsedText, parse_html, trim
from botapi_emulator.markup import Markup, parse_reply_markup
from botapi_emulator.params import Params, UploadedFile
from botapi_emulator.state import ChatLog, ChatMessage, StoredFile
from botapi_emulator.users import CallbackAnswer
from botapi_emulator.webhook import DEFAULT_MAX_CONNECTIONS

__all__ = ["MAX_CAPTION_LENGTH", "MAX_TEXT_LENGTH", "BotApi", "Handler"]

JSONDict = dict[str, Any]
Handler = Callable[[Params], Awaitable[Any]]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE_CODE = re.compile(r"^([a-z]{2})?$")
_MARKUP_ERROR = bad_request("can't parse reply keyboard markup JSON object")


def scope_key(scope: Any) -> str:
    """The canonical key of a ``BotCommandScope`` (None means the default scope)."""
    if scope is None:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    normalised: JSONDict = {"type": scope["type"]}
    for field in ("chat_id", "user_id"):
        if field in scope:
            value = scope[field]
            if isinstance(value, str) and value.lstrip("-").isdigit():
                value = int(value)
            normalised[field] = value
    if scope["type"].startswith("chat") and "chat_id" not in normalised:
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps(normalised, sort_keys=True)


class BotApi:
    """Bot API methods over an :class:`EmulatorCore`."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
        table: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "logOut": self.ok,
            "close": self.ok,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatMemberCount": self.get_chat_member_count,
            "getFile": self.get_file,
            "setChatMenuButton": self.ok,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyDescription": self.set_my_description,
            "getMyDescription": self.get_my_description,
            "setMyShortDescription": self.set_my_short_description,
            "getMyShortDescription": self.get_my_short_description,
            "setMyName": self.set_my_name,
            "getMyName": self.get_my_name,
        }
        self._table: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in table.items()
        }
        self._descriptions: dict[tuple[str, str], str] = {}

    def lookup(self, method: str) -> tuple[str, Handler] | None:
        """``(canonical name, handler)`` for a method name in any case, or None."""
        return self._table.get(method.lower())

    @property
    def method_names(self) -> list[str]:
        """The canonical names of the implemented methods."""
        return [name for name, _ in self._table.values()]

    # -- helpers --------------------------------------------------------------------------

    async def ok(self, p: Params) -> bool:
        """Methods that only need to succeed."""
        return True

    def _writable(self, p: Params) -> ChatLog:
        chat = self.core.resolve_chat(p.chat_id())
        self.check_writable(chat)
        return chat

    def check_writable(self, chat: ChatLog) -> None:
        """403 when the bot may not write in ``chat`` (blocked, never started, kicked)."""
        if chat.type == "private":
            user = self.core.users[chat.id]
            if user.deactivated:
                raise forbidden("user is deactivated")
            if user.blocked:
                raise forbidden("bot was blocked by the user")
            if not user.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif not chat.bot_member:
            if chat.type == "channel":
                raise forbidden("bot is not a member of the channel chat")
            raise forbidden(f"bot was kicked from the {chat.type} chat")

    def _formatted(
        self, text: str | None, parse_mode: str | None, entities: Any, *, caption: bool
    ) -> ParsedText:
        source = text or ""
        mode = (parse_mode or "").strip().lower()
        if mode == "html":
            try:
                parsed = parse_html(source, strict=self.core.strict_html)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc.description}") from None
        elif mode in ("", "none"):
            parsed = ParsedText(source, _explicit_entities(entities))
        elif mode in ("markdown", "markdownv2"):
            parsed = ParsedText(source, [])
        else:
            raise bad_request("unsupported parse_mode")
        parsed = trim(parsed.text, parsed.entities)
        if caption:
            if len(parsed.text) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        else:
            if not parsed.text:
                raise bad_request("message text is empty")
            if len(parsed.text) > MAX_TEXT_LENGTH:
                raise bad_request("message is too long")
        return parsed

    @staticmethod
    def _markup(p: Params) -> Markup | None:
        raw = p.decoded("reply_markup", error=_MARKUP_ERROR)
        if raw is None:
            return None
        return parse_reply_markup(raw)

    def _reply_to(self, p: Params, chat: ChatLog) -> ChatMessage | None:
        raw = p.decoded("reply_parameters", error=bad_request("can't parse reply parameters"))
        allow = p.flag("allow_sending_without_reply")
        if isinstance(raw, dict):
            message_id = raw.get("message_id")
            allow = bool(raw.get("allow_sending_without_reply", allow))
            other = raw.get("chat_id")
            if other is not None and other != chat.id and str(other) != str(chat.id):
                chat = self.core.resolve_chat(Params({"chat_id": other}).chat_id())
        elif raw is None:
            message_id = p.integer("reply_to_message_id")
        else:
            raise bad_request("can't parse reply parameters")
        if message_id is None:
            return None
        try:
            target = chat.get(int(message_id))
        except (TypeError, ValueError):
            raise bad_request("can't parse reply parameters") from None
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _bot_message(self, chat: ChatLog, p: Params) -> ChatMessage:
        reply_to = self._reply_to(p, chat)
        sender = None if chat.type == "channel" else self.core.bot_from
        message = self.core.new_message(chat, from_bot=True, sender=sender, reply_to=reply_to)
        message.disable_notification = p.flag("disable_notification")
        return message

    @staticmethod
    def _apply_markup(chat: ChatLog, message: ChatMessage, markup: Markup | None) -> None:
        if markup is None:
            return
        if markup.kind == "inline_keyboard":
            if markup.buttons:
                message.reply_markup = markup.inline
                message.buttons = markup.buttons
        elif markup.kind == "keyboard":
            message.reply_keyboard = markup.keyboard
            chat.reply_keyboard = markup.keyboard
        elif markup.kind == "remove_keyboard":
            message.remove_keyboard = True
            chat.reply_keyboard = None

    def _own_message(self, chat: ChatLog, p: Params, *, action: str) -> ChatMessage:
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.get(message_id)
        if message is None or message.deleted:
            raise bad_request(f"message to {action} not found")
        if not message.from_bot and action == "edit":
            raise bad_request("message can't be edited")
        return message

    def _edit_target(self, p: Params) -> tuple[ChatLog, ChatMessage]:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._writable(p)
        return chat, self._own_message(chat, p, action="edit")

    @staticmethod
    def _inline_only(markup: Markup | None) -> Markup | None:
        if markup is not None and markup.kind != "inline_keyboard":
            raise bad_request("inline keyboard expected")
        return markup

    # -- identity, updates, webhooks ------------------------------------------------------

    async def get_me(self, p: Params) -> JSONDict:
        """``getMe``: the bot's User object."""
        return self.core.bot_user

    async def get_updates(self, p: Params) -> list[JSONDict]:
        """``getUpdates``: long polling (see :mod:`botapi_emulator.updates`)."""
        if self.core.webhook_url:
            raise ApiError(409, WEBHOOK_ACTIVE)
        allowed = p.decoded("allowed_updates")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(k, str) for k in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON object")
        return await self.core.updates.poll(
            offset=p.integer("offset") or 0,
            limit=p.integer("limit") or 100,
            timeout=p.number("timeout") or 0.0,
            allowed_updates=allowed,
        )

    async def set_webhook(self, p: Params) -> bool:
        """``setWebhook``: remembered; updates are POSTed to it only when the emulator
        delivers webhooks (:mod:`botapi_emulator.webhook`)."""
        url = p.text("url") or ""
        if url and not url.startswith("https://") and not url.startswith("http://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        connections = p.integer("max_connections") or DEFAULT_MAX_CONNECTIONS
        if not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        self.core.webhook_url = url
        self.core.webhook_secret = p.text("secret_token")
        self.core.webhook_max_connections = connections
        allowed = p.decoded("allowed_updates")
        if isinstance(allowed, list) and all(isinstance(k, str) for k in allowed):
            self.core.updates.set_allowed(allowed)
        if p.flag("drop_pending_updates"):
            self.core.updates.drop_pending()
        self.core.webhook_changed()
        return True

    async def delete_webhook(self, p: Params) -> bool:
        """``deleteWebhook``: forget the webhook; optionally drop pending updates."""
        self.core.webhook_url = ""
        self.core.webhook_changed()
        if p.flag("drop_pending_updates"):
            self.core.updates.drop_pending()
        return True

    async def get_webhook_info(self, p: Params) -> JSONDict:
        """``getWebhookInfo``."""
        info: JSONDict = {
            "url": self.core.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.core.updates.pending_count,
        }
        if self.core.updates.allowed is not None:
            info["allowed_updates"] = sorted(self.core.updates.allowed)
        return info

    # -- commands and profile -------------------------------------------------------------

    @staticmethod
    def _language(p: Params) -> str:
        code = p.text("language_code") or ""
        if not _LANGUAGE_CODE.match(code):
            raise bad_request("invalid language code specified")
        return code

    async def set_my_commands(self, p: Params) -> bool:
        """``setMyCommands``: stored per scope and language code."""
        commands = p.decoded("commands", error=bad_request("can't parse commands JSON object"))
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        stored: list[JSONDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command = item.get("command")
            description = item.get("description")
            if not isinstance(command, str) or not _COMMAND_NAME.match(command.lstrip("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("command description must be non-empty")
            stored.append({"command": command.lstrip("/"), "description": description})
        key = (scope_key(p.decoded("scope")), self._language(p))
        if stored:
            self.core.commands[key] = stored
        else:
            self.core.commands.pop(key, None)
        return True

    async def get_my_commands(self, p: Params) -> list[JSONDict]:
        """``getMyCommands`` for exactly that scope and language code."""
        key = (scope_key(p.decoded("scope")), self._language(p))
        return list(self.core.commands.get(key, []))

    async def delete_my_commands(self, p: Params) -> bool:
        """``deleteMyCommands``."""
        self.core.commands.pop((scope_key(p.decoded("scope")), self._language(p)), None)
        return True

    async def get_chat_menu_button(self, p: Params) -> JSONDict:
        """``getChatMenuButton``: always the default button."""
        return {"type": "default"}

    async def set_my_description(self, p: Params) -> bool:
        """``setMyDescription``."""
        self._descriptions[("description", self._language(p))] = p.text("description") or ""
        return True

    async def get_my_description(self, p: Params) -> JSONDict:
        """``getMyDescription``."""
        return {"description": self._descriptions.get(("description", self._language(p)), "")}

    async def set_my_short_description(self, p: Params) -> bool:
        """``setMyShortDescription``."""
        text = p.text("short_description") or ""
        self._descriptions[("short_description", self._language(p))] = text
        return True

    async def get_my_short_description(self, p: Params) -> JSONDict:
        """``getMyShortDescription``."""
        key = ("short_description", self._language(p))
        return {"short_description": self._descriptions.get(key, "")}

    async def set_my_name(self, p: Params) -> bool:
        """``setMyName``."""
        self._descriptions[("name", self._language(p))] = p.text("name") or ""
        return True

    async def get_my_name(self, p: Params) -> JSONDict:
        """``getMyName``."""
        name = self._descriptions.get(("name", self._language(p)))
        return {"name": name or self.core.bot_user["first_name"]}

    # -- messages -------------------------------------------------------------------------

    async def send_message(self, p: Params) -> JSONDict:
        """``sendMessage``."""
        chat = self._writable(p)
        raw_text = p.text("text")
        parse_mode = p.text("parse_mode")
        parsed = self._formatted(raw_text, parse_mode, p.decoded("entities"), caption=False)
        markup = self._markup(p)
        message = self._bot_message(chat, p)
        message.text = parsed.text
        message.raw_text = raw_text
        message.parse_mode = parse_mode or None
        message.entities = parsed.entities
        preview = p.decoded("link_preview_options")
        if preview is None and p.flag("disable_web_page_preview"):
            preview = {"is_disabled": True}
        message.link_preview_options = preview if isinstance(preview, dict) else None
        self._apply_markup(chat, message, markup)
        chat.add(message)
        return message.to_api()

    async def edit_message_text(self, p: Params) -> JSONDict:
        """``editMessageText``; without ``reply_markup`` the inline keyboard goes away."""
        chat, message = self._edit_target(p)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        raw_text = p.text("text")
        parse_mode = p.text("parse_mode")
        parsed = self._formatted(raw_text, parse_mode, p.decoded("entities"), caption=False)
        markup = self._inline_only(self._markup(p))
        new_markup = markup.inline if markup is not None and markup.buttons else None
        if (
            parsed.text == message.text
            and parsed.entities == message.entities
            and new_markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.edits.append(message.snapshot())
        message.text = parsed.text
        message.raw_text = raw_text
        message.parse_mode = parse_mode or None
        message.entities = parsed.entities
        message.reply_markup = new_markup
        message.buttons = markup.buttons if new_markup is not None and markup else []
        message.edit_date = self.core.now()
        chat.record_event(message)
        return message.to_api()

    async def edit_message_caption(self, p: Params) -> JSONDict:
        """``editMessageCaption``."""
        chat, message = self._edit_target(p)
        if message.photo is None and message.document is None:
            raise bad_request("there is no caption in the message to edit")
        raw_caption = p.text("caption")
        parse_mode = p.text("parse_mode")
        parsed = self._formatted(
            raw_caption, parse_mode, p.decoded("caption_entities"), caption=True
        )
        markup = self._inline_only(self._markup(p))
        new_markup = markup.inline if markup is not None and markup.buttons else None
        new_caption = parsed.text or None
        if (
            new_caption == message.caption
            and parsed.entities == message.caption_entities
            and new_markup == message.reply_markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.edits.append(message.snapshot())
        message.caption = new_caption
        message.raw_caption = raw_caption if new_caption else None
        message.parse_mode = parse_mode or None
        message.caption_entities = parsed.entities
        message.reply_markup = new_markup
        message.buttons = markup.buttons if new_markup is not None and markup else []
        message.edit_date = self.core.now()
        chat.record_event(message)
        return message.to_api()

    async def edit_message_reply_markup(self, p: Params) -> JSONDict:
        """``editMessageReplyMarkup``; no ``reply_markup`` removes the inline keyboard."""
        chat, message = self._edit_target(p)
        markup = self._inline_only(self._markup(p))
        new_markup = markup.inline if markup is not None and markup.buttons else None
        if new_markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        message.edits.append(message.snapshot())
        message.reply_markup = new_markup
        message.buttons = markup.buttons if new_markup is not None and markup else []
        message.edit_date = self.core.now()
        chat.record_event(message)
        return message.to_api()

    async def delete_message(self, p: Params) -> bool:
        """``deleteMessage``."""
        chat = self.core.resolve_chat(p.chat_id())
        message = self._own_message(chat, p, action="delete")
        message.deleted = True
        chat.changed()
        return True

    async def delete_messages(self, p: Params) -> bool:
        """``deleteMessages``: deletes those that exist."""
        chat = self.core.resolve_chat(p.chat_id())
        ids = p.decoded("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty list of at most 100 ids")
        for message_id in ids:
            message = chat.get(int(message_id))
            if message is not None:
                message.deleted = True
        chat.changed()
        return True

    async def answer_callback_query(self, p: Params) -> bool:
        """``answerCallbackQuery``: once per query; the answer is kept for the test."""
        query_id = p.text("callback_query_id") or ""
        text = p.text("text")
        press = self.core.queries.get(query_id)
        ttl = self.core.callback_query_ttl
        if press is None or (ttl is not None and time.monotonic() - press.created > ttl):
            self.core.queries.pop(query_id, None)
            raise bad_request(QUERY_TOO_OLD)
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        del self.core.queries[query_id]
        answer = CallbackAnswer(
            query_id=query_id,
            data=press.data,
            message_id=press.message.message_id,
            text=text or None,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time") or 0,
        )
        press.user.callback_answers.append(answer)
        press.resolve(answer)
        self.core.notifier.notify()
        return True

    # -- media ----------------------------------------------------------------------------

    def _input_file(self, p: Params, field: str) -> StoredFile:
        value = p.upload(field)
        if value is None or value == "":
            raise bad_request(f"there is no {field} in the request")
        if isinstance(value, str):
            if value.startswith("attach://"):
                attached = p.upload(value[len("attach://") :])
                if not isinstance(attached, UploadedFile):
                    raise bad_request(f'can\'t find attached file "{value[9:]}"')
                value = attached
            else:
                return self._existing_file(value, field)
        if not value.data:
            raise bad_request("file must be non-empty")
        if field == "photo":
            if len(value.data) > MAX_PHOTO_BYTES:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            size = image_size(value.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            return self.core.store_file(
                "photo",
                value.data,
                mime_type=f"image/{size[0]}",
                width=size[1],
                height=size[2],
            )
        if len(value.data) > MAX_DOCUMENT_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        filename = value.filename or field
        mime_type = (
            mimetypes.guess_type(filename, strict=False)[0]
            or value.content_type
            or "application/octet-stream"
        )
        return self.core.store_file("document", value.data, filename=filename, mime_type=mime_type)

    def _existing_file(self, value: str, field: str) -> StoredFile:
        known = self.core.files.get(value)
        if known is not None:
            if known.kind != field:
                raise bad_request(
                    f"can't use file of type {known.kind.capitalize()} as {field.capitalize()}"
                )
            return known
        if value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or field
            return self.core.store_file(
                field,
                None,
                filename=name,
                url=value,
                width=1 if field == "photo" else 0,
                height=1 if field == "photo" else 0,
            )
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def _send_media(self, p: Params, field: str) -> JSONDict:
        chat = self._writable(p)
        stored = self._input_file(p, field)
        raw_caption = p.text("caption")
        parse_mode = p.text("parse_mode")
        parsed = self._formatted(
            raw_caption, parse_mode, p.decoded("caption_entities"), caption=True
        )
        markup = self._markup(p)
        message = self._bot_message(chat, p)
        if field == "photo":
            message.photo = stored
        else:
            message.document = stored
        if parsed.text:
            message.caption = parsed.text
            message.raw_caption = raw_caption
            message.caption_entities = parsed.entities
            message.parse_mode = parse_mode or None
        self._apply_markup(chat, message, markup)
        chat.add(message)
        return message.to_api()

    async def send_photo(self, p: Params) -> JSONDict:
        """``sendPhoto``: an upload (must be an image), a known file_id, or a URL."""
        return await self._send_media(p, "photo")

    async def send_document(self, p: Params) -> JSONDict:
        """``sendDocument``: the bytes, file name and MIME type are kept."""
        return await self._send_media(p, "document")

    async def send_chat_action(self, p: Params) -> bool:
        """``sendChatAction``: recorded in ``chat.actions``."""
        chat = self._writable(p)
        action = p.text("action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append(action)
        return True

    async def get_file(self, p: Params) -> JSONDict:
        """``getFile``: the path under ``/file/bot<token>/`` to download a stored file."""
        stored = self.core.files.get(p.text("file_id") or "")
        if stored is None or stored.data is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # -- chats ----------------------------------------------------------------------------

    async def get_chat(self, p: Params) -> JSONDict:
        """``getChat``: a ``ChatFullInfo``."""
        chat = self.core.resolve_chat(p.chat_id())
        info = dict(chat.to_api())
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    def _bot_member(self, chat: ChatLog) -> JSONDict:
        if not chat.bot_member:
            return {"status": "kicked", "user": self.core.bot_from, "until_date": 0}
        if not chat.bot_is_admin:
            return {"status": "member", "user": self.core.bot_from}
        rights = {
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_pin_messages": True,
        }
        if chat.type == "channel":
            rights.update({"can_post_messages": True, "can_edit_messages": True})
        return {"status": "administrator", "user": self.core.bot_from, **rights}

    async def get_chat_member(self, p: Params) -> JSONDict:
        """``getChatMember``: the bot, a private chat's user, or a group member."""
        chat = self.core.resolve_chat(p.chat_id())
        user_id = p.integer("user_id")
        if user_id == self.core.bot_id:
            return self._bot_member(chat)
        user = self.core.users.get(user_id) if user_id is not None else None
        if user is None:
            raise bad_request("user not found")
        if chat.type == "private":
            if user.id != chat.id:
                raise bad_request("user not found")
            status = "kicked" if user.blocked else "member"
        else:
            status = "member" if user.id in chat.members else "left"
        member: JSONDict = {"status": status, "user": user.to_api()}
        if status == "kicked":
            member["until_date"] = 0
        return member

    async def get_chat_member_count(self, p: Params) -> int:
        """``getChatMemberCount``: members plus the bot."""
        chat = self.core.resolve_chat(p.chat_id())
        return 2 if chat.type == "private" else len(chat.members) + int(chat.bot_member)


def _explicit_entities(raw: Any) -> list[JSONDict]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    entities: list[JSONDict] = []
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("type"), str)
            or not isinstance(item.get("offset"), int)
            or not isinstance(item.get("length"), int)
        ):
            raise bad_request("can't parse MessageEntity JSON object")
        entities.append(item)
    return entities
