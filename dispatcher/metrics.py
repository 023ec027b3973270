"""`/metrics` in the Prometheus text format: the queue by state, sends by channel and result since the
process started, and the duration of the worker's ticks.

The queue is read from the outbox at scrape time (it is the truth and survives restarts); sends and
tick durations are counted by this process, as Prometheus counters are.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from storage.db import Database
from storage.history import OUTBOX_STATUSES, rows_by_state

# Upper bounds (seconds) of the tick-duration histogram's buckets.
TICK_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4"


@dataclass
class Metrics:
    """What this process did: per (channel, result) sends and a histogram of tick durations."""

    sends: Counter[tuple[str, str]] = field(default_factory=Counter)
    tick_buckets: list[int] = field(default_factory=lambda: [0] * len(TICK_BUCKETS_S))
    tick_count: int = 0
    tick_sum_s: float = 0.0

    def observe_tick(self, duration_s: float, sends: Mapping[tuple[str, str], int]) -> None:
        self.sends.update(sends)
        self.tick_count += 1
        self.tick_sum_s += duration_s
        for i in range(bisect_left(TICK_BUCKETS_S, duration_s), len(TICK_BUCKETS_S)):
            self.tick_buckets[i] += 1

    def render(self, queue: Mapping[str, int]) -> str:
        lines = [
            "# HELP ritm_outbox_messages Outbox rows by state.",
            "# TYPE ritm_outbox_messages gauge",
        ]
        for status in OUTBOX_STATUSES:  # every state, 0 included: a graph shows 0 rather than a gap
            lines.append(f'ritm_outbox_messages{{status="{status}"}} {queue.get(status, 0)}')
        lines += [
            "# HELP ritm_sends_total Messages settled by this process, by channel and result.",
            "# TYPE ritm_sends_total counter",
        ]
        for (channel, result), n in sorted(self.sends.items()):
            lines.append(f'ritm_sends_total{{channel="{channel}",result="{result}"}} {n}')
        lines += [
            "# HELP ritm_tick_duration_seconds Duration of one outbox worker tick.",
            "# TYPE ritm_tick_duration_seconds histogram",
        ]
        for bound, n in zip(TICK_BUCKETS_S, self.tick_buckets, strict=True):
            lines.append(f'ritm_tick_duration_seconds_bucket{{le="{bound}"}} {n}')
        lines += [
            f'ritm_tick_duration_seconds_bucket{{le="+Inf"}} {self.tick_count}',
            f"ritm_tick_duration_seconds_sum {self.tick_sum_s:.6f}",
            f"ritm_tick_duration_seconds_count {self.tick_count}",
        ]
        return "\n".join(lines) + "\n"


def metrics_handler(db: Database, metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics."""

    async def handle(request: web.Request) -> web.Response:
        queue = await rows_by_state(db)
        return web.Response(body=metrics.render(queue).encode(), headers={"Content-Type": CONTENT_TYPE})

    return handle
