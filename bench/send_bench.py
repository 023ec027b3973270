"""Sending throughput, each figure beside its baseline in the same run (SPEC §11):

- email: our EmailChannel (MIME build + pool) vs a bare aiosmtplib loop over as many connections
  to the same local aiosmtpd (goal ≥ 0.8 of bare) — see bench/email_throughput.py;
- Telegram: TelegramChannel against the stand-in enforcing 30 msg/s with our limiter at 30 (goal ≥ 0.95
  of the limit, zero 429s), and a paid broadcast at 1000 msg/s beside a bare aiogram loop — see
  bench/telegram_throughput.py;
- the outbox: claim-and-complete of due rows the durable way (claim_due under a row lease, then per
  message a committed `sending` mark before hand-off and its outcome after, group-committed by
  storage.handoff over `LANES` channel slots) vs the same statements in the same transactions run by a
  bare sqlite3 loop, rows/s.

    python bench/send_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from email_throughput import measure_email
from telegram_throughput import measure_bare, measure_telegram

from storage.db import Database
from storage.handoff import Answered, Handoff, HandoffCommitter
from storage.outbox import ClaimedRow, Outcome, claim_due

NOW = 1_800_000_000
LANES = 4  # the default SMTP pool: each transaction then carries up to 4 marks and 4 outcomes
INSERT = (
    "INSERT INTO outbox (campaign_id, contact_id, step, priority, channel, due_at, status, created_at)"
    " VALUES ('b', ?, 0, 'mass', 'email', ?, 'planned', ?)"
)


async def seed_outbox(path: Path, rows: int) -> None:
    db = await Database.open(path)
    async with db.transaction() as conn:
        await conn.executemany(INSERT, [(f"c{i:07d}", NOW - 60, NOW) for i in range(rows)])
    await db.close()


async def ours(path: Path, batch: int) -> float:
    db = await Database.open(path)
    committer = HandoffCommitter(db, "bench")
    at = datetime.fromtimestamp(NOW, UTC)

    async def lane(queue: list[ClaimedRow]) -> None:
        answered = None
        while queue:
            row = queue.pop()
            assert await committer.commit(
                answered=answered, handoff=Handoff(row.id, row.campaign_id, row.priority, NOW + 300)
            )
            outcome = Outcome(row.id, "sent", sent_at=NOW, message_id="x")
            answered = Answered(outcome, row.contact_id, row.channel, at)
        if answered is not None:
            await committer.commit(answered=answered)

    started, done = time.perf_counter(), 0
    while rows := await claim_due(db, holder="bench", now=NOW, lease_s=300, limit=batch):
        queue = list(reversed(rows))
        await asyncio.gather(*(lane(queue) for _ in range(LANES)))
        done += len(rows)
    elapsed = time.perf_counter() - started
    await db.close()
    return done / elapsed


def bare(path: Path, batch: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    started, done = time.perf_counter(), 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        ids = conn.execute(
            "UPDATE outbox SET lease_until = ?, claimed_by = 'bench' WHERE id IN (SELECT id FROM outbox"
            " WHERE status IN ('planned', 'retry') AND due_at <= ? AND (lease_until IS NULL OR"
            " lease_until < ?) ORDER BY due_at LIMIT ?) RETURNING id",
            (NOW + 300, NOW, NOW, batch),
        ).fetchall()
        conn.execute("COMMIT")
        if not ids:
            break
        previous: list[tuple[int]] = []
        for at in range(0, len(ids) + LANES, LANES):
            chunk = ids[at : at + LANES]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, claimed_by = NULL"
                " WHERE id = ? AND status = 'sending'",
                [(NOW, i) for (i,) in previous],
            )
            conn.executemany(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = ?"
                " WHERE id = ? AND status IN ('planned', 'retry')",
                [(NOW + 300, i) for (i,) in chunk],
            )
            conn.execute("COMMIT")
            previous = chunk
        done += len(ids)
    conn.close()
    return done / (time.perf_counter() - started)


async def measure_outbox(rows: int, batch: int, rounds: int) -> dict[str, float]:
    runs: dict[str, list[float]] = {"ritm": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="ritm-sendbench-") as tmp:
        for round_no in range(rounds):
            for side in ("ritm", "bare") if round_no % 2 == 0 else ("bare", "ritm"):
                path = Path(tmp) / f"{side}-{round_no}.db"
                await seed_outbox(path, rows)
                rate = await ours(path, batch) if side == "ritm" else bare(path, batch)
                runs[side].append(rate)
    ritm, base = statistics.median(runs["ritm"]), statistics.median(runs["bare"])
    return {"ritm_rows_per_s": ritm, "bare_rows_per_s": base, "ratio": ritm / base}


async def main(args: argparse.Namespace) -> None:
    n_email, n_tg, n_paid, rows = (400, 120, 1000, 20_000) if args.quick else (2000, 300, 5000, 100_000)
    email = await measure_email(n_email, 4, rounds=args.rounds)
    print(
        f"email      ours {email['ritm_msgs_per_s']:8.1f} msg/s"
        f"   bare aiosmtplib {email['bare_msgs_per_s']:8.1f}   ratio {email['ratio']:.2f}  (goal >= 0.8)",
        flush=True,
    )
    standard = [await measure_telegram(n_tg, 30.0, 30.0) for _ in range(args.rounds)]
    paid, bare_tg = [], []
    for _ in range(args.rounds):
        paid.append(await measure_telegram(n_paid, 1000.0, 1000.0))
        bare_tg.append(await measure_bare(n_paid))
    std_rate = statistics.median(r["msgs_per_s"] for r in standard)
    print(
        f"telegram   ours {std_rate:8.1f} msg/s   stand-in limit 30/s        ratio {std_rate / 30:.2f}"
        f"  (goal >= 0.95), 429s: {sum(r['count_429'] for r in standard)}",
        flush=True,
    )
    paid_rate = statistics.median(r["msgs_per_s"] for r in paid)
    bare_rate = statistics.median(r["msgs_per_s"] for r in bare_tg)
    print(
        f"paid 1000  ours {paid_rate:8.1f} msg/s   limit 1000/s               ratio {paid_rate / 1000:.2f}"
        f"  (bare aiogram, no limit: {bare_rate:.0f} msg/s), 429s: {sum(r['count_429'] for r in paid)}",
        flush=True,
    )
    outbox = await measure_outbox(rows, 500, args.rounds)
    print(
        f"outbox     ours {outbox['ritm_rows_per_s']:8.0f} rows/s"
        f"  bare sqlite3 {outbox['bare_rows_per_s']:11.0f}   ratio {outbox['ratio']:.2f}"
        f"  (claim batches of 500, then a committed mark and outcome per row over {LANES} slots)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    asyncio.run(main(parser.parse_args()))
