"""What the stand-in keeps: files, chats, the messages the bot sent, button presses; a change signal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


class Changes:
    """A notification anyone may fire synchronously and any task may await (long polls, test waits)."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout_s: float | None) -> bool:
        """Wait for the next notification; False when `timeout_s` passed first."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)
        return True

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        """Wait until `predicate()` holds; TimeoutError after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await self.wait(None)


@dataclass
class StoredFile:
    """A document or photo that went through the stand-in (kept whole: tests read ICS files back)."""

    file_id: str
    file_unique_id: str
    filename: str | None
    mime_type: str | None
    data: bytes

    def document_json(self) -> Json:
        doc: Json = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.filename:
            doc["file_name"] = self.filename
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def photo_json(self) -> list[Json]:
        # Images are not decoded: one nominal size is enough for every client we care about.
        size = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.data)}
        return [{**size, "width": 320, "height": 320}]


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    first_name: str | None = None
    title: str | None = None
    username: str | None = None
    language_code: str | None = None
    last_message_id: int = 0

    def json(self) -> Json:
        chat: Json = {"id": self.id, "type": self.type}
        if self.type == "private":
            chat["first_name"] = self.first_name or f"User {self.id}"
        else:
            chat["title"] = self.title or f"Group {-self.id}"
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class SentMessage:
    """One message the bot sent, as a test reads it back (edits apply in place, deletes mark it)."""

    message_id: int
    chat_id: int
    date: int
    method: str
    html: str | None = None  # text or caption exactly as the bot sent it
    text: str | None = None  # after entity parsing (what the user sees)
    entities: list[Json] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: Json | None = None
    link_preview_disabled: bool = False
    document: StoredFile | None = None
    photo: StoredFile | None = None
    edited: bool = False
    deleted: bool = False

    def buttons(self) -> list[Json]:
        """The inline buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def summary(self) -> Json:
        """What the control API returns for this message (file bytes as size only)."""
        out: Json = {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "method": self.method,
            "html": self.html,
            "text": self.text,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "link_preview_disabled": self.link_preview_disabled,
            "edited": self.edited,
            "deleted": self.deleted,
        }
        for kind, stored in (("document", self.document), ("photo", self.photo)):
            if stored is not None:
                out[kind] = {
                    "filename": stored.filename,
                    "mime_type": stored.mime_type,
                    "size": len(stored.data),
                }
        return out


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: Json | None = None  # text, show_alert, url, cache_time once answered
