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
from dataclasses import dataclass, field, replace
from datetime import datetime

from dispatcher.campaign_cache import CampaignCache, LoadedCampaign
from policy.caps import Counted
from policy.config import Policy
from policy.decide import NO_ADDRESS, NO_CONSENT, Decider, Send, Situation
from policy.steps import cascade_step, reminder_steps
from policy.timeutil import to_epoch
from storage.db import Database
from storage.followups import (
    active_campaign_ids,
    first_send_versions,
    matching_ids,
    ready_for_cascade,
    registered_not_attended,
    reminders_decided,
    telegram_links,
)
from storage.outbox import REMINDER_STEP, PlannedRow, insert_planned
from storage.segments import SegmentContext
from storage.situations import limits, questions_for, situations_of

log = logging.getLogger(__name__)
BATCH = 2000


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
        for campaign_id in await active_campaign_ids(self.db):
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
        step = cascade_step(campaign, index)
        ready = await ready_for_cascade(
            self.db, campaign.id, index, sent_before=now - step.after, limit=BATCH
        )
        if not ready:
            return
        ids = [r.contact_id for r in ready]
        unless = campaign.cascade[index - 1].unless
        async with await SegmentContext.create(self.db, self.policy, now, scope=ids) as ctx:
            stopped = await matching_ids(self.db, ctx, unless, ids) if unless else set()
            known = await self._situations(ctx, ids, step.channels, now, campaign.deadline)
        # A connect-link fallback never invites a contact who refused Telegram (the stricter setting).
        declined = (await telegram_links(self.db, ids)).declined if step.fallback else frozenset()
        refused = frozenset({step.channels[0]})
        decider = Decider(step, self.policy, now)
        rows: list[PlannedRow] = []
        for previous in ready:
            contact_id = previous.contact_id
            situation = replace(
                known.get(contact_id) or Situation.gone(contact_id),
                stopped="unless" if contact_id in stopped else None,
                previous_sent=previous.sent_at,
                inherited=(previous.version, previous.variant),
                declined=refused if contact_id in declined else frozenset(),
            )
            key = RowKey(
                campaign.id,
                contact_id,
                index,
                campaign.priority,
                step.channels[0],
                now,
                previous.version,
                previous.variant,
            )
            decision = decider.decide(situation)
            if isinstance(decision, Send):
                rows.append(key.row(decision, campaign.deadline))
                report.planned[f"cascade:{index}"] += 1
            else:
                rows.append(key.cancelled(decision.reason, campaign.deadline))
                report.skipped[decision.reason] += 1
        await insert_planned(self.db, rows, now=to_epoch(now))

    # -- reminders ---------------------------------------------------------------------------------
    async def _reminders(self, loaded: LoadedCampaign, now: datetime, report: FollowUpReport) -> None:
        campaign = loaded.campaign
        event = campaign.event
        assert event is not None
        steps = [(k, step) for k, step in reminder_steps(campaign) if step.deadline and now < step.deadline]
        if not steps:
            return
        ids = await registered_not_attended(self.db, campaign.id, now)
        if not ids:
            return
        have = await reminders_decided(self.db, campaign.id)
        versions = await first_send_versions(self.db, campaign.id)
        async with await SegmentContext.create(self.db, self.policy, now, scope=ids) as ctx:
            known = await self._situations(ctx, ids, tuple(campaign.channels), now, event.starts_at)
        # Without a first send (registered elsewhere) a reminder speaks the campaign's last version.
        fallback = (campaign.versions[-1].name, None)
        deciders = [(k, step, Decider(step, self.policy, now)) for k, step in steps]
        rows: list[PlannedRow] = []
        for contact_id in ids:
            situation = known.get(contact_id)
            if situation is None:
                continue
            inherited = versions.get(contact_id, fallback)
            situation = replace(situation, inherited=inherited)
            for k, step, decider in deciders:
                number = REMINDER_STEP + k
                if (contact_id, number) in have:
                    continue
                key = RowKey(
                    campaign.id, contact_id, number, step.priority, campaign.channels[0], now, *inherited
                )
                decision = decider.decide(situation)
                deadline = step.deadline or now
                if isinstance(decision, Send):
                    rows.append(key.row(decision, deadline))
                    # The next reminder of this contact must count this one against the caps.
                    counted = Counted(decision.due, decision.channel, step.priority)  # type: ignore[arg-type]
                    situation = replace(situation, counted=(*situation.counted, counted))
                    report.planned[f"reminder:{k}"] += 1
                else:
                    # Decided once: a reminder its slot cannot hold is recorded, not retried every tick.
                    rows.append(key.cancelled(decision.reason, deadline))
                    report.skipped[_reminder_reason(decision.reason)] += 1
        await insert_planned(self.db, rows, now=to_epoch(now))

    async def _situations(
        self, ctx: SegmentContext, ids: list[str], channels: tuple[str, ...], now: datetime, until: datetime
    ) -> dict[str, Situation]:
        """The situations of `ids` for messages due from `now` until `until` on `channels`."""
        found = await limits(self.db, self.policy, at=now, begin=now, end=until, contact_ids=ids)
        questions = questions_for(self.policy, "all", channels, [], [])
        return await situations_of(self.db, ctx, self.policy, questions, ids, found)


def _reminder_reason(reason: str) -> str:
    """Reachability reasons read the same for every step; a slot's own verdict says it was a reminder's."""
    return reason if reason in (NO_ADDRESS.reason, NO_CONSENT.reason) else f"reminder_{reason}"


@dataclass(frozen=True)
class RowKey:
    """Who and which step a follow-up row is for; `channel` and `now` stand in when it is cancelled."""

    campaign_id: str
    contact_id: str
    step: int
    priority: str
    channel: str
    now: datetime
    version: str | None
    variant: str | None

    def row(self, send: Send, deadline: datetime) -> PlannedRow:
        return PlannedRow(
            self.campaign_id,
            self.contact_id,
            self.step,
            self.priority,
            send.channel,
            send.version,
            send.variant,
            to_epoch(send.due),
            to_epoch(deadline),
            "planned",
        )

    def cancelled(self, reason: str, deadline: datetime) -> PlannedRow:
        return PlannedRow(
            self.campaign_id,
            self.contact_id,
            self.step,
            self.priority,
            self.channel,
            self.version,
            self.variant,
            to_epoch(self.now),
            to_epoch(deadline),
            "cancelled",
            reason,
        )
