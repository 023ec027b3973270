"""Dry run and planning of a mass campaign over the synthetic base, beside a bare SQLite insert.

    python bench/plan_bench.py --contacts 100000
    python bench/plan_bench.py --contacts 1000000

The base is imported once and cached (see segment_bench.cached_base); each measurement runs on a fresh
copy of it. The campaign is the shipped digest (three segment versions, A/B, 10 % holdout, RFM send
windows, the policy's caps and protected segments), dry-run and planned the way the campaign service
does it (`tally_campaign`; `spool_plan` + `write_spool`).

Baseline: the rows planning writes (planned + holdout), inserted in the same run into a fresh copy of
the same base with one bare `sqlite3` executemany in one transaction (rows built before the clock
starts). The goal is per WRITTEN row: planning's written rows/s ≥ 1/2 of the bare insert's.
Peak RSS is the process's high-water mark during each phase (reset before it where Linux allows).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from segment_bench import cached_base

from dispatcher.planner import spool_plan, tally_campaign, write_spool
from policy.campaign import parse_campaign
from ritm.demo_campaigns import campaign_text
from ritm.policy_file import load_policy
from storage.db import Database

AT = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 08:00 in Moscow, an hour before the digest starts


def reset_peak_rss() -> None:
    """Start a new high-water mark (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_rss_mb() -> float:
    with contextlib.suppress(OSError), open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_insert(path: Path, rows: int) -> float:
    """rows/s of a plain executemany of `rows` outbox rows in one transaction (no ORM, no policy)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    data = [
        (
            "bare",
            f"c{i:07d}",
            0,
            "mass",
            "email",
            "general",
            "A",
            1_800_000_000 + i % 7200,
            1_800_100_000,
            "planned",
            None,
            1_800_000_000,
        )
        for i in range(rows)
    ]
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT OR IGNORE INTO outbox (campaign_id, contact_id, step, priority, channel, version, variant,"
        " due_at, deadline, status, reason, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        data,
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return rows / elapsed


async def one_round(base: Path, work: Path) -> dict[str, float]:
    policy = load_policy(None)
    campaign = parse_campaign(campaign_text("digest-48"), "digest.toml", policy)
    copy = work / "plan.db"
    shutil.copy(base, copy)
    db = await Database.open(copy)
    try:
        reset_peak_rss()
        started = time.perf_counter()
        report = (await tally_campaign(db, campaign, policy, AT)).report()
        dry = time.perf_counter() - started
        dry_rss = peak_rss_mb()
        audience = report.audience
        reset_peak_rss()
        started = time.perf_counter()
        tally, spool = await spool_plan(db, campaign, policy, AT)
        with spool:
            inserted = await write_spool(db, spool, now=AT)
        plan = time.perf_counter() - started
        plan_rss = peak_rss_mb()
        assert tally.report() == report
    finally:
        await db.close()
    bare_copy = work / "bare.db"
    shutil.copy(base, bare_copy)
    bare = bare_insert(bare_copy, inserted)
    for path in (copy, bare_copy):
        path.unlink()
    return {
        "audience": audience,
        "rows": inserted,
        "dry_s": dry,
        "plan_s": plan,
        "dry_per_s": audience / dry,
        "plan_per_s": audience / plan,
        "plan_rows_per_s": inserted / plan,
        "bare_rows_per_s": bare,
        "dry_rss_mb": dry_rss,
        "plan_rss_mb": plan_rss,
        "planned": report.planned,
        "holdout": report.holdout,
    }


async def bench(args: argparse.Namespace) -> None:
    base = await cached_base(Path(args.cache), args.contacts, args.seed, load_policy(None))
    rounds = []
    with tempfile.TemporaryDirectory(prefix="ritm-planbench-") as tmp:
        for i in range(args.rounds):
            result = await one_round(base, Path(tmp))
            rounds.append(result)
            print(
                f"round {i + 1}: dry run {result['dry_s']:.1f} s, plan {result['plan_s']:.1f} s"
                f" ({result['rows']:,} rows), bare insert {result['bare_rows_per_s']:,.0f} rows/s",
                flush=True,
            )
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(
        f"\n{args.contacts:,} contacts, audience {med['audience']:,.0f}, planned {med['planned']:,.0f}"
        f" + holdout {med['holdout']:,.0f} (medians of {len(rounds)} rounds)"
    )
    print(f"  dry run   {med['dry_s']:7.1f} s   {med['dry_per_s']:>10,.0f} contacts/s")
    print(
        f"  planning  {med['plan_s']:7.1f} s   {med['plan_per_s']:>10,.0f} contacts/s"
        f"   {med['plan_rows_per_s']:>10,.0f} outbox rows/s"
    )
    print(f"  bare insert of the same rows      {med['bare_rows_per_s']:>10,.0f} rows/s")
    ratios = sorted(r["plan_rows_per_s"] / r["bare_rows_per_s"] for r in rounds)
    print(
        f"  planning / bare insert per written row: {statistics.median(ratios):.2f}"
        f" (rounds {', '.join(f'{x:.2f}' for x in ratios)}; goal ≥ 0.50)"
    )
    print(
        f"  peak RSS: dry run {max(r['dry_rss_mb'] for r in rounds):,.0f} MB,"
        f" planning {max(r['plan_rss_mb'] for r in rounds):,.0f} MB"
        " (goal: flat in the base size, ≤ 300 MB at 1 M)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ritm-bench"))
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
