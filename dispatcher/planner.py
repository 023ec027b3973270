"""Dry run and planning of a campaign's first step (SPEC §4, §6): one pass, two outputs.

`evaluate_campaign` decides every audience member's fate at `at` with `policy.decide`; the dry run
summarises the decisions, planning writes them to the outbox. Both call the same function, so they
agree row for row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from policy.campaign import Campaign
from policy.config import Policy
from policy.decide import Decider, Send
from policy.dry_run import HOURS, DryRunReport
from policy.steps import first_step
from policy.timeutil import from_epoch, to_epoch
from storage.db import Database
from storage.outbox import PlannedRow, insert_planned
from storage.segments import SegmentContext, reading
from storage.situations import NO_LIMITS, limits, questions_for, situations

log = logging.getLogger(__name__)

EXCLUSION_ORDER = ("no_address", "no_consent", "protected", "no_window", "silence", "cap")


@dataclass(frozen=True, slots=True)
class Decision:
    contact_id: str
    channel: str | None
    due_at: int | None
    reason: str | None  # exclusion reason, None when eligible
    holdout: bool = False
    version: str | None = None
    variant: str | None = None
    rfm_segment: str = "no_activity"


@dataclass
class Evaluation:
    campaign: Campaign
    at: datetime
    decisions: list[Decision] = field(default_factory=list)
    protect: list[str] = field(default_factory=list)  # in the order that decides which one is reported

    def planned_rows(self) -> Iterator[PlannedRow]:
        deadline = to_epoch(self.campaign.deadline)
        for d in self.decisions:
            if d.reason is None and d.channel is not None and d.due_at is not None:
                yield PlannedRow(
                    campaign_id=self.campaign.id,
                    contact_id=d.contact_id,
                    step=0,
                    priority=self.campaign.priority,
                    channel=d.channel,
                    version=d.version,
                    variant=d.variant,
                    due_at=d.due_at,
                    deadline=deadline,
                    status="holdout" if d.holdout else "planned",
                )


async def evaluate_campaign(
    db: Database,
    campaign: Campaign,
    policy: Policy,
    at: datetime,
    *,
    only_ids: Sequence[str] = (),
    ctx: SegmentContext | None = None,
) -> Evaluation:
    """Every audience member's decision for the first send at `at` (`policy.decide`)."""
    if ctx is None:
        async with reading(db, policy, at) as own:
            return await evaluate_campaign(db, campaign, policy, at, only_ids=only_ids, ctx=own)
    step = first_step(campaign, policy)
    questions = questions_for(
        policy, campaign.audience, step.channels, step.protect, [v.segment for v in campaign.versions]
    )
    # Service messages ignore silences and caps: nothing to read for them.
    found = (
        NO_LIMITS
        if campaign.priority == "service"
        else await limits(
            db,
            policy,
            at=at,
            begin=max(campaign.start, at),
            end=campaign.deadline,
            contact_ids=only_ids,
            exclude_campaign=campaign.id,
        )
    )
    decider = Decider(step, policy, at)
    evaluation = Evaluation(campaign=campaign, at=at, protect=list(step.protect))
    decisions = evaluation.decisions
    async for s in situations(
        db, ctx, policy, questions, only_ids=only_ids, silences=found.silences, counted=found.counted
    ):
        outcome = decider.decide(s)
        if isinstance(outcome, Send):
            decisions.append(
                Decision(
                    s.contact_id,
                    outcome.channel,
                    to_epoch(outcome.due),
                    None,
                    outcome.holdout,
                    outcome.version,
                    outcome.variant,
                    s.rfm_segment,
                )
            )
        else:
            decisions.append(
                Decision(s.contact_id, decider.channel(s), None, outcome.reason, rfm_segment=s.rfm_segment)
            )
    return evaluation


def summarise(evaluation: Evaluation) -> DryRunReport:
    """The dry-run report's counting part (the campaign service adds the fingerprint and previews)."""
    excluded: Counter[str] = Counter()
    by_version: Counter[str] = Counter()
    by_variant: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    by_rfm: Counter[str] = Counter()
    hours: Counter[str] = Counter()
    eligible = holdout = 0
    first: int | None = None
    last: int | None = None
    unversioned = 0
    for d in evaluation.decisions:
        if d.reason is not None:
            excluded[d.reason] += 1
            continue
        eligible += 1
        if d.holdout:
            holdout += 1
            continue
        assert d.due_at is not None and d.channel is not None
        if d.version is None:
            unversioned += 1
        by_version[d.version or "(none)"] += 1
        if d.variant is not None:
            by_variant[d.variant] += 1
        by_channel[d.channel] += 1
        by_rfm[d.rfm_segment] += 1
        hours[f"{from_epoch(d.due_at).hour:02d}"] += 1
        first = d.due_at if first is None else min(first, d.due_at)
        last = d.due_at if last is None else max(last, d.due_at)
    order = {r: i for i, r in enumerate(EXCLUSION_ORDER)}
    listed = {f"protected:{name}": i for i, name in enumerate(evaluation.protect)}
    return DryRunReport(
        campaign=evaluation.campaign.id,
        at=evaluation.at,
        audience=len(evaluation.decisions),
        excluded=dict(
            sorted(
                excluded.items(),
                key=lambda kv: (order.get(kv[0].split(":")[0], 99), listed.get(kv[0], 0), kv[0]),
            )
        ),
        eligible=eligible,
        holdout=holdout,
        planned=eligible - holdout,
        by_version=dict(by_version),
        by_variant=dict(by_variant),
        by_channel=dict(by_channel),
        by_rfm=dict(sorted(by_rfm.items())),
        first_due=from_epoch(first) if first is not None else None,
        last_due=from_epoch(last) if last is not None else None,
        due_hours_utc={h: hours.get(h, 0) for h in HOURS},
        unversioned=unversioned,
    )


async def write_plan(db: Database, evaluation: Evaluation, *, now: datetime) -> int:
    """Write the evaluation's rows to the outbox (idempotent); return how many were new."""
    return await insert_planned(db, evaluation.planned_rows(), now=to_epoch(now))
