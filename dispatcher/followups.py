"""Cascade steps and event reminders, planned by a scheduler job as their moment comes (SPEC §4).

A cascade step is planned once the previous step was sent `after` ago: if its `unless` condition
happened meanwhile, or the contact has no consent on the step's channel, the step is recorded as
cancelled (so it is decided once); otherwise it gets a due time like any message — its window, quiet
hours, silences and caps — never on the same local day as the previous step (the same content never
reaches two channels of a contact on one local day).

Reminders go to contacts registered for the campaign's event, at each offset before the start (within
48 h … 2 h, at most 3), with scenario priority: quiet hours and caps apply, send windows do not; a
contact who attended gets no more.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatcher.audience import contact_facts, questions_for
from dispatcher.campaign_cache import CampaignCache, LoadedCampaign
from dispatcher.conditions import WHOLE_DAY, matching_ids
from dispatcher.planner import caps_for, counted_of, silences_of, window_for
from policy.campaign import Campaign
from policy.config import Policy
from policy.due import Due, due_time
from policy.timeutil import from_epoch, to_epoch, zone
from storage.db import Database
from storage.outbox import REMINDER_STEP, CountedRow, PlannedRow, counted_messages, insert_planned
from storage.segments import SegmentContext
from storage.silence_sql import SilenceInputs, silence_inputs

log = logging.getLogger(__name__)
BATCH = 2000
ACTIVE = ("scheduled", "sending", "done")


@dataclass
class FollowUpReport:
    planned: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


class FollowUps:
    def __init__(self, db: Database, policy: Policy, campaigns: CampaignCache) -> None:
        self.db = db
        self.policy = policy
        self.campaigns = campaigns

    async def run_once(self, now: datetime) -> FollowUpReport:
        report = FollowUpReport()
        rows = await self.db.fetchall(
            f"SELECT id FROM campaigns WHERE status IN ({','.join('?' * len(ACTIVE))}) ORDER BY id", ACTIVE
        )
        for (campaign_id,) in rows:
            loaded = await self.campaigns.get(campaign_id)
            if loaded is None:
                continue
            for index in range(1, len(loaded.campaign.cascade) + 1):
                await self._cascade_step(loaded, index, now, report)
            if loaded.campaign.event is not None:
                await self._reminders(loaded, now, report)
        return report

    # -- cascades ----------------------------------------------------------------------------------
    async def _cascade_step(
        self, loaded: LoadedCampaign, index: int, now: datetime, report: FollowUpReport
    ) -> None:
        campaign = loaded.campaign
        step = campaign.cascade[index - 1]
        ready = await self.db.fetchall(
            "SELECT o.contact_id, o.sent_at, o.version, o.variant FROM outbox o"
            " WHERE o.campaign_id = ? AND o.step = ? AND o.status = 'sent' AND o.sent_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbox n WHERE n.campaign_id = o.campaign_id"
            " AND n.contact_id = o.contact_id AND n.step = ?) ORDER BY o.contact_id LIMIT ?",
            (campaign.id, index - 1, to_epoch(now - step.after), index, BATCH),
        )
        if not ready:
            return
        ids = [r[0] for r in ready]
        ctx = await SegmentContext.create(self.db, self.policy, now, scope=ids)
        stopped = await matching_ids(self.db, ctx, step.unless, ids) if step.unless else set()
        facts = {
            f.contact_id: f
            async for f in contact_facts(
                self.db,
                ctx,
                self.policy,
                questions_for(self.policy, "all", [step.channel], [], []),
                only_ids=ids,
            )
        }
        deadline = campaign.deadline
        silences, counted = await self._load_limits(ids, now, deadline)
        rows: list[PlannedRow] = []
        for contact_id, sent_at, version, variant in ready:
            fact = facts.get(contact_id)

            key = RowKey(campaign.id, contact_id, index, campaign.priority, version, variant)

            if contact_id in stopped or fact is None or not fact.reachable[0]:
                reason = "unless" if contact_id in stopped else "no_consent"
                rows.append(_row(key, step.channel, now, deadline, "cancelled", reason))
                report.skipped[reason] += 1
                continue
            tz = self._zone(fact.timezone)
            sent = from_epoch(int(sent_at))
            start = max(sent + step.after, next_local_day(sent, tz))
            due = due_time(
                priority=campaign.priority,
                channel=step.channel,
                tz=tz,
                window=window_for(campaign, self.policy, fact.window_segment),
                quiet=self.policy.quiet_hours,
                silences=silences_of(self.policy, silences.get(contact_id)),
                caps=caps_for(self.policy, fact.cap_segments),
                counted=counted_of(counted.get(contact_id)),
                start=start,
                deadline=deadline,
                at=now,
            )
            if isinstance(due, Due):
                rows.append(_row(key, step.channel, due.at, deadline, "planned"))
                report.planned[f"cascade:{index}"] += 1
            else:
                rows.append(_row(key, step.channel, now, deadline, "cancelled", due.reason))
                report.skipped[due.reason] += 1
        await insert_planned(self.db, rows, now=to_epoch(now))

    # -- reminders ---------------------------------------------------------------------------------
    async def _reminders(self, loaded: LoadedCampaign, now: datetime, report: FollowUpReport) -> None:
        campaign = loaded.campaign
        event = campaign.event
        assert event is not None
        slots = reminder_slots(campaign)
        open_slots = [(k, begin, end) for k, begin, end in slots if now < end]
        if not open_slots:
            return
        registered = await self.db.fetchall(
            "SELECT DISTINCT r.contact_id FROM events r WHERE r.type = 'webinar_registered'"
            " AND r.campaign_id = ? AND r.at <= ? AND NOT EXISTS (SELECT 1 FROM events a"
            " WHERE a.contact_id = r.contact_id AND a.type = 'webinar_attended'"
            " AND a.campaign_id = r.campaign_id)"
            " ORDER BY r.contact_id",
            (campaign.id, to_epoch(now)),
        )
        ids = [r[0] for r in registered]
        if not ids:
            return
        have = {
            (r[0], int(r[1]))
            for r in await self.db.fetchall(
                "SELECT contact_id, step FROM outbox WHERE campaign_id = ? AND step >= ?",
                (campaign.id, REMINDER_STEP),
            )
        }
        versions = {
            r[0]: (r[1], r[2])
            for r in await self.db.fetchall(
                "SELECT contact_id, version, variant FROM outbox WHERE campaign_id = ? AND step = 0",
                (campaign.id,),
            )
        }
        ctx = await SegmentContext.create(self.db, self.policy, now, scope=ids)
        facts = {
            f.contact_id: f
            async for f in contact_facts(
                self.db,
                ctx,
                self.policy,
                questions_for(self.policy, "all", campaign.channels, [], []),
                only_ids=ids,
            )
        }
        silences, counted = await self._load_limits(ids, now, event.starts_at)
        rows: list[PlannedRow] = []
        for contact_id in ids:
            fact = facts.get(contact_id)
            if fact is None:
                continue
            channel = next((ch for ch, ok in zip(campaign.channels, fact.reachable, strict=True) if ok), None)
            version, variant = versions.get(contact_id, (campaign.versions[-1].name, None))
            for k, begin, end in open_slots:
                step = REMINDER_STEP + k
                if (contact_id, step) in have:
                    continue

                key = RowKey(campaign.id, contact_id, step, "scenario", version, variant)
                if channel is None:
                    rows.append(_row(key, campaign.channels[0], now, end, "cancelled", "no_consent"))
                    report.skipped["no_consent"] += 1
                    continue
                mine = counted.setdefault(contact_id, [])
                due = due_time(
                    priority="scenario",
                    channel=channel,
                    tz=self._zone(fact.timezone),
                    window=WHOLE_DAY,
                    quiet=self.policy.quiet_hours,
                    silences=silences_of(self.policy, silences.get(contact_id)),
                    caps=caps_for(self.policy, fact.cap_segments),
                    counted=counted_of(mine),
                    start=begin,
                    deadline=end,
                    at=now,
                )
                if isinstance(due, Due):
                    rows.append(_row(key, channel, due.at, end, "planned"))
                    # The next reminder of this contact must count this one against the caps.
                    mine.append(CountedRow(contact_id, to_epoch(due.at), channel, "scenario"))
                    report.planned[f"reminder:{k}"] += 1
                else:
                    # Decided once: a reminder its slot cannot hold is recorded, not retried every tick.
                    rows.append(_row(key, channel, now, end, "cancelled", due.reason))
                    report.skipped[f"reminder_{due.reason}"] += 1
        await insert_planned(self.db, rows, now=to_epoch(now))

    async def _load_limits(
        self, ids: list[str], now: datetime, until: datetime
    ) -> tuple[dict[str, SilenceInputs], dict[str, list[CountedRow]]]:
        max_per = max((c.per for c in self.policy.all_caps()), default=timedelta(0))
        silences = await silence_inputs(
            self.db,
            self.policy,
            at=to_epoch(now),
            since=to_epoch(now),
            until=to_epoch(until),
            contact_ids=ids,
        )
        counted = await counted_messages(
            self.db, since=to_epoch(now - max_per), until=to_epoch(until + max_per), contact_ids=ids
        )
        return silences, counted

    def _zone(self, name: str | None) -> ZoneInfo:
        return zone(name or self.policy.default_timezone)


@dataclass(frozen=True)
class RowKey:
    campaign_id: str
    contact_id: str
    step: int
    priority: str
    version: str | None
    variant: str | None


def _row(
    key: RowKey, channel: str, due_at: datetime, deadline: datetime, status: str, reason: str | None = None
) -> PlannedRow:
    return PlannedRow(
        key.campaign_id,
        key.contact_id,
        key.step,
        key.priority,
        channel,
        key.version,
        key.variant,
        to_epoch(due_at),
        to_epoch(deadline),
        status,
        reason,
    )


def reminder_slots(campaign: Campaign) -> list[tuple[int, datetime, datetime]]:
    """(index, earliest, deadline) of each reminder: from S − offset until the next reminder's time,
    the last one until S − latest (inclusive, hence one second more)."""
    event = campaign.event
    if event is None:
        return []
    offsets = list(event.reminders)
    ordered = sorted(range(len(offsets)), key=lambda k: -offsets[k])
    slots = []
    for position, k in enumerate(ordered):
        begin = event.starts_at - offsets[k]
        if position + 1 < len(ordered):
            end = event.starts_at - offsets[ordered[position + 1]]
        else:
            end = event.starts_at - offsets[k] + timedelta(seconds=1)
        slots.append((k, begin, end))
    return slots


def next_local_day(moment: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight after `moment` in `tz`, as an aware UTC-comparable datetime."""
    local = moment.astimezone(tz)
    # Wall-clock arithmetic on the same tzinfo: the next calendar day's 00:00, DST-correct.
    return datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=1)
