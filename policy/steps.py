"""The `Step`s a campaign sends (SPEC §4, §6): its first send, cascade steps, reminders, and a planned
row re-checked at its send time — each with the priority, channels, period and windows `decide` needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from policy.campaign import Campaign
from policy.config import LocalWindow, Policy
from policy.decide import Priority, Step


def first_step(campaign: Campaign, policy: Policy) -> Step:
    """The campaign's first send; mass campaigns exclude their protected segments."""
    return Step(
        campaign_id=campaign.id,
        kind="first",
        priority=campaign.priority,
        channels=tuple(campaign.channels),
        start=campaign.start,
        deadline=campaign.deadline,
        windows=campaign.windows,
        protect=tuple(protect_of(campaign, policy)),
        holdout=campaign.holdout,
        versions=tuple(v.name for v in campaign.versions),
        variants=tuple((v.name, v.weight) for v in campaign.variants),
        urgent=campaign.urgent,
    )


def protect_of(campaign: Campaign, policy: Policy) -> list[str]:
    """The protected segments that exclude a contact from this campaign (mass campaigns only)."""
    return campaign.effective_protect(policy) if campaign.priority == "mass" else []


def cascade_step(campaign: Campaign, index: int) -> Step:
    """Cascade step `index` (1-based): its own channel (and email for its connect-link fallback),
    `after` the previous step, same deadline."""
    step = campaign.cascade[index - 1]
    return Step(
        campaign_id=campaign.id,
        kind="cascade",
        priority=campaign.priority,
        channels=(step.channel, "email") if step.fallback is not None else (step.channel,),
        start=campaign.start,
        deadline=campaign.deadline,
        windows=campaign.windows,
        after=step.after,
        fallback=step.fallback,
        urgent=campaign.urgent,
    )


def trigger_step(
    campaign: Campaign, policy: Policy, index: int, earliest: datetime, deadline: datetime
) -> Step:
    """Step `index` of one run of a trigger campaign: its own channel, from `earliest` (the run's start
    plus the steps' delays) until `deadline`."""
    return Step(
        campaign_id=campaign.id,
        kind="trigger",
        priority=campaign.priority,
        channels=(campaign.steps[index].channel,),
        start=earliest,
        deadline=deadline,
        windows=campaign.windows,
        protect=tuple(protect_of(campaign, policy)),
        versions=tuple(v.name for v in campaign.versions),
        urgent=campaign.urgent,
    )


def reminder_steps(campaign: Campaign) -> list[tuple[int, Step]]:
    """(k, step) of each reminder of the campaign's event: scenario priority, the whole day (quiet
    hours still apply), from S − offset until the next reminder's time, the last one until S − latest
    (inclusive, hence one second more)."""
    event = campaign.event
    if event is None:
        return []
    offsets = list(event.reminders)
    ordered = sorted(range(len(offsets)), key=lambda k: -offsets[k])
    steps = []
    for position, k in enumerate(ordered):
        begin = event.starts_at - offsets[k]
        if position + 1 < len(ordered):
            end = event.starts_at - offsets[ordered[position + 1]]
        else:
            end = event.starts_at - offsets[k] + timedelta(seconds=1)
        step = Step(
            campaign_id=campaign.id,
            kind="reminder",
            priority="scenario",
            channels=tuple(campaign.channels),
            start=begin,
            deadline=end,
            windows=None,
        )
        steps.append((k, step))
    return steps


def send_time_step(
    campaign: Campaign,
    policy: Policy,
    *,
    reminder: bool,
    priority: Priority,
    channel: str,
    deadline: datetime | None,
) -> Step:
    """A planned row of `campaign`, re-checked when it is claimed for sending."""
    return Step(
        campaign_id=campaign.id,
        kind="send_time",
        priority=priority,
        channels=(channel,),
        start=campaign.start,
        deadline=deadline,
        windows=None if reminder else campaign.windows,
        protect=tuple(protect_of(campaign, policy)),
        urgent=campaign.urgent,
    )


def any_send_step(
    priority: Priority,
    channels: tuple[str, ...],
    protect: list[str],
    at: datetime,
    horizon: timedelta,
    windows: LocalWindow | Literal["policy"] = "policy",
) -> Step:
    """A message of `priority` on the first reachable channel, from `at` for `horizon`, in the given
    windows (`contact explain`'s "next possible send")."""
    return Step(
        campaign_id="",
        kind="first",
        priority=priority,
        channels=channels,
        start=at,
        deadline=at + horizon,
        windows=windows,
        protect=tuple(protect) if priority == "mass" else (),
    )
