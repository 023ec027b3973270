"""Dry run and planning of a campaign's first step (SPEC §4, §6): one pass, two outputs.

`evaluate_campaign` decides every audience member's fate at `at`; the dry run summarises the decisions,
planning writes them to the outbox. Both call the same function, so they agree row for row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatcher.audience import ContactFacts, contact_facts, questions_for
from policy.assign import in_holdout, variant_for
from policy.campaign import Campaign
from policy.caps import Counted
from policy.config import Cap, LocalWindow, Policy
from policy.dry_run import HOURS, DryRunReport
from policy.due import Due, Excluded, classify, due_time
from policy.silence import SilenceWindow, derive_silences
from policy.timeutil import from_epoch, to_epoch, zone
from storage.db import Database
from storage.outbox import CountedRow, PlannedRow, counted_messages, insert_planned
from storage.segments import SegmentContext
from storage.silence_sql import SilenceInputs, silence_inputs

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


def version_names(campaign: Campaign) -> list[str]:
    return [v.name for v in campaign.versions]


PREFERENCE = "pref:"  # a cap "segment" that is the subscriber's own frequency choice


def caps_for(policy: Policy, segments: Sequence[str]) -> list[Cap]:
    """The global caps plus those of every cap segment (and frequency choice) the contact is in."""
    caps = list(policy.caps)
    for name in segments:
        if name.startswith(PREFERENCE):
            caps.extend(policy.frequency_caps.get(name.removeprefix(PREFERENCE), ()))
        else:
            caps.extend(policy.segment_caps.get(name, ()))
    return caps


def window_for(campaign: Campaign, policy: Policy, window_segment: str | None) -> LocalWindow:
    if isinstance(campaign.windows, LocalWindow):
        return campaign.windows
    if window_segment is not None:
        return policy.windows[window_segment]
    return policy.default_window()


def silences_of(policy: Policy, raw: SilenceInputs | None) -> list[SilenceWindow]:
    if raw is None:
        return []
    return derive_silences(
        policy.silence,
        paid_at=[from_epoch(t) for t in raw.paid_at],
        activity_ends=[from_epoch(t) for t in raw.activity_ends],
        offer_declined_at=[from_epoch(t) for t in raw.offer_declined_at],
        manual=[
            SilenceWindow(from_epoch(s), from_epoch(e), blocks, reason)  # type: ignore[arg-type]
            for s, e, blocks, reason in raw.manual
        ],
    )


def counted_of(rows: Sequence[CountedRow] | None) -> list[Counted]:
    if not rows:
        return []
    return [Counted(from_epoch(r.at), r.channel, r.priority) for r in rows]  # type: ignore[arg-type]


async def evaluate_campaign(
    db: Database,
    campaign: Campaign,
    policy: Policy,
    at: datetime,
    *,
    only_ids: Sequence[str] = (),
    ctx: SegmentContext | None = None,
) -> Evaluation:
    """Every audience member's decision for step 0 at `at` (exclusion order of SPEC §4)."""
    ctx = ctx or await SegmentContext.create(db, policy, at)
    start = max(campaign.start, at)
    deadline = campaign.deadline
    protect = campaign.effective_protect(policy) if campaign.priority == "mass" else []
    questions = questions_for(
        policy, campaign.audience, campaign.channels, protect, [v.segment for v in campaign.versions]
    )
    max_per = max([c.per for c in policy.all_caps()], default=timedelta(0))
    at_s, since, until = to_epoch(at), to_epoch(start - max_per), to_epoch(deadline + max_per)
    service = campaign.priority == "service"
    counted = (
        {} if service else await counted_messages(db, since=since, until=until, exclude_campaign=campaign.id)
    )
    silences = (
        {}
        if service
        else await silence_inputs(
            db,
            policy,
            at=at_s,
            since=to_epoch(start),
            until=to_epoch(deadline),
            contact_ids=only_ids,
        )
    )
    default_tz = zone(policy.default_timezone)
    zones: dict[str | None, ZoneInfo] = {}
    shared: dict[tuple[object, ...], Due | Excluded] = {}
    variants = [(v.name, v.weight) for v in campaign.variants]
    names = version_names(campaign)
    evaluation = Evaluation(campaign=campaign, at=at, protect=list(protect))

    async for facts in contact_facts(db, ctx, policy, questions, only_ids=only_ids):
        channel = next((ch for ch, ok in zip(campaign.channels, facts.reachable, strict=True) if ok), None)
        due: Due | Excluded | None = None
        if any(facts.has_address) and channel is not None:
            if service:
                due = Due(start) if start < deadline else Excluded("no_window")
            elif facts.protected_by is None:
                raw_silences = silences.get(facts.contact_id)
                raw_counted = counted.get(facts.contact_id)
                # Without silences or counted messages the answer depends only on these: most of a
                # base shares a handful of (zone, window, caps) combinations.
                key = (facts.timezone, facts.window_segment, facts.cap_segments, channel)
                if raw_silences is None and not raw_counted and key in shared:
                    due = shared[key]
                else:
                    tz = zones.get(facts.timezone)
                    if tz is None:
                        tz = zones[facts.timezone] = zone(facts.timezone) if facts.timezone else default_tz
                    due = due_time(
                        priority=campaign.priority,
                        channel=channel,
                        tz=tz,
                        window=window_for(campaign, policy, facts.window_segment),
                        quiet=policy.quiet_hours,
                        silences=silences_of(policy, raw_silences),
                        caps=caps_for(policy, facts.cap_segments),
                        counted=counted_of(raw_counted),
                        start=campaign.start,
                        deadline=deadline,
                        at=at,
                    )
                    if raw_silences is None and not raw_counted:
                        shared[key] = due
        decision = classify(
            has_address=any(facts.has_address),
            has_consent=channel is not None,
            protected_by=None if service else facts.protected_by,
            due=due,
        )
        evaluation.decisions.append(_decide(campaign, facts, channel, decision, variants, names))
    return evaluation


def _decide(
    campaign: Campaign,
    facts: ContactFacts,
    channel: str | None,
    decision: Due | Excluded,
    variants: list[tuple[str, float]],
    names: list[str],
) -> Decision:
    if isinstance(decision, Excluded):
        return Decision(facts.contact_id, channel, None, decision.reason, rfm_segment=facts.rfm_segment)
    holdout = campaign.holdout > 0 and in_holdout(campaign.id, facts.contact_id, campaign.holdout)
    return Decision(
        contact_id=facts.contact_id,
        channel=channel,
        due_at=to_epoch(decision.at),
        reason=None,
        holdout=holdout,
        version=names[facts.version_index] if facts.version_index is not None else None,
        variant=variant_for(campaign.id, facts.contact_id, variants) if variants else None,
        rfm_segment=facts.rfm_segment,
    )


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
