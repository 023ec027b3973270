"""VK channel throughput against the local VK API stand-in, beside a bare aiohttp loop posting the same
`messages.send` forms, in one run: what the channel (keyboard JSON, pacing, answer mapping) costs.

    python bench/vk_throughput.py --messages 2000 --concurrency 8 --runs 3

The stand-in's own rate limit is lifted and the channel is paced at 100 000/s, so both sides measure the
client path over loopback HTTP; prints medians of the runs and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp

from dispatcher.channels.base import Button, VkMessage
from dispatcher.channels.vk import API_VERSION, VkChannel, keyboard_json
from ritm.sandbox.vk_api import DEFAULT_VK_TOKEN, VkStandin

PEERS = range(1, 1001)
BUTTONS = ((Button("Программа", url="https://school.example/program"),),)


def message(n: int) -> VkMessage:
    return VkMessage(PEERS[n % len(PEERS)], f"Эфир в 19:00, сообщение {n}", random_id=n + 1, buttons=BUTTONS)


async def run_channel(url: str, count: int, concurrency: int) -> float:
    vk = VkChannel(DEFAULT_VK_TOKEN, api_url=url, rate_per_s=100_000.0)
    queue = iter(range(count))
    started = time.perf_counter()

    async def lane() -> None:
        for n in queue:
            result = await vk.send(message(n))
            assert result.kind == "sent", result

    try:
        await asyncio.gather(*(lane() for _ in range(concurrency)))
    finally:
        await vk.close()
    return count / (time.perf_counter() - started)


async def run_bare(url: str, count: int, concurrency: int) -> float:
    queue = iter(range(count))
    keyboard = keyboard_json(BUTTONS) or ""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def lane() -> None:
            for n in queue:
                m = message(n)
                form = {
                    "access_token": DEFAULT_VK_TOKEN,
                    "v": API_VERSION,
                    "peer_id": str(m.peer_id),
                    "random_id": str(m.random_id),
                    "message": m.text,
                    "keyboard": keyboard,
                }
                async with session.post(f"{url}/method/messages.send", data=form) as answer:
                    assert "response" in await answer.json(content_type=None)

        await asyncio.gather(*(lane() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def main(count: int, concurrency: int, runs: int) -> None:
    channel, bare = [], []
    for _ in range(runs):
        for side, results in ((run_bare, bare), (run_channel, channel)):
            async with VkStandin(allowed=PEERS, rate_per_s=10**9) as standin:
                results.append(await side(standin.url, count, concurrency))
    ch, br = statistics.median(channel), statistics.median(bare)
    print(f"vk: {count} messages x {runs} runs, {concurrency} in flight, over loopback HTTP")
    print(f"  bare aiohttp loop: {br:,.0f} msg/s (median)")
    print(f"  VkChannel:         {ch:,.0f} msg/s (median)")
    print(f"  ratio channel/bare: {ch / br:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.concurrency, args.runs))
