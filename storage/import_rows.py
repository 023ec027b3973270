"""Turning one CSV row (a list of strings) into a validated record, or one sentence saying why not.

Pure functions of the row, the header map and the policy: nothing here touches the database, so a bad
row is rejected before anything of it is written. The hot path (a million rows) avoids re-validating
what repeats: timezones and email domains are checked once each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from policy.config import Policy
from policy.timeutil import TimeParseError, parse_instant, zone
from storage.column_map import HeaderMap
from storage.contacts import CONTACT_COLUMNS, ContactRecord, TagMark
from storage.orders_events import EventRecord, OrderRecord

CONSENT_CHANNELS = (("consent_email", "email"), ("consent_telegram", "telegram"), ("consent_sms", "sms"))
_YES = frozenset({"1", "yes", "y", "true", "да", "+"})
_NO = frozenset({"0", "no", "n", "false", "нет", "-"})
# GetCourse-style order statuses (and English synonyms) → ours; partial payment is not paid yet.
ORDER_STATUSES = {
    "pending": "pending", "new": "pending", "новый": "pending", "в работе": "pending",
    "ожидаем оплаты": "pending", "ожидает оплаты": "pending", "частично оплачен": "pending",
    "отложен": "pending", "paid": "paid", "completed": "paid", "оплачен": "paid", "завершен": "paid",
    "cancelled": "cancelled", "canceled": "cancelled", "отменен": "cancelled", "ложный": "cancelled",
}  # fmt: skip
CURRENCIES = {"": "RUB", "руб": "RUB", "руб.": "RUB", "р.": "RUB", "₽": "RUB", "rur": "RUB"}
_CURRENCY = re.compile(r"[A-Z]{3}")
_RU_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# An ASCII dot-atom local part: the common case email-validator would accept unchanged.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class BadRow(ValueError):
    """The row cannot be imported; the message is its one reason."""


@lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """The normalized domain when email-validator accepts it, else None (checked once per domain)."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def normalize_email(text: str) -> str:
    """email-validator's normalized form (deliverability not checked); `BadRow` when invalid.

    Plain ASCII addresses at an already-validated domain take a fast path that gives exactly what
    email-validator gives (the local part is kept, the domain normalized); anything else goes to it.
    """
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _LOCAL.fullmatch(local):
        normal = _domain(domain)
        if normal is not None and len(local) + 1 + len(normal) <= 254:
            return f"{local}@{normal}"
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise BadRow(f"invalid email {text!r}: {exc}") from None


@lru_cache(maxsize=1024)
def _zone_name(name: str) -> str:
    zone(name)
    return name


def parse_flag(text: str) -> bool | None:
    """Consent cell: 1/0, yes/no, true/false, да/нет in any case; empty = unknown (None)."""
    value = text.strip().lower()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise BadRow(f"bad consent value {text!r}: use 1/0, yes/no or true/false")


def parse_epoch(text: str, tz: ZoneInfo) -> int:
    """ISO-8601 (naive = `tz`) or the Russian `ДД.ММ.ГГГГ[ ЧЧ:ММ[:СС]]` → epoch seconds."""
    match = _RU_DATE.fullmatch(text.strip())
    if match:
        day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
        except ValueError:
            raise BadRow(f"unparsable date {text!r}") from None
        return int(local.timestamp())
    try:
        return int(parse_instant(text, tz).timestamp())
    except TimeParseError:
        raise BadRow(f"unparsable date {text!r}") from None


def parse_amount(text: str) -> float:
    raw = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    for suffix in ("руб.", "руб", "₽", "rub"):
        raw = raw.removesuffix(suffix)
    try:
        value = float(raw)
    except ValueError:
        raise BadRow(f"bad amount {text!r}: expected a number such as 4990 or 4990.50") from None
    if not value >= 0 or value == float("inf"):
        raise BadRow(f"bad amount {text!r}: must be zero or more")
    return value


class RowParser:
    """Parses the rows of one file: the header map, the policy and `now` are fixed per import."""

    def __init__(self, hmap: HeaderMap, policy: Policy, *, now: int) -> None:
        self.hmap = hmap
        self.now = now
        self.tz = zone(policy.default_timezone)
        self.ttl = {
            name: None if d.ttl is None else int(d.ttl.total_seconds()) for name, d in policy.tags.items()
        }
        ix = hmap.index
        self._scalars = [(c, ix[c]) for c in CONTACT_COLUMNS if c in ix]
        self._present = frozenset(c for c, _ in self._scalars)
        self._consents = [(ix[col], ch) for col, ch in CONSENT_CHANNELS if col in ix]

    def _cell(self, cells: Sequence[str], name: str) -> str:
        column = self.hmap.index.get(name)
        return cells[column].strip() if column is not None else ""

    def _label(self, name: str) -> str:
        return self.hmap.labels.get(name, name)

    def contact(self, cells: Sequence[str]) -> ContactRecord:
        got = {c: cells[i].strip() for c, i in self._scalars}
        email = normalize_email(got["email"]) if got.get("email") else None
        # Without an id column (some platform exports) the email is the contact's key.
        cid = self._cell(cells, "id") if self.hmap.has("id") else (email.lower() if email else "")
        if not cid:
            raise BadRow(
                "the id is empty" if self.hmap.has("id") else "the email is empty (it is the key here)"
            )
        chat: int | None = None
        if got.get("telegram_chat_id"):
            try:
                chat = int(got["telegram_chat_id"])
            except ValueError:
                raise BadRow(f"telegram_chat_id {got['telegram_chat_id']!r} is not an integer") from None
        tz_name = got.get("timezone") or None
        if tz_name is not None:
            try:
                _zone_name(tz_name)
            except TimeParseError:
                raise BadRow(f"unknown timezone {tz_name!r}") from None
        created = got.get("created_at")
        created_at = self._epoch(created, "created_at") if created else None
        name = got.get("name") or None
        last = self._cell(cells, "last_name")
        if last:
            name = f"{name} {last}" if name else last
        values = (
            email, name, chat, got.get("phone") or None, tz_name, got.get("locale") or None,
            got.get("region") or None, got.get("interest") or None, created_at,
        )  # fmt: skip
        consents = []
        for column, channel in self._consents:
            try:
                flag = parse_flag(cells[column])
            except BadRow as exc:
                raise BadRow(f"{self.hmap.labels.get('consent_' + channel)}: {exc}") from None
            if flag is not None:
                consents.append((channel, flag))
        tags = self._tags(self._cell(cells, "tags"))
        fields = {name: cells[i].strip() for i, name in self.hmap.extras}
        present = self._present | {"name"} if last else self._present
        return ContactRecord(cid, values, present, fields, tuple(consents), tags)

    def _epoch(self, text: str, name: str) -> int:
        try:
            return parse_epoch(text, self.tz)
        except BadRow as exc:
            raise BadRow(f"{self._label(name)}: {exc}") from None

    def _tags(self, text: str) -> tuple[TagMark, ...]:
        if not text:
            return ()
        marks: dict[str, TagMark] = {}
        for part in re.split(r"[;,]", text):
            item = part.strip()
            if not item:
                continue
            name, _, when = item.partition("@")
            name = name.strip().lower()
            if name not in self.ttl:
                known = ", ".join(sorted(self.ttl)) or "none"
                raise BadRow(f"unknown tag {name!r}: the tag dictionary has {known}")
            set_at = self._epoch(when, "tags") if when.strip() else None
            marks[name] = TagMark(name, set_at, self.ttl[name])
        return tuple(marks.values())

    def contact_key(self, cells: Sequence[str]) -> tuple[str, str | None]:
        """(contact_id, None) or ("", normalized email) for orders and events."""
        cid = self._cell(cells, "contact_id")
        if cid:
            return cid, None
        email = self._cell(cells, "email")
        if not email:
            raise BadRow("the row names no contact (contact_id is empty)")
        return "", normalize_email(email)

    def order(self, cells: Sequence[str], contact_id: str) -> OrderRecord:
        oid = self._cell(cells, "id")
        if not oid:
            raise BadRow("the order id is empty")
        amount = parse_amount(self._cell(cells, "amount"))
        raw_currency = self._cell(cells, "currency")
        currency = CURRENCIES.get(raw_currency.lower(), raw_currency.upper())
        if not _CURRENCY.fullmatch(currency):
            raise BadRow(f"bad currency {raw_currency!r}: expected a three-letter code such as RUB")
        raw_status = self._cell(cells, "status")
        status = ORDER_STATUSES.get(raw_status.lower().replace("ё", "е"))
        if status is None:
            raise BadRow(f"bad status {raw_status!r}: use pending, paid or cancelled")
        created = self._cell(cells, "created_at")
        if not created:
            raise BadRow("created_at is empty")
        created_at = self._epoch(created, "created_at")
        paid = self._cell(cells, "paid_at")
        paid_at = self._epoch(paid, "paid_at") if paid else None
        if status == "paid" and paid_at is None:
            raise BadRow("a paid order needs paid_at")
        if paid_at is not None and paid_at < created_at:
            raise BadRow("paid_at is before created_at")
        return OrderRecord(oid, contact_id, amount, currency, status, created_at, paid_at)

    def event(self, cells: Sequence[str], contact_id: str) -> EventRecord:
        raw_type = self._cell(cells, "type")
        kind = raw_type.lower()
        if not _EVENT_TYPE.fullmatch(kind):
            raise BadRow(f"bad event type {raw_type!r}: expected a word such as open, click or visit")
        when = self._cell(cells, "at")
        if not when:
            raise BadRow("at is empty")
        at = self._epoch(when, "at")
        meta: dict[str, object] | None = None
        if self.hmap.has("meta"):
            raw = self._cell(cells, "meta")
            try:
                meta = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                meta = None
            if not isinstance(meta, dict):
                raise BadRow('meta must be a JSON object such as {"lesson": 3}')
        return EventRecord(contact_id, kind, at, self._cell(cells, "campaign_id"), meta)
