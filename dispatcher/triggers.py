"""The trigger tick (SPEC §12.4): start each live trigger's scenario for the contacts it fired for.

`run_once(now)` reads, per live trigger, only the feed rows after its cursor (`storage/triggers.py`):
event and tag triggers take the rows of their event type or tag; `enter:segment:` asks the segment of
the contacts any row touched, and re-reads the whole segment at most hourly (time alone moves people
into `recency_days > 30`); `date:` scans its dates at most hourly. A contact in the trigger's audience
whose `reentry` allows it starts a run, and every step of the run is decided at once by
`policy.decide` (window, quiet hours, silences, caps, consent): a planned row, or a cancelled one with
the reason, so each step is decided once. Before each step goes out the send-time re-check asks the
run's `until` and the step's `unless` (`dispatcher/trigger_stops.py`).

The runs, their rows and the moved cursor are committed together: a crash repeats a tick, never
half of one.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatcher.campaign_cache import CampaignCache, LoadedCampaign
from dispatcher.trigger_stops import TRIGGER_STOPPED, until_held
from policy.caps import Counted
from policy.config import Policy
from policy.decide import Decider, Send, Situation
from policy.steps import protect_of, trigger_step
from policy.timeutil import from_epoch, to_epoch, zone
from policy.triggers import (
    FULL_EVERY,
    STALE_AFTER,
    STEP_SPAN,
    Trigger,
    anniversary,
    local_day,
    may_start,
    parse_reentry,
    parse_trigger,
    step_offsets,
)
from storage.db import Database
from storage.followups import matching_ids
from storage.outbox import PlannedRow
from storage.segments import SegmentContext, reading
from storage.situations import limits, questions_for, situations_of
from storage.triggers import (
    NewRun,
    TriggerState,
    commit_tick,
    date_values,
    feed_head,
    feed_items,
    forget_trigger,
    latest_starts,
    members,
    prune_feed,
    touched_contacts,
    trigger_states,
)

log = logging.getLogger(__name__)
LIVE = frozenset({"scheduled", "sending"})
ENDED = frozenset({"cancelled", "rejected", "done"})


@dataclass
class TriggerReport:
    started: Counter[str] = field(default_factory=Counter)  # runs per campaign
    planned: Counter[str] = field(default_factory=Counter)  # rows per campaign
    skipped: Counter[str] = field(default_factory=Counter)  # steps decided against, by reason
    read: int = 0  # feed rows and contacts looked at


@dataclass(frozen=True)
class _Start:
    contact_id: str
    key: str
    at: datetime
    first_deadline: datetime | None = None  # a date trigger: the end of the contact's local day


class Triggers:
    def __init__(self, db: Database, policy: Policy, campaigns: CampaignCache) -> None:
        self.db = db
        self.policy = policy
        self.campaigns = campaigns

    async def run_once(self, now: datetime) -> TriggerReport:
        report = TriggerReport()
        head = await feed_head(self.db)
        live: list[str] = []
        for state in (await trigger_states(self.db)).values():
            loaded = await self.campaigns.get(state.campaign_id)
            if loaded is None or loaded.record.status in ENDED or loaded.campaign.trigger is None:
                await forget_trigger(self.db, state.campaign_id)
                continue
            live.append(state.campaign_id)
            if loaded.record.status in LIVE:
                await self._tick(loaded, state, head, now, report)
        await prune_feed(self.db, live)
        if report.started:
            log.info(
                "triggers fired",
                extra={"event": "trigger_tick", "runs": dict(report.started), "read": report.read},
            )
        return report

    async def _tick(
        self, loaded: LoadedCampaign, state: TriggerState, head: int, now: datetime, report: TriggerReport
    ) -> None:
        campaign = loaded.campaign
        assert campaign.trigger is not None
        trigger = parse_trigger(campaign.trigger, self.policy)
        full = state.full_at is None or now - from_epoch(state.full_at) >= FULL_EVERY
        entered: list[str] = []
        left: list[str] = []
        if trigger.kind in ("event", "tag"):
            starts = await self._from_feed(trigger, state, head, now, report)
            full = False
        elif trigger.kind == "enter":
            starts, entered, left = await self._entering(campaign.id, trigger, state, head, full, now)
            report.read += len(entered) + len(left)
        else:
            starts = await self._dates(trigger, now) if full else []
        starts = await self._admitted(loaded, starts, now)
        runs = await self._plan(loaded, starts, now, report)
        started = await commit_tick(
            self.db,
            campaign.id,
            runs,
            cursor=head,
            now=to_epoch(now),
            full=full,
            entered=entered,
            left=left,
        )
        report.started[campaign.id] += started

    # -- who fired ---------------------------------------------------------------------------------
    async def _from_feed(
        self, trigger: Trigger, state: TriggerState, head: int, now: datetime, report: TriggerReport
    ) -> list[_Start]:
        assert trigger.feed_kind is not None
        items = await feed_items(
            self.db, after=state.cursor, upto=head, kind=trigger.feed_kind, name=trigger.name
        )
        report.read += len(items)
        starts: dict[str, _Start] = {}
        for item in items:
            at = min(from_epoch(item.at), now)
            if now - at > STALE_AFTER or item.contact_id in starts:
                continue  # history imported late starts nothing; one run per contact per tick
            # To the next whole minute: the runs of one tick then share a handful of start instants.
            starts[item.contact_id] = _Start(item.contact_id, f"feed:{item.id}", _minute_up(at))
        return list(starts.values())

    async def _entering(
        self, campaign_id: str, trigger: Trigger, state: TriggerState, head: int, full: bool, now: datetime
    ) -> tuple[list[_Start], list[str], list[str]]:
        """Who entered the segment since the last look, and who left it (they may enter again)."""
        segment = f"segment:{trigger.name}"
        if full:
            async with reading(self.db, self.policy, now) as ctx:
                inside = set(await ctx.list(segment))
            before = await members(self.db, campaign_id)
        else:
            touched = await touched_contacts(self.db, after=state.cursor, upto=head)
            async with reading(self.db, self.policy, now, scope=touched) as ctx:
                inside = await matching_ids(self.db, ctx, segment, touched)
            before = await members(self.db, campaign_id, touched)
        entered = sorted(inside - before)
        left = sorted(before - inside)
        return self._enter_starts(entered, now, state), entered, left

    @staticmethod
    def _enter_starts(entered: Sequence[str], now: datetime, state: TriggerState) -> list[_Start]:
        if state.full_at is None:
            return []  # the first look only learns who is inside: being there already is not entering
        key = f"enter:{to_epoch(now)}"
        return [_Start(cid, key, now) for cid in entered]

    async def _dates(self, trigger: Trigger, now: datetime) -> list[_Start]:
        """Contacts whose date comes round today in their own zone (one run per contact and year)."""
        default_tz = zone(self.policy.default_timezone)
        starts = []
        for contact_id, tz_name, value in await date_values(self.db, trigger.name):
            tz = zone(tz_name) if tz_name else default_tz
            origin = _date_of(value, tz)
            if origin is None:
                continue
            today, day_end = local_day(now, tz)
            if anniversary(origin, today):
                starts.append(_Start(contact_id, f"date:{today.year}", now, day_end))
        return starts

    async def _admitted(self, loaded: LoadedCampaign, starts: list[_Start], now: datetime) -> list[_Start]:
        """The starts of contacts in the audience whose previous run allows a new one."""
        if not starts:
            return []
        campaign = loaded.campaign
        ids = [s.contact_id for s in starts]
        if campaign.audience != "all":
            async with reading(self.db, self.policy, now, scope=ids) as ctx:
                inside = await matching_ids(self.db, ctx, campaign.audience, ids)
            starts = [s for s in starts if s.contact_id in inside]
        latest = await latest_starts(self.db, campaign.id, [s.contact_id for s in starts])
        reentry = parse_reentry(campaign.reentry)
        kept = []
        for start in starts:
            last = latest.get(start.contact_id)
            previous = from_epoch(last) if last is not None else None
            if start.first_deadline is not None:  # a date run: once a year, keyed by the year
                if previous is None or now - previous > timedelta(days=2):
                    kept.append(start)
            elif may_start(previous, reentry, start.at):
                kept.append(start)
        return kept

    # -- what each run sends -----------------------------------------------------------------------
    async def _plan(
        self, loaded: LoadedCampaign, starts: list[_Start], now: datetime, report: TriggerReport
    ) -> list[NewRun]:
        if not starts:
            return []
        campaign = loaded.campaign
        offsets = step_offsets([s.after for s in campaign.steps])
        ids = sorted(s.contact_id for s in starts)
        channels = tuple(campaign.channels)
        horizon = max(s.at for s in starts) + offsets[-1] + STEP_SPAN
        found = await limits(self.db, self.policy, at=now, begin=now, end=horizon, contact_ids=ids)
        questions = questions_for(self.policy, "all", channels, protect_of(campaign, self.policy), [])
        async with await SegmentContext.create(self.db, self.policy, now, scope=ids) as ctx:
            # `until` is checked before every step, the first one too (an order created already paid).
            stopped = (
                await until_held(
                    self.db,
                    ctx,
                    self.policy,
                    campaign.until,
                    {s.contact_id: (s.contact_id, to_epoch(s.at)) for s in starts},
                    now,
                )
                if campaign.until is not None
                else set()
            )
            known = await situations_of(self.db, ctx, self.policy, questions, ids, found)
        # Runs that start in the same minute share their steps' deciders (and the due times they memo).
        deciders: dict[tuple[int, datetime, datetime], Decider] = {}
        runs = []
        for start in starts:
            situation = known.get(start.contact_id)
            if situation is None:
                continue  # the contact is gone
            rows = []
            for index, step in enumerate(campaign.steps):
                earliest = start.at + offsets[index]
                deadline = earliest + STEP_SPAN
                if index == 0 and start.first_deadline is not None:
                    deadline = start.first_deadline
                decider = deciders.get((index, earliest, deadline))
                if decider is None:
                    step_of_run = trigger_step(campaign, self.policy, index, earliest, deadline)
                    decider = deciders[(index, earliest, deadline)] = Decider(step_of_run, self.policy, now)
                own = _on_channel(situation, channels.index(step.channel))
                if start.contact_id in stopped:
                    own = replace(own, stopped=TRIGGER_STOPPED)
                decision = decider.decide(own)
                row = _row(campaign.id, start.contact_id, index, campaign.priority, step.channel, deadline)
                if isinstance(decision, Send):
                    rows.append(row._replace(channel=decision.channel, due_at=to_epoch(decision.due)))
                    # The run's later steps count this one against the caps.
                    counted = Counted(decision.due, decision.channel, campaign.priority)  # type: ignore[arg-type]
                    situation = replace(situation, counted=(*situation.counted, counted))
                    report.planned[campaign.id] += 1
                else:
                    # Decided once: a stopped run's step is suppressed, one no slot can hold cancelled.
                    status = "suppressed" if decision.reason == TRIGGER_STOPPED else "cancelled"
                    rows.append(row._replace(due_at=to_epoch(now), status=status, reason=decision.reason))
                    report.skipped[decision.reason] += 1
            runs.append(NewRun(start.contact_id, start.key, to_epoch(start.at), tuple(rows)))
        return runs


def _minute_up(at: datetime) -> datetime:
    return from_epoch(-(-to_epoch(at) // 60) * 60)


def _on_channel(s: Situation, i: int) -> Situation:
    """The situation as a step on the campaign's `i`-th channel alone sees it."""
    return replace(s, has_address=(s.has_address[i],), reachable=(s.reachable[i],))


def _row(
    campaign_id: str, contact_id: str, index: int, priority: str, channel: str, deadline: datetime
) -> PlannedRow:
    return PlannedRow(
        campaign_id, contact_id, index, priority, channel, None, None, 0, to_epoch(deadline), "planned"
    )


def _date_of(value: int | str, tz: ZoneInfo) -> date | None:
    """A stored date: epoch seconds read in the contact's zone, or text starting `YYYY-MM-DD`."""
    if isinstance(value, int):
        return from_epoch(value).astimezone(tz).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
