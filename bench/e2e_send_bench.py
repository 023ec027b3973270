"""End-to-end send speed through a real `ritm run`, beside a bare client against the same server.

    python bench/e2e_send_bench.py                      # 100 k and 1 M bases, medians of 3
    python bench/e2e_send_bench.py --quick              # 100 k only, fewer messages
    python bench/e2e_send_bench.py --sent-share 0.5      # half-way: reads that grow with sends show
    python bench/e2e_send_bench.py --contacts 1000000 --profile /tmp/ritm.prof   # cProfile, whole process
    python bench/e2e_send_bench.py --contacts 1000000 --py-spy /tmp/send.txt     # py-spy, sending only

For each base size the synthetic base (bench/segment_bench.cached_base: generated once, imported by the
CSV importer, ANALYZEd) is copied and two mass campaigns built on the shipped digest (its templates,
versions and variants; whole-day window, no holdout) are approved and planned: email to contacts with
email and no Telegram, Telegram to contacts with Telegram. Every planned row is then pushed a day ahead,
so the outbox is as big as the campaign but nothing is due. Each round copies that database, starts
`python -m ritm run` (default tick) on it and, once it is up, makes the first MESSAGES rows of one campaign
due a second later from another connection — as a CLI plan would — and measures, on the receiving
server's clock:

- email: messages/s from the first to the last of them at a real aiosmtpd server in its own process
  (bench/smtp_sink.py), and in the same round, against the same server, a bare aiosmtplib pool of the
  same size sending as many messages of the same size (ours ÷ bare: goal ≥ 0.8);
- first-message latency: the first arrival after the rows' due time (goal ≤ 5 s);
- the `ritm run` process's CPU seconds per message over the same span (/proc; goal: 1 M within 10 %
  of 100 k), and its CPU share once the sends are done and nothing is due (goal: about 0);
- Telegram: messages/s through the Bot API stand-in (its own process, enforcing 30/s) with `ritm run`
  at its default 25/s, and the stand-in's count of 429s (goal ≥ 0.95 of 25/s, zero 429s).

SMTP_POOL sets both pools, `--loop` both event loops (uvloop by default, as `ritm run`'s). Round order
alternates (ours first, then bare first) so load drift on a shared machine hits both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import aiohttp
import aiosmtplib
from segment_bench import cached_base
from telegram_throughput import standin_process

from policy.timeutil import to_epoch
from ritm.demo_campaigns import campaign_text
from ritm.event_loop import DEFAULT_EVENT_LOOP, EventLoopName, loop_factory, loop_name
from ritm.policy_file import default_policy_text, load_policy
from ritm.sandbox import DEFAULT_TOKEN
from ritm.services import campaign_service
from ritm.settings import Settings
from storage.db import Database
from storage.team import add_member

SMTP_POOL = 4
IDLE_SETTLE_S = 1.0  # after the last arrival: the slots' last outcomes are written within a flush
TELEGRAM_RATE = 25.0  # `ritm run`'s default limiter rate
STANDIN_RATE = 30.0  # what the stand-in enforces (Telegram's own limit)
EMAIL, TELEGRAM = "e2e-email", "e2e-telegram"
AUTHOR, APPROVER = 1, 2
BENCH = Path(__file__).resolve().parent
READY = "ritm running"


# ---- the planned base ----------------------------------------------------------------------------


def campaign_source(campaign_id: str, channels: list[str], audience: str, at: datetime) -> str:
    """The shipped digest, retargeted: one channel, an audience, a whole-day window, no holdout."""
    text = campaign_text("digest-48")
    lines = {
        "id": f'"{campaign_id}"',
        "channels": json.dumps(channels),
        "audience": f'"{audience}"',
        "start": f'"{(at - timedelta(minutes=1)).isoformat()}"',
        "deadline": f'"{(at + timedelta(days=30)).isoformat()}"',
        "windows": '{ from = "00:00", to = "00:00" }',
        "holdout": "0.0",
    }
    for key, value in lines.items():
        text, found = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE)
        assert found == 1, f"the shipped digest has no `{key}` line any more"
    return text


def calm_policy(path: Path) -> Path:
    """The shipped policy without quiet hours, so that a run does not depend on the hour."""
    text = default_policy_text().replace('from = "21:00"\nto = "08:00"', 'from = "00:00"\nto = "00:00"', 1)
    assert 'from = "00:00"' in text, "the shipped policy's quiet hours moved"
    path.write_text(text, encoding="utf-8")
    return path


async def planned_base(
    base: Path, work: Path, policy_path: Path, sent_share: float = 0.0
) -> tuple[Path, dict[str, int]]:
    """A copy of `base` with both campaigns approved and planned, every row a day ahead; the last
    `sent_share` of the email campaign's rows already sent an hour ago (a campaign part-way through)."""
    path = work / "planned.db"
    shutil.copy(base, path)
    at = datetime.now(UTC).replace(microsecond=0)
    db = await Database.open(path)
    planned = {}
    try:
        for member in (AUTHOR, APPROVER):
            await add_member(db, member, "approver", by="bench", at=at)
        service = campaign_service(db, load_policy(policy_path), Settings(db=path))
        for campaign_id, channel, audience in (
            (EMAIL, "email", "has:email AND NOT has:telegram"),
            (TELEGRAM, "telegram", "has:telegram"),
        ):
            source = campaign_source(campaign_id, [channel], audience, at)
            await service.add(source, f"{campaign_id}.toml", by=str(AUTHOR), at=at)
            await service.dry_run(campaign_id, at=at, by=str(AUTHOR))
            await service.approve(campaign_id, by=str(APPROVER), at=at)
            planned[campaign_id] = (await service.plan(campaign_id, at=at, by=str(AUTHOR))).inserted
        async with db.transaction() as conn:
            await conn.execute("UPDATE outbox SET due_at = due_at + 86400")
            # From the end, so the rows `make_due` takes from the start stay planned.
            await conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = 1 WHERE id IN"
                " (SELECT id FROM outbox WHERE campaign_id = ? ORDER BY id DESC LIMIT ?)",
                (to_epoch(at) - 3600, EMAIL, int(planned[EMAIL] * sent_share)),
            )
        await db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.close()
    return path, planned


def make_due(db: Path, campaign_id: str, count: int, at: int) -> None:
    """From another connection (as a CLI plan would): the campaign's first `count` rows become due at `at`."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            conn.execute(
                "UPDATE outbox SET due_at = ? WHERE id IN"
                " (SELECT id FROM outbox WHERE campaign_id = ? ORDER BY id LIMIT ?)",
                (at, campaign_id, count),
            )
    finally:
        conn.close()


def unsent(db: Path, campaign_id: str, due: int) -> int:
    """Rows made due at `due` that the send-time re-check settled without sending (a silence, …)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        found = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE campaign_id = ? AND due_at <= ?"
            " AND status NOT IN ('planned', 'retry', 'sending', 'sent')",
            (campaign_id, due),
        ).fetchone()
    finally:
        conn.close()
    return int(found[0])


def outbox_state(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute(
            "SELECT campaign_id, status, reason, COUNT(*) FROM outbox WHERE due_at < ? GROUP BY 1, 2, 3",
            (time.time() + 3600,),
        ).fetchall()
    finally:
        conn.close()
    return ", ".join(f"{c} {s} {r or ''}: {n}" for c, s, r, n in rows)


# ---- the processes -------------------------------------------------------------------------------


class Sink:
    """bench/smtp_sink.py in its own process; `arrivals` are (accepted at, bytes) as they come."""

    def __init__(self, data_ms: float = 0.0) -> None:
        self.data_ms = data_ms  # the server's wait before it answers DATA
        self.arrivals: list[tuple[float, int]] = []
        self.port = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sink:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, str(BENCH / "smtp_sink.py"), str(self.data_ms), stdout=asyncio.subprocess.PIPE
        )
        assert self._proc.stdout is not None
        self.port = int(await asyncio.wait_for(self._proc.stdout.readline(), 30))
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            at, size = line.split()
            self.arrivals.append((float(at), int(size)))

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None and self._reader is not None
        self._proc.terminate()
        await self._proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def ritm_run(
    db: Path, policy: Path, work: Path, env: dict[str, str], profile: Path | None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m ritm run` on `db`, up and idle; SIGTERM and its exit on leaving."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RITM_")}
    environ.update(
        RITM_DB=str(db),
        RITM_POLICY=str(policy),
        RITM_SECRET=secrets.token_urlsafe(32),
        RITM_HTTP_PORT="0",
        RITM_SMTP__POOL_SIZE=str(SMTP_POOL),
        RITM_SMTP__RATE_PER_S="100000",  # the sender's own limit must not be what is measured
        RITM_EVENT_LOOP=loop_name(),  # the bare pool runs on this process's loop: the same on both sides
        **env,
    )
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    log = work / "ritm-run.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *prefix, "-m", "ritm", "run", cwd=work, env=environ, stdout=sink, stderr=sink
        )
    try:
        for _ in range(1200):
            if READY in log.read_text(errors="replace") or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        if READY not in log.read_text(errors="replace"):
            raise RuntimeError(f"`ritm run` did not start:\n{log.read_text(errors='replace')[-3000:]}")
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)


@dataclass
class Run:
    rate: float  # messages/s, first to last arrival
    first_s: float = math.nan  # first arrival after the rows became due
    cpu_per_msg_ms: float = math.nan
    size: int = 0  # median message size
    count: int = 0  # messages timed
    count_429: int = 0
    extra: dict[str, float] = field(default_factory=dict)


async def email_ours(sink: Sink, planned: Path, args: argparse.Namespace, work: Path, round_no: int) -> Run:
    db = work / f"email-{round_no}.db"
    shutil.copy(planned, db)
    profile = args.profile if args.profile is not None and round_no == 0 else None
    async with ritm_run(db, args.policy_path, work, {"RITM_SMTP__PORT": str(sink.port)}, profile) as proc:
        mark = len(sink.arrivals)
        due = math.ceil(time.time()) + 1
        make_due(db, EMAIL, args.messages, due)
        spy = await py_spy(proc.pid, args.py_spy) if args.py_spy is not None and round_no == 0 else None
        cpu_first, n_first, settled_unsent = math.nan, 0, 0
        deadline = time.monotonic() + 120
        last_look = 0.0
        while len(sink.arrivals) - mark + settled_unsent < args.messages:
            if n_first == 0 and len(sink.arrivals) > mark:
                cpu_first, n_first = cpu_s(proc.pid), len(sink.arrivals) - mark
            if time.monotonic() - last_look > 0.25:  # rows the send-time re-check kept back
                settled_unsent, last_look = unsent(db, EMAIL, due), time.monotonic()
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(sink.arrivals) - mark} messages arrived: {outbox_state(db)}")
            await asyncio.sleep(0.01)
        cpu_last, n_last = cpu_s(proc.pid), len(sink.arrivals) - mark
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            await spy.wait()
        await asyncio.sleep(IDLE_SETTLE_S)  # the last outcomes flushed, then nothing is due
        idle_from = cpu_s(proc.pid)
        await asyncio.sleep(args.idle_s)
        idle_pct = 100 * (cpu_s(proc.pid) - idle_from) / args.idle_s
    got = sink.arrivals[mark:]
    span = got[-1][0] - got[0][0]
    return Run(
        rate=(len(got) - 1) / span,
        first_s=got[0][0] - due,
        cpu_per_msg_ms=1000 * (cpu_last - cpu_first) / max(1, n_last - n_first),
        size=int(statistics.median(size for _, size in got)),
        count=len(got),
        extra={"idle_pct": idle_pct},
    )


async def py_spy(pid: int, out: Path) -> asyncio.subprocess.Process:
    """Sample `pid` (threads included) until interrupted; collapsed stacks go to `out`."""
    return await asyncio.create_subprocess_exec(
        shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
        "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--rate", "200",
        "--nonblocking", "--threads",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def bare_message(size: int) -> bytes:
    head = (
        "From: Ritm <noreply@school.example>\r\nTo: {to}\r\nSubject: bench\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    pad = max(0, size - len(head) - 40)
    body = "\r\n".join("x" * 76 for _ in range(pad // 78 + 1))[:pad]
    return (head + body + "\r\n").encode()


async def email_bare(sink: Sink, count: int, size: int) -> Run:
    """`SMTP_POOL` aiosmtplib connections sending `count` messages of `size` bytes as fast as they can."""
    message = bare_message(size)
    mark = len(sink.arrivals)
    left = iter(range(count))

    async def connection() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port)
        await smtp.connect()
        try:
            for i in left:
                to = f"c{i:07d}@example.org"
                await smtp.sendmail("noreply@school.example", [to], message.replace(b"{to}", to.encode()))
        finally:
            await smtp.quit()

    await asyncio.gather(*(connection() for _ in range(SMTP_POOL)))
    while len(sink.arrivals) - mark < count:  # noqa: ASYNC110 - the sink's pipe may lag the last 250
        await asyncio.sleep(0.01)
    got = sink.arrivals[mark : mark + count]
    return Run(rate=(len(got) - 1) / (got[-1][0] - got[0][0]), size=int(statistics.median(s for _, s in got)))


async def standin_stats(base_url: str) -> dict[str, int]:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/_standin/stats") as resp:
        stats: dict[str, int] = await resp.json()
        return stats


async def telegram_ours(planned: Path, args: argparse.Namespace, work: Path, round_no: int) -> Run:
    db = work / f"telegram-{round_no}.db"
    shutil.copy(planned, db)
    async with standin_process(STANDIN_RATE) as base_url:
        env = {"RITM_BOT_TOKEN": DEFAULT_TOKEN, "RITM_TELEGRAM_API_URL": base_url}
        async with ritm_run(db, args.policy_path, work, env, None):
            start = (await standin_stats(base_url))["sent"]
            due = math.ceil(time.time()) + 1
            make_due(db, TELEGRAM, args.chats, due)
            seen: list[tuple[float, int]] = []
            deadline = time.monotonic() + 300
            while not seen or seen[-1][1] < args.chats:
                sent = (await standin_stats(base_url))["sent"] - start
                if sent > (seen[-1][1] if seen else 0):
                    seen.append((time.time(), sent))
                assert time.monotonic() < deadline, f"only {sent} Telegram messages arrived"
                await asyncio.sleep(0.02)
            stats = await standin_stats(base_url)
    (t1, n1), (t2, n2) = seen[0], seen[-1]
    return Run(rate=(n2 - n1) / (t2 - t1), first_s=t1 - due, count_429=stats["count_429"])


def remove(work: Path, pattern: str) -> None:
    for leftover in work.glob(pattern):
        leftover.unlink()


# ---- the report ----------------------------------------------------------------------------------


async def one_size(contacts: int, args: argparse.Namespace, work: Path) -> dict[str, float]:
    base = await cached_base(Path(args.cache), contacts, args.seed, load_policy(None))
    started = time.perf_counter()
    planned, counts = await planned_base(base, work, args.policy_path, args.sent_share)
    print(f"{contacts:,} contacts: planned {counts} in {time.perf_counter() - started:.0f} s", flush=True)
    unsent_email = counts[EMAIL] - int(counts[EMAIL] * args.sent_share)
    assert unsent_email >= args.messages and counts[TELEGRAM] >= args.chats, "the base is too small"
    ours: list[Run] = []
    bare: list[Run] = []
    async with Sink(args.server_ms) as sink:
        for round_no in range(args.rounds):
            if round_no % 2 == 0:
                ours.append(await email_ours(sink, planned, args, work, round_no))
                bare.append(await email_bare(sink, ours[-1].count, ours[-1].size))
            else:
                bare.append(await email_bare(sink, ours[-1].count, ours[-1].size))
                ours.append(await email_ours(sink, planned, args, work, round_no))
            o, b = ours[-1], bare[-1]
            print(
                f"  round {round_no + 1}: ritm run {o.rate:6.1f} msg/s, bare {b.rate:6.1f} msg/s"
                f" ({o.size:,} B), ratio {o.rate / b.rate:.2f}, first message {o.first_s:.2f} s after due,"
                f" {o.cpu_per_msg_ms:.2f} ms CPU/msg, idle after {o.extra['idle_pct']:.2f} % CPU",
                flush=True,
            )
            remove(work, "email-*.db*")
    telegram = []
    for round_no in range(args.rounds if not args.quick else 1):
        telegram.append(await telegram_ours(planned, args, work, round_no))
        t = telegram[-1]
        print(
            f"  telegram {round_no + 1}: {t.rate:5.1f} msg/s of {TELEGRAM_RATE:.0f} configured,"
            f" {t.count_429} 429s, first message {t.first_s:.2f} s after due",
            flush=True,
        )
        remove(work, "telegram-*.db*")
    planned.unlink()
    return {
        "ours": statistics.median(r.rate for r in ours),
        "bare": statistics.median(r.rate for r in bare),
        "ratio": statistics.median(o.rate / b.rate for o, b in zip(ours, bare, strict=True)),
        "first_s": statistics.median(r.first_s for r in ours),
        "cpu_ms": statistics.median(r.cpu_per_msg_ms for r in ours),
        "idle_pct": statistics.median(r.extra["idle_pct"] for r in ours),
        "telegram": statistics.median(r.rate for r in telegram),
        "count_429": sum(r.count_429 for r in telegram),
    }


async def bench(args: argparse.Namespace) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="ritm-e2ebench-", dir=args.work) as tmp:
        work = Path(tmp)
        args.policy_path = calm_policy(work / "policy.toml")
        for contacts in args.contacts:
            results[contacts] = await one_size(contacts, args, work)
    print(
        f"\nmedians of {args.rounds} rounds; {args.messages:,} emails (pool {SMTP_POOL}"
        + (f", the server answers DATA after {args.server_ms:g} ms" if args.server_ms else "")
        + (f", {args.sent_share:.0%} of the campaign already sent" if args.sent_share else "")
        + "),"
        f" {args.chats} Telegram messages per round; both sides on {args.loop}'s event loop"
    )
    print("base        ritm run    bare   ratio  first msg  CPU/msg   telegram (of 25/s)  429s")
    for contacts, r in results.items():
        print(
            f"{contacts:>9,}  {r['ours']:7.1f}  {r['bare']:7.1f}   {r['ratio']:.2f}   {r['first_s']:6.2f} s"
            f"  {r['cpu_ms']:5.2f} ms   {r['telegram']:5.1f} ({r['telegram'] / TELEGRAM_RATE:.2f})"
            f"        {r['count_429']}"
        )
    idle = ", ".join(f"{r['idle_pct']:.2f} % ({c:,})" for c, r in results.items())
    print(f"idle CPU of `ritm run` over {args.idle_s:g} s once the sends are done: {idle}")
    if len(results) > 1:
        small, big = results[min(results)], results[max(results)]
        print(f"CPU per message, {max(results):,} ÷ {min(results):,}: {big['cpu_ms'] / small['cpu_ms']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, nargs="+", default=None)
    parser.add_argument("--messages", type=int, default=None, help="emails per round")
    parser.add_argument("--chats", type=int, default=None, help="Telegram messages per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="100 k only, fewer messages")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the first round's `ritm run`")
    parser.add_argument(
        "--py-spy", type=Path, default=None, help="sample the first round's sending with py-spy (raw stacks)"
    )
    parser.add_argument(
        "--server-ms", type=float, default=0.0, help="the SMTP server waits this long before answering DATA"
    )
    parser.add_argument(
        "--sent-share",
        type=float,
        default=0.0,
        help="this share of the email campaign is already sent when timing starts (0.5: half-way)",
    )
    parser.add_argument(
        "--idle-s", type=float, default=10.0, help="how long each round watches `ritm run` idle after sending"
    )
    parser.add_argument(
        "--loop",
        choices=get_args(EventLoopName),
        default=DEFAULT_EVENT_LOOP,
        help="the event loop of `ritm run` and of this process's bare pool (both the same)",
    )
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ritm-bench"))
    parser.add_argument("--work", default=None, help="where the copies go (several GB at 1 M)")
    args = parser.parse_args()
    args.contacts = args.contacts or ([100_000] if args.quick else [100_000, 1_000_000])
    args.messages = args.messages or (1500 if args.quick else 6000)
    args.chats = args.chats or (100 if args.quick else 300)
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(bench(args))


if __name__ == "__main__":
    main()
