"""The dry run's SMS figures (SPEC §12.5): `sms_parts` and `sms_cost` of a campaign, refused when a
message is over `MAX_PARTS` or the campaign is over what is left of the month's budget.

Each version is rendered for SMS once, for the sample contact (a real contact's name changes a text by
a few characters): its parts times the SMS its version plans. A cascade's SMS step is checked for its
length only — how many contacts reach it depends on what they do first.
"""

from __future__ import annotations

from collections import Counter

from dispatcher.planner import Tally
from dispatcher.render import MessageContext, Renderer, TemplateProblem
from policy.campaign import Campaign
from policy.config import Policy
from policy.sms import MAX_PARTS, SMS, SmsBudget, month_span, sms_cost, sms_parts
from policy.timeutil import to_epoch, zone
from storage.db import Database
from storage.sms import sms_parts_sent


class SmsRefused(ValueError):
    """The campaign's SMS cannot go: too long or over budget; one sentence with the figures."""


async def sms_budget(
    db: Database, renderer: Renderer, campaign: Campaign, tally: Tally, policy: Policy, ctx: MessageContext
) -> SmsBudget | None:
    """The campaign's SMS against the month's budget at the dry run's instant; None without SMS."""
    steps = [i for i, step in enumerate(campaign.cascade, start=1) if step.channel == SMS]
    if SMS not in campaign.channels and not steps:
        return None
    per_version: Counter[str] = Counter()
    for (name, _, channel, _, _), n in tally.planned.items():
        if channel == SMS and name is not None:
            per_version[name] += n
    parts = 0
    for version in campaign.versions:
        each = await _parts(renderer, campaign, version.name, 0, ctx, f"version {version.name}")
        parts += each * per_version.get(version.name, 0)
    for number in steps:
        await _parts(renderer, campaign, campaign.versions[0].name, number, ctx, f"cascade step {number}")
    config = policy.channels.sms
    since, until = month_span(tally.at, zone(policy.default_timezone))
    spent_parts = await sms_parts_sent(db, since=to_epoch(since), until=to_epoch(until))
    return SmsBudget(
        messages=sum(per_version.values()),
        parts=parts,
        cost=sms_cost(parts, config.price_per_part),
        spent=sms_cost(spent_parts, config.price_per_part),
        budget=config.budget_per_month,
    )


async def _parts(
    renderer: Renderer, campaign: Campaign, version: str, step: int, ctx: MessageContext, what: str
) -> int:
    try:
        message = await renderer.render_async(
            campaign, version=version, variant=None, channel=SMS, ctx=ctx, step=step
        )
    except TemplateProblem as exc:
        raise SmsRefused(f"{what} as SMS: {exc}") from exc
    counted = sms_parts(message.text)
    if counted.parts > MAX_PARTS:
        raise SmsRefused(
            f"{what} as SMS takes {counted.parts} parts ({counted.units} {counted.encoding} characters):"
            f" at most {MAX_PARTS} are sent; shorten it"
        )
    if counted.parts == 0:
        raise SmsRefused(f"{what} as SMS is empty")
    return counted.parts
