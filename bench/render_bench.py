"""Per-message rendering cost of the shipped digest (the send path renders one message per outbox row):

- sync: `Renderer.render` on the calling thread, messages/s;
- off-loop: `Renderer.render_async` from the event loop, as the worker calls it (up to 8 in flight),
  messages/s, and the ratio off-loop / sync (the price of the thread hop);
- CPU: the process's CPU time a message, sync, for an unpinned renderer (the CLI's: it looks at the
  template files each time) and a pinned one (`ritm run`'s) — on a shared machine steadier than rates.

    python bench/render_bench.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import replace
from pathlib import Path

from dispatcher.render import Renderer, sample_context
from policy.campaign import parse_campaign
from ritm.policy_file import load_policy

EXAMPLES = Path(__file__).resolve().parents[1] / "ritm" / "examples"
IN_FLIGHT = 8


def sync_rate(renderer: Renderer, messages: int) -> float:
    campaign, sample = _digest()
    started = time.perf_counter()
    for i in range(messages):
        ctx = replace(sample, contact_id=f"c{i}")
        renderer.render(campaign, version="general", variant="A", channel="email", ctx=ctx)
    return messages / (time.perf_counter() - started)


def sync_cpu(renderer: Renderer, messages: int) -> float:
    """CPU seconds a message, rendered on this thread."""
    started = time.process_time()
    sync_rate(renderer, messages)
    return (time.process_time() - started) / messages


async def async_rate(renderer: Renderer, messages: int) -> float:
    campaign, sample = _digest()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with gate:
            ctx = replace(sample, contact_id=f"c{i}")
            await renderer.render_async(campaign, version="general", variant="A", channel="email", ctx=ctx)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(messages)))
    return messages / (time.perf_counter() - started)


def _digest() -> tuple[object, object]:
    policy = load_policy(None)
    text = (EXAMPLES / "digest.toml").read_text(encoding="utf-8")
    return parse_campaign(text, "digest.toml", policy), sample_context(policy.default_timezone)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    renderer, pinned = Renderer(), Renderer(pinned=True)
    sync_rate(renderer, 200)  # compile and warm the caches
    sync_rate(pinned, 200)
    syncs, offs, cpus, pinned_cpus = [], [], [], []
    for _ in range(3):
        syncs.append(sync_rate(renderer, args.messages))
        offs.append(asyncio.run(async_rate(renderer, args.messages)))
        cpus.append(sync_cpu(renderer, args.messages))
        pinned_cpus.append(sync_cpu(pinned, args.messages))
    renderer.close()
    pinned.close()
    s, o = statistics.median(syncs), statistics.median(offs)
    print(f"render sync      {s:8.0f} msg/s  ({1e6 / s:.0f} µs a message, digest email)")
    print(f"render off-loop  {o:8.0f} msg/s  ({IN_FLIGHT} in flight)   off-loop / sync {o / s:.2f}")
    cpu, pinned_cpu = statistics.median(cpus) * 1e6, statistics.median(pinned_cpus) * 1e6
    print(f"render CPU       {cpu:8.0f} µs a message; pinned templates (ritm run) {pinned_cpu:.0f} µs")


if __name__ == "__main__":
    main()
