"""The outbox worker: claim due rows under a lease, re-check the policy, render, send, record.

`run_once(now)` is one tick; the scheduler only calls it, tests and the demo call it with their own
clock. Nothing here sleeps on policy: a deferral is a new `due_at` in the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dispatcher.campaign_cache import CampaignCache
from dispatcher.channels.base import SendResult
from dispatcher.recheck import Verdict, recheck
from policy.config import Policy
from policy.retry import GiveUp, next_attempt
from policy.timeutil import from_epoch, to_epoch
from storage.campaigns import campaigns_to_finish, set_status
from storage.db import Database
from storage.outbox import ClaimedRow, Outcome, claim_due, defer_rows, expire_leases, record_outcomes
from storage.pause import get_paused
from storage.tracking import revoke_consent, suppress_address

log = logging.getLogger(__name__)


class Delivery(Protocol):
    """Renders one claimed row for its contact and hands it to the right channel."""

    async def prepare(self, rows: Sequence[ClaimedRow], now: datetime) -> None: ...

    async def deliver(self, row: ClaimedRow, now: datetime) -> SendResult: ...


@dataclass
class TickReport:
    now: datetime
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    paused: bool = False

    def merge(self, other: TickReport) -> None:
        self.claimed += other.claimed
        self.outcomes.update(other.outcomes)
        self.reasons.update(other.reasons)
        self.paused = other.paused


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        policy: Policy,
        delivery: Delivery,
        campaigns: CampaignCache,
        *,
        batch: int = 200,
        lease_s: int = 300,
        concurrency: int = 32,
    ) -> None:
        self.db = db
        self.policy = policy
        self.delivery = delivery
        self.campaigns = campaigns
        self.batch = batch
        self.lease_s = lease_s
        self.concurrency = concurrency
        self._stopping = False

    def stop(self) -> None:
        """Finish the rows in hand, claim no more (SIGTERM)."""
        self._stopping = True

    async def run_once(self, now: datetime) -> TickReport:
        """One round: claim a batch of due rows (service only while paused) and settle every one."""
        report = TickReport(now=now)
        if self._stopping:
            return report
        now_s = to_epoch(now)
        await expire_leases(self.db, now=now_s)
        report.paused = await get_paused(self.db)
        rows = await claim_due(
            self.db, now=now_s, lease_s=self.lease_s, limit=self.batch, service_only=report.paused
        )
        report.claimed = len(rows)
        if not rows:
            await self._finish_campaigns(now)
            return report
        verdicts = await recheck(self.db, self.policy, rows, now, self.campaigns)
        outcomes: list[Outcome] = []
        deferrals: list[tuple[int, int]] = []
        to_send: list[ClaimedRow] = []
        for row in rows:
            verdict = verdicts[row.id]
            if verdict.send:
                to_send.append(row)
            elif verdict.defer_to is not None:
                deferrals.append((row.id, to_epoch(verdict.defer_to)))
                report.outcomes["deferred"] += 1
            else:
                outcomes.append(self._not_sent(row, verdict))
        await defer_rows(self.db, deferrals)
        if to_send:
            await self.delivery.prepare(to_send, now)
            await self._mark_sending(to_send, now)
        results = await self._send_all(to_send, now)
        for row in to_send:
            outcomes.append(await self._settle(row, results[row.id], now))
        await record_outcomes(self.db, outcomes)
        for outcome in outcomes:
            report.outcomes[outcome.status] += 1
            if outcome.reason:
                report.reasons[outcome.reason] += 1
        log.info("tick", extra={"event": "tick", "claimed": report.claimed, **dict(report.outcomes)})
        return report

    async def drain(self, now: datetime, *, max_ticks: int = 10_000) -> TickReport:
        """Tick at `now` until nothing due is left (tests, the demo)."""
        total = TickReport(now=now)
        for _ in range(max_ticks):
            tick = await self.run_once(now)
            total.merge(tick)
            if tick.claimed == 0:
                break
        return total

    @staticmethod
    def _not_sent(row: ClaimedRow, verdict: Verdict) -> Outcome:
        return Outcome(row.id, verdict.status, reason=verdict.reason)

    async def _mark_sending(self, rows: Sequence[ClaimedRow], now: datetime) -> None:
        ids = sorted({r.campaign_id for r in rows})
        async with self.db.transaction() as conn:
            for campaign_id in ids:
                await conn.execute(
                    "UPDATE campaigns SET status = 'sending', updated_at = ?"
                    " WHERE id = ? AND status = 'scheduled'",
                    (to_epoch(now), campaign_id),
                )

    async def _finish_campaigns(self, now: datetime) -> None:
        finished = await campaigns_to_finish(self.db)
        if not finished:
            return
        async with self.db.transaction() as conn:
            for campaign_id in finished:
                await set_status(conn, campaign_id, "done", now)

    async def _send_all(self, rows: Sequence[ClaimedRow], now: datetime) -> Mapping[int, SendResult]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: ClaimedRow) -> tuple[int, SendResult]:
            async with gate:
                try:
                    return row.id, await self.delivery.deliver(row, now)
                except Exception as exc:  # a rendering or adapter bug must not kill the tick
                    log.exception("delivery failed", extra={"event": "deliver_error", "outbox_id": row.id})
                    return row.id, SendResult("failed", detail=f"{type(exc).__name__}: {exc}")

        return dict(await asyncio.gather(*(one(r) for r in rows)))

    async def _settle(self, row: ClaimedRow, result: SendResult, now: datetime) -> Outcome:
        now_s = to_epoch(now)
        if result.kind == "sent":
            return Outcome(row.id, "sent", sent_at=now_s, message_id=result.provider_id)
        if result.kind == "retry":
            deadline = from_epoch(row.deadline) if row.deadline is not None else None
            decision = next_attempt(row.attempts, now, deadline, result.retry_after_s)
            if isinstance(decision, GiveUp):
                return Outcome(row.id, "expired", reason=decision.reason, error=result.detail)
            return Outcome(row.id, "retry", due_at=to_epoch(decision.at), error=result.detail)
        async with self.db.transaction() as conn:
            if result.kind == "hard_bounce":
                await suppress_address(conn, row.contact_id, row.channel, "hard_bounce", now)
            elif result.kind == "blocked":
                await revoke_consent(conn, row.contact_id, row.channel, "bot_blocked", now)
            elif result.kind == "bad_address":
                await suppress_address(conn, row.contact_id, row.channel, "bad_address", now)
        return Outcome(row.id, "failed", reason=result.kind, error=result.detail)
