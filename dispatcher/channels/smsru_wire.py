"""SMS.ru's wire format: its status codes, what each means to us, and how its callbacks are signed.

Shared by the SMS channel, the `POST /hooks/sms` endpoint and the in-package stand-in, so the three
cannot disagree about a code. Codes below 200 describe a message (accepted, on its way, delivered, lost);
from 200 on they refuse a request or one of its numbers.

Callbacks: SMS.ru POSTs a form with `data[]` fields, each `sms_status\\n<sms_id>\\n<code>\\n<unix time>`,
and `hash` = hex SHA-256 of the account's api_id followed by every `data[]` value in order; the api_id
never travels, so only SMS.ru (and whoever holds the key) can sign. The receiver answers `100`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

OK = 100
# A message's life after it was accepted.
QUEUED, AT_OPERATOR, IN_TRANSIT, DELIVERED = 100, 101, 102, 103
EXPIRED, DELETED_BY_OPERATOR, PHONE_FAILURE, UNKNOWN_FAILURE, REJECTED = 104, 105, 106, 107, 108
READ, NO_ROUTE = 110, 150
# Refusals of a request or of one number.
BAD_API_ID, LOW_BALANCE, BAD_NUMBER, NO_TEXT, SENDER_NOT_APPROVED = 200, 201, 202, 203, 204
TOO_LONG, DAILY_LIMIT, NUMBER_FORBIDDEN, STOP_LIST = 205, 206, 207, 209
UNAVAILABLE, NUMBER_DAY_LIMIT, SAME_TEXT_MINUTE = 220, 230, 231

STATUS_TEXT = {
    QUEUED: "Сообщение находится в очереди",
    AT_OPERATOR: "Сообщение передается оператору",
    IN_TRANSIT: "Сообщение отправлено (в пути)",
    DELIVERED: "Сообщение доставлено",
    EXPIRED: "Не может быть доставлено: время жизни истекло",
    DELETED_BY_OPERATOR: "Не может быть доставлено: удалено оператором",
    PHONE_FAILURE: "Не может быть доставлено: сбой в телефоне",
    UNKNOWN_FAILURE: "Не может быть доставлено: неизвестная причина",
    REJECTED: "Не может быть доставлено: отклонено",
    NO_ROUTE: "Не может быть доставлено: не найден маршрут на данный номер",
    BAD_API_ID: "Неправильный api_id",
    LOW_BALANCE: "Не хватает средств на лицевом счету",
    BAD_NUMBER: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
    NO_TEXT: "Нет текста сообщения",
    SENDER_NOT_APPROVED: "Имя отправителя не согласовано с администрацией",
    TOO_LONG: "Сообщение слишком длинное (превышает 8 СМС)",
    DAILY_LIMIT: "Будет превышен или уже превышен дневной лимит на отправку сообщений",
    NUMBER_FORBIDDEN: "На этот номер нельзя отправлять сообщения",
    STOP_LIST: "Вы пытаетесь отправить сообщения на номер, который находится в стоп-листе",
    UNAVAILABLE: "Сервис временно недоступен, попробуйте чуть позже",
    NUMBER_DAY_LIMIT: "Превышен общий лимит количества сообщений на этот номер в день",
    SAME_TEXT_MINUTE: "Превышен лимит одинаковых сообщений на этот номер в минуту",
}

DELIVERED_CODES = frozenset({DELIVERED, READ})
UNDELIVERED_CODES = frozenset(
    {EXPIRED, DELETED_BY_OPERATOR, PHONE_FAILURE, UNKNOWN_FAILURE, REJECTED, NO_ROUTE}
)

Report = Literal["delivered", "failed"]


def report_of(code: int) -> Report | None:
    """What a status code says in the end: delivered, failed, or None while the message is on its way."""
    if code in DELIVERED_CODES:
        return "delivered"
    if code in UNDELIVERED_CODES:
        return "failed"
    return None


def callback_hash(api_id: str, data: Sequence[str]) -> str:
    """The `hash` SMS.ru puts on a callback: SHA-256 of the api_id and every `data[]` value."""
    return hashlib.sha256((api_id + "".join(data)).encode("utf-8")).hexdigest()


def callback_signed(api_id: str, data: Sequence[str], given: str) -> bool:
    return hmac.compare_digest(callback_hash(api_id, data).encode(), given.encode("utf-8", "replace"))


@dataclass(frozen=True, slots=True)
class StatusItem:
    """One `sms_status` line of a callback."""

    sms_id: str
    code: int
    at: int


def status_line(item: StatusItem) -> str:
    return f"sms_status\n{item.sms_id}\n{item.code}\n{item.at}"


def parse_status_line(text: str) -> StatusItem | None:
    """An `sms_status` item, or None for another kind of item (SMS.ru also sends `callback_check`)."""
    parts = text.replace("\r\n", "\n").split("\n")
    if len(parts) < 3 or parts[0] != "sms_status":
        return None
    sms_id, code, at = parts[1].strip(), parts[2].strip(), (parts[3].strip() if len(parts) > 3 else "0")
    if not sms_id or len(sms_id) > 64 or not code.isdigit() or not at.isdigit() or len(code) > 4:
        raise ValueError(f"unreadable sms_status item {text[:80]!r}")
    return StatusItem(sms_id, int(code), int(at[:12]))
