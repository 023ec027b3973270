"""The synthetic base: deterministic bytes, realistic mixes, and every RFM and base segment populated.

RFM is recomputed here with a plain reference of SPEC §5 (thresholds, default rules) over the imported
rows, then compared with the production RFM so the two implementations keep each other honest.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from policy.config import Policy
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database
from storage.importer import import_csv

N = 3000
SEED = 11
AT = int(DEFAULT_ANCHOR.timestamp())
DAY = 86400
RUSSIAN_ZONES = {
    "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
    "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
    "Asia/Magadan", "Asia/Kamchatka",
}  # fmt: skip
ABROAD = {
    "Europe/Berlin",
    "Asia/Almaty",
    "Asia/Tbilisi",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "base"
    write_demo_base(out, N, SEED, DEFAULT_ANCHOR)
    return out


def test_same_inputs_give_byte_identical_files(base: Path, tmp_path: Path) -> None:
    counts = write_demo_base(tmp_path / "again", N, SEED, DEFAULT_ANCHOR)
    other = write_demo_base(tmp_path / "other", N, SEED + 1, DEFAULT_ANCHOR)
    for name in ("contacts.csv", "orders.csv", "events.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (base / name).read_bytes(), name
        assert (tmp_path / "other" / name).read_bytes() != (base / name).read_bytes(), name
    assert counts["contacts"] == N and counts["events"] == len(read(base / "events.csv"))
    assert other != counts


def test_the_anchor_moves_every_date_and_nothing_is_later(base: Path, tmp_path: Path) -> None:
    shifted = DEFAULT_ANCHOR + timedelta(days=30)
    write_demo_base(tmp_path / "later", 50, SEED, shifted)
    write_demo_base(tmp_path / "first", 50, SEED, DEFAULT_ANCHOR)
    first = read(tmp_path / "first" / "contacts.csv")
    later = read(tmp_path / "later" / "contacts.csv")
    moved = {
        int(datetime.fromisoformat(b["created_at"]).timestamp())
        - int(datetime.fromisoformat(a["created_at"]).timestamp())
        for a, b in zip(first, later, strict=True)
    }
    assert moved == {30 * DAY}
    stamps = [r["created_at"] for r in read(base / "contacts.csv")]
    stamps += [r["at"] for r in read(base / "events.csv")]
    stamps += [r[k] for r in read(base / "orders.csv") for k in ("created_at", "paid_at") if r[k]]
    stamps += [t.split("@")[1] for r in read(base / "contacts.csv") for t in r["tags"].split(";") if t]
    assert max(int(datetime.fromisoformat(s).timestamp()) for s in stamps) <= AT


def test_the_mix_looks_like_a_school_base(base: Path) -> None:
    contacts = read(base / "contacts.csv")
    zones = Counter(c["timezone"] for c in contacts)
    assert zones.most_common(1)[0][0] == "Europe/Moscow"
    assert set(zones) >= RUSSIAN_ZONES and set(zones) >= ABROAD
    assert 0.03 < zones[""] / N < 0.15  # some have no timezone at all
    email, tg = [bool(c["email"]) for c in contacts], [bool(c["telegram_chat_id"]) for c in contacts]
    kinds = Counter((e, t) for e, t in zip(email, tg, strict=True))
    assert all(kinds[k] > 0.02 * N for k in [(True, True), (True, False), (False, True), (False, False)])
    consents = Counter(c["consent_email"].lower() for c in contacts if c["email"])
    assert consents[""] > 0 and consents["no"] + consents["0"] + consents["false"] > 0  # partial consent
    assert any(
        "\u0400" <= ch <= "\u04ff" for ch in contacts[0]["name"] + contacts[1]["name"] + contacts[2]["name"]
    )
    assert any(c["name"].isascii() for c in contacts)  # and other names too

    orders = read(base / "orders.csv")
    statuses = Counter(o["status"] for o in orders)
    assert set(statuses) == {"paid", "pending", "cancelled"} and statuses["paid"] > statuses["pending"]
    amounts = [float(o["amount"]) for o in orders]
    assert statistics.mean(amounts) > 1.3 * statistics.median(amounts)  # right-skewed
    events = read(base / "events.csv")
    assert 4.0 <= len(events) / N <= 6.0
    assert set(Counter(e["type"] for e in events)) == {
        "open", "click", "visit", "login", "lesson_done", "webinar_registered", "webinar_attended",
        "reply", "offer_declined",
    }  # fmt: skip


def reference_rfm(policy: Policy, facts: dict[str, tuple[int, int]], ids: list[str]) -> Counter[str]:
    """SPEC §5 thresholds, written out plainly: (latest activity, frequency) per contact → segment."""
    cfg = policy.rfm
    counts: Counter[str] = Counter()
    for cid in ids:
        if cid not in facts:
            counts["no_activity"] += 1
            continue
        latest, frequency = facts[cid]
        days = (AT - latest) // DAY
        r = 5 - sum(days > t for t in cfg.recency_days)
        f = 1 + sum(frequency >= t for t in cfg.frequency)
        rule = next(x for x in cfg.segments if x.r[0] <= r <= x.r[1] and x.f[0] <= f <= x.f[1])
        counts[rule.name] += 1
    return counts


async def test_every_rfm_and_base_segment_is_populated(
    base: Path, db: Database, default_policy: Policy
) -> None:
    now = datetime(2026, 11, 23, 6, tzinfo=UTC)
    for kind in ("contacts", "orders", "events"):
        report = await import_csv(db, kind, base / f"{kind}.csv", default_policy, now=now)
        assert report.rejected == 0, report.errors[:3]
    since = AT - int(default_policy.rfm.period.total_seconds())
    rows = await db.fetchall(
        """
        SELECT contact_id, MAX(t), SUM(counted) FROM (
            SELECT contact_id, at AS t, at > :since AS counted FROM events WHERE at <= :at
            UNION ALL SELECT contact_id, created_at, created_at > :since FROM orders WHERE created_at <= :at
            UNION ALL SELECT contact_id, paid_at, 0 FROM orders WHERE paid_at <= :at
        ) GROUP BY contact_id
        """,
        {"at": AT, "since": since},
    )
    facts = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    ids = [r[0] for r in await db.fetchall("SELECT id FROM contacts")]
    counts = reference_rfm(default_policy, facts, ids)

    names = [rule.name for rule in default_policy.rfm.segments] + ["no_activity"]
    assert set(counts) == set(names)
    for name in names:
        assert 0.02 <= counts[name] / N <= 0.3, (name, counts[name])

    active = "removed_at IS NULL AND (expires_at IS NULL OR expires_at > :at)"
    base_sql = {
        "new_in_funnel": "SELECT COUNT(DISTINCT contact_id) FROM tags WHERE tag = 'funnel'"
        f" AND set_at BETWEEN :at - 7 * 86400 AND :at AND {active}",
        "pending_order": "SELECT COUNT(DISTINCT contact_id) FROM orders"
        " WHERE status = 'pending' AND created_at <= :at",
        "in_activity": "SELECT COUNT(DISTINCT contact_id) FROM tags"
        f" WHERE tag IN ('marathon', 'intensive', 'club') AND set_at <= :at AND {active}",
        "rplus": "SELECT COUNT(*) FROM (SELECT contact_id FROM orders"
        " WHERE status = 'paid' AND paid_at <= :at GROUP BY contact_id HAVING SUM(amount) >= 5000)",
    }
    for name, sql in base_sql.items():
        size = await db.scalar(sql, {"at": AT})
        assert isinstance(size, int) and 0.005 * N <= size <= 0.5 * N, (name, size)

    # The production RFM (storage.segments) must agree with the reference, segment by segment.
    from storage.segments import SegmentContext

    async with await SegmentContext.create(db, default_policy, DEFAULT_ANCHOR) as ctx:
        production = await ctx.rfm_counts()
    assert {k: v for k, v in production.items() if v} == dict(counts)
