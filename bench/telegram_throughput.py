"""Telegram throughput: our TelegramChannel (limiter included) against the stand-in's enforced limit.

The stand-in runs in a child process (a network peer must not share our event loop or core) and
enforces `standin_rate` messages/s per bot with real 429s; the channel paces at `limiter_rate`.
Every message goes to a distinct chat so the 1/s per-chat rule never binds. The rate is measured
between the first and the last accepted message, (sent − 1) / span, so a perfect pacer scores the
limit exactly. Beside it, a bare aiogram loop (no limiter, stand-in limits off, same concurrency)
shows what this machine can push at all. Last, the limiter configured at 100/s against a server
allowing 20/s: adaptive pacing should leave ≤ 5 % of calls refused after a warm-up of 100 messages.

    python bench/telegram_throughput.py --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from dispatcher.channels.base import TelegramMessage
from dispatcher.channels.telegram import TelegramChannel
from dispatcher.ratelimit import RateLimits
from ritm.sandbox import DEFAULT_TOKEN

CONCURRENCY = 64  # sends in flight, like the outbox worker's semaphore
FIRST_CHAT = 10_000_000
TEXT = "<b>Эфир сегодня в 19:00</b>\nРазбираем, как вернуть «спящих» подписчиков. Ссылка придёт за 15 минут."


@asynccontextmanager
async def standin_process(rate: float) -> AsyncIterator[str]:
    """A stand-in in a child process enforcing `rate` msgs/s; yields its base URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ritm.sandbox.telegram_serve",
        "--port",
        "0",
        "--rate",
        str(rate),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the stand-in process did not start")
        yield line.decode().strip()
    finally:
        proc.terminate()
        await proc.wait()


async def _control(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{base_url}/_standin/{path}", json=body) as resp,
    ):
        return await resp.json()


def _bot(base_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    return Bot(DEFAULT_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))


async def _timed(n: int, send_one: Callable[[int], Awaitable[bool]]) -> tuple[int, float]:
    """Run `n` sends at CONCURRENCY; return how many succeeded and the span first→last success."""
    gate = asyncio.Semaphore(CONCURRENCY)
    done_at: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            if await send_one(i):
                done_at.append(time.perf_counter())

    await asyncio.gather(*(one(i) for i in range(n)))
    return len(done_at), (max(done_at) - min(done_at)) if len(done_at) > 1 else 0.0


async def measure_telegram(n: int, standin_rate: float, limiter_rate: float) -> dict[str, Any]:
    """`n` messages through TelegramChannel paced at `limiter_rate`; the stand-in enforces `standin_rate`."""
    async with standin_process(standin_rate) as base_url:
        bot = _bot(base_url)
        try:
            await bot.get_me()  # connection set up before the clock starts
            channel = TelegramChannel(bot, RateLimits(per_s=limiter_rate))

            async def send_one(i: int) -> bool:
                result = await channel.send(TelegramMessage(chat_id=FIRST_CHAT + i, text=TEXT))
                return result.kind == "sent"

            sent, seconds = await _timed(n, send_one)
        finally:
            await bot.session.close()
        stats = await _control(base_url, "GET", "stats")
    rate = (sent - 1) / seconds if seconds > 0 else 0.0
    return {
        "sent": sent,
        "seconds": round(seconds, 3),
        "msgs_per_s": round(rate, 1),
        "ratio_to_limit": round(rate / standin_rate, 3),
        "count_429": stats["count_429"],
    }


async def measure_overconfigured(
    n: int, standin_rate: float, limiter_rate: float, warmup: int = 100
) -> dict[str, Any]:
    """A server allowing less than configured: `n` messages at `limiter_rate` against `standin_rate`.

    Counts the 429s in the calls up to the `warmup`-th accepted message and after it (adaptive pacing
    should leave ≤ 5 % after the warm-up), and checks that every message arrived exactly once."""
    async with standin_process(standin_rate) as base_url:
        bot = _bot(base_url)
        try:
            await bot.get_me()
            channel = TelegramChannel(bot, RateLimits(per_s=limiter_rate))
            accepted = 0
            warm = {"calls": 0, "refused": 0}

            async def send_one(i: int) -> bool:
                nonlocal accepted
                result = await channel.send(TelegramMessage(chat_id=FIRST_CHAT + i, text=TEXT))
                if result.kind != "sent":
                    return False
                accepted += 1
                if accepted == warmup:
                    warm.update(calls=accepted + channel.count_429, refused=channel.count_429)
                return True

            sent, seconds = await _timed(n, send_one)
        finally:
            await bot.session.close()
        stats = await _control(base_url, "GET", "stats")
    rate = (sent - 1) / seconds if seconds > 0 else 0.0
    late_calls = sent + channel.count_429 - warm["calls"]
    late_429 = channel.count_429 - warm["refused"]
    return {
        "sent": sent,
        "delivered_once": stats["sent"] == n == sent,
        "msgs_per_s": round(rate, 1),
        "ratio_to_limit": round(rate / standin_rate, 3),
        "count_429": stats["count_429"],
        "warmup_429": warm["refused"],
        "late_429": late_429,
        "late_calls": late_calls,
        "late_429_share": round(late_429 / late_calls, 4) if late_calls else 0.0,
        "final_rate_per_s": round(channel.limiter.rate_per_s, 2),
    }


async def measure_bare(n: int) -> dict[str, Any]:
    """A bare aiogram send loop at the same concurrency, stand-in limits off: this machine's ceiling."""
    async with standin_process(1e9) as base_url:
        await _control(base_url, "POST", "limits", {"enabled": False})
        bot = _bot(base_url)
        try:
            await bot.get_me()

            async def send_one(i: int) -> bool:
                await bot.send_message(FIRST_CHAT + i, TEXT)
                return True

            sent, seconds = await _timed(n, send_one)
        finally:
            await bot.session.close()
    rate = (sent - 1) / seconds if seconds > 0 else 0.0
    return {"sent": sent, "seconds": round(seconds, 3), "msgs_per_s": round(rate, 1)}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


async def main(rounds: int, n_standard: int, n_paid: int, n_over: int) -> None:
    standard: list[dict[str, Any]] = []
    paid: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    for _ in range(rounds):  # interleaved, so drifting load on a shared machine hits every series alike
        standard.append(await measure_telegram(n_standard, 30.0, 30.0))
        paid.append(await measure_telegram(n_paid, 1000.0, 1000.0))
        bare.append(await measure_bare(n_paid))
    # a server allowing a fifth of the configured rate, once (it is paced by the server, not the machine)
    over = await measure_overconfigured(n_over, 20.0, 100.0)
    report: dict[str, Any] = {}
    for label, runs in (("standard_30", standard), ("paid_1000", paid)):
        report[label] = {
            "runs": runs,
            "median_msgs_per_s": _median(runs, "msgs_per_s"),
            "median_ratio_to_limit": _median(runs, "ratio_to_limit"),
            "total_429": sum(r["count_429"] for r in runs),
        }
    report["bare_aiogram_no_limits"] = {"runs": bare, "median_msgs_per_s": _median(bare, "msgs_per_s")}
    report["paid_vs_bare"] = round(
        report["paid_1000"]["median_msgs_per_s"] / report["bare_aiogram_no_limits"]["median_msgs_per_s"], 3
    )
    report["overconfigured_100_vs_20"] = over
    print(json.dumps(report, indent=2))
    std, pay = report["standard_30"], report["paid_1000"]
    bare_rate = report["bare_aiogram_no_limits"]["median_msgs_per_s"]
    print(
        f"standard: {std['median_msgs_per_s']:.1f} msg/s = {std['median_ratio_to_limit']:.3f} of 30/s, "
        f"{std['total_429']} x 429 | paid: {pay['median_msgs_per_s']:.0f} msg/s = "
        f"{pay['median_ratio_to_limit']:.3f} of 1000/s, {pay['total_429']} x 429 | "
        f"bare aiogram ceiling {bare_rate:.0f} msg/s, paid/bare {report['paid_vs_bare']:.3f}"
    )
    print(
        f"over-configured 100/s vs a 20/s server: {over['msgs_per_s']:.1f} msg/s = "
        f"{over['ratio_to_limit']:.3f} of 20/s, {over['count_429']} x 429 in "
        f"{over['sent'] + over['count_429']} calls ({over['warmup_429']} in the warm-up, "
        f"{over['late_429']}/{over['late_calls']} = {100 * over['late_429_share']:.1f} % after it), "
        f"delivered once: {over['delivered_once']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=300, help="messages per standard (30/s) run")
    parser.add_argument("--n-paid", type=int, default=5000, help="messages per paid-broadcast (1000/s) run")
    parser.add_argument("--n-over", type=int, default=600, help="messages in the over-configured run")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.n, args.n_paid, args.n_over))
