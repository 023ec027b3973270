"""How `ritm run` drives the outbox worker: drain while rows are due, otherwise wait without work.

While anything is due the worker drains continuously (`OutboxWorker.run_due`: the next batch is claimed
while the current one is being sent). Once nothing is due the loop waits for the earliest of: the next
row's due time, a wake-up (a campaign planned in this process), or `poll_s` — the bound for work that
arrives from another process (a CLI plan or resume) that cannot wake it. Idle, a poll costs a few index
probes and logs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from dispatcher.clock import Clock
from dispatcher.worker import OutboxWorker, TickReport

log = logging.getLogger(__name__)

NextDue = Callable[[datetime], Awaitable[datetime | None]]
# Told each drain's duration and its settled rows by (channel, status) (dispatcher.metrics).
Observe = Callable[[float, Mapping[tuple[str, str], int]], None]


class DispatchLoop:
    def __init__(
        self,
        worker: OutboxWorker,
        clock: Clock,
        next_due: NextDue,
        *,
        poll_s: float = 2.0,
        observe: Observe | None = None,
    ) -> None:
        self.worker = worker
        self.observe = observe
        self.clock = clock
        self.next_due = next_due  # the earliest due time after `now` of a row waiting to be sent
        self.poll_s = poll_s
        self.lock = asyncio.Lock()  # held while a drain runs (shutdown waits on it; tests tick with it)
        self._wake = asyncio.Event()
        self.rounds = 0  # drains run by `run` (each a look at the outbox)

    def wake(self) -> None:
        """Something may be due now (a plan in this process): stop waiting."""
        self._wake.set()

    async def drain(self, now: datetime | None = None) -> TickReport:
        """One tick at `now` (tests, the demo) or, without it, a drain of everything due by the clock."""
        async with self.lock:
            started = time.perf_counter()
            if now is not None:
                report = await self.worker.run_once(now)
            else:
                report = await self.worker.run_due(self.clock)
            if self.observe is not None:
                self.observe(time.perf_counter() - started, report.sends)
            return report

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, wait, drain … until `stop` is set."""
        while not stop.is_set() and not self.worker.stopping:
            self._wake.clear()
            try:
                await self.drain()
                wait_s = await self.idle_s()
            except Exception:  # one failing round must not stop dispatching
                log.exception("dispatch failed", extra={"event": "job_error", "job": "dispatch"})
                wait_s = self.poll_s
            self.rounds += 1
            if wait_s > 0:
                await self._sleep(wait_s, stop)

    async def idle_s(self) -> float:
        """How long to wait before looking again: until the next row is due, at most `poll_s`."""
        now = self.clock()
        due = await self.next_due(now)
        if due is None:
            return self.poll_s
        return min(self.poll_s, max(0.0, (due - now).total_seconds()))

    async def _sleep(self, wait_s: float, stop: asyncio.Event) -> None:
        # Waiting for work, not scheduling it: every decision is re-read from the outbox on waking.
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
