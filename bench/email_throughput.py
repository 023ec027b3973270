"""Email throughput: our EmailChannel beside a bare aiosmtplib loop, to the same local SMTP server.

Both sides send `n` messages over `pool_size` persistent connections to one aiosmtpd server running in
a child process (so the server does not share our event loop or core), keeping nothing on disk.
- ritm: `EmailChannel.send(EmailMessage)` — MIME build, header encoding, flattening, pacing, pool;
- bare: `pool_size` already-connected `aiosmtplib.SMTP` clients calling `sendmail` with the same
  messages built and flattened before the clock starts.
Rounds alternate which side goes first; the medians and their ratio are printed (goal: ≥ 0.8).

    python bench/email_throughput.py --n 2000 --pool 4 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiosmtplib

from dispatcher.channels.base import EmailMessage
from dispatcher.channels.email import EmailChannel
from dispatcher.mime import envelope_address, render_email, unsubscribe_headers
from ritm.settings import SmtpSettings

SENDER = "Школа Ритм <noreply@school.example>"
PARAGRAPH = (
    "Мы разобрали, как вернуть «спящих» подписчиков: сегменты по давности, бережная частота и "
    "честное предложение. Ниже — три идеи, которые можно внедрить уже на этой неделе. "
)


def sample_messages(n: int) -> list[EmailMessage]:
    """`n` realistic digest emails (~6 KB each: Russian text and html, list headers)."""
    messages = []
    for i in range(n):
        name = f"Подписчик {i}"
        headers = unsubscribe_headers(
            f"https://school.example/u/{i:08d}abcdefghijklmnopqrstuv", f"unsubscribe+{i}@school.example"
        )
        headers["List-Id"] = "<digest-48.school.example>"
        headers["Precedence"] = "bulk"
        messages.append(
            EmailMessage(
                to=f"{name} <user{i}@example.com>",
                subject=f"{name}, три идеи для вашей базы",
                text=f"{name}, здравствуйте!\n\n" + PARAGRAPH * 8,
                html=f"<html><body><p>{name}, здравствуйте!</p>"
                + f"<p>{PARAGRAPH}</p>" * 8
                + "</body></html>",
                headers=headers,
            )
        )
    return messages


async def _drain(
    workers: int, items: Sequence[Any], send: Callable[[Any, int], Awaitable[None]]
) -> tuple[float, float]:
    """Run `workers` loops pulling from `items`; (wall seconds, this process's user-mode CPU seconds).

    User-mode only: the kernel time of a loopback send includes delivering to the server process and
    swings with the machine's load, while our own overhead (MIME, pool) is all user-mode."""
    queue = iter(items)

    async def worker(index: int) -> None:
        for item in queue:  # a shared iterator: each item is taken by exactly one worker
            await send(item, index)

    started, cpu = time.perf_counter(), os.times().user
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return time.perf_counter() - started, os.times().user - cpu


async def _ritm_round(settings: SmtpSettings, messages: Sequence[EmailMessage]) -> tuple[float, float]:
    channel = EmailChannel(settings)
    try:
        warm = await asyncio.gather(*(channel.send(m) for m in messages[: settings.pool_size]))
        if any(r.kind != "sent" for r in warm):
            raise RuntimeError(f"warm-up failed: {warm}")
        failures = 0

        async def send(message: EmailMessage, _worker: int) -> None:
            nonlocal failures
            if (await channel.send(message)).kind != "sent":
                failures += 1

        timing = await _drain(settings.pool_size, messages, send)
        if failures:
            raise RuntimeError(f"{failures} messages were not accepted")
        return timing
    finally:
        await channel.close()


async def _bare_round(settings: SmtpSettings, messages: Sequence[EmailMessage]) -> tuple[float, float]:
    sender = envelope_address(SENDER)
    prebuilt = [
        (envelope_address(m.to), render_email(m, SENDER, domain="school.example").data) for m in messages
    ]
    clients = [
        aiosmtplib.SMTP(
            hostname=settings.host, port=settings.port, local_hostname="school.example", start_tls=False
        )
        for _ in range(settings.pool_size)
    ]
    await asyncio.gather(*(c.connect() for c in clients))
    try:

        async def send(item: tuple[str, bytes], worker: int) -> None:
            await clients[worker].sendmail(sender, [item[0]], item[1])

        return await _drain(settings.pool_size, prebuilt, send)
    finally:
        for client in clients:
            await client.quit()


async def _start_server() -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ritm.sandbox.smtp_server", "--discard", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the SMTP server did not start: {line!r}")
    return process, int(line.split(":")[-1].split(",")[0])


async def measure_email(n: int, pool_size: int, *, rounds: int = 3) -> dict[str, Any]:
    """Send `n` messages per side per round; medians of msgs/s and the ritm/bare ratio."""
    process, port = await _start_server()
    settings = SmtpSettings(
        host="127.0.0.1", port=port, sender=SENDER, pool_size=pool_size, rate_per_s=1e9, timeout_s=30
    )
    messages = sample_messages(n)
    runs: dict[str, list[float]] = {"ritm": [], "bare": []}
    cpu_us: dict[str, list[float]] = {"ritm": [], "bare": []}
    try:
        for round_no in range(max(3, rounds)):
            order = ("ritm", "bare") if round_no % 2 == 0 else ("bare", "ritm")
            for side in order:
                runner = _ritm_round if side == "ritm" else _bare_round
                wall_s, cpu_s = await runner(settings, messages)
                runs[side].append(n / wall_s)
                cpu_us[side].append(cpu_s / n * 1e6)
    finally:
        process.terminate()
        await process.wait()
    ritm, bare = statistics.median(runs["ritm"]), statistics.median(runs["bare"])
    return {
        "n": n,
        "pool_size": pool_size,
        "rounds": len(runs["ritm"]),
        "ritm_msgs_per_s": round(ritm, 1),
        "bare_msgs_per_s": round(bare, 1),
        "ratio": round(ritm / bare, 3),
        "cpu_ratio": round(statistics.median(cpu_us["bare"]) / statistics.median(cpu_us["ritm"]), 3),
        "ritm_cpu_us_per_msg": round(statistics.median(cpu_us["ritm"]), 1),
        "bare_cpu_us_per_msg": round(statistics.median(cpu_us["bare"]), 1),
        "ritm_runs": [round(r, 1) for r in runs["ritm"]],
        "bare_runs": [round(r, 1) for r in runs["bare"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000, help="messages per side per round")
    parser.add_argument("--pool", type=int, default=4, help="SMTP connections on each side")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (at least 3)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = asyncio.run(measure_email(args.n, args.pool, rounds=args.rounds))
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"email throughput, {result['n']} messages, pool of {result['pool_size']}, {result['rounds']} rounds"
    )
    for side, label in (("ritm", "ritm EmailChannel"), ("bare", "bare aiosmtplib  ")):
        print(
            f"  {label} : {result[side + '_msgs_per_s']:>8.1f} msgs/s, "
            f"client user CPU {result[side + '_cpu_us_per_msg']:>6.1f} us/msg  {result[side + '_runs']}"
        )
    print(f"  ratio ritm / bare : {result['ratio']:.3f}  (goal >= 0.8)")
    print(
        f"  CPU ratio bare / ritm : {result['cpu_ratio']:.3f}  (the speed share if the client were CPU-bound)"
    )


if __name__ == "__main__":
    main()
