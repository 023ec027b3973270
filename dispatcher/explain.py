"""Why a contact would or would not get a message now, and when next (`ritm contact explain`, /contact).

It asks the same questions the planner asks — reachability per channel, protected segments, the send
window, quiet hours, silences, caps — of one contact at one instant, gives every rule's verdict, and
searches the next instant a mass and a scenario message could reach them (two weeks ahead at most).
With a campaign it also runs that campaign's own decision for this contact (the dry run for one row).
Every answer comes from `policy.decide`, as the planner's and the re-check's do.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatcher.campaign_cache import CampaignCache
from dispatcher.explain_report import CampaignVerdict, Explanation, FollowUp, NextSend, Reach
from dispatcher.planner import evaluate_campaign
from policy.campaign import Campaign
from policy.config import CHANNELS, Policy
from policy.decide import NO_ADDRESS, NO_CONSENT, Decider, Decision, Priority, Send, Situation
from policy.due import explain_at
from policy.steps import any_send_step, cascade_step
from storage.db import Database
from storage.followups import telegram_links
from storage.identity import resolved_id
from storage.segments import SegmentContext
from storage.situations import limits, questions_for, situations_of
from storage.suppressions import Suppression, suppressions_of

HORIZON = timedelta(days=14)
PRIORITIES: tuple[Priority, ...] = ("mass", "scenario")


async def explain_contact(
    db: Database,
    policy: Policy,
    contact_id: str,
    at: datetime,
    campaign_id: str | None = None,
    campaigns: CampaignCache | None = None,
) -> Explanation | None:
    """The explanation (None for an unknown contact); raises ValueError for an unknown campaign.

    The id of a merged contact explains the contact it was merged into."""
    contact_id = await resolved_id(db, contact_id)
    campaign: Campaign | None = None
    if campaign_id is not None:
        loaded = await (campaigns or CampaignCache(db, policy)).get(campaign_id)
        if loaded is None:
            raise ValueError(f"there is no campaign {campaign_id!r}")
        campaign = loaded.campaign
    protect = list(policy.protect.mass) if campaign is None else campaign.effective_protect(policy)
    steps = {
        priority: any_send_step(
            priority, CHANNELS, protect, at, HORIZON, campaign.windows if campaign else "policy"
        )
        for priority in PRIORITIES
    }
    async with await SegmentContext.create(db, policy, at, scope=[contact_id]) as ctx:
        found = await limits(db, policy, at=at, begin=at, end=at + HORIZON, contact_ids=[contact_id])
        questions = questions_for(policy, "all", CHANNELS, protect, [])
        situation = (await situations_of(db, ctx, policy, questions, [contact_id], found)).get(contact_id)
        if situation is None:
            return None
        rfm = await ctx.rfm_of(contact_id)
        verdict = await _campaign_verdict(db, policy, campaign, contact_id, at, ctx) if campaign else None
    suppressed = await suppressions_of(db, contact_id)
    if verdict is not None and campaign is not None and verdict.in_audience:
        declined = (await telegram_links(db, [contact_id])).declined
        verdict = replace(verdict, cascade=_follow_ups(campaign, policy, situation, declined, at))
    # The rules now are those of a mass message on the first reachable channel (email if none).
    mass = Decider(steps["mass"], policy, at)
    tz, window, silences = mass.zone(situation), mass.window(situation), mass.silences(situation)
    rules = explain_at(
        at,
        priority="mass",
        channel=mass.channel(situation) or "email",
        tz=tz,
        window=window,
        quiet=policy.quiet_hours,
        silences=silences,
        caps=mass.caps(situation),
        counted=situation.counted,
    )
    return Explanation(
        contact=contact_id,
        at=at,
        timezone=tz.key,
        local_time=at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"),
        reachable={
            channel: Reach(ok, _reach_why(has, ok, suppressed.get(channel)))
            for channel, has, ok in zip(CHANNELS, situation.has_address, situation.reachable, strict=True)
        },
        protected_by=situation.protected_by,
        rfm=rfm,
        window_segment=situation.window_segment or "default",
        window=window,
        cap_segments=list(situation.cap_segments),
        silences=[s for s in silences if s.ends > at],
        rules_now=rules,
        next={p: _next(Decider(step, policy, at).decide(situation), tz, at) for p, step in steps.items()},
        campaign=verdict,
    )


def _follow_ups(
    campaign: Campaign, policy: Policy, situation: Situation, declined: frozenset[str], at: datetime
) -> tuple[FollowUp, ...]:
    """The channel each cascade step would take for the contact now, as the follow-up planner
    decides it (`Decider.channel`, the connect-link fallback included)."""
    index: dict[str, int] = {channel: i for i, channel in enumerate(CHANNELS)}
    found = []
    for number in range(1, len(campaign.cascade) + 1):
        step = cascade_step(campaign, number)
        mine = replace(
            situation,
            has_address=tuple(situation.has_address[index[ch]] for ch in step.channels),
            reachable=tuple(situation.reachable[index[ch]] for ch in step.channels),
            declined=frozenset({step.channels[0]}) if situation.contact_id in declined else frozenset(),
        )
        channel = Decider(step, policy, at).channel(mine)
        if channel is None:
            why = f"skipped: not reachable on {step.channels[0]}"
            if step.fallback is not None:
                why += " (a chat is bound but refused, Telegram was refused, or no email to send the link to)"
        elif channel != step.channels[0]:
            why = f"no Telegram chat bound: an email with the Telegram connect link ({step.fallback})"
        else:
            why = f"reachable on {channel}"
        found.append(FollowUp(number, channel, why))
    return tuple(found)


# How explain words a suppression's reason ("suppressed: address anna@x.ru unsubscribed on …").
SUPPRESSED_BECAUSE = {
    "unsubscribe": "unsubscribed",
    "hard_bounce": "bounced",
    "soft_bounces": "bounced softly three times in 30 days",
    "complaint": "complained",
    "bot_blocked": "blocked the bot",
    "bad_address": "does not exist",
    "manual": "was suppressed by hand",
}


def _reach_why(has_address: bool, ok: bool, suppressed: Suppression | None) -> str:
    if ok:
        return "address, consent granted, not suppressed"
    if not has_address:
        return "no address"
    if suppressed is not None:
        because = SUPPRESSED_BECAUSE.get(suppressed.reason, suppressed.reason)
        return f"suppressed: address {suppressed.address} {because} on {suppressed.at:%Y-%m-%d %H:%M} UTC"
    return "no granted consent"


def _next(decision: Decision, tz: ZoneInfo, at: datetime) -> NextSend:
    if isinstance(decision, Send):
        if decision.due == at:
            return NextSend(at, "now")
        return NextSend(
            decision.due, f"{decision.due.astimezone(tz):%a %H:%M} local is the first admissible instant"
        )
    if decision.reason in (NO_ADDRESS.reason, NO_CONSENT.reason):
        return NextSend(None, "not reachable on any channel")
    if decision.reason.startswith("protected:"):
        segment = decision.reason.removeprefix("protected:")
        return NextSend(None, f"in protected segment {segment}: mass campaigns exclude it")
    return NextSend(None, f"{decision.reason} for the next {HORIZON.days} days")


async def _campaign_verdict(
    db: Database, policy: Policy, campaign: Campaign, contact_id: str, at: datetime, ctx: SegmentContext
) -> CampaignVerdict:
    evaluation = await evaluate_campaign(db, campaign, policy, at, only_ids=[contact_id], ctx=ctx)
    if not evaluation.decisions:
        return CampaignVerdict(campaign.id, in_audience=False)
    d = evaluation.decisions[0]
    return CampaignVerdict(
        campaign.id,
        in_audience=True,
        excluded=d.reason,
        channel=d.channel,
        due_at=d.due_at,
        holdout=d.holdout,
        version=d.version,
        variant=d.variant,
    )
