"""Import throughput beside a bare sqlite3 `executemany` of the same contact rows, measured in one run.

    python bench/import_bench.py --contacts 100000      # what `make bench` runs
    python bench/import_bench.py --contacts 1000000

Generates the synthetic base into a temporary directory, imports contacts, orders and events through
`import_csv` into a fresh SQLite file, then re-imports the contacts (nothing changes); in the same run
a bare `sqlite3` `executemany` streams the contacts CSV into an identical fresh schema (before and after
ours, averaged, so load drift on a shared machine hits both sides). Prints rows/s, the ratio
ours / bare, the whole-pipeline time and the peak RSS of the process.
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
from datetime import UTC, datetime
from pathlib import Path

from ritm.policy_file import load_policy
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database, migration_files
from storage.importer import ImportReport, import_csv

BARE_COLUMNS = "id, email, name, telegram_chat_id, phone, timezone, locale, region, interest, created_at"


def bare_insert(csv_path: Path, db_path: Path) -> tuple[int, float]:
    """The floor: the same schema and pragmas, the contact rows as read, one executemany."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "cache_size = -65536"):
        conn.execute(f"PRAGMA {pragma}")
    for _, _, sql in migration_files():
        conn.executescript(sql)
    started = time.perf_counter()
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.executemany(
            f"INSERT INTO contacts ({BARE_COLUMNS}) VALUES ({', '.join('?' * 10)})", (r[:10] for r in reader)
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    rows = cur.rowcount
    conn.close()
    return rows, elapsed


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
    with tempfile.TemporaryDirectory(prefix="ritm-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        counts = write_demo_base(root / "base", args.contacts, args.seed, DEFAULT_ANCHOR)
        generated = time.perf_counter() - started
        bare_rows, bare_first = bare_insert(root / "base" / "contacts.csv", root / "bare1.db")
        results = asyncio.run(ours(root / "base", root / "ours.db"))
        _, bare_second = bare_insert(root / "base" / "contacts.csv", root / "bare2.db")
    bare_s = (bare_first + bare_second) / 2
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"synthetic base: {counts['contacts']:,} contacts, {counts['orders']:,} orders, "
          f"{counts['events']:,} events generated in {generated:.1f} s")  # fmt: skip
    print(f"{'step':<16}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for name, (report, seconds) in results.items():
        rows = report.good_rows + report.rejected
        print(f"{name:<16}{rows:>12,}{seconds:>10.2f}{rows / seconds:>12,.0f}")
    print(f"{'bare contacts':<16}{bare_rows:>12,}{bare_s:>10.2f}{bare_rows / bare_s:>12,.0f}"
          f"   (runs: {bare_first:.2f} s, {bare_second:.2f} s)")  # fmt: skip
    contacts_s = results["contacts"][1]
    print(f"ratio ours/bare (contacts rows/s): {bare_s / contacts_s:.2f}")
    pipeline = generated + sum(s for k, (_, s) in results.items() if k != "contacts again")
    print(f"generation + import of the three files: {pipeline:.1f} s")
    print(f"peak RSS: {rss_mb:.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
