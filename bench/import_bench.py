"""Import throughput beside a bare sqlite3 `executemany` of the same rows, measured in one run.

    python bench/import_bench.py --contacts 100000      # what `make bench` runs
    python bench/import_bench.py --contacts 1000000

Generates the synthetic base into a temporary directory, imports contacts, orders and events through
`import_csv` into a fresh SQLite file, then re-imports the contacts (nothing changes).

Baseline (the floor, in the same run, before and after ours, averaged so load drift on a shared machine
hits both sides): the same schema and pragmas, the CSV read with `csv.reader`, and exactly the rows the
import writes — contacts, one consent row per consent cell, one tag row per tag — each table one
`executemany` in one transaction, instants converted with `datetime.fromisoformat`, nothing validated.
Events get the same kind of baseline. Prints rows/s, the ratios ours / bare (goal: contacts ≥ 1/4),
the whole-pipeline time and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ritm.policy_file import load_policy
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database, migration_files
from storage.importer import ImportReport, import_csv

CONTACT_COLUMNS = "id, email, name, telegram_chat_id, phone, timezone, locale, region, interest, created_at"
CONSENTS = {"consent_email": "email", "consent_telegram": "telegram", "consent_sms": "sms"}
GRANTED = {"1", "yes", "true"}
CHUNK = 10_000  # rows per executemany, as many as one import batch


def epoch(text: str) -> int | None:
    return int(datetime.fromisoformat(text).timestamp()) if text else None


def bare_db(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "cache_size = -65536"):
        conn.execute(f"PRAGMA {pragma}")
    for _, _, sql in migration_files():
        conn.executescript(sql)
    return conn


def bare_contacts(csv_path: Path, conn: sqlite3.Connection, now: int) -> tuple[int, float]:
    """The contacts file's rows — contacts, consents, tags — an executemany per table and chunk of
    CHUNK rows (bounded memory, like ours), all in one transaction."""
    started = time.perf_counter()
    written = 0
    contacts: list[tuple[object, ...]] = []
    consents: list[tuple[object, ...]] = []
    tags: list[tuple[object, ...]] = []

    def flush() -> int:
        conn.executemany(f"INSERT INTO contacts ({CONTACT_COLUMNS}) VALUES ({', '.join('?' * 10)})", contacts)
        conn.executemany("INSERT INTO consents (contact_id, channel, status, at) VALUES (?,?,?,?)", consents)
        conn.executemany("INSERT INTO tags (contact_id, tag, set_at) VALUES (?, ?, ?)", tags)
        done = len(contacts) + len(consents) + len(tags)
        for rows in (contacts, consents, tags):
            rows.clear()
        return done

    conn.execute("BEGIN IMMEDIATE")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        flags = [(header.index(col), channel) for col, channel in CONSENTS.items() if col in header]
        tag_col = header.index("tags")
        for r in reader:
            cid = r[0]
            contacts.append((*(v or None for v in r[:9]), epoch(r[9])))
            for i, channel in flags:
                if r[i]:
                    consents.append((cid, channel, "granted" if r[i] in GRANTED else "revoked", now))
            for item in filter(None, r[tag_col].split(";")):
                name, _, when = item.partition("@")
                tags.append((cid, name, epoch(when) or now))
            if len(contacts) >= CHUNK:
                written += flush()
    written += flush()
    conn.execute("COMMIT")
    return written, time.perf_counter() - started


def bare_events(csv_path: Path, conn: sqlite3.Connection) -> tuple[int, float]:
    """The events file's rows, one executemany (INSERT OR IGNORE on the natural key, like ours)."""
    started = time.perf_counter()

    def rows() -> Iterator[tuple[object, ...]]:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for cid, kind, at, campaign in reader:
                yield cid, kind, epoch(at), campaign

    conn.execute("BEGIN IMMEDIATE")
    cur = conn.executemany(
        "INSERT OR IGNORE INTO events (contact_id, type, at, campaign_id) VALUES (?, ?, ?, ?)", rows()
    )
    conn.execute("COMMIT")
    return cur.rowcount, time.perf_counter() - started


def bare(base: Path, db_path: Path, now: int) -> tuple[int, float, int, float]:
    conn = bare_db(db_path)
    try:
        return (*bare_contacts(base / "contacts.csv", conn, now), *bare_events(base / "events.csv", conn))
    finally:
        conn.close()


async def ours(base: Path, db_path: Path) -> dict[str, tuple[ImportReport, float]]:
    policy = load_policy(None)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    results: dict[str, tuple[ImportReport, float]] = {}
    db = await Database.open(db_path)
    try:
        for kind in ("contacts", "orders", "events"):
            started = time.perf_counter()
            report = await import_csv(db, kind, base / f"{kind}.csv", policy, now=now)
            results[kind] = (report, time.perf_counter() - started)
        started = time.perf_counter()
        report = await import_csv(db, "contacts", base / "contacts.csv", policy, now=now)
        results["contacts again"] = (report, time.perf_counter() - started)
    finally:
        await db.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    now = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())
    with tempfile.TemporaryDirectory(prefix="ritm-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        counts = write_demo_base(root / "base", args.contacts, args.seed, DEFAULT_ANCHOR)
        generated = time.perf_counter() - started
        first = bare(root / "base", root / "bare1.db", now)
        results = asyncio.run(ours(root / "base", root / "ours.db"))
        second = bare(root / "base", root / "bare2.db", now)
        written = dict(_counts(root / "ours.db"))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"synthetic base: {counts['contacts']:,} contacts, {counts['orders']:,} orders, "
          f"{counts['events']:,} events generated in {generated:.1f} s")  # fmt: skip
    print(f"rows written by the import: {', '.join(f'{n:,} {t}' for t, n in written.items())}")
    print(f"{'step':<16}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for name, (report, seconds) in results.items():
        rows = report.good_rows + report.rejected
        print(f"{name:<16}{rows:>12,}{seconds:>10.2f}{rows / seconds:>12,.0f}")
    contact_rows = written["contacts"] + written["consents"] + written["tags"]
    for label, index, ours_s in (
        ("contacts", 0, results["contacts"][1]),
        ("events", 2, results["events"][1]),
    ):
        bare_rows, bare_s = first[index], (first[index + 1] + second[index + 1]) / 2
        ours_rows = contact_rows if label == "contacts" else written["events"]
        print(
            f"bare {label:<11}{bare_rows:>12,}{bare_s:>10.2f}{bare_rows / bare_s:>12,.0f}"
            f"   (runs: {first[index + 1]:.2f} s, {second[index + 1]:.2f} s; ours wrote {ours_rows:,})"
        )
        print(
            f"  ratio ours/bare ({label} file, written rows/s): {bare_s / ours_s * ours_rows / bare_rows:.2f}"
        )
    pipeline = generated + sum(s for k, (_, s) in results.items() if k != "contacts again")
    print(f"generation + import of the three files: {pipeline:.1f} s")
    print(f"peak RSS: {rss_mb:.0f} MB")
    sys.stdout.flush()


def _counts(db_path: Path) -> Iterator[tuple[str, int]]:
    conn = sqlite3.connect(db_path)
    try:
        for table in ("contacts", "consents", "tags", "orders", "events"):
            yield table, conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


if __name__ == "__main__":
    main()
