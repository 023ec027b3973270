"""Why a contact would or would not get a message now, and when next (`ritm contact explain`, /contact).

It asks the same questions the planner asks — reachability per channel, protected segments, the send
window, quiet hours, silences, caps — of one contact at one instant, gives every rule's verdict, and
searches the next instant a mass and a scenario message could reach them (two weeks ahead at most).
With a campaign it also runs that campaign's own decision for this contact (the dry run for one row).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatcher.audience import contact_facts, questions_for
from dispatcher.campaign_cache import CampaignCache
from dispatcher.planner import caps_for, counted_of, evaluate_campaign, silences_of, window_for
from policy.campaign import Campaign
from policy.config import Policy
from policy.due import Due, due_time, explain_at
from policy.timeutil import iso_utc, to_epoch, zone
from storage.db import Database
from storage.outbox import counted_messages
from storage.segments import SegmentContext
from storage.silence_sql import silence_inputs

CHANNELS = ("email", "telegram", "sms")
HORIZON = timedelta(days=14)
NO_RFM = "no_activity"


async def explain_contact(
    db: Database,
    policy: Policy,
    contact_id: str,
    at: datetime,
    campaign_id: str | None = None,
    campaigns: CampaignCache | None = None,
) -> dict[str, Any] | None:
    """The explanation as plain data (None for an unknown contact); raises ValueError for a bad campaign."""
    campaign: Campaign | None = None
    if campaign_id is not None:
        loaded = await (campaigns or CampaignCache(db, policy)).get(campaign_id)
        if loaded is None:
            raise ValueError(f"there is no campaign {campaign_id!r}")
        campaign = loaded.campaign
    ctx = await SegmentContext.create(db, policy, at, scope=[contact_id])
    protect = list(policy.protect.mass) if campaign is None else campaign.effective_protect(policy)
    questions = questions_for(policy, "all", CHANNELS, protect, [])
    facts = [f async for f in contact_facts(db, ctx, policy, questions, only_ids=[contact_id])]
    if not facts:
        return None
    fact = facts[0]
    tz = zone(fact.timezone or policy.default_timezone)
    reachable = {
        channel: {"ok": ok, "why": _reach_why(has, ok)}
        for channel, has, ok in zip(CHANNELS, fact.has_address, fact.reachable, strict=True)
    }
    window = window_for(campaign, policy, fact.window_segment) if campaign else _policy_window(policy, fact)
    at_s = to_epoch(at)
    raw = await silence_inputs(
        db, policy, at=at_s, since=at_s, until=to_epoch(at + HORIZON), contact_ids=[contact_id]
    )
    silences = silences_of(policy, raw.get(contact_id))
    max_per = max((c.per for c in policy.all_caps()), default=timedelta(0))
    counted_rows = await counted_messages(
        db, since=to_epoch(at - max_per), until=to_epoch(at + HORIZON + max_per), contact_ids=[contact_id]
    )
    counted = counted_of(counted_rows.get(contact_id))
    caps = caps_for(policy, fact.cap_segments)
    channel = next((c for c in CHANNELS if reachable[c]["ok"]), "email")
    rules = explain_at(
        at,
        priority="mass",
        channel=channel,
        tz=tz,
        window=window,
        quiet=policy.quiet_hours,
        silences=silences,
        caps=caps,
        counted=counted,
    )
    rfm = await ctx.rfm_of(contact_id)
    result: dict[str, Any] = {
        "contact": contact_id,
        "at": iso_utc(at),
        "timezone": tz.key,
        "local_time": at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"),
        "reachable": reachable,
        "protected": [{"segment": fact.protected_by}] if fact.protected_by else [],
        "rfm": {"segment": rfm.segment, "r": rfm.r, "f": rfm.f, "m": rfm.m} if rfm else {"segment": NO_RFM},
        "window": {
            "segment": fact.window_segment or "default",
            "from": window.from_,
            "to": window.to,
            "days": window.days,
        },
        "cap_segments": list(fact.cap_segments),
        "silences": [
            {"starts": iso_utc(s.starts), "ends": iso_utc(s.ends), "blocks": s.blocks, "reason": s.reason}
            for s in silences
            if s.ends > at
        ],
        "rules_now": [{"rule": v.rule, "ok": v.ok, "detail": v.detail} for v in rules],
        "next": {},
    }
    for priority in ("mass", "scenario"):
        result["next"][priority] = _next(
            priority,
            channel,
            any(r["ok"] for r in reachable.values()),
            fact.protected_by,
            tz,
            window,
            policy,
            silences,
            caps,
            counted,
            at,
        )
    if campaign is not None:
        result["campaign"] = await _campaign_decision(db, policy, campaign, contact_id, at, ctx)
    return result


def _reach_why(has_address: bool, ok: bool) -> str:
    if ok:
        return "address, consent granted, not suppressed"
    if not has_address:
        return "no address"
    return "no granted consent, or the address is suppressed (unsubscribed, bounced, bot blocked)"


def _policy_window(policy: Policy, fact: Any) -> Any:
    return policy.windows[fact.window_segment] if fact.window_segment else policy.default_window()


def _next(
    priority: str,
    channel: str,
    reachable: bool,
    protected_by: str | None,
    tz: Any,
    window: Any,
    policy: Policy,
    silences: Any,
    caps: Any,
    counted: Any,
    at: datetime,
) -> dict[str, Any]:
    if not reachable:
        return {"at": None, "why": "not reachable on any channel"}
    if priority == "mass" and protected_by:
        return {"at": None, "why": f"in protected segment {protected_by}: mass campaigns exclude it"}
    due = due_time(
        priority=priority,
        channel=channel,
        tz=tz,
        window=window,
        quiet=policy.quiet_hours,
        silences=silences,
        caps=caps,
        counted=counted,
        start=at,
        deadline=at + HORIZON,
        at=at,
    )
    if isinstance(due, Due):
        why = (
            "now"
            if due.at == at
            else f"{due.at.astimezone(tz):%a %H:%M} local is the first admissible instant"
        )
        return {"at": iso_utc(due.at), "why": why}
    return {"at": None, "why": f"{due.reason} for the next {HORIZON.days} days"}


async def _campaign_decision(
    db: Database, policy: Policy, campaign: Campaign, contact_id: str, at: datetime, ctx: SegmentContext
) -> dict[str, Any]:
    evaluation = await evaluate_campaign(db, campaign, policy, at, only_ids=[contact_id], ctx=ctx)
    if not evaluation.decisions:
        return {"id": campaign.id, "in_audience": False}
    d = evaluation.decisions[0]
    return {
        "id": campaign.id,
        "in_audience": True,
        "excluded": d.reason,
        "channel": d.channel,
        "due_at": iso_utc(d.due_at) if d.due_at is not None else None,
        "holdout": d.holdout,
        "version": d.version,
        "variant": d.variant,
    }
