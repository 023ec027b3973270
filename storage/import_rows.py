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
from operator import itemgetter
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email

from policy.bounds import MAX_INT
from policy.config import Policy, UnknownTags
from policy.timeutil import TimeParseError, parse_instant, year_problem, zone
from storage.addresses import BadPhone, normalize_phone
from storage.column_map import HeaderMap
from storage.contacts import CONTACT_COLUMNS, ContactRecord, TagMark
from storage.orders_events import EventRecord, OrderRecord
from storage.zones import offset_zone

# A cell holding exactly this clears an optional field; an empty cell keeps what is stored (SPEC §12.3).
CLEAR = "-"
CLEARABLE = frozenset({"email", "phone", "telegram_chat_id", "vk_id", "name", "region", "locale", "interest"})
_NOTHING: frozenset[str] = frozenset()
CONSENT_CHANNELS = (
    ("consent_email", "email"), ("consent_telegram", "telegram"), ("consent_sms", "sms"),
    ("consent_vk", "vk"),
)  # fmt: skip
_YES = frozenset({"1", "yes", "y", "true", "да", "+"})
_NO = frozenset({"0", "no", "n", "false", "нет", "-"})
# GetCourse-style order statuses (Russian and English interface) → ours; partial payment is not paid
# yet; a refund takes the order out of paid_total and orders_count.
ORDER_STATUSES = {
    "pending": "pending", "new": "pending", "новый": "pending", "в работе": "pending",
    "in progress": "pending", "ожидаем оплаты": "pending", "ожидает оплаты": "pending",
    "awaiting payment": "pending", "waiting for payment": "pending", "частично оплачен": "pending",
    "partially paid": "pending", "отложен": "pending", "postponed": "pending",
    "paid": "paid", "completed": "paid", "complete": "paid", "оплачен": "paid", "завершен": "paid",
    "cancelled": "cancelled", "canceled": "cancelled", "отменен": "cancelled", "ложный": "cancelled",
    "false": "cancelled",
    "refunded": "refunded", "refund": "refunded", "returned": "refunded", "возврат": "refunded",
    "возврат средств": "refunded", "возвращен": "refunded", "оформлен возврат": "refunded",
}  # fmt: skip
CURRENCIES = {
    "руб": "RUB", "руб.": "RUB", "р.": "RUB", "₽": "RUB", "rur": "RUB", "тенге": "KZT", "тг": "KZT",
    "₸": "KZT", "$": "USD", "€": "EUR", "грн": "UAH", "₴": "UAH", "сум": "UZS", "бел. руб.": "BYN",
}  # fmt: skip
_CURRENCY = re.compile(r"[A-Z]{3}")
_RU_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
MAX_PRODUCT = 500  # «Состав заказа» lists an order's items; longer is not a product name
MAX_AMOUNT = 1e12  # no school's order costs more; past 2**53 a float is no longer exact either
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
# An ASCII dot-atom local part: the common case email-validator would accept unchanged.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


_ORDER_FIELDS = (
    "id", "contact_id", "email", "amount", "currency", "status", "created_at", "paid_at", "product",
)  # fmt: skip
_EVENT_FIELDS = ("contact_id", "email", "type", "at", "campaign_id", "meta")


class BadRow(ValueError):
    """The row cannot be imported; the message is its one reason."""


_CHAT_ID = re.compile(r"-?[0-9]{1,400}")


def parse_chat_id(text: str) -> int:
    """A Telegram chat id: an integer SQLite can store (64-bit), in ASCII digits (int() would also
    read "٣" or "1_000")."""
    if not _CHAT_ID.fullmatch(text.strip()):
        raise BadRow(f"telegram_chat_id {text[:40]!r} is not an integer")
    chat = int(text)
    if not -MAX_INT <= chat <= MAX_INT:
        raise BadRow(f"telegram_chat_id {text[:40]!r} is out of range (at most 64-bit integers)")
    return chat


# A VK user id as people copy it: `123`, `id123`, `vk.com/id123`, `https://vk.com/id123`.
_VK_ID = re.compile(r"(?:(?:https?://)?(?:m\.)?vk\.com/)?(?:id)?([0-9]{1,19})", re.IGNORECASE)


def parse_vk_id(text: str) -> int:
    """A VK user id (the `peer_id` messages go to): a positive integer, optionally as `id123` or a
    vk.com/id123 link; a short name (vk.com/durov) needs the API to resolve and is refused."""
    found = _VK_ID.fullmatch(text.strip())
    user = int(found.group(1)) if found else 0
    if not 0 < user <= MAX_INT:
        raise BadRow(f"vk_id {text[:40]!r} is not a VK user id: write the number, e.g. 123456 or id123456")
    return user


def parse_timezone(text: str) -> str:
    """An IANA name, or a platform's offset form (`UTC+3`, `GMT+03:00`, `(GMT+03:00) Москва`) → the
    named city's zone when it has that offset, else a fixed-offset zone."""
    try:
        return _zone_name(text)
    except TimeParseError:
        pass
    found = offset_zone(text)
    if found is None:
        raise BadRow(f"unknown timezone {text[:60]!r}")
    return found


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


# The spellings seen in practice, looked up before any normalisation (the hot path).
_FLAGS: dict[str, bool | None] = {
    "": None,
    **dict.fromkeys(("1", "yes", "Yes", "YES", "true", "True", "TRUE"), True),
    **dict.fromkeys(("0", "no", "No", "NO", "false", "False", "FALSE"), False),
}


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
    """ISO-8601 (naive = `tz`) or the Russian `ДД.ММ.ГГГГ[ ЧЧ:ММ[:СС]]` → epoch seconds; years outside
    1900–2200 are refused (a typo such as 9999 would overflow date arithmetic downstream)."""
    try:  # the common case: ISO-8601 as exported, parsed in C
        moment = datetime.fromisoformat(text)
    except ValueError:
        match = _RU_DATE.fullmatch(text.strip())
        if match:
            day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
            try:
                moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
            except ValueError:
                raise BadRow(f"unparsable date {text[:40]!r}") from None
        else:
            try:
                moment = parse_instant(text, tz)
            except (TimeParseError, OverflowError):
                raise BadRow(f"unparsable date {text[:40]!r}") from None
    problem = year_problem(moment.year)
    if problem is not None:
        raise BadRow(f"date {text[:40]!r}: {problem}")
    try:
        return int((moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp())
    except (OverflowError, ValueError):
        raise BadRow(f"unparsable date {text[:40]!r}") from None


def parse_amount(text: str) -> float:
    raw = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    for suffix in ("руб.", "руб", "₽", "rub"):
        raw = raw.removesuffix(suffix)
    try:
        value = float(raw)
    except ValueError:
        raise BadRow(f"bad amount {text!r}: expected a number such as 4990 or 4990.50") from None
    if not value >= 0:
        raise BadRow(f"bad amount {text[:40]!r}: must be zero or more")
    if value > MAX_AMOUNT:
        raise BadRow(f"bad amount {text[:40]!r}: out of range (at most {MAX_AMOUNT:,.0f})")
    return value


class RowParser:
    """Parses the rows of one file: the header map, the policy and `now` are fixed per import."""

    def __init__(
        self, hmap: HeaderMap, policy: Policy, *, now: int, unknown_tags: UnknownTags | None = None
    ) -> None:
        """`unknown_tags` overrides the policy's `[import]` rule (a webhook names one tag: it must exist)."""
        self.hmap = hmap
        self.now = now
        self.tz = zone(policy.default_timezone)
        self.ttl = {
            name: None if d.ttl is None else int(d.ttl.total_seconds()) for name, d in policy.tags.items()
        }
        ix = hmap.index
        # Rows are stripped into a list with one "" appended at `width`: absent fields point there.
        self._pick = itemgetter(*(ix.get(c, hmap.width) for c in CONTACT_COLUMNS))
        self._present = frozenset(c for c in CONTACT_COLUMNS if c in ix)
        self._consents = [(ix[col], ch, hmap.labels[col]) for col, ch in CONSENT_CHANNELS if col in ix]
        absent = hmap.width
        self._pick_order = itemgetter(*(ix.get(c, absent) for c in _ORDER_FIELDS))
        self._pick_event = itemgetter(*(ix.get(c, absent) for c in _EVENT_FIELDS))
        self._has_meta = "meta" in ix
        self._event_types: set[str] = set()
        self._id = ix.get("id", -1)
        self._last_name = ix.get("last_name", -1)
        self._tag_column = ix.get("tags", -1)
        self.unknown_tags = unknown_tags or policy.import_.unknown_tags
        self.money = policy.money
        self.base = policy.money.currency  # an order without a currency is in it
        # Warnings about the row just parsed (a skipped tag): the importer reports them by line.
        self.warnings: list[str] = []

    def _label(self, name: str) -> str:
        return self.hmap.labels.get(name, name)

    def contact(self, cells: Sequence[str]) -> ContactRecord:
        """The row's contact; only the cells that say something are written (SPEC §12.3): an empty cell
        keeps the stored value (None in `values`), `-` clears an optional field (named in `cleared`)."""
        row = list(map(str.strip, cells))
        row.append("")
        picked = self._pick(row)
        cleared = _NOTHING
        if CLEAR in picked:  # rare: only then look for which cells say `-`
            cleared = frozenset(c for c, v in zip(CONTACT_COLUMNS, picked, strict=True) if v == CLEAR)
            picked = tuple("" if v == CLEAR else v for v in picked)
            if cleared - CLEARABLE:
                raise BadRow(f"{self._label(min(cleared - CLEARABLE))}: '-' clears only optional fields")
        email, name, chat_text, phone, tz_name, locale, region, interest, created, vk_text = picked
        email = normalize_email(email) if email else ""
        # Without an id column (some platform exports) the email is the contact's key.
        cid = row[self._id] if self._id >= 0 else email.lower()
        if not cid:
            raise BadRow("the id is empty" if self._id >= 0 else "the email is empty (it is the key here)")
        chat = parse_chat_id(chat_text) if chat_text else None
        vk = parse_vk_id(vk_text) if vk_text else None
        if phone:
            try:
                phone = normalize_phone(phone)
            except BadPhone as exc:
                raise BadRow(str(exc)) from None
        if tz_name:
            tz_name = parse_timezone(tz_name)
        created_at = self._epoch(created, "created_at") if created else None
        present = self._present
        if (
            self._last_name >= 0
            and (last := row[self._last_name])
            and last != CLEAR
            and "name" not in cleared
        ):
            name = f"{name} {last}" if name else last
            present = present | {"name"}
        values = (
            email or None, name or None, chat, phone or None, tz_name or None, locale or None,
            region or None, interest or None, created_at, vk,
        )  # fmt: skip
        consents = []
        for column, channel, label in self._consents:
            cell = row[column]
            flag = _FLAGS.get(cell)
            if flag is None and cell:
                try:
                    flag = parse_flag(cell)
                except BadRow as exc:
                    raise BadRow(f"{label}: {exc}") from None
            if flag is not None:
                consents.append((channel, flag))
        tags = self._tags(row[self._tag_column]) if self._tag_column >= 0 else ()
        # Custom fields: empty keeps, `-` deletes (an empty value is the record's "delete the key").
        fields = {key: "" if row[i] == CLEAR else row[i] for i, key in self.hmap.extras if row[i]}
        return ContactRecord(cid, values, present, fields, tuple(consents), tags, cleared)

    def _epoch(self, text: str, name: str) -> int:
        try:
            return parse_epoch(text, self.tz)
        except BadRow as exc:
            raise BadRow(f"{self._label(name)}: {exc}") from None

    def _tags(self, text: str) -> tuple[TagMark, ...]:
        """The row's tags; a tag the dictionary lacks is skipped with a warning, rejects the row or is
        stored without a TTL, as `[import] unknown_tags` says. A tag without `@time` is set now."""
        if not text or text.isspace():
            return ()
        marks: dict[str, TagMark] = {}
        for part in text.replace(",", ";").split(";"):
            item = part.strip()
            if not item:
                continue
            name, _, when = item.partition("@")
            name = name.strip().lower()
            if name not in self.ttl:
                known = ", ".join(sorted(self.ttl)) or "none"
                why = f"unknown tag {name[:40]!r}: the tag dictionary has {known}"
                if self.unknown_tags == "reject_row":
                    raise BadRow(why)
                if self.unknown_tags == "skip":
                    self.warnings.append(f"{why} (skipped)")
                    continue
                self.warnings.append(f"tag {name[:40]!r} is not in the dictionary: stored without a TTL")
            set_at = self._epoch(when, "tags") if when.strip() else None
            marks[name] = TagMark(name, set_at, self.ttl.get(name))
        return tuple(marks.values())

    def _contact_of(self, cid: str, email: str) -> tuple[str, str | None]:
        """(contact_id, None), or ("", normalized email) when only the email names the contact."""
        if cid:
            return cid, None
        if not email:
            raise BadRow("the row names no contact (contact_id is empty)")
        return "", normalize_email(email)

    def order(self, cells: Sequence[str]) -> tuple[OrderRecord, str | None]:
        """The order and, when the row names its contact by email only, that email."""
        row = list(map(str.strip, cells))
        row.append("")
        oid, cid, email, amount_text, raw_currency, raw_status, created, paid, product = self._pick_order(row)
        if not oid:
            raise BadRow("the order id is empty")
        contact_id, by_email = self._contact_of(cid, email)
        currency = CURRENCIES.get(raw_currency.lower(), raw_currency.upper()) if raw_currency else self.base
        if not _CURRENCY.fullmatch(currency):
            raise BadRow(f"bad currency {raw_currency[:20]!r}: expected a three-letter code such as RUB")
        amount = self.money.to_base(parse_amount(amount_text), currency)
        if amount is None:
            raise BadRow(
                f"unknown currency {currency}: totals are kept in {self.base};"
                f" add {currency} to [money] rates in the policy"
            )
        status = ORDER_STATUSES.get(" ".join(raw_status.lower().replace("ё", "е").split()))
        if status is None:
            raise BadRow(
                f"unknown order status {raw_status[:40]!r}: use pending, paid, cancelled or refunded"
                " (or a GetCourse status such as «Оплачен», «Отменен», «Возврат»)"
            )
        if not created:
            raise BadRow("created_at is empty")
        created_at = self._epoch(created, "created_at")
        paid_at = self._epoch(paid, "paid_at") if paid else None
        if status == "paid" and paid_at is None:
            raise BadRow("a paid order needs paid_at")
        if paid_at is not None and paid_at < created_at:
            raise BadRow("paid_at is before created_at")
        if len(product) > MAX_PRODUCT:
            raise BadRow(f"product {product[:40]!r}…: too long (at most {MAX_PRODUCT} characters)")
        # An empty product cell keeps the stored one (None); `-` clears it ("").
        kept = None if not product else "" if product == CLEAR else product
        record = OrderRecord(oid, contact_id, amount, self.base, status, created_at, paid_at, kept)
        return record, by_email

    def event(self, cells: Sequence[str]) -> tuple[EventRecord, str | None]:
        """The event and, when the row names its contact by email only, that email."""
        row = list(map(str.strip, cells))
        row.append("")
        cid, email, raw_type, when, campaign, raw_meta = self._pick_event(row)
        contact_id, by_email = self._contact_of(cid, email)
        kind = raw_type.lower()
        if kind not in self._event_types:
            if not _EVENT_TYPE.fullmatch(kind):
                raise BadRow(f"bad event type {raw_type!r}: expected a word such as open, click or visit")
            self._event_types.add(kind)
        if not when:
            raise BadRow("at is empty")
        at = self._epoch(when, "at")
        meta: dict[str, object] | None = None
        if self._has_meta:
            try:
                meta = json.loads(raw_meta) if raw_meta else {}
            except json.JSONDecodeError:
                meta = None
            if not isinstance(meta, dict):
                raise BadRow('meta must be a JSON object such as {"lesson": 3}')
        return EventRecord(contact_id, kind, at, campaign, meta), by_email
