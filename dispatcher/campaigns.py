"""Campaign service: add, dry run, approve, reject, plan, cancel — the one path the CLI and the bot share.

Each method reads the file as stored, checks the lifecycle (policy.lifecycle), does its work and writes
an audit row in the same transaction as the state change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dispatcher.links import LinkSigner
from dispatcher.message_context import message_context
from dispatcher.plan_spool import PlanSpool
from dispatcher.planner import Tally, spool_plan, tally_campaign, write_spool
from dispatcher.ports import CampaignStore
from dispatcher.render import MessageContext, RenderedMessage, Renderer, TemplateProblem, sample_context
from dispatcher.sms_estimate import SmsRefused, sms_budget
from policy.campaign import Campaign, CampaignError, parse_campaign
from policy.config import Policy
from policy.dry_run import DryRunReport, FollowUpStep, Preview
from policy.lifecycle import (
    FROZEN,
    Refused,
    check_approval,
    check_planning,
    check_rejection,
    status_after_change,
    status_after_dry_run,
)
from policy.occurrences import (
    Baseline,
    as_occurrence,
    check_occurrence,
    is_series,
    next_occurrence,
    parse_stored,
)
from policy.timeutil import format_duration
from storage.campaigns import Approval, CampaignRecord
from storage.db import Database
from storage.team import TeamError, acting_member, canonical_user, parse_user_id
from storage.triggers import start_trigger

log = logging.getLogger(__name__)


class CampaignRefused(ValueError):
    """The action is not allowed now; the message says why in one sentence."""


@dataclass(frozen=True)
class AddResult:
    record: CampaignRecord
    campaign: Campaign
    change: str  # created | changed | unchanged


@dataclass(frozen=True)
class PlanResult:
    status: str  # scheduled | pending_approval
    inserted: int
    report: DryRunReport


class CampaignService:
    def __init__(
        self,
        db: Database,
        policy: Policy,
        renderer: Renderer,
        signer: LinkSigner,
        *,
        store: CampaignStore,
        school: str = "Онлайн-школа",
    ) -> None:
        self.db = db  # the planner and the team check, until they read through a port too
        self.store = store
        self.policy = policy
        self.renderer = renderer
        self.signer = signer
        self.school = school

    # -- reading ----------------------------------------------------------------------------------
    async def load(self, campaign_id: str) -> tuple[CampaignRecord, Campaign]:
        record = await self.store.campaign(campaign_id)
        if record is None:
            raise CampaignRefused(f"there is no campaign {campaign_id!r}")
        return record, parse_stored(record.id, record.source, self.policy)

    async def parse(self, text: str, source_name: str) -> Campaign:
        """Validate a file and its templates (syntax, variables, links, Telegram limits, render limits);
        store nothing."""
        campaign = parse_campaign(text, source_name, self.policy)
        await self._check_templates(campaign)
        return campaign

    async def _check_templates(self, campaign: Campaign) -> None:
        await self.renderer.check_async(campaign, self._sample())

    def _sample(self) -> MessageContext:
        return sample_context(self.policy.default_timezone)

    # -- writing ----------------------------------------------------------------------------------
    async def add(
        self, text: str, source_name: str, *, by: str, at: datetime, source: str = "cli"
    ) -> AddResult:
        """Store a new campaign as draft, or a changed one (back to draft); an identical file is a no-op."""
        by = await self.member_id(by, "operator", "adding a campaign")
        campaign = await self.parse(text, source_name)
        fingerprint = self.renderer.fingerprint(campaign)
        existing = await self.store.campaign(campaign.id)
        async with self.store.writing() as tx:
            if existing is None:
                await tx.insert_campaign(
                    id=campaign.id,
                    name=campaign.name,
                    priority=campaign.priority,
                    source=text,
                    fingerprint=fingerprint,
                    author=by,
                    at=at,
                )
                change = "created"
            elif existing.fingerprint == fingerprint and existing.source == text:
                change = "unchanged"
            else:
                status = status_after_change(existing.status)
                if isinstance(status, Refused):
                    raise CampaignRefused(status.reason)
                await tx.update_source(
                    id=campaign.id,
                    name=campaign.name,
                    priority=campaign.priority,
                    source=text,
                    fingerprint=fingerprint,
                    status=status,
                    at=at,
                )
                change = "changed"
            if change != "unchanged":
                await tx.audit(
                    at=at,
                    actor=by,
                    action=f"campaign.{change}",
                    target=campaign.id,
                    source=source,
                    details={"fingerprint": fingerprint},
                )
        record = await self.store.campaign(campaign.id)
        assert record is not None
        return AddResult(record, campaign, change)

    async def refresh_fingerprint(
        self, record: CampaignRecord, campaign: Campaign, at: datetime
    ) -> CampaignRecord:
        """Templates may change on disk after `add`: a new fingerprint sends the campaign back to draft."""
        fingerprint = self.renderer.fingerprint(campaign)
        if fingerprint == record.fingerprint:
            return record
        status = status_after_change(record.status)
        if isinstance(status, Refused):
            raise CampaignRefused(f"its templates changed on disk, but {status.reason}")
        async with self.store.writing() as tx:
            await tx.update_source(
                id=record.id,
                name=record.name,
                priority=record.priority,
                source=record.source,
                fingerprint=fingerprint,
                status=status,
                at=at,
            )
            await tx.audit(at=at, actor="ritm", action="campaign.templates_changed", target=record.id)
        fresh = await self.store.campaign(record.id)
        assert fresh is not None
        return fresh

    async def dry_run(self, campaign_id: str, *, at: datetime, by: str, source: str = "cli") -> DryRunReport:
        """Evaluate without sending; store the report (the approval binds to it) and return it."""
        record, campaign = await self.load(campaign_id)
        await self._check_templates(campaign)
        record = await self.refresh_fingerprint(record, campaign, at)
        campaign = next_occurrence(campaign, at)  # a series shows its next occurrence
        tally = await tally_campaign(self.db, campaign, self.policy, at)
        report = await self._report(record, campaign, tally)
        status = status_after_dry_run(record.status, campaign.priority)
        async with self.store.writing() as tx:
            await tx.save_dry_run(campaign_id, report, status, at)
            await tx.audit(
                at=at,
                actor=by,
                action="campaign.dry_run",
                target=campaign_id,
                source=source,
                details={"planned": report.planned, "status": status},
            )
        return replace(report, status=status)

    async def _report(self, record: CampaignRecord, campaign: Campaign, tally: Tally) -> DryRunReport:
        try:
            sms = await sms_budget(self.db, self.renderer, campaign, tally, self.policy, self._sample())
        except SmsRefused as exc:
            raise CampaignRefused(str(exc)) from exc
        problem = sms.problem(self.policy.money.currency) if sms is not None else None
        if problem is not None:
            raise CampaignRefused(problem)
        return replace(
            tally.report(),
            fingerprint=record.fingerprint,
            widened_protect=tuple(campaign.widened_protect(self.policy)),
            previews=await self._previews(campaign, tally.first),
            cascade=await self._follow_ups(campaign),
            sms_parts=sms.parts if sms is not None else None,
            sms_cost=sms.cost if sms is not None else None,
        )

    async def _follow_ups(self, campaign: Campaign) -> tuple[FollowUpStep, ...]:
        """The cascade steps; a connect-link fallback shows its email, rendered for a sample contact."""
        steps = []
        for number, step in enumerate(campaign.cascade, start=1):
            preview = None
            if step.fallback is not None:
                version = campaign.versions[0].name
                try:
                    message = await self.renderer.render_async(
                        campaign,
                        version=version,
                        variant=None,
                        channel="email",
                        ctx=self._sample(),
                        step=number,
                    )
                except TemplateProblem as exc:
                    raise CampaignRefused(f"cascade step {number}'s {step.fallback} email: {exc}") from exc
                preview = _preview("sample", "email", message)
            steps.append(
                FollowUpStep(
                    number, step.channel, format_duration(step.after), step.unless, step.fallback, preview
                )
            )
        return tuple(steps)

    async def _previews(
        self, campaign: Campaign, first: Mapping[str, tuple[str, str, str]]
    ) -> dict[str, Preview]:
        """One preview per version, rendered for its first planned member (a sample when it has none)."""
        people = await self.store.recipients([v[0] for v in first.values()])
        previews: dict[str, Preview] = {}
        for version in campaign.versions:
            pick = first.get(version.name)
            recipient = people.get(pick[0]) if pick else None
            channel = pick[1] if pick else campaign.channels[0]
            if recipient is not None and pick is not None:
                ctx = message_context(
                    recipient,
                    campaign,
                    outbox_id=None,
                    channel=channel,
                    rfm_segment=pick[2],
                    signer=self.signer,
                    default_timezone=self.policy.default_timezone,
                    school=self.school,
                )
            else:
                ctx = self._sample()
            try:
                message = await self.renderer.preview_async(campaign, version.name, channel, ctx)
            except TemplateProblem as exc:
                raise CampaignRefused(
                    f"preview for {pick[0] if pick else 'a sample contact'}: {exc}"
                ) from exc
            previews[version.name] = _preview(pick[0] if pick else "sample", channel, message)
        return previews

    async def approve(
        self, campaign_id: str, *, by: str, at: datetime, source: str = "cli"
    ) -> CampaignRecord:
        record, campaign = await self.load(campaign_id)
        record = await self.refresh_fingerprint(record, campaign, at)
        by = self._canonical(by)
        role = await self._role(by)
        refused = check_approval(
            status=record.status,
            priority=campaign.priority,
            author=record.author,
            approver=by,
            approver_role=role,
            fingerprint=record.fingerprint,
            dry_run_fingerprint=record.dry_run_fingerprint,
        )
        return await self._decide(record, "approved", refused, by=by, at=at, source=source)

    async def reject(
        self, campaign_id: str, *, by: str, at: datetime, source: str = "cli", reason: str = ""
    ) -> CampaignRecord:
        record, _ = await self.load(campaign_id)
        by = self._canonical(by)
        refused = check_rejection(status=record.status, rejecter_role=await self._role(by), rejecter=by)
        return await self._decide(record, "rejected", refused, by=by, at=at, source=source)

    async def _decide(
        self,
        record: CampaignRecord,
        decision: str,
        refused: Refused | None,
        *,
        by: str,
        at: datetime,
        source: str,
    ) -> CampaignRecord:
        """Record an approver's decision on the dry run shown (or the refusal, and raise it)."""
        action = "campaign.approve" if decision == "approved" else "campaign.reject"
        if refused is not None:
            await self._audit_refusal(by, action, record.id, refused.reason, at, source)
            raise CampaignRefused(refused.reason)
        planned = record.dry_run.planned if record.dry_run else 0
        async with self.store.writing() as tx:
            await tx.record_decision(
                campaign_id=record.id,
                fingerprint=record.fingerprint,
                planned=planned,
                decision=decision,
                by_user=by,
                at=at,
                source=source,
            )
            await tx.set_status(record.id, decision, at)
        fresh = await self.store.campaign(record.id)
        assert fresh is not None
        return fresh

    async def plan(
        self, campaign_id: str, *, at: datetime, by: str = "scheduler", source: str = "cli"
    ) -> PlanResult:
        """Write the planned rows (idempotent), or send the campaign back for approval when it drifted."""
        record, campaign = await self.load(campaign_id)
        if is_series(campaign):
            raise CampaignRefused(
                f"{campaign_id} is a series: each occurrence is planned an hour before its start"
                f" (see `ritm campaign occurrences {campaign_id}`)"
            )
        await self._check_templates(campaign)
        record = await self.refresh_fingerprint(record, campaign, at)
        approval = await self.store.latest_approval(campaign_id)
        approved = approval if approval is not None and approval.decision == "approved" else None
        # Decided once: the counts are checked before anything is written, the rows wait on disk.
        tally, spool = await spool_plan(self.db, campaign, self.policy, at)
        try:
            return await self._plan_checked(
                record, campaign, approved, tally, spool, at=at, by=by, source=source
            )
        finally:
            spool.close()

    async def _plan_checked(
        self,
        record: CampaignRecord,
        campaign: Campaign,
        approved: Approval | None,
        tally: Tally,
        spool: PlanSpool,
        *,
        at: datetime,
        by: str,
        source: str,
    ) -> PlanResult:
        campaign_id = record.id
        summary = tally.report()
        baseline = None
        trigger = campaign.trigger is not None
        if record.series_id is not None and approved is None:  # planned under the series' approval
            baseline = await self._baseline(record)
            outcome = check_occurrence(
                status=record.status,
                baseline=baseline,
                fingerprint=record.fingerprint,
                planned=summary.planned,
            )
        else:
            outcome = check_planning(
                status=record.status,
                priority=campaign.priority,
                fingerprint=record.fingerprint,
                approved_fingerprint=approved.fingerprint if approved else None,
                # A trigger is approved once: who it reaches is decided as it fires, not counted now.
                approved_planned=approved.planned if approved and not trigger else None,
                planned=summary.planned,
            )
        if isinstance(outcome, Refused):
            raise CampaignRefused(outcome.reason)
        if outcome == "pending_approval":
            report = await self._report(record, campaign, tally)
            if baseline is not None:
                report = replace(report, compared_with=baseline.source, compared_planned=baseline.planned)
            async with self.store.writing() as tx:
                await tx.save_dry_run(campaign_id, report, "pending_approval", at)
                await tx.audit(
                    at=at,
                    actor=by,
                    action="campaign.reapproval_needed",
                    target=campaign_id,
                    source=source,
                    details={
                        "approved": approved.planned if approved else None,
                        "planned": summary.planned,
                        "compared_with": report.compared_with,
                        "compared_planned": report.compared_planned,
                    },
                )
            return PlanResult("pending_approval", 0, report)
        if trigger:
            # Planning makes a trigger live: from now on its tick starts runs (dispatcher/triggers.py).
            await start_trigger(self.db, campaign_id)
            inserted = 0
            summary = replace(summary, planned=0, holdout=0)
        else:
            inserted = await write_spool(self.db, spool, now=at)
        status = record.status if record.status in ("sending", "paused") else "scheduled"
        occurrence_report = None
        if record.series_id is not None:  # its own dry run: the next occurrence compares with it
            occurrence_report = await self._report(record, campaign, tally)
        async with self.store.writing() as tx:
            if occurrence_report is not None:
                await tx.save_dry_run(campaign_id, occurrence_report, status, at)
            await tx.mark_planned(campaign_id, status, at)
            await tx.audit(
                at=at,
                actor=by,
                action="campaign.planned",
                target=campaign_id,
                source=source,
                details={"inserted": inserted, "planned": summary.planned, "holdout": summary.holdout},
            )
        return PlanResult(status, inserted, summary)

    async def _baseline(self, record: CampaignRecord) -> Baseline | None:
        """The series' last approval or the previous occurrence planned under it, whichever is newer."""
        assert record.series_id is not None
        found: list[Baseline] = []
        approval = await self.store.latest_approval(record.series_id)
        if approval is not None and approval.decision == "approved":
            found.append(Baseline("series", approval.fingerprint, approval.planned, approval.at))
        planned = [
            o
            for o in await self.store.occurrences(record.series_id)
            if o.id < record.id and o.status in FROZEN and o.dry_run is not None and o.planned_at
        ]
        if planned:
            last = planned[-1]
            assert last.dry_run is not None and last.planned_at is not None
            found.append(Baseline(last.id, last.fingerprint, last.dry_run.planned, last.planned_at))
        return max(found, key=lambda b: b.at) if found else None

    async def open_occurrences(self, series_id: str, *, at: datetime, ahead: timedelta) -> list[str]:
        """Create the occurrences of an approved series that start within `ahead` (each then planned
        like an approved campaign); returns their ids."""
        record, campaign = await self.load(series_id)
        if not is_series(campaign) or record.status != "approved" or campaign.series is None:
            return []
        known = {r.id for r in await self.store.occurrences(series_id)}
        created = []
        for occurrence in campaign.series.due(at, ahead):
            occurrence_id = occurrence.campaign_id(series_id)
            if occurrence_id in known:
                continue
            fingerprint = self.renderer.fingerprint(as_occurrence(campaign, occurrence))
            async with self.store.writing() as tx:
                await tx.insert_campaign(
                    id=occurrence_id,
                    name=record.name,
                    priority=record.priority,
                    source=record.source,
                    fingerprint=fingerprint,
                    author=record.author,
                    at=at,
                    series_id=series_id,
                    status="approved",
                )
                await tx.audit(
                    at=at,
                    actor="scheduler",
                    action="campaign.occurrence",
                    target=occurrence_id,
                    source="scheduler",
                    details={"series": series_id, "number": occurrence.number},
                )
            log.info(
                "occurrence opened",
                extra={"event": "occurrence_opened", "campaign": occurrence_id, "series": series_id},
            )
            created.append(occurrence_id)
        return created

    async def cancel(self, campaign_id: str, *, by: str, at: datetime, source: str = "cli") -> int:
        """Cancel the campaign and every row of it not yet sent; returns how many rows were cancelled.
        A series takes its occurrences with it (those not done yet)."""
        by = await self.member_id(by, "operator", "cancelling a campaign")
        record, _ = await self.load(campaign_id)
        if record.status in ("done", "cancelled"):
            raise CampaignRefused(f"the campaign is already {record.status}")
        occurrences = [
            o.id for o in await self.store.occurrences(campaign_id) if o.status not in ("done", "cancelled")
        ]
        async with self.store.writing() as tx:
            cancelled = 0
            for target in [campaign_id, *occurrences]:
                cancelled += await tx.cancel_rows_of_campaign(target)
                await tx.set_status(target, "cancelled", at)
            await tx.audit(
                at=at,
                actor=by,
                action="campaign.cancel",
                target=campaign_id,
                source=source,
                details={"rows": cancelled},
            )
        return cancelled

    async def _role(self, user: str) -> str | None:
        member = await self.store.member(parse_user_id(user))
        return member.role if member else None

    @staticmethod
    def _canonical(user: str) -> str:
        try:
            return canonical_user(user)
        except TeamError as exc:
            raise CampaignRefused(f"--by: {exc}") from None

    async def member_id(self, user: str, needed: str, action: str) -> str:
        """`user` as its canonical id when they are a team member with at least the `needed` role."""
        canonical = self._canonical(user)
        try:
            return await acting_member(self.db, canonical, needed, action)
        except TeamError as exc:
            raise CampaignRefused(str(exc)) from None

    async def _audit_refusal(
        self, by: str, action: str, target: str, reason: str, at: datetime, source: str
    ) -> None:
        async with self.store.writing() as tx:
            await tx.audit(
                at=at,
                actor=by,
                action=f"{action}.refused",
                target=target,
                source=source,
                details={"reason": reason},
            )


def _preview(contact: str, channel: str, message: RenderedMessage) -> Preview:
    telegram = message.telegram is not None
    return Preview(
        contact=contact,
        channel=channel,
        subject=message.subject,
        text=message.text,
        html=message.html,
        telegram=message.telegram,
        buttons=tuple(message.buttons) if telegram else None,
    )


__all__: Sequence[str] = ["AddResult", "CampaignError", "CampaignRefused", "CampaignService", "PlanResult"]
