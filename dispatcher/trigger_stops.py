"""Before each step of a trigger's run goes out: has the run's `until` happened since it started
(`trigger_stopped`, the row is suppressed), or the step's `unless` (the row is cancelled)?

`until` is asked "since the run started" (`policy.triggers.since_start`): rows are grouped by how long
ago their run started, to the minute, and each group is one query over its contacts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from policy.campaign import Campaign
from policy.config import Policy
from policy.segment_names import resolve
from policy.timeutil import to_epoch
from policy.triggers import run_and_index, since_start
from storage.db import Database
from storage.followups import matching_ids
from storage.outbox import ClaimedRow
from storage.segments import SegmentContext
from storage.triggers import run_starts

TRIGGER_STOPPED = "trigger_stopped"
K = TypeVar("K", bound=Hashable)
UNLESS = "unless"


async def trigger_stops(
    db: Database,
    ctx: SegmentContext,
    policy: Policy,
    campaign: Campaign,
    rows: Sequence[ClaimedRow],
    now: datetime,
) -> dict[tuple[str, int], str]:
    """(contact, step) → why this row of a trigger campaign must not go out."""
    stopped: dict[tuple[str, int], str] = {}
    for index, step in enumerate(campaign.steps):
        mine = [r for r in rows if run_and_index(r.step)[1] == index]
        if step.unless and mine:
            hit = await matching_ids(db, ctx, step.unless, [r.contact_id for r in mine])
            stopped.update({(r.contact_id, r.step): UNLESS for r in mine if r.contact_id in hit})
    if campaign.until is None:
        return stopped
    starts = await run_starts(db, sorted({run_and_index(r.step)[0] for r in rows}))
    runs = {
        (r.contact_id, r.step): (r.contact_id, started)
        for r in rows
        if (started := starts.get(run_and_index(r.step)[0])) is not None
    }
    # A run that stopped suppresses its step whatever its `unless` said.
    for key in await until_held(db, ctx, policy, campaign.until, runs, now):
        stopped[key] = TRIGGER_STOPPED
    return stopped


async def until_held(
    db: Database,
    ctx: SegmentContext,
    policy: Policy,
    until: str,
    runs: Mapping[K, tuple[str, int]],
    now: datetime,
) -> set[K]:
    """The keys of `runs` (key → contact, start in epoch seconds) whose `until` happened since the start."""
    expr = resolve(until, policy)
    by_minute: dict[int, list[K]] = defaultdict(list)
    now_s = to_epoch(now)
    for key, (_, started) in runs.items():
        by_minute[-(-(now_s - started) // 60)].append(key)
    held: set[K] = set()
    for minutes, keys in by_minute.items():
        bounded = since_start(expr, timedelta(minutes=minutes))
        hit = await matching_ids(db, ctx, bounded, sorted({runs[k][0] for k in keys}))
        held.update(k for k in keys if runs[k][0] in hit)
    return held
