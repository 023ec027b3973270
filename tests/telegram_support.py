"""Helpers shared by the Telegram tests (stand-in, channel, limiter): virtual time and a bot factory."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

from aiogram import Bot

from ritm.sandbox import TelegramStandin

T = TypeVar("T")


class VirtualTime:
    """A monotonic clock and a sleep that only advance when every task is waiting on this clock.

    `run(work)` drives the event loop: it lets runnable tasks run, then jumps the clock to the earliest
    pending wake-up — so limiter waits of minutes take no wall time and are exact.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), waiter))
        await waiter

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if task.done() or not self._sleepers:
                continue
            wake_at, _, waiter = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake_at)
            waiter.set_result(None)
        return task.result()


@asynccontextmanager
async def standin_bot(standin: TelegramStandin) -> AsyncIterator[Bot]:
    """An aiogram Bot on the stand-in whose HTTP session is closed afterwards."""
    bot = standin.bot()
    try:
        yield bot
    finally:
        await bot.session.close()
