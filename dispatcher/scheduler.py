"""APScheduler 3 wiring: jobs are rebuilt from SQLite at start; each job calls one tick function.

There is no APScheduler job store on purpose: SQLite is the source of truth, so a restart loses
nothing — the interval jobs scan the campaigns table again. The outbox is not a job: it is drained
continuously by dispatcher/dispatch_loop.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from dispatcher.clock import Clock

log = logging.getLogger(__name__)

Tick = Callable[[datetime], Awaitable[object]]


def build_scheduler(
    clock: Clock,
    *,
    plan_campaigns: Tick,
    followups: Tick,
    notices: Tick | None = None,
    triggers: Tick | None = None,
    plan_every_s: float = 30.0,
    followups_every_s: float = 60.0,
    notices_every_s: float = 900.0,
    triggers_every_s: float = 60.0,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler whose jobs read the injected clock once and pass `now` down."""
    scheduler = AsyncIOScheduler(timezone="UTC")

    def job(tick: Tick, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await tick(clock())
            except Exception:  # one failing round must not stop the schedule
                log.exception("job failed", extra={"event": "job_error", "job": name})

        return run

    jobs: list[tuple[str, Tick, float]] = [
        ("plan_campaigns", plan_campaigns, plan_every_s),
        ("followups", followups, followups_every_s),
    ]
    if notices is not None:  # the team's alerts and weekly report (only with a bot to tell them)
        jobs.append(("team_notices", notices, notices_every_s))
    if triggers is not None:
        jobs.append(("triggers", triggers, triggers_every_s))
    for name, tick, every in jobs:
        scheduler.add_job(
            job(tick, name),
            "interval",
            seconds=every,
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=clock(),
        )
    return scheduler
