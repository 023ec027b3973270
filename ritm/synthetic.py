"""A deterministic synthetic school base: contacts.csv, orders.csv and events.csv in the import format.

`write_demo_base` streams rows straight to the three files (a million contacts never sit in memory).
The same seed, size and anchor give byte-identical files; nothing depends on today's date: every
instant is placed relative to `anchor` (default `DEFAULT_ANCHOR`, 2026-11-23 09:00 Moscow time).

Each contact draws an *archetype* that fixes when its latest activity was and how much it did in the
last year, so that at the anchor, under the default policy's RFM thresholds (SPEC §5), every RFM
segment and `no_activity` is populated in a plausible proportion; tags, pending orders and payments
make the base segments (`new_in_funnel`, `pending_order`, `in_activity`, `rplus`) non-empty too.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from ritm.synthetic_names import INTERESTS, ZONES, feminine_surname, translit

DEFAULT_ANCHOR = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=3)))
CONTACTS_HEADER = (
    "id", "email", "name", "telegram_chat_id", "phone", "timezone", "locale", "region", "interest",
    "created_at", "consent_email", "consent_telegram", "consent_sms", "tags",
)  # fmt: skip
ORDERS_HEADER = ("id", "contact_id", "amount", "currency", "status", "created_at", "paid_at")
EVENTS_HEADER = ("contact_id", "type", "at", "campaign_id")
DAY_S = 86400


class Archetype(NamedTuple):
    """Where a contact lands in RFM at the anchor: latest activity `last_days` ago, `count` in the year."""

    name: str
    weight: float
    last_days: tuple[int, int]
    yearly: tuple[int, int]  # activities (events + orders) in the RFM year
    spread_days: float  # mean gap back from the latest activity to the others
    buyer: float  # chance to have orders


# R from the latest activity (≤7 d → 5, ≤30 → 4, ≤90 → 3, ≤180 → 2, else 1); F from the yearly count
# (≥2 → 2, ≥4 → 3, ≥8 → 4, ≥16 → 5); the default rules then give the archetype's name.
ARCHETYPES = (
    Archetype("champions", 9, (0, 30), (10, 36), 70, 0.65),
    Archetype("loyal", 12, (31, 90), (4, 16), 80, 0.5),
    Archetype("new_customers", 5, (0, 30), (1, 1), 0, 0.45),
    Archetype("potential_loyalists", 12, (0, 90), (2, 3), 40, 0.3),
    Archetype("cant_lose", 3, (181, 300), (8, 14), 25, 0.55),
    Archetype("at_risk", 9, (91, 180), (4, 10), 50, 0.4),
    Archetype("hibernating", 14, (91, 180), (1, 3), 40, 0.15),
    Archetype("lost", 24, (181, 700), (1, 3), 90, 0.1),
    Archetype("no_activity", 12, (0, 0), (0, 0), 0, 0.0),
)
YEAR_EDGE_DAYS = 362  # in-year activity stays clear of the 365-day period boundary
EVENT_TYPES = ("open", "click", "visit", "login", "lesson_done", "webinar_registered", "webinar_attended",
               "reply", "offer_declined")  # fmt: skip
EVENT_WEIGHTS = (34, 12, 12, 10, 12, 8, 6, 4, 2)
# Tags of the default dictionary: (name, share of contacts, newest and oldest set_at in days back).
TAGS = (("funnel", 0.25, 0, 365), ("webinar", 0.10, 0, 60), ("marathon", 0.05, 0, 40),
        ("intensive", 0.03, 0, 25), ("club", 0.03, 0, 400), ("vip", 0.01, 0, 300),
        ("complaint", 0.005, 0, 200))  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")


class _Order(NamedTuple):
    id: str
    amount: int
    status: str
    created_at: int
    paid_at: int | None


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


class _Generator:
    """Holds the RNG, the anchor and small caches; `contact(i)` gives one contact with its rows."""

    def __init__(self, seed: int, anchor: datetime, id_width: int) -> None:
        self.rng = random.Random(seed)
        self.anchor = int(anchor.timestamp())
        self.id_width = id_width
        self._arch_cum = _cumulative([a.weight for a in ARCHETYPES])
        self._zone_cum = _cumulative([z.weight for z in ZONES])
        self._event_cum = _cumulative(EVENT_WEIGHTS)
        self._offsets = {z.tz: self._offset(z.tz or "Europe/Moscow") for z in ZONES}
        self._dates: dict[int, tuple[str, int]] = {}
        self.orders = 0

    def _offset(self, tz: str) -> int:
        moment = datetime.fromtimestamp(self.anchor, UTC).astimezone(ZoneInfo(tz))
        delta = moment.utcoffset()
        return int(delta.total_seconds()) if delta else 0

    def iso(self, t: int) -> str:
        """Epoch → `YYYY-MM-DDTHH:MM:SS+00:00`, fast (dates are cached by day)."""
        day, sec = divmod(t, DAY_S)
        cached = self._dates.get(day)
        if cached is None:
            moment = datetime.fromtimestamp(day * DAY_S, UTC)
            cached = (moment.strftime("%Y-%m-%dT"), moment.isocalendar().week)
            self._dates[day] = cached
        hours, rest = divmod(sec, 3600)
        return f"{cached[0]}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}+00:00"

    def week(self, t: int) -> int:
        self.iso(t)
        return self._dates[t // DAY_S][1]

    def instant(self, days_back: int, offset_s: int) -> int:
        """A moment exactly `days_back` whole days before the anchor, in the contact's waking hours."""
        back = self.rng.randrange(DAY_S)
        t = self.anchor - days_back * DAY_S - back
        local_hour = (t + offset_s) % DAY_S // 3600
        if local_hour < 7:  # nobody opens mail at 4 a.m.: move by half a day, same whole-day distance
            back = (back + DAY_S // 2) % DAY_S if back < DAY_S // 2 else back - DAY_S // 2
            t = self.anchor - days_back * DAY_S - back
        return t

    def activity_times(self, arch: Archetype, offset_s: int) -> list[int]:
        rng = self.rng
        if arch.yearly[1] == 0:
            return []
        last = rng.randint(*arch.last_days)
        count = rng.randint(*arch.yearly)
        edge = YEAR_EDGE_DAYS if last <= YEAR_EDGE_DAYS else last + 400
        days = [last] + [
            min(edge, last + int(rng.expovariate(1 / arch.spread_days))) for _ in range(count - 1)
        ]  # fmt: skip
        times = sorted({self.instant(d, offset_s) for d in days})
        while len(times) < count:  # a rare same-second clash: keep the natural keys unique
            times = sorted({*times, times[-1] - 1})
        return times

    def contact(self, i: int) -> tuple[list[object], list[list[object]], list[list[object]]]:
        rng = self.rng
        arch = ARCHETYPES[bisect.bisect_right(self._arch_cum, rng.random() * self._arch_cum[-1])]
        zone = ZONES[bisect.bisect_right(self._zone_cum, rng.random() * self._zone_cum[-1])]
        offset = self._offsets[zone.tz]
        cid = f"c{i:0{self.id_width}d}"
        culture = rng.choice(zone.cultures)
        female = rng.random() < 0.62
        first = rng.choice(culture.female if female else culture.male)
        last = rng.choice(culture.surnames)
        if female and culture.feminine:
            last = feminine_surname(last)
        name = f"{first} {last}" if rng.random() < 0.85 else first

        roll = rng.random()
        has_email, has_tg = roll < 0.86, roll < 0.36 or 0.86 <= roll < 0.94
        email = f"{translit(first)}.{translit(last)}{i}@{rng.choice(DOMAINS)}" if has_email else ""
        chat = 1_000_000_000 + i * 100 + rng.randrange(100) if has_tg else ""
        phone = ""
        if zone.locale == "ru" and rng.random() < 0.55:
            # One person per phone: the contact's index picks it (the draw still happens, so the rest
            # of a seeded base stays as it was).
            phone = _phone((i * 1000 + rng.randrange(10**9) % 1000) % 10**9)
        consent_email = _flag(rng, (0.75, 0.08)) if email else ""
        consent_tg = _flag(rng, (0.85, 0.05)) if chat else _flag(rng, (0.0, 0.03))
        consent_sms = _flag(rng, (0.35, 0.2)) if phone else ""

        times = self.activity_times(arch, offset)
        orders, events = self._orders_and_events(cid, arch, times)
        tags, tag_times = self._tags(arch, bool(orders), offset)
        earliest = min([*times, *tag_times, *(o.created_at for o in orders)], default=None)
        if earliest is None:
            recent = rng.random() < 0.12
            created = self.anchor - rng.randrange(14 * DAY_S if recent else 1000 * DAY_S)
        else:
            created = earliest - rng.randrange(1, 200 * DAY_S if arch.name != "new_customers" else 10 * DAY_S)
        row: list[object] = [
            cid, email, name, chat, phone, zone.tz, zone.locale if rng.random() < 0.9 else "",
            rng.choice(zone.places) if rng.random() < 0.85 else "",
            rng.choice(INTERESTS) if rng.random() < 0.6 else "", self.iso(created),
            consent_email, consent_tg, consent_sms, tags,
        ]  # fmt: skip
        iso = self.iso
        order_rows: list[list[object]] = [
            [o.id, cid, o.amount, "RUB", o.status, iso(o.created_at), iso(o.paid_at) if o.paid_at else ""]
            for o in orders
        ]
        return row, order_rows, events

    def _orders_and_events(
        self, cid: str, arch: Archetype, times: list[int]
    ) -> tuple[list[_Order], list[list[object]]]:
        rng = self.rng
        n_orders = 0
        if times and rng.random() < arch.buyer:
            n_orders = 1
            while n_orders < len(times) and rng.random() < 0.45:
                n_orders += 1
        order_at = set(rng.sample(range(len(times)), n_orders)) if n_orders else set()
        orders: list[_Order] = []
        events: list[list[object]] = []
        for k, t in enumerate(times):
            if k in order_at:
                self.orders += 1
                amount = _price(rng.lognormvariate(math.log(2990), 1.0))
                roll = rng.random()
                status = "paid" if roll < 0.62 else "pending" if roll < 0.8 else "cancelled"
                # A payment is the activity itself; the order was placed a little before it.
                if status == "paid":
                    orders.append(
                        _Order(f"o{self.orders:08d}", amount, status, t - rng.randrange(60, 10800), t)
                    )
                else:
                    orders.append(_Order(f"o{self.orders:08d}", amount, status, t, None))
                continue
            kind = EVENT_TYPES[bisect.bisect_right(self._event_cum, rng.random() * self._event_cum[-1])]
            campaign = ""
            if kind in ("open", "click", "reply") and rng.random() < 0.6:
                campaign = f"digest-{self.week(t):02d}"
            events.append([cid, kind, self.iso(t), campaign])
        return orders, events

    def _tags(self, arch: Archetype, buyer: bool, offset: int) -> tuple[str, list[int]]:
        rng = self.rng
        parts: list[str] = []
        times: list[int] = []
        for name, share, newest, oldest in TAGS:
            chance = share * (3 if name == "club" and arch.name in ("champions", "loyal") else 1)
            if rng.random() < chance:
                if name == "funnel" and rng.random() < 0.2:
                    oldest = 6  # a fresh funnel entry: the new_in_funnel segment
                t = self.instant(rng.randint(newest, oldest), offset)
                parts.append(f"{name}@{self.iso(t)}")
                times.append(t)
        if buyer and rng.random() < 0.4:
            t = self.instant(rng.randint(30, 365), offset)
            parts.append(f"course@{self.iso(t)}")
            times.append(t)
        return ";".join(parts), times


def _flag(rng: random.Random, shares: tuple[float, float]) -> str:
    """'yes'/'no'/'' with the given shares of yes and no (the rest unknown), in mixed spellings."""
    roll = rng.random()
    if roll < shares[0]:
        return ("yes", "1", "true", "Yes")[int(roll * 1000) % 4]
    if roll < shares[0] + shares[1]:
        return ("no", "0", "false")[int(roll * 1000) % 3]
    return ""


def _phone(digits: int) -> str:
    """A Russian mobile number `+7 9XX XXX-XX-XX` from nine random digits."""
    return (
        f"+7 9{digits // 10**7:02d} {digits // 10**4 % 1000:03d}-{digits // 100 % 100:02d}-{digits % 100:02d}"
    )


def _price(raw: float) -> int:
    """A shop-like price (…90) from a skewed draw: two significant digits, minus ten."""
    value = min(max(raw, 300.0), 500_000.0)
    digits = 10 ** max(int(math.log10(value)) - 1, 1)
    return int(round(value / digits) * digits) - 10


def write_demo_base(
    out_dir: Path, contacts: int, seed: int, anchor: datetime = DEFAULT_ANCHOR
) -> dict[str, int]:
    """Write contacts.csv, orders.csv and events.csv for `contacts` contacts; return rows per file."""
    if contacts < 0:
        raise ValueError("the number of contacts cannot be negative")
    if anchor.tzinfo is None:
        raise ValueError("the anchor needs a UTC offset")
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = _Generator(seed, anchor, max(7, len(str(contacts))))
    counts = {"contacts": 0, "orders": 0, "events": 0}
    with (
        (out_dir / "contacts.csv").open("w", encoding="utf-8", newline="") as fc,
        (out_dir / "orders.csv").open("w", encoding="utf-8", newline="") as fo,
        (out_dir / "events.csv").open("w", encoding="utf-8", newline="") as fe,
    ):
        wc, wo, we = (csv.writer(f, lineterminator="\n") for f in (fc, fo, fe))
        wc.writerow(CONTACTS_HEADER)
        wo.writerow(ORDERS_HEADER)
        we.writerow(EVENTS_HEADER)
        for i in range(1, contacts + 1):
            row, orders, events = gen.contact(i)
            wc.writerow(row)
            wo.writerows(orders)
            we.writerows(events)
            counts["orders"] += len(orders)
            counts["events"] += len(events)
        counts["contacts"] = contacts
    return counts
