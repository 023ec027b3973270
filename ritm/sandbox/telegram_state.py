"""The stand-in's world: chats, users, what the bot sent, pending updates — and their Bot API JSON.

Everything here is plain in-memory state mutated from one event loop; the HTTP layer and the test API
both go through it, so what a test injects is exactly what the bot receives over the wire.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from ritm.sandbox.telegram_html import utf16_len
from ritm.sandbox.telegram_records import CallbackQuery, Changes, Chat, Json, SentMessage, StoredFile


class TelegramWorld:
    """All state of one stand-in bot."""

    def __init__(
        self,
        bot_id: int,
        *,
        bot_username: str = "ritm_standin_bot",
        known_chats: set[int] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.wall_clock = wall_clock
        self.bot_user: Json = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Ritm",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.known_chats = known_chats  # None: every positive id is an existing private chat
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, Json] = {}
        self.missing: set[int] = set()
        self.blocked: set[int] = set()
        self.sent: dict[int, list[SentMessage]] = {}
        self.sent_order: list[SentMessage] = []
        self.updates: list[Json] = []
        self.next_update_id = 1
        self.callbacks: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self.files: dict[str, StoredFile] = {}
        self.webhook_url = ""
        self.changed = Changes()  # notified on every new update or sent message

    def now(self) -> int:
        return int(self.wall_clock())

    # ---- chats and users -------------------------------------------------------------------------
    def resolve_chat(self, chat_id: int) -> Chat | None:
        """The chat the bot may write to, or None when Telegram would answer "chat not found"."""
        if chat_id in self.missing:
            return None
        chat = self.chats.get(chat_id)
        if chat is not None:
            return chat
        exists = chat_id > 0 if self.known_chats is None else chat_id in self.known_chats
        return self.add_chat(chat_id) if exists else None

    def add_chat(self, chat_id: int, *, chat_type: str | None = None, title: str | None = None) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            kind = chat_type or ("private" if chat_id > 0 else "group")
            user = self.users.get(chat_id, {})
            chat = Chat(
                chat_id,
                kind,
                first_name=user.get("first_name"),
                title=title,
                username=user.get("username"),
                language_code=user.get("language_code"),
            )
            self.chats[chat_id] = chat
        self.missing.discard(chat_id)
        return chat

    def user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> Json:
        user = self.users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        )
        for key, value in (
            ("first_name", first_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        return dict(user)

    # ---- what the bot sent -----------------------------------------------------------------------
    def record(self, message: SentMessage) -> SentMessage:
        self.sent.setdefault(message.chat_id, []).append(message)
        self.sent_order.append(message)
        self.changed.notify()
        return message

    def next_message_id(self, chat: Chat) -> int:
        chat.last_message_id += 1
        return chat.last_message_id

    def find_sent(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self.sent.get(chat_id, []):
            if message.message_id == message_id and not message.deleted:
                return message
        return None

    def message_json(self, sent: SentMessage) -> Json:
        msg: Json = {
            "message_id": sent.message_id,
            "from": self.bot_user,
            "chat": self.chats[sent.chat_id].json(),
            "date": sent.date,
        }
        if sent.edited:
            msg["edit_date"] = self.now()
        body_key, entities_key = (
            ("text", "entities") if sent.method == "sendMessage" else ("caption", "caption_entities")
        )
        if sent.text is not None:
            msg[body_key] = sent.text
            if sent.entities:
                msg[entities_key] = sent.entities
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            msg["reply_markup"] = sent.reply_markup  # only inline keyboards are echoed back by Telegram
        if sent.link_preview_disabled and sent.method == "sendMessage":
            msg["link_preview_options"] = {"is_disabled": True}
        if sent.document is not None:
            msg["document"] = sent.document.document_json()
        if sent.photo is not None:
            msg["photo"] = sent.photo.photo_json()
        return msg

    def store_file(self, data: bytes, filename: str | None, mime_type: str | None) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        stored = StoredFile(
            f"F{len(self.files) + 1:06d}{digest[:20]}", digest[:16], filename, mime_type, data
        )
        self.files[stored.file_id] = stored
        return stored

    # ---- updates ---------------------------------------------------------------------------------
    def push_update(self, kind: str, payload: Json) -> Json:
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.changed.notify()
        return update

    def user_message(self, user_id: int, chat_id: int, body: Json, user_fields: Json) -> Json:
        """Queue a `message` update from a user; writing to the bot means the user has not blocked it."""
        user = self.user(user_id, **user_fields)
        chat = self.chats.get(chat_id) or self.add_chat(chat_id)
        if chat.type == "private":
            self.blocked.discard(chat_id)
            chat.first_name, chat.username = user["first_name"], user.get("username")
        message = {
            "message_id": self.next_message_id(chat),
            "from": user,
            "chat": chat.json(),
            "date": self.now(),
            **body,
        }
        return self.push_update("message", message)


def command_entities(text: str) -> list[Json]:
    """A leading `/command[@bot]` as Telegram marks it, so clients see a bot_command entity."""
    if not text.startswith("/"):
        return []
    head = text.split(maxsplit=1)[0] if text.strip() else text
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(head)}]
