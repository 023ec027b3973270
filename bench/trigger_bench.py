"""A trigger tick beside evaluating its segment over the whole base, in one process (SPEC §12.4).

    python bench/trigger_bench.py --contacts 1000000          # the issue's 1 M base
    python bench/trigger_bench.py --contacts 100000 --minutes 5

The synthetic base is imported once and cached (see segment_bench.cached_base); the bench works on a
copy. Two triggers are live: the shipped dunning scenario (`event:order_created`) and the win-back
(`enter:segment:sleeping_30d`). Each simulated minute writes `--changes` changes through the importer's
own upserts (half new pending orders, half events, on random contacts), then runs one trigger tick —
which reads only the feed rows after each trigger's cursor and asks the segment only of the contacts
they touched. Beside each tick, the same segment is evaluated over the whole base (what a tick
without a cursor would have to do). Medians, and their ratio, are printed; the bound is a tick
≤ 1 s and ≤ 1/20 of the whole-base evaluation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

from segment_bench import cached_base

from dispatcher.campaign_cache import CampaignCache
from dispatcher.triggers import Triggers
from policy.config import Policy
from ritm.policy_file import load_policy
from ritm.synthetic import DEFAULT_ANCHOR
from storage.campaign_store import SqliteCampaigns
from storage.db import Database
from storage.orders_events import EventRecord, OrderRecord, insert_events, upsert_orders
from storage.segments import reading
from storage.triggers import start_trigger

EXAMPLES = Path(__file__).resolve().parents[1] / "ritm" / "examples"
LIVE = (("dunning.toml", "dunning"), ("winback.toml", "winback"))
SEGMENT = "segment:sleeping_30d"


async def go_live(db: Database) -> None:
    store = SqliteCampaigns(db)
    at = DEFAULT_ANCHOR.astimezone(UTC)
    for name, campaign_id in LIVE:
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        async with store.writing() as tx:
            await tx.insert_campaign(
                id=campaign_id,
                name=campaign_id,
                priority="scenario",
                source=text,
                fingerprint="bench",
                author="bench",
                at=at,
            )
            await tx.set_status(campaign_id, "scheduled", at)
        await start_trigger(db, campaign_id)


async def write_changes(db: Database, ids: list[str], rng: random.Random, minute: int, at_s: int) -> None:
    """`len(ids)` changes: half new pending orders, half `visit`/`open` events, as the importer writes."""
    half = len(ids) // 2
    orders = [
        OrderRecord(f"bench-{minute}-{i}", cid, 990.0, "RUB", "pending", at_s - rng.randrange(60), None)
        for i, cid in enumerate(ids[:half])
    ]
    events = [
        EventRecord(cid, rng.choice(("visit", "open")), at_s - rng.randrange(60), "", None)
        for cid in ids[half:]
    ]
    async with db.transaction() as conn:
        await upsert_orders(conn, orders)
        await insert_events(conn, events)


async def bench(args: argparse.Namespace) -> int:
    policy = load_policy(None)
    cached = await cached_base(Path(args.cache), args.contacts, args.seed, policy)
    with tempfile.TemporaryDirectory(prefix="ritm-trigbench-") as tmp:
        path = Path(tmp) / "base.db"
        shutil.copy(cached, path)
        db = await Database.open(path)
        try:
            return await measure(db, args, policy)
        finally:
            await db.close()


async def measure(db: Database, args: argparse.Namespace, policy: Policy) -> int:
    at = DEFAULT_ANCHOR.astimezone(UTC)
    contacts = [r[0] for r in await db.fetchall("SELECT id FROM contacts")]
    print(f"base: {len(contacts):,} contacts; {args.changes} changes a minute, {args.minutes} minutes")
    await go_live(db)
    triggers = Triggers(db, policy, CampaignCache(db, policy))
    started = time.perf_counter()
    first = await triggers.run_once(at)  # `enter:` learns who is inside: the hourly whole-base look
    full_tick_s = time.perf_counter() - started
    print(
        f"first tick (whole-base look of {SEGMENT}, hourly at most): {full_tick_s:.2f} s, read {first.read:,}"
    )
    rng = random.Random(args.seed)
    ticks, wholes, runs = [], [], 0
    for minute in range(1, args.minutes + 1):
        now = at + timedelta(minutes=minute)
        await write_changes(db, rng.sample(contacts, args.changes), rng, minute, int(now.timestamp()))
        started = time.perf_counter()
        report = await triggers.run_once(now)
        ticks.append(time.perf_counter() - started)
        runs += sum(report.started.values())
        started = time.perf_counter()
        async with reading(db, policy, now) as ctx:
            members = await ctx.count(SEGMENT)
        wholes.append(time.perf_counter() - started)
        print(
            f"minute {minute}: tick {ticks[-1]:.3f} s ({sum(report.started.values())} runs started),"
            f" whole-base {SEGMENT} {wholes[-1]:.3f} s ({members:,} members)",
            flush=True,
        )
    tick, whole = statistics.median(ticks), statistics.median(wholes)
    rows = await db.scalar("SELECT COUNT(*) FROM outbox")
    print(f"{'':<28}{'median s':>10}")
    print(f"{'trigger tick':<28}{tick:>10.3f}")
    print(f"{'whole-base segment':<28}{whole:>10.3f}")
    print(f"tick / whole-base = 1/{whole / tick:.1f}; {runs:,} runs, {rows:,} outbox rows written")
    ok = tick <= 1.0 and tick * 20 <= whole
    print("bound (tick <= 1 s and <= 1/20 of the whole base):", "met" if ok else "NOT MET")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--changes", type=int, default=1000, help="changes a minute")
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ritm-bench"))
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
