"""Dry run and planning of a campaign's first step (SPEC §4, §6): one pass, two outputs.

`decision_batches` decides every audience member's fate at `at` with `policy.decide`, a bounded batch
at a time; the dry run adds the decisions up in a `Tally` as they stream by, planning also writes them
to the outbox. Both read the same stream, so they agree row for row, and neither holds the whole base
in memory (a million decisions as objects cost half a gigabyte).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from dispatcher.plan_spool import PlanSpool
from policy.campaign import Campaign
from policy.config import Policy
from policy.decide import Decider, Send, Situation
from policy.dry_run import HOURS, DryRunReport
from policy.steps import first_step, trigger_step
from policy.timeutil import from_epoch, to_epoch
from policy.triggers import STEP_SPAN
from storage.db import Database
from storage.outbox import PlannedRow, insert_planned, insert_planned_batches
from storage.segments import SegmentContext, reading
from storage.situations import NO_LIMITS, limits, member_batches, questions_for

log = logging.getLogger(__name__)

EXCLUSION_ORDER = ("no_address", "no_consent", "protected", "no_window", "silence", "cap")
DECISION_BATCH = 5000  # decisions held at once; memory stays flat in the size of the base


class Decision(NamedTuple):
    """One audience member's fate (a tuple: a million build cheaply)."""

    contact_id: str
    channel: str | None
    due_at: int | None
    reason: str | None  # exclusion reason, None when eligible
    holdout: bool = False
    version: str | None = None
    variant: str | None = None
    rfm_segment: str = "no_activity"


def planned_values(campaign: Campaign, decisions: Iterable[Decision]) -> list[tuple[object, ...]]:
    """The outbox rows of the decisions that send (holdout rows are kept as control), as plain tuples
    of a `PlannedRow`'s values: they pickle into the spool without a Python call per row."""
    deadline = to_epoch(campaign.deadline)
    cid, priority = campaign.id, campaign.priority
    # Unpacked rather than read by name: a million attribute reads cost a visible share of planning.
    return [
        (cid, contact, 0, priority, channel, version, variant, due, deadline, status, None)
        for contact, channel, due, reason, held, version, variant, _ in decisions
        if reason is None and channel is not None and due is not None
        for status in ("holdout" if held else "planned",)
    ]


def planned_rows(campaign: Campaign, decisions: Iterable[Decision]) -> Iterator[PlannedRow]:
    """The outbox rows of the decisions that send (holdout rows are kept as control)."""
    return map(PlannedRow._make, planned_values(campaign, decisions))


@dataclass
class Evaluation:
    """Every decision held in a list: for a few contacts (`contact explain`, tests), not a whole base."""

    campaign: Campaign
    at: datetime
    decisions: list[Decision] = field(default_factory=list)
    protect: list[str] = field(default_factory=list)  # in the order that decides which one is reported

    def planned_rows(self) -> Iterator[PlannedRow]:
        return planned_rows(self.campaign, self.decisions)


async def decision_batches(
    db: Database,
    campaign: Campaign,
    policy: Policy,
    at: datetime,
    *,
    only_ids: Sequence[str] = (),
    ctx: SegmentContext | None = None,
) -> AsyncIterator[list[Decision]]:
    """Every audience member's decision for the first send at `at` (`policy.decide`), in id order,
    `DECISION_BATCH` at a time."""
    if ctx is None:
        async with reading(db, policy, at) as own:
            async for part in decision_batches(db, campaign, policy, at, only_ids=only_ids, ctx=own):
                yield part
        return
    # A trigger's dry run: its first step, for everyone in its audience, as if it fired at `at`.
    step = (
        first_step(campaign, policy)
        if campaign.trigger is None
        else trigger_step(campaign, policy, 0, at, at + STEP_SPAN)
    )
    assert step.deadline is not None
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
            begin=max(step.start, at),
            end=step.deadline,
            contact_ids=only_ids,
            exclude_campaign=campaign.id,
        )
    )
    decider = Decider(step, policy, at)
    # A group's decision, made once for its first member (see `storage.situations.Member`); its other
    # members differ only in what the decider hashes from the id.
    decided: dict[int, Decision] = {}
    assign, make = decider.assign, Decision._make  # bound once: called for most of a base
    batch: list[Decision] = []
    append = batch.append
    async for members in member_batches(
        db, ctx, policy, questions, only_ids=only_ids, silences=found.silences, counted=found.counted
    ):
        for cid, s, group in members:
            d = decided.get(group) if group is not None else None
            if d is None:
                d = _decision(decider, s)
                if group is not None:
                    decided[group] = d
            elif d[3] is None:  # the group sends: only the id's own hashes differ
                _, channel, due_at, _, _, version, _, rfm = d
                held, variant = assign(cid)
                d = make((cid, channel, due_at, None, held, version, variant, rfm))
            else:
                d = make((cid, d[1], None, d[3], False, None, None, d[7]))
            append(d)
        if len(batch) >= DECISION_BATCH:
            yield batch[:DECISION_BATCH]
            batch = batch[DECISION_BATCH:]
            append = batch.append
    if batch:
        yield batch


def _decision(decider: Decider, s: Situation) -> Decision:
    outcome = decider.decide(s)
    if isinstance(outcome, Send):
        return Decision(
            s.contact_id,
            outcome.channel,
            to_epoch(outcome.due),
            None,
            outcome.holdout,
            outcome.version,
            outcome.variant,
            s.rfm_segment,
        )
    return Decision(s.contact_id, decider.channel(s), None, outcome.reason, rfm_segment=s.rfm_segment)


async def evaluate_campaign(
    db: Database,
    campaign: Campaign,
    policy: Policy,
    at: datetime,
    *,
    only_ids: Sequence[str] = (),
    ctx: SegmentContext | None = None,
) -> Evaluation:
    """Every decision in one list (see `Evaluation`); a whole base goes through `tally_campaign`."""
    step = first_step(campaign, policy)
    evaluation = Evaluation(campaign=campaign, at=at, protect=list(step.protect))
    async for batch in decision_batches(db, campaign, policy, at, only_ids=only_ids, ctx=ctx):
        evaluation.decisions.extend(batch)
    return evaluation


class Tally:
    """The dry-run report's counting part, added up one decision at a time (the campaign service adds
    the fingerprint and previews), and each version's first planned member for its preview.

    Planned decisions are counted per (version, variant, channel, RFM segment, due time): contacts
    share their due time with their zone and window group, so there are few such keys, one counter
    update per contact, and every figure of the report is derived from them at the end.
    """

    def __init__(self, campaign: Campaign, at: datetime, protect: Sequence[str]) -> None:
        self.campaign = campaign
        self.at = at
        self.protect = list(protect)  # in the order that decides which one is reported
        self.excluded: Counter[str] = Counter()
        self.holdout = 0
        self.planned: Counter[tuple[str | None, str | None, str, str, int]] = Counter()
        self.first: dict[str, tuple[str, str, str]] = {}  # version -> (contact, channel, rfm segment)

    def add(self, decisions: Iterable[Decision]) -> None:
        planned, first, excluded = self.planned, self.first, self.excluded
        for contact, channel, due, reason, held, version, variant, rfm in decisions:
            if reason is not None:
                excluded[reason] += 1
            elif held:
                self.holdout += 1
            else:
                assert due is not None and channel is not None
                planned[version, variant, channel, rfm, due] += 1
                if version and version not in first:
                    first[version] = (contact, channel, rfm)

    def report(self) -> DryRunReport:
        by_version: Counter[str] = Counter()
        by_variant: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        by_rfm: Counter[str] = Counter()
        hours: Counter[str] = Counter()
        unversioned = 0
        for (version, variant, channel, rfm, due), n in self.planned.items():
            by_version[version or "(none)"] += n
            if version is None:
                unversioned += n
            if variant is not None:
                by_variant[variant] += n
            by_channel[channel] += n
            by_rfm[rfm] += n
            hours[f"{from_epoch(due).hour:02d}"] += n
        planned = sum(self.planned.values())
        dues = [key[4] for key in self.planned]
        order = {r: i for i, r in enumerate(EXCLUSION_ORDER)}
        listed = {f"protected:{name}": i for i, name in enumerate(self.protect)}
        return DryRunReport(
            campaign=self.campaign.id,
            at=self.at,
            audience=self.excluded.total() + self.holdout + planned,
            excluded=dict(
                sorted(
                    self.excluded.items(),
                    key=lambda kv: (order.get(kv[0].split(":")[0], 99), listed.get(kv[0], 0), kv[0]),
                )
            ),
            eligible=self.holdout + planned,
            holdout=self.holdout,
            planned=planned,
            by_version=dict(by_version),
            by_variant=dict(by_variant),
            by_channel=dict(by_channel),
            by_rfm=dict(sorted(by_rfm.items())),
            first_due=from_epoch(min(dues)) if dues else None,
            last_due=from_epoch(max(dues)) if dues else None,
            due_hours_utc={h: hours.get(h, 0) for h in HOURS},
            unversioned=unversioned,
        )


def summarise(evaluation: Evaluation) -> DryRunReport:
    """The report of decisions held in a list (the same counting as a streamed dry run)."""
    tally = Tally(evaluation.campaign, evaluation.at, evaluation.protect)
    tally.add(evaluation.decisions)
    return tally.report()


async def tally_campaign(db: Database, campaign: Campaign, policy: Policy, at: datetime) -> Tally:
    """The dry run over the whole audience, streamed: nothing but the counts is kept."""
    tally = Tally(campaign, at, first_step(campaign, policy).protect)
    async for batch in decision_batches(db, campaign, policy, at):
        tally.add(batch)
    return tally


async def write_plan(db: Database, evaluation: Evaluation, *, now: datetime) -> int:
    """Write the evaluation's rows to the outbox (idempotent); return how many were new."""
    return await insert_planned(db, evaluation.planned_rows(), now=to_epoch(now))


async def spool_plan(
    db: Database, campaign: Campaign, policy: Policy, at: datetime
) -> tuple[Tally, PlanSpool]:
    """Decide the whole audience once: the counts (to check before anything is written) and the rows
    to write, on disk; the caller closes the spool."""
    tally = Tally(campaign, at, first_step(campaign, policy).protect)
    spool = PlanSpool()
    try:
        async for batch in decision_batches(db, campaign, policy, at):
            tally.add(batch)
            spool.add(planned_values(campaign, batch))
    except BaseException:
        spool.close()
        raise
    return tally, spool


async def write_spool(db: Database, spool: PlanSpool, *, now: datetime) -> int:
    """Write the spooled rows to the outbox (idempotent), a batch per transaction; return the new ones."""
    return await insert_planned_batches(db, spool.batches(), now=to_epoch(now))
