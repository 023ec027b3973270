"""The outbox worker: claim due rows under a lease, re-check the policy, then hand each row to its channel.

`run_once(now)` is one tick (one claimed batch); tests and the demo call it with their own clock.
`run_due(clock)` is what `ritm run` calls: it drains continuously while rows are due, claiming the next
batch while the current one is in the channels' hands (dispatcher/feed.py). Nothing here sleeps on
policy: a deferral is a new `due_at` in the outbox.

Durability (SPEC §12.2): a claim is a row lease that leaves the row's status alone; each row becomes
`sending` in a committed write just before its channel is called, inside one of the channel's slots
(SMTP pool size, Telegram calls in flight), and its outcome is committed as soon as the channel
answers — so a crash leaves at most a slot's worth of rows `sending` without an answer. A run that
fails, or stops early (SIGTERM), gives back every row it claimed and did not hand over.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from dispatcher.campaign_cache import CampaignCache
from dispatcher.channels.base import SendResult
from dispatcher.clock import Clock
from dispatcher.delivery import Prepared, Send
from dispatcher.feed import Feed, Queued
from dispatcher.recheck import Verdict, recheck
from dispatcher.slots import ChannelSlots
from policy.config import Policy
from policy.retry import GiveUp, next_attempt
from policy.timeutil import from_epoch, to_epoch
from storage.campaigns import campaigns_to_finish, set_status, start_sending
from storage.db import Database
from storage.handoff import Answered, Handoff, HandoffCommitter
from storage.outbox import ClaimedRow, Outcome, claim_due, expire_leases, record_unsent, release_claims
from storage.pause import get_paused

log = logging.getLogger(__name__)


class Delivery(Protocol):
    """Renders one claimed row for its contact; what it returns hands it to the right channel."""

    async def prepare(
        self, rows: Sequence[ClaimedRow], now: datetime, rfm: Mapping[str, str] | None = None
    ) -> Prepared: ...

    async def compose(self, row: ClaimedRow, now: datetime, prepared: Prepared) -> Send | SendResult: ...


@dataclass
class TickReport:
    now: datetime
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    sends: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, status) of settled rows
    paused: bool = False

    def count(self, outcome: Outcome, channel: str | None = None) -> None:
        self.outcomes[outcome.status] += 1
        if outcome.reason:
            self.reasons[outcome.reason] += 1
        if channel is not None:
            self.sends[(channel, outcome.status)] += 1

    def merge(self, other: TickReport) -> None:
        self.claimed += other.claimed
        self.outcomes.update(other.outcomes)
        self.reasons.update(other.reasons)
        self.sends.update(other.sends)
        self.paused = other.paused


# Lanes compose ahead of the channel's slots; more than a couple per slot only queue renders on the
# event loop in front of the slots' own SMTP round trips.
LANES_PER_SLOT = 2

# What a channel's answer does to the contact, beside the row's own outcome (storage/handoff.py).
_EFFECTS = {"hard_bounce": "hard_bounce", "bad_address": "bad_address", "blocked": "bot_blocked"}


FINISH_LOOK_EVERY = timedelta(minutes=1)  # for campaigns other processes finished (see _finish_campaigns)


def new_holder() -> str:
    """A fresh id for one process's claims (and its instance lease)."""
    return uuid.uuid4().hex[:16]


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
        slots: Mapping[str, int] | None = None,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.delivery = delivery
        self.campaigns = campaigns
        self.batch = batch
        self.lease_s = lease_s
        self.concurrency = concurrency  # slots of a channel that `slots` does not name
        self.slots = dict(slots or {})
        self.holder = holder or new_holder()
        self.committer = HandoffCommitter(db, self.holder)
        self._stopping = False
        self._feeds: set[Feed] = set()
        # Whether rows were settled since campaigns were last looked at, and when that was: see
        # _finish_campaigns. The first look is always due.
        self._settled_since_look = True
        self._looked_at: datetime | None = None

    def stop(self) -> None:
        """Finish the sends in flight, hand no further row to a channel, claim no more (SIGTERM)."""
        self._stopping = True
        for feed in self._feeds:
            feed.halt()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run_once(self, now: datetime) -> TickReport:
        """One round: claim a batch of due rows (service only while paused) and settle every one."""
        return await self._run(lambda: now, continuous=False)

    async def run_due(self, clock: Clock) -> TickReport:
        """Claim and send batch after batch while rows are due, each batch claimed and re-checked while
        the previous one is still in the channels' hands; return once nothing claimable is due.

        The clock is read once per batch: its rows are re-checked and settled at that instant."""
        return await self._run(clock, continuous=True)

    async def drain(self, now: datetime, *, max_ticks: int = 10_000) -> TickReport:
        """Tick at `now` until nothing due is left (tests, the demo)."""
        total = TickReport(now=now)
        for _ in range(max_ticks):
            tick = await self.run_once(now)
            total.merge(tick)
            if tick.claimed == 0:
                break
        return total

    async def _run(self, clock: Clock, *, continuous: bool) -> TickReport:
        report = TickReport(now=clock())
        if self._stopping:
            return report
        feed = Feed(low_water=self.batch // 2)
        self._feeds.add(feed)
        channels: dict[str, ChannelSlots] = {}
        try:
            async with asyncio.TaskGroup() as group:

                def start_lanes(new_channels: set[str]) -> None:
                    for channel in new_channels:
                        size = self.slots.get(channel, self.concurrency)
                        slots = channels[channel] = ChannelSlots(size, self.committer)
                        for _ in range(min(self.concurrency, LANES_PER_SLOT * size)):
                            group.create_task(self._lane(feed, channel, slots, report))

                await self._feed(feed, clock, report, start_lanes, continuous=continuous)
        except ExceptionGroup as failed:  # the feeder's or a lane's own error, as callers know it
            raise failed.exceptions[0] from None
        finally:
            self._feeds.discard(feed)
            # Whatever was not handed over goes back as it was: a failing re-check, a DB error or a
            # stop never strands or loses a claimed row. Then every outcome still carried is written.
            await asyncio.shield(self._wind_down(feed, channels))
        if report.claimed:
            self._settled_since_look = True  # every claimed row is settled or given back by now
            log.info("tick", extra={"event": "tick", "claimed": report.claimed, **dict(report.outcomes)})
        return report

    async def _wind_down(self, feed: Feed, channels: Mapping[str, ChannelSlots]) -> None:
        await asyncio.gather(*(slots.close() for slots in channels.values()))
        if feed.unhanded:
            await self._release(sorted(feed.unhanded))

    async def _feed(
        self,
        feed: Feed,
        clock: Clock,
        report: TickReport,
        start_lanes: Callable[[set[str]], None],
        *,
        continuous: bool,
    ) -> None:
        """Claim, re-check and queue batches; the next one once the queues run low (pipelining)."""
        try:
            while not feed.halted:
                now = clock()
                rows = await self._claim(now, report)
                if not rows:
                    await self._finish_campaigns(now)
                    return
                feed.claimed(r.id for r in rows)
                to_send, prepared = await self._decide(rows, now, report)
                going = {row.id for row in to_send}
                for row in rows:
                    if row.id not in going:
                        feed.settled(row.id)
                start_lanes(feed.put(Queued(row, now, prepared) for row in to_send))
                if not continuous:
                    return
                await feed.running_low()
        finally:
            feed.close()

    async def _claim(self, now: datetime, report: TickReport) -> list[ClaimedRow]:
        now_s = to_epoch(now)
        await expire_leases(self.db, now=now_s)
        report.paused = await get_paused(self.db)
        rows = await claim_due(
            self.db,
            holder=self.holder,
            now=now_s,
            lease_s=self.lease_s,
            limit=self.batch,
            service_only=report.paused,
        )
        report.claimed += len(rows)
        return rows

    async def _decide(
        self, rows: Sequence[ClaimedRow], now: datetime, report: TickReport
    ) -> tuple[list[ClaimedRow], Prepared]:
        """Re-check every claimed row; settle those that will not go now, return those that will."""
        rechecked = await recheck(self.db, self.policy, rows, now, self.campaigns)
        verdicts = rechecked.verdicts
        unsent: list[Outcome] = []
        to_send: list[ClaimedRow] = []
        for row in rows:
            verdict = verdicts[row.id]
            if verdict.send:
                to_send.append(row)
            elif verdict.defer_to is not None:
                unsent.append(Outcome(row.id, "planned", due_at=to_epoch(verdict.defer_to)))
                report.outcomes["deferred"] += 1
            else:
                unsent.append(self._not_sent(row, verdict))
                report.count(unsent[-1])
        await record_unsent(self.db, unsent, holder=self.holder)
        if not to_send:
            return [], Prepared()
        await start_sending(self.db, [r.campaign_id for r in to_send], now)
        return to_send, await self.delivery.prepare(to_send, now, rechecked.rfm)

    @staticmethod
    def _not_sent(row: ClaimedRow, verdict: Verdict) -> Outcome:
        return Outcome(row.id, verdict.status, reason=verdict.reason)

    async def _release(self, ids: Sequence[int]) -> None:
        try:
            await release_claims(self.db, ids, holder=self.holder)
        except Exception:  # the claims then run out on their own (lease_s)
            log.exception("release failed", extra={"event": "release_error", "rows": len(ids)})

    async def _finish_campaigns(self, now: datetime) -> None:
        """Mark `done` the sending campaigns with nothing left to send.

        The look walks a campaign's rows until it meets an unsent one: near a big campaign's end (and
        for ever in a trigger campaign, which stays `sending`), its every row, 0.1 s at 1 M contacts.
        So it is taken once after rows were settled here, and otherwise once a minute for what other
        processes changed (`ritm outbox` commands): an idle `ritm run` stays idle."""
        if (
            not self._settled_since_look
            and self._looked_at is not None
            and now - self._looked_at < FINISH_LOOK_EVERY
        ):
            return
        self._settled_since_look, self._looked_at = False, now
        finished = await campaigns_to_finish(self.db)
        if not finished:
            return
        async with self.db.transaction() as conn:
            for campaign_id in finished:
                await set_status(conn, campaign_id, "done", now)

    async def _lane(self, feed: Feed, channel: str, slots: ChannelSlots, report: TickReport) -> None:
        """Compose rows of one channel one after another; only a row holding one of the channel's
        slots is marked `sending` and handed over (see dispatcher/slots.py)."""
        while not self._stopping and (item := await feed.take(channel)) is not None:
            row, now = item.row, item.now
            ready = await self._compose(row, now, item.prepared)
            if isinstance(ready, SendResult):  # nothing to hand over (template error, no address)
                unsent = self._settle(row, ready, now, handed=False)
                await self.committer.commit(answered=unsent)
                feed.settled(row.id)
                report.count(unsent.outcome, row.channel)
                continue
            slot = await slots.acquire()
            answered: Answered | None = None
            try:
                if self._stopping:
                    return  # the row goes back with the other unhanded claims
                handoff = Handoff(row.id, row.campaign_id, row.priority, to_epoch(now) + self.lease_s)
                granted = await slots.mark(slot, handoff)
                feed.settled(row.id)  # `sending` now, or given back by the mark itself
                if not granted:
                    report.outcomes["held"] += 1  # paused or campaign held since the claim: released
                    continue
                answered = self._settle(row, await self._call(row, ready), now)
                report.count(answered.outcome, row.channel)
            finally:
                slots.release(slot, answered)

    async def _compose(self, row: ClaimedRow, now: datetime, prepared: Prepared) -> Send | SendResult:
        try:
            return await self.delivery.compose(row, now, prepared)
        except Exception as exc:  # a rendering bug must not kill the tick
            log.exception("compose failed", extra={"event": "compose_error", "outbox_id": row.id})
            return SendResult("failed", detail=f"{type(exc).__name__}: {exc}")

    @staticmethod
    async def _call(row: ClaimedRow, ready: Send) -> SendResult:
        try:
            return await ready()
        except Exception as exc:  # an adapter bug must not kill the tick
            log.exception("delivery failed", extra={"event": "deliver_error", "outbox_id": row.id})
            return SendResult("failed", detail=f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _settle(row: ClaimedRow, result: SendResult, now: datetime, *, handed: bool = True) -> Answered:
        now_s = to_epoch(now)
        if result.kind == "sent":
            outcome = Outcome(
                row.id, "sent", sent_at=now_s, message_id=result.provider_id, sms_parts=result.sms_parts
            )
        elif result.kind == "retry":
            deadline = from_epoch(row.deadline) if row.deadline is not None else None
            decision = next_attempt(row.attempts, now, deadline, result.retry_after_s)
            if isinstance(decision, GiveUp):
                outcome = Outcome(row.id, "expired", reason=decision.reason, error=result.detail)
            else:
                outcome = Outcome(row.id, "retry", due_at=to_epoch(decision.at), error=result.detail)
        else:
            outcome = Outcome(row.id, "failed", reason=result.kind, error=result.detail)
        if outcome.status != "sent":
            _log_unsent(row, outcome, result)
        effect = _EFFECTS.get(result.kind)
        return Answered(outcome, row.contact_id, row.channel, now, effect=effect, handed=handed)


def _log_unsent(row: ClaimedRow, outcome: Outcome, result: SendResult) -> None:
    """One line naming the contact, the channel and the reason (a retry is routine, a failure is not)."""
    why = result.detail or result.kind
    if outcome.status == "retry":
        message = f"{row.channel} to {row.contact_id} will be retried (campaign {row.campaign_id}): {why}"
    else:
        message = f"{row.channel} to {row.contact_id} {outcome.status} (campaign {row.campaign_id}): {why}"
    log.log(
        logging.INFO if outcome.status == "retry" else logging.WARNING,
        message,
        extra={
            "event": "send_retry" if outcome.status == "retry" else "send_failed",
            "contact": row.contact_id,
            "channel": row.channel,
            "campaign": row.campaign_id,
            "outbox_id": row.id,
            "status": outcome.status,
            "reason": outcome.reason or result.kind,
            "detail": result.detail,
        },
    )
