"""The send-time re-check: what was true at planning may not be true now (SPEC §7), asked of
`policy.decide` with a send-time step for each claimed row.

A planned row is sent only if the contact is still reachable on its channel and, for non-service
messages, not in a protected segment (mass), not inside a silence window that blocks its priority, and
no cap is full against what was really sent. A row whose instant fell outside its window or into quiet
hours (a retry, the end of a pause) is deferred to its next slot, or expires at the deadline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from dispatcher.campaign_cache import CampaignCache
from dispatcher.trigger_stops import trigger_stops
from policy.campaign import Campaign
from policy.config import Policy
from policy.decide import DEADLINE, Decider, Decision, Defer, Send, Situation
from policy.steps import protect_of, send_time_step
from policy.timeutil import from_epoch
from storage.audit import audit
from storage.campaigns import set_status
from storage.db import Database
from storage.followups import attended, matching_ids, telegram_links
from storage.outbox import REMINDER_STEP, ClaimedRow
from storage.segments import SegmentContext
from storage.situations import limits_now, questions_for, situations_of

# Rows of held campaigns (paused, back to approval) are never claimed; these end their rows.
DEAD_CAMPAIGN = frozenset({"cancelled", "rejected"})
SENDING = frozenset({"scheduled", "sending"})


async def hold_for_approval(db: Database, campaign_id: str, now: datetime) -> None:
    """A campaign whose templates changed after approval goes back to approval; its rows are held."""
    async with db.transaction() as conn:
        await set_status(conn, campaign_id, "pending_approval", now)
        await audit(
            conn,
            at=now,
            actor="dispatcher",
            action="campaign.templates_changed",
            target=campaign_id,
            source="dispatcher",
            details={"held": "until a new dry run is approved"},
        )


@dataclass(frozen=True)
class Verdict:
    """send, or the status the row goes to and why (or a later due time)."""

    send: bool
    status: str = "suppressed"
    reason: str | None = None
    defer_to: datetime | None = None


SEND = Verdict(send=True, status="sending")


@dataclass(frozen=True)
class Rechecked:
    """A verdict for every claimed row, and the RFM segment at `now` of each contact the re-check read
    (templates get it: the batch's RFM is scored once, here, not again when the rows are rendered)."""

    verdicts: dict[int, Verdict]
    rfm: dict[str, str]


async def recheck(
    db: Database, policy: Policy, rows: Sequence[ClaimedRow], now: datetime, campaigns: CampaignCache
) -> Rechecked:
    """A verdict for every claimed row, from one query per (campaign, channel) group."""
    ctx = await SegmentContext.create(db, policy, now, scope=sorted({r.contact_id for r in rows}))
    try:
        return await _recheck(db, ctx, policy, rows, now, campaigns)
    finally:
        await ctx.close()


async def _recheck(
    db: Database,
    ctx: SegmentContext,
    policy: Policy,
    rows: Sequence[ClaimedRow],
    now: datetime,
    campaigns: CampaignCache,
) -> Rechecked:
    verdicts: dict[int, Verdict] = {}
    rfm: dict[str, str] = {}
    groups: dict[tuple[str, str], list[ClaimedRow]] = defaultdict(list)
    for row in rows:
        groups[(row.campaign_id, row.channel)].append(row)
    nonservice_ids = sorted({r.contact_id for r in rows if r.priority != "service"})
    found = await limits_now(db, policy, nonservice_ids, now, [r.id for r in rows])
    for (campaign_id, channel), group in groups.items():
        loaded = await campaigns.get(campaign_id)
        if loaded is None or loaded.record.status in DEAD_CAMPAIGN:
            reason = "campaign missing" if loaded is None else f"campaign {loaded.record.status}"
            for row in group:
                verdicts[row.id] = Verdict(False, "cancelled", reason)
            continue
        if loaded.record.status in SENDING and campaigns.templates_changed(loaded):
            # Edited after approval: nothing goes out with text nobody approved; the rows wait.
            await hold_for_approval(db, campaign_id, now)
            for row in group:
                verdicts[row.id] = Verdict(False, "planned", "templates changed", defer_to=now)
            continue
        campaign = loaded.campaign
        ids = [r.contact_id for r in group]
        questions = questions_for(policy, "all", [channel], protect_of(campaign, policy), [])
        known = await situations_of(db, ctx, policy, questions, ids, found)
        rfm.update((cid, situation.rfm_segment) for cid, situation in known.items())
        if campaign.trigger is not None:
            stopped = await trigger_stops(db, ctx, policy, campaign, group, now)
        else:
            stopped = await _stopped(db, ctx, campaign, group, now)
        deciders: dict[tuple[bool, str, int | None], Decider] = {}
        for row in group:
            situation = known.get(row.contact_id) or Situation.gone(row.contact_id)
            why_stopped = stopped.get((row.contact_id, row.step))
            if why_stopped is not None:
                situation = replace(situation, stopped=why_stopped)
            reminder = row.step >= REMINDER_STEP and campaign.trigger is None
            decider = deciders.get((reminder, row.priority, row.deadline))
            if decider is None:
                step = send_time_step(
                    campaign,
                    policy,
                    reminder=reminder,
                    priority=row.priority,  # type: ignore[arg-type]
                    channel=channel,
                    deadline=from_epoch(row.deadline) if row.deadline is not None else None,
                )
                decider = deciders[(reminder, row.priority, row.deadline)] = Decider(step, policy, now)
            verdicts[row.id] = verdict_of(decider.decide(situation))
    return Rechecked(verdicts, rfm)


async def _stopped(
    db: Database, ctx: SegmentContext, campaign: Campaign, group: Sequence[ClaimedRow], now: datetime
) -> dict[tuple[str, int], str]:
    """(contact, step) → why the follow-up stopped: attended the event (reminders), or the cascade
    step's `unless` happened."""
    stopped: dict[tuple[str, int], str] = {}
    reminders = [r for r in group if r.step >= REMINDER_STEP]
    if reminders:
        came = await attended(db, campaign.id, sorted({r.contact_id for r in reminders}), now)
        stopped.update({(r.contact_id, r.step): "attended" for r in reminders if r.contact_id in came})
    for index in sorted({r.step for r in group if 1 <= r.step < REMINDER_STEP}):
        cascade = campaign.cascade[index - 1]
        mine = [r.contact_id for r in group if r.step == index]
        if cascade.unless:
            found = await matching_ids(db, ctx, cascade.unless, mine)
            stopped.update({(cid, index): "unless" for cid in found})
        fallback = [r.contact_id for r in group if r.step == index and r.channel != cascade.channel]
        if cascade.fallback is not None and fallback:
            # A connect-link email is moot once a chat is bound, and wrong once Telegram was refused.
            links = await telegram_links(db, fallback)
            for cid in fallback:
                if cid in links.declined:
                    stopped.setdefault((cid, index), TELEGRAM_DECLINED)
                elif cid in links.bound:
                    stopped.setdefault((cid, index), TELEGRAM_CONNECTED)
    return stopped


TELEGRAM_CONNECTED = "telegram_connected"
TELEGRAM_DECLINED = "telegram_declined"
# A send-time exclusion that is not a suppression: the row's time ran out, or its follow-up stopped.
ENDED = {
    DEADLINE: "expired",
    "no_window": "expired",
    "unless": "cancelled",
    "attended": "cancelled",
    TELEGRAM_CONNECTED: "cancelled",
}


def verdict_of(decision: Decision) -> Verdict:
    """The worker's verdict for a row from `policy.decide`'s answer at send time."""
    if isinstance(decision, Send):
        return SEND
    if isinstance(decision, Defer):
        return Verdict(False, "planned", decision.reason, defer_to=decision.until)
    return Verdict(False, ENDED.get(decision.reason, "suppressed"), decision.reason)
