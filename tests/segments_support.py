"""Shared helpers for the segment and RFM tests: a small policy, random bases and random expressions.

Bases are generated as `policy.contact.ContactData` (the pure model) and written to a real SQLite file
with plain INSERTs, so one generated value feeds both the pure evaluator and the SQL compiler.
Instants sit on an hour grid around `AT_BASE` so that `within` bounds, the RFM period edge and the
day floors of recency/created_days are hit exactly, not just approximately.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from policy.config import CHANNELS, Policy, parse_policy
from policy.contact import ContactData, EventRecord, OrderRecord, TagRecord
from policy.dsl import (
    NUMERIC_FIELDS,
    OPERATORS,
    ORDER_STATUSES,
    STRING_FIELDS,
    All,
    And,
    Compare,
    Event,
    Expr,
    Has,
    Not,
    Or,
    Order,
    Rfm,
    SegmentRef,
    Tag,
)
from policy.rfm import NO_ACTIVITY, UNMATCHED
from policy.timeutil import to_epoch
from storage.db import Database
from storage.suppressions import address_key

AT_BASE = datetime(2026, 6, 15, 12, tzinfo=UTC)
# GetCourse products: None is an order whose export named none (it matches no `product = "…"`).
PRODUCTS = (None, "Курс X", "Марафон")
HOUR = timedelta(hours=1)

POLICY_TEMPLATE = """
default_timezone = "Europe/Moscow"

[tags]
funnel = {{ description = "funnel" }}
marathon = {{ description = "marathon", ttl = "14d", activity = true }}
vip = {{ description = "vip" }}

[segments]
warm = "event:open within 7d OR event:click within 7d"
rich = "paid_total >= 5000"
warm_rich = "segment:warm AND segment:rich"
sleepy = "NOT segment:warm"
busy = "tag:marathon OR order:pending"

[protect]
mass = ["busy"]

[rfm]
period = "30d"
method = "{method}"
recency_days = [1, 3, 10, 30]
frequency = [1, 2, 3, 5]
monetary = [100, 1000, 5000, 20000]

[[rfm.segments]]
name = "champions"
r = [4, 5]
f = [4, 5]

[[rfm.segments]]
name = "big_spenders"
r = [1, 5]
f = [1, 5]
m = [4, 5]

[[rfm.segments]]
name = "loyal"
r = [3, 5]
f = [3, 5]

[[rfm.segments]]
name = "lost"
r = [1, 2]
f = [1, 2]
"""

TAGS = ("funnel", "marathon", "vip")
SEGMENTS = ("warm", "rich", "warm_rich", "sleepy", "busy")
RFM_NAMES = ("champions", "big_spenders", "loyal", "lost", UNMATCHED, NO_ACTIVITY)
EVENT_TYPES = ("open", "click", "visit")
STRINGS = ("", "ru", "en", "Урал", "Москва", "Europe/Moscow", "Asia/Vladivostok", "UTC", 'a"b\\c')


def diff_policy(method: str = "thresholds") -> Policy:
    """The small policy the differential tests run under (`thresholds` or `quantiles`)."""
    return parse_policy(POLICY_TEMPLATE.format(method=method), "test policy")


def at_instants() -> st.SearchStrategy[datetime]:
    """`at` near AT_BASE: on the hour grid, a second off it, or with microseconds (truncated)."""
    return st.builds(
        lambda h, s, us: AT_BASE + h * HOUR + timedelta(seconds=s, microseconds=us),
        st.sampled_from([0, 0, 0, -1, 1, 2]),
        st.sampled_from([0, 0, 0, 1, -1]),
        st.sampled_from([0, 0, 999_999]),
    )


# Hours before AT_BASE where a bound sits: within 1h/1d/7d, recency cut days 1/3/10/30, the 30d period.
_EDGES = sorted({e - d for d in (0, 1, 24, 72, 168, 240, 720) for e in range(-2, 3)})


def _instant(low_h: int, high_h: int) -> st.SearchStrategy[datetime]:
    """An instant on the hour grid, half the time right at one of the bounds above."""
    edges = [h for h in _EDGES if low_h <= h <= high_h]
    hours = st.integers(low_h, high_h) | st.sampled_from(edges)
    return hours.map(lambda h: AT_BASE + h * HOUR)


@st.composite
def tag_records(draw: st.DrawFn) -> tuple[TagRecord, ...]:
    names = draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=3))
    records = []
    for name in sorted(names):
        set_at = draw(_instant(-24 * 40, 24))
        expires, removed = (draw(st.none() | st.integers(0, 24 * 30)) for _ in range(2))
        records.append(
            TagRecord(
                name,
                set_at,
                None if expires is None else set_at + expires * HOUR,
                None if removed is None else set_at + removed * HOUR,
            )
        )
    return tuple(records)


@st.composite
def order_records(draw: st.DrawFn, contact_id: str) -> tuple[OrderRecord, ...]:
    orders = []
    for i in range(draw(st.integers(0, 4))):
        status = draw(st.sampled_from(ORDER_STATUSES))
        created = draw(_instant(-24 * 60, 24))
        paid = None
        if status == "paid" or (status == "refunded" and draw(st.booleans())):
            paid = created + draw(st.integers(0, 24 * 3)) * HOUR
        amount = draw(st.sampled_from([0, 90, 100, 990, 1000, 4000, 5000, 19990, 25000]))
        product = draw(st.sampled_from(PRODUCTS))
        orders.append(OrderRecord(f"{contact_id}-o{i}", amount, status, created, paid, product))
    return tuple(sorted(orders, key=lambda o: (o.created_at, o.id)))


@st.composite
def event_records(draw: st.DrawFn) -> tuple[EventRecord, ...]:
    raw = draw(
        st.lists(
            st.tuples(st.sampled_from(EVENT_TYPES), _instant(-24 * 60, 24), st.sampled_from([None, "camp1"])),
            max_size=6,
            unique_by=lambda e: (e[0], e[1], e[2]),
        )
    )
    return tuple(EventRecord(t, at, c) for t, at, c in sorted(raw, key=lambda e: e[1]))


@st.composite
def contacts(draw: st.DrawFn, max_size: int = 7) -> list[ContactData]:
    """A small random base; ids c1..cN."""
    text = st.sampled_from([None, "", "ru", "en", "Урал", "Москва"])
    out = []
    for n in range(1, draw(st.integers(1, max_size)) + 1):
        cid = f"c{n}"
        consents = {
            ch: status
            for ch in CHANNELS
            if (status := draw(st.sampled_from([None, "granted", "granted", "revoked"]))) is not None
        }
        addresses = {
            "email": draw(st.sampled_from([None, "", f"{cid}@example.org"])),
            "telegram": draw(st.sampled_from([None, 1000 + n])),
            "sms": draw(st.sampled_from([None, "", f"+7900000{n:04d}"])),
        }
        # Suppressions are per address: only a channel with an address can have one.
        suppressible = sorted(ch for ch, address in addresses.items() if address not in (None, ""))
        out.append(
            ContactData(
                id=cid,
                email=addresses["email"],  # type: ignore[arg-type]
                telegram_chat_id=addresses["telegram"],  # type: ignore[arg-type]
                phone=addresses["sms"],  # type: ignore[arg-type]
                timezone=draw(st.sampled_from([None, "", "Europe/Moscow", "Asia/Vladivostok", "UTC"])),
                locale=draw(text),
                region=draw(text),
                interest=draw(text),
                created_at=draw(st.none() | _instant(-24 * 30, 48)),
                consents=consents,
                suppressed=frozenset(
                    draw(st.lists(st.sampled_from(suppressible), unique=True)) if suppressible else ()
                ),
                tags=draw(tag_records()),
                orders=draw(order_records(cid)),
                events=draw(event_records()),
            )
        )
    return out


WITHINS = (None, timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(0))
NUMERIC_VALUES: dict[str, list[Any]] = {
    "paid_total": [0, 100, 990, 5000, 5990.5, 30000],
    "orders_count": [0, 1, 2, 3],
    "recency_days": [0, 1, 3, 10, 30, 40],
    "frequency": [0, 1, 2, 3, 5],
    "monetary": [0, 100, 1000, 5000],
    "r": [1, 2, 3, 4, 5],
    "f": [1, 2, 3, 4, 5],
    "m": [1, 2, 3, 4, 5],
    "created_days": [-1, 0, 1, 2, 14, 30],
}


def _within() -> st.SearchStrategy[timedelta | None]:
    return st.sampled_from([None, *WITHINS])


def all_leaves() -> list[Expr]:
    """Every predicate over the names of `diff_policy()` with every within and comparison value."""
    leaves: list[Expr] = [All(), *(SegmentRef(n) for n in SEGMENTS), *(Rfm(n) for n in RFM_NAMES)]
    leaves += [Has(ch) for ch in CHANNELS]
    for within in WITHINS:
        leaves += [Tag(t, within) for t in TAGS]
        leaves += [Order(s, within) for s in ORDER_STATUSES]
    # Products cut across statuses the same way whatever the window: two windows cover them.
    for within in (None, timedelta(days=1)):
        leaves += [Order(s, within, p) for s in ORDER_STATUSES for p in PRODUCTS if p is not None]
        leaves += [Event(e, within) for e in (*EVENT_TYPES, "login")]
    for op in OPERATORS:
        leaves += [Compare(name, op, v) for name in NUMERIC_FIELDS for v in NUMERIC_VALUES[name]]
        leaves += [Compare(name, op, v) for name in STRING_FIELDS for v in STRINGS]
    return leaves


def _compare() -> st.SearchStrategy[Compare]:
    numeric = st.sampled_from(NUMERIC_FIELDS).flatmap(
        lambda name: st.builds(
            Compare, st.just(name), st.sampled_from(OPERATORS), st.sampled_from(NUMERIC_VALUES[name])
        )
    )
    strings = st.builds(
        Compare,
        st.sampled_from(STRING_FIELDS),
        st.sampled_from(OPERATORS),
        st.sampled_from(STRINGS),
    )
    return numeric | strings


def expressions() -> st.SearchStrategy[Expr]:
    """Random ASTs over the names of `diff_policy()`."""
    leaves = st.one_of(
        st.just(All()),
        st.builds(Tag, st.sampled_from(TAGS), _within()),
        st.builds(SegmentRef, st.sampled_from(SEGMENTS)),
        st.builds(Rfm, st.sampled_from(RFM_NAMES)),
        st.builds(Has, st.sampled_from(CHANNELS)),
        st.builds(Order, st.sampled_from(ORDER_STATUSES), _within(), st.sampled_from(PRODUCTS)),
        st.builds(Event, st.sampled_from([*EVENT_TYPES, "login"]), _within()),
        _compare(),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
            st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        ),
        max_leaves=6,
    )


WORKED_IMPORTED_AT = datetime(2026, 11, 24, tzinfo=UTC)


async def load_worked(db: Database, worked_dir: Path, policy: Policy) -> None:
    """Import the worked example's three CSV files (with the CSV importer, as a user would)."""
    from storage.importer import import_csv

    for kind in ("contacts", "orders", "events"):
        await import_csv(db, kind, worked_dir / f"{kind}.csv", policy, now=WORKED_IMPORTED_AT)


def _address(contact: ContactData, channel: str) -> str | int | None:
    return {"email": contact.email, "telegram": contact.telegram_chat_id, "sms": contact.phone}[channel]


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else to_epoch(value)


async def write_contacts(db: Database, base: list[ContactData]) -> None:
    """Insert the base with batched statements (one transaction)."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, email, telegram_chat_id, phone, timezone, locale, region, interest,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (c.id, c.email, c.telegram_chat_id, c.phone, c.timezone, c.locale, c.region, c.interest,
                 _epoch(c.created_at))
                for c in base
            ],
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO consents (contact_id, channel, status, at) VALUES (?, ?, ?, 0)",
            [(c.id, ch, status) for c in base for ch, status in c.consents.items()],
        )
        await conn.executemany(  # suppressions are per address: a contact without one has none
            "INSERT OR IGNORE INTO suppressions (channel, address, reason, at) VALUES (?, ?, 'manual', 0)",
            [
                (ch, address_key(ch, address))
                for c in base
                for ch in sorted(c.suppressed)
                if (address := _address(c, ch)) not in (None, "")
            ],
        )
        await conn.executemany(
            "INSERT INTO tags (contact_id, tag, set_at, expires_at, removed_at) VALUES (?, ?, ?, ?, ?)",
            [
                (c.id, t.tag, _epoch(t.set_at), _epoch(t.expires_at), _epoch(t.removed_at))
                for c in base
                for t in c.tags
            ],
        )
        await conn.executemany(
            "INSERT INTO orders (id, contact_id, amount, status, created_at, paid_at, product)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (o.id, c.id, o.amount, o.status, _epoch(o.created_at), _epoch(o.paid_at), o.product)
                for c in base
                for o in c.orders
            ],
        )
        await conn.executemany(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES (?, ?, ?, ?)",
            [(c.id, e.type, _epoch(e.at), e.campaign_id or "") for c in base for e in c.events],
        )
