"""Segment counts and full RFM through `SegmentContext` beside hand-written SQL, in one process.

Baseline: for each case the query a good engineer would write by hand against the same indexes (the
natural join from the consents index for `has:email`, the tag index for `tag:`, the events index for
`event:`, the openers first for the compound, one aggregate statement for RFM); the goal is ours within
1.5× of it (ours/hand ≤ 1.5).

    python bench/segment_bench.py --contacts 1000000          # the SPEC's 1 M base
    python bench/segment_bench.py --contacts 100000 --explain

"full RFM" is `ritm rfm` (one aggregate pass); "RFM table + counts" also writes the per-contact
temp table that `rfm:`/r/f/m predicates and the campaign planner look up. The synthetic base
(`ritm.synthetic.write_demo_base`) is imported once with the CSV importer into a
database cached under the temp directory, keyed by size and seed, so reruns start at once. Each case
runs our compiled query and an equivalent hand-written query alternately (so load drift on a shared
machine hits both), checks they give the same answer, and prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path

from policy.config import Policy
from policy.timeutil import to_epoch
from ritm.policy_file import load_policy
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.db import Database
from storage.importer import import_csv
from storage.segments import SegmentContext

ACTIVE_TAG = (
    "t.set_at <= :at AND (t.removed_at IS NULL OR t.removed_at > :at)"
    " AND (t.expires_at IS NULL OR t.expires_at > :at)"
)
REACHABLE_EMAIL = """c.email IS NOT NULL AND c.email != ''
  AND EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = c.id AND k.channel = 'email'
              AND k.status = 'granted')
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = 'email' AND s.address = lower(c.email))"""

# (name, DSL, hand-written SQL with :at / :since30 parameters)
CASES = [
    (
        "tag:marathon",
        "tag:marathon",
        f"SELECT COUNT(*) FROM tags t WHERE t.tag = 'marathon' AND {ACTIVE_TAG}",
    ),
    (
        "has:email",
        "has:email",
        # The natural join: walk the consents index for granted email consents, look each contact up.
        """SELECT COUNT(*) FROM consents k JOIN contacts c ON c.id = k.contact_id
WHERE k.channel = 'email' AND k.status = 'granted' AND c.email IS NOT NULL AND c.email != ''
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = 'email' AND s.address = lower(c.email))""",
    ),
    (
        "event:open within 30d",
        "event:open within 30d",
        "SELECT COUNT(DISTINCT contact_id) FROM events WHERE type = 'open' AND at BETWEEN :since30 AND :at",
    ),
    (
        "compound",
        "has:email AND NOT segment:in_activity AND event:open within 30d AND paid_total < 5000",
        # As a careful hand would write it: walk the few recent openers, check the rest by key.
        f"""SELECT COUNT(*) FROM contacts c
WHERE c.id IN (SELECT contact_id FROM events WHERE type = 'open' AND at BETWEEN :since30 AND :at)
  AND {REACHABLE_EMAIL}
  AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.contact_id = c.id
                  AND t.tag IN ('marathon', 'intensive', 'club') AND {ACTIVE_TAG})
  AND (SELECT TOTAL(o.amount) FROM orders o WHERE o.contact_id = c.id AND o.status = 'paid'
       AND o.paid_at <= :at) < 5000""",
    ),
]

# The whole RFM distribution in one hand-written statement (the default policy's thresholds and rules).
HAND_RFM = """
WITH facts AS (
  SELECT contact_id, (:at - MAX(last_at)) / 86400 AS d, SUM(n) AS fr, TOTAL(money) AS mo FROM (
    SELECT contact_id, MAX(at) AS last_at, SUM(at > :since) AS n, 0 AS money
      FROM events WHERE at <= :at GROUP BY contact_id
    UNION ALL
    SELECT contact_id, MAX(created_at), SUM(created_at > :since), 0
      FROM orders WHERE created_at <= :at GROUP BY contact_id
    UNION ALL
    SELECT contact_id, MAX(paid_at), 0, TOTAL(CASE WHEN paid_at > :since THEN amount ELSE 0 END)
      FROM orders WHERE status = 'paid' AND paid_at <= :at GROUP BY contact_id
  ) GROUP BY contact_id
), scored AS (
  SELECT 5 - ((d > 7) + (d > 30) + (d > 90) + (d > 180)) AS r,
         1 + (fr >= 2) + (fr >= 4) + (fr >= 8) + (fr >= 16) AS f FROM facts
)
SELECT CASE
  WHEN r BETWEEN 4 AND 5 AND f BETWEEN 4 AND 5 THEN 'champions'
  WHEN r BETWEEN 3 AND 5 AND f BETWEEN 3 AND 5 THEN 'loyal'
  WHEN r BETWEEN 4 AND 5 AND f = 1 THEN 'new_customers'
  WHEN r BETWEEN 3 AND 5 AND f BETWEEN 1 AND 2 THEN 'potential_loyalists'
  WHEN r = 1 AND f BETWEEN 4 AND 5 THEN 'cant_lose'
  WHEN r BETWEEN 1 AND 2 AND f BETWEEN 3 AND 5 THEN 'at_risk'
  WHEN r = 2 AND f BETWEEN 1 AND 2 THEN 'hibernating'
  WHEN r = 1 AND f BETWEEN 1 AND 3 THEN 'lost'
  ELSE 'other' END AS segment, COUNT(*)
FROM scored GROUP BY segment
"""


async def cached_base(cache: Path, contacts: int, seed: int, policy: Policy) -> Path:
    """The imported synthetic base for (contacts, seed), built once and kept at the current schema (a
    base cached before a migration is migrated here once, not in every copy a measurement opens: a
    migration rebuilding a table of millions of rows would count in that measurement's time and RSS)."""
    path = cache / f"segments-{contacts}-{seed}.db"
    if path.exists():
        db = await Database.open(path)  # migrates what is missing
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()
        return path
    cache.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    with tempfile.TemporaryDirectory(prefix="ritm-segbench-") as tmp:
        started = time.perf_counter()
        counts = write_demo_base(Path(tmp) / "base", contacts, seed, DEFAULT_ANCHOR)
        print(f"generated {counts} in {time.perf_counter() - started:.0f} s", flush=True)
        partial = Path(tmp) / "base.db"
        db = await Database.open(partial)
        started = time.perf_counter()
        for kind in ("contacts", "orders", "events"):
            await import_csv(db, kind, Path(tmp) / "base" / f"{kind}.csv", policy, now=DEFAULT_ANCHOR)
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()
        print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)
        shutil.move(partial, path)
    return path


async def side_by_side(
    runs: int, ours: Callable[[], Awaitable[object]], hand: Callable[[], Awaitable[object]]
) -> tuple[object, float, object, float]:
    """Alternate the two `runs` times; return each one's last answer and median seconds."""
    ours_s, hand_s = [], []
    ours_value = hand_value = None
    for _ in range(runs):
        started = time.perf_counter()
        ours_value = await ours()
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        hand_value = await hand()
        hand_s.append(time.perf_counter() - started)
    return ours_value, statistics.median(ours_s), hand_value, statistics.median(hand_s)


def report(name: str, mine: object, ours_s: float, theirs: object, hand_s: float) -> bool:
    """Print one result line; True when the two answers differ."""
    shown = sum(mine.values()) if isinstance(mine, dict) else mine
    wrong = "" if mine == theirs else f"   MISMATCH: hand-written gives {theirs}"
    print(f"{name:<24}{shown:>10,}{ours_s:>9.3f}{hand_s:>9.3f}{ours_s / hand_s:>11.2f}{wrong}", flush=True)
    return bool(wrong)


async def bench(args: argparse.Namespace) -> int:
    policy = load_policy(None)
    path = await cached_base(Path(args.cache), args.contacts, args.seed, policy)
    started = time.perf_counter()
    db = await Database.open(path)  # applies any newer migration (e.g. our indexes)
    opened = time.perf_counter() - started
    at = DEFAULT_ANCHOR.astimezone(UTC)
    at_s = to_epoch(at)
    params: dict[str, object] = {
        "at": at_s,
        "since30": at_s - 30 * 86400,
        "since": to_epoch(at - policy.rfm.period),
    }
    total = await db.scalar("SELECT COUNT(*) FROM contacts")
    print(f"base: {total:,} contacts ({path}, opened in {opened:.1f} s); at = {at.isoformat()}")
    print(f"median of {args.runs} runs, ours and hand-written alternating")
    print(f"{'case':<24}{'count':>10}{'ours s':>9}{'hand s':>9}{'ours/hand':>11}")
    failures = 0
    try:
        for name, dsl, hand_sql in CASES:
            ctx = await SegmentContext.create(db, policy, at)
            if args.explain:
                frag = ctx.compile(dsl)
                sql = f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM contacts c WHERE {frag.sql}"
                print("\n".join(f"    {row[3]}" for row in await ctx.fetchall(sql, tuple(frag.params))))

            async def ours(c: SegmentContext = ctx, text: str = dsl) -> object:
                return await c.count(text)

            async def hand(sql: str = hand_sql) -> object:
                return await db.scalar(sql, {k: v for k, v in params.items() if f":{k}" in sql})

            failures += report(name, *await side_by_side(args.runs, ours, hand))
            await ctx.close()

        async def our_rfm() -> object:
            async with await SegmentContext.create(db, policy, at) as ctx:
                counts = await ctx.rfm_counts()
            counts.pop("no_activity")
            return counts

        async def hand_rfm() -> object:
            return {str(r[0]): int(r[1]) for r in await db.fetchall(HAND_RFM, params)}

        failures += report("full RFM", *await side_by_side(args.runs, our_rfm, hand_rfm))

        async def our_rfm_table() -> object:
            # The per-contact table that `rfm:`, r/f/m and the planner's RFM column read from.
            async with await SegmentContext.create(db, policy, at) as ctx:
                ctx.rfm_segment_sql()
                await ctx.prepare()
                counts = await ctx.rfm_counts()
            counts.pop("no_activity")
            return counts

        failures += report("RFM table + counts", *await side_by_side(args.runs, our_rfm_table, hand_rfm))
    finally:
        await db.close()
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ritm-bench"))
    parser.add_argument("--explain", action="store_true", help="print each compiled query's plan")
    sys.exit(asyncio.run(bench(parser.parse_args())))


if __name__ == "__main__":
    main()
