"""The send-time re-check: what was true at planning may not be true now (SPEC §7).

A planned row is sent only if the contact is still reachable on its channel and, for non-service
messages, not in a protected segment (mass), not inside a silence window that blocks its priority, and
no cap is full against what was really sent. A row whose instant fell outside its window or into quiet
hours (a retry, the end of a pause) is deferred to its next slot, or expires at the deadline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatcher.audience import ContactFacts, contact_facts, questions_for
from dispatcher.campaign_cache import CampaignCache, LoadedCampaign
from dispatcher.conditions import WHOLE_DAY, attended, matching_ids
from dispatcher.planner import caps_for, counted_of, silences_of, window_for
from policy.caps import Counted, binding_cap
from policy.config import Policy
from policy.due import Due, due_time
from policy.silence import SilenceWindow, blocks_priority
from policy.timeutil import from_epoch, to_epoch, zone
from policy.windows import in_quiet, in_window
from storage.audit import audit
from storage.campaigns import set_status
from storage.db import Database
from storage.outbox import REMINDER_STEP, ClaimedRow, sent_counted_for
from storage.segments import SegmentContext
from storage.silence_sql import silence_inputs

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


async def recheck(
    db: Database, policy: Policy, rows: Sequence[ClaimedRow], now: datetime, campaigns: CampaignCache
) -> dict[int, Verdict]:
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
) -> dict[int, Verdict]:
    verdicts: dict[int, Verdict] = {}
    groups: dict[tuple[str, str], list[ClaimedRow]] = defaultdict(list)
    for row in rows:
        groups[(row.campaign_id, row.channel)].append(row)
    nonservice_ids = sorted({r.contact_id for r in rows if r.priority != "service"})
    max_per = max((c.per for c in policy.all_caps()), default=timedelta(0))
    now_s = to_epoch(now)
    silences = (
        await silence_inputs(db, policy, at=now_s, since=now_s, until=now_s + 1, contact_ids=nonservice_ids)
        if nonservice_ids
        else {}
    )
    sent = await sent_counted_for(
        db, nonservice_ids, since=to_epoch(now - max_per), until=now_s + 1, exclude_ids=[r.id for r in rows]
    )
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
        facts = await _facts(db, ctx, policy, loaded, channel, [r.contact_id for r in group])
        for row in group:
            fact = facts.get(row.contact_id)
            verdicts[row.id] = await _one(
                db,
                ctx,
                policy,
                loaded,
                row,
                fact,
                now,
                silences_of(policy, silences.get(row.contact_id)),
                counted_of(sent.get(row.contact_id)),
            )
    return verdicts


async def _facts(
    db: Database, ctx: SegmentContext, policy: Policy, loaded: LoadedCampaign, channel: str, ids: list[str]
) -> dict[str, ContactFacts]:
    campaign = loaded.campaign
    protect = campaign.effective_protect(policy) if campaign.priority == "mass" else []
    questions = questions_for(policy, "all", [channel], protect, [])
    found: dict[str, ContactFacts] = {}
    async for facts in contact_facts(db, ctx, policy, questions, only_ids=ids):
        found[facts.contact_id] = facts
    return found


async def _one(
    db: Database,
    ctx: SegmentContext,
    policy: Policy,
    loaded: LoadedCampaign,
    row: ClaimedRow,
    facts: ContactFacts | None,
    now: datetime,
    silences: Sequence[SilenceWindow],
    counted: Sequence[Counted],
) -> Verdict:
    campaign = loaded.campaign
    if facts is None:
        return Verdict(False, "suppressed", "contact missing")
    if not facts.has_address[0]:
        return Verdict(False, "suppressed", "no_address")
    if not facts.reachable[0]:
        return Verdict(False, "suppressed", "no_consent")
    if row.priority == "service":
        return SEND
    if row.deadline is not None and to_epoch(now) >= row.deadline:
        return Verdict(False, "expired", "deadline")
    if facts.protected_by is not None:
        return Verdict(False, "suppressed", f"protected:{facts.protected_by}")
    if row.step >= REMINDER_STEP:
        if await attended(db, campaign.id, [row.contact_id], now):
            return Verdict(False, "cancelled", "attended")
    elif row.step >= 1:
        step = campaign.cascade[row.step - 1]
        if step.unless and await matching_ids(db, ctx, step.unless, [row.contact_id]):
            return Verdict(False, "cancelled", "unless")
    blocking = [s for s in silences if blocks_priority(s, row.priority) and s.starts <= now < s.ends]
    if blocking:
        return Verdict(False, "suppressed", f"silence:{blocking[0].reason}")
    caps = caps_for(policy, facts.cap_segments)
    cap = binding_cap(caps, now, counted, row.priority, row.channel)
    if cap is not None:
        return Verdict(False, "suppressed", "cap")
    tz = _zone(facts.timezone, policy)
    window = window_for(campaign, policy, facts.window_segment) if row.step < REMINDER_STEP else None
    if (window is None or in_window(now, tz, window)) and not in_quiet(now, tz, policy.quiet_hours):
        return SEND
    deadline = from_epoch(row.deadline) if row.deadline is not None else now + timedelta(days=7)
    later = due_time(
        priority=row.priority,
        channel=row.channel,
        tz=tz,
        window=window or WHOLE_DAY,
        quiet=policy.quiet_hours,
        silences=(),
        caps=(),
        counted=(),
        start=now,
        deadline=deadline,
        at=now,
    )
    if isinstance(later, Due):
        return Verdict(False, "planned", "outside window", defer_to=later.at)
    return Verdict(False, "expired", "no_window")


def _zone(name: str | None, policy: Policy) -> ZoneInfo:
    return zone(name) if name else zone(policy.default_timezone)
