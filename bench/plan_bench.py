"""Dry run and planning of a mass campaign over the synthetic base, beside a bare SQLite insert.

    python bench/plan_bench.py --contacts 100000
    python bench/plan_bench.py --contacts 1000000

The base is imported once and cached (see segment_bench.cached_base); each measurement runs on a fresh
copy of it. The campaign is the shipped digest (three segment versions, A/B, 10 % holdout, RFM send
windows, the policy's caps and protected segments). In the same run, the same number of outbox rows is
inserted with a bare `sqlite3` executemany into a fresh copy, and the ratio planning / bare is printed.
Peak RSS is the process's high-water mark (ru_maxrss) after each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from segment_bench import cached_base

from dispatcher.planner import evaluate_campaign, summarise, write_plan
from policy.campaign import parse_campaign
from ritm.demo_campaigns import campaign_text
from ritm.policy_file import load_policy
from storage.db import Database

AT = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 08:00 in Moscow, an hour before the digest starts


def peak_rss_mb() -> float:
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
        started = time.perf_counter()
        evaluation = await evaluate_campaign(db, campaign, policy, AT)
        report = summarise(evaluation)
        dry = time.perf_counter() - started
        audience = report.audience
        del evaluation
        started = time.perf_counter()
        evaluation = await evaluate_campaign(db, campaign, policy, AT)
        inserted = await write_plan(db, evaluation, now=AT)
        plan = time.perf_counter() - started
    finally:
        await db.close()
    rss = peak_rss_mb()
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
        "rss_mb": rss,
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
    print(
        f"  planning / bare insert: {med['plan_per_s'] / med['bare_rows_per_s']:.2f} in contacts/s,"
        f" {med['plan_rows_per_s'] / med['bare_rows_per_s']:.2f} in outbox rows/s (holdout and excluded"
        " contacts are decided but a bare insert has no such work)"
    )
    print(f"  peak RSS {max(r['rss_mb'] for r in rounds):,.0f} MB")


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
