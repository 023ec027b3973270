"""The ports the outbox worker declares for a channel, and the result kinds adapters map errors to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ResultKind = Literal["sent", "retry", "hard_bounce", "blocked", "bad_address", "failed"]


@dataclass(frozen=True)
class SendResult:
    """What happened to one message.

    sent: accepted by the provider; retry: temporary (4xx, 429, network) — try again, after
    `retry_after_s` when the provider said so; hard_bounce: the address is dead (5xx on the recipient);
    blocked: the subscriber blocked the bot (VK: does not allow the community's messages);
    bad_address: chat not found / malformed address; failed: our message is broken (a retry won't help).
    """

    kind: ResultKind
    provider_id: str | None = None
    retry_after_s: float | None = None
    detail: str = ""
    sms_parts: int | None = None  # an SMS the provider accepted: the parts it is billed as


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar"
    data: bytes


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # List-Unsubscribe etc.
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Button:
    text: str
    url: str | None = None
    callback_data: str | None = None


@dataclass(frozen=True)
class TelegramMessage:
    chat_id: int
    text: str  # HTML parse mode; user data already escaped
    buttons: tuple[tuple[Button, ...], ...] = ()
    disable_preview: bool = True


@dataclass(frozen=True)
class VkMessage:
    """A VK community message; `random_id` makes a resend of the same outbox row a no-op at VK."""

    peer_id: int
    text: str  # plain text
    random_id: int
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164, "+79001234567"
    text: str  # plain text; its parts are counted by policy.sms


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> SendResult: ...


class TelegramSender(Protocol):
    async def send(self, message: TelegramMessage) -> SendResult: ...


class VkSender(Protocol):
    async def send(self, message: VkMessage) -> SendResult: ...


class SmsSender(Protocol):
    async def send(self, message: SmsMessage) -> SendResult: ...
