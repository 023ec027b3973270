"""Per-message durability for the worker: hand-off marks and outcomes, group-committed.

A row becomes `sending` just before it is handed to its channel, and that write is committed before
the channel is called (a crash after the call cannot resend a row nobody marked, and a crash before
it leaves only a claim that runs out). Its outcome is committed as soon as the channel answers.
Committing each through aiosqlite one by one would cost a thread hop and a commit per message, so
one committer takes whatever marks and outcomes queued up while the previous transaction ran and
writes them together: every waiter resumes after its own write is durable. A write with nothing
queued before it (the common case) is done at once in the caller's own step.

The mark transaction also reads the pause and the campaigns' statuses, so a pause (or a held
campaign) committed before it is seen: such a row is released unsent, its claim given back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import aiosqlite

from storage.db import BUSY, Database
from storage.outbox import HELD_STATUSES, IN_FLIGHT, OUTCOME_SQL, UNSENT, Outcome, outcome_params
from storage.pause import PAUSED_SQL
from storage.retry import retry_while_locked
from storage.suppressions import suppress_contact_address
from storage.tracking import revoke_consent

log = logging.getLogger(__name__)

# Campaign statuses whose rows must not be handed even if claimed before the change.
STOPPED_SQL = ", ".join(f"'{s}'" for s in (*HELD_STATUSES, "cancelled", "rejected"))
# Hand-off: one statement (one thread hop) that also reads the pause and the campaign's status, so a
# pause or hold committed before this transaction is seen by it.
MARK_SQL = (
    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = ?"
    f" WHERE id IN ({{marks}}) AND {UNSENT} AND (priority = 'service' OR NOT ({PAUSED_SQL}))"
    f" AND campaign_id NOT IN (SELECT id FROM campaigns WHERE status IN ({STOPPED_SQL})) RETURNING id"
)
# What a channel's answer does to the contact, beside the row's own outcome.
SUPPRESSING = frozenset({"hard_bounce", "bad_address"})
REVOKING = frozenset({"bot_blocked"})


@dataclass(frozen=True)
class Handoff:
    """A claimed row about to go to its channel."""

    row_id: int
    campaign_id: str
    priority: str
    lease_until: int  # a send still unanswered then is treated as hung (expire_leases)


@dataclass(frozen=True)
class Answered:
    """A handed row's outcome, and what the answer does to the contact's address or consent."""

    outcome: Outcome
    contact_id: str
    channel: str
    at: datetime
    effect: str | None = None  # hard_bounce | bad_address (suppress) | bot_blocked (revoke consent)
    handed: bool = True  # False: the row failed before any channel call (it was never `sending`)


@dataclass
class _Job:
    answered: Answered | None
    handoff: Handoff | None
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class HandoffCommitter:
    """Group commit of hand-off marks and outcomes for one holder of row claims."""

    def __init__(self, db: Database, holder: str) -> None:
        self.db = db
        self.holder = holder
        self.transactions = 0  # commits made (a measure of the grouping)
        self._queue: list[_Job] = []
        self._runner: asyncio.Task[None] | None = None

    async def commit(self, *, answered: Answered | None = None, handoff: Handoff | None = None) -> bool:
        """Write an outcome and/or a hand-off mark; return once committed.

        True when the row of `handoff` is now `sending` and may be handed; False when it was released
        (paused, campaign held) or is no longer ours.
        """
        if not self._queue and (self._runner is None or self._runner.done()):
            # Nothing of ours is being written: write now, in the caller's own step. A runner task
            # would first wait its turn behind whatever the loop has ready, and a slot waits for this.
            granted = self._write_now(answered, handoff)
            if granted is not None:
                return handoff is not None and handoff.row_id in granted
        job = _Job(answered, handoff)
        self._queue.append(job)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="outbox-handoff")
        return await job.done

    async def _run(self) -> None:
        while self._queue:
            jobs, self._queue = self._queue, []
            try:
                # Another process holding the write lock past the busy timeout (a second `ritm run`
                # starting, a CLI plan) must not cost an answer already received or a hand-off:
                # the transaction rolled back whole, so it is simply run again.
                granted = await retry_while_locked(partial(self._write, jobs), what="outbox hand-off")
            except Exception as exc:
                log.exception("handoff write failed", extra={"event": "handoff_error", "rows": len(jobs)})
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc)
                continue
            except asyncio.CancelledError:
                for job in jobs + self._queue:
                    job.done.cancel()
                raise
            for job in jobs:
                if not job.done.done():
                    job.done.set_result(job.handoff is not None and job.handoff.row_id in granted)

    def _write_now(self, answered: Answered | None, handoff: Handoff | None) -> set[int] | None:
        """The rows marked, when the write was done at once; None when it must be queued (an answer
        with an effect on the contact, or the write lock taken)."""
        if answered is not None and answered.effect:
            return None
        answers = [answered] if answered is not None else []
        try:
            granted = self.db.write_now(partial(self._write_plain, answers, [handoff] if handoff else []))
        except Exception:
            log.exception("handoff write failed", extra={"event": "handoff_error", "rows": 1})
            raise
        if granted is BUSY:
            return None
        self.transactions += 1
        return granted

    async def _write(self, jobs: list[_Job]) -> set[int]:
        answers = [j.answered for j in jobs if j.answered is not None]
        handoffs = [j.handoff for j in jobs if j.handoff is not None]
        if not any(a.effect for a in answers):  # the common case: one hop to the writer's thread
            granted = await self.db.write_at_once(partial(self._write_plain, answers, handoffs))
            self.transactions += 1
            return granted
        async with self.db.transaction() as conn:
            for sql, params in self._outcome_statements(answers):
                await conn.executemany(sql, params)
            for answer in answers:
                await _apply_effect(conn, answer)
            granted = await self._mark(conn, handoffs) if handoffs else set()
        self.transactions += 1
        return granted

    def _write_plain(
        self, answers: list[Answered], handoffs: list[Handoff], conn: sqlite3.Connection
    ) -> set[int]:
        """`_write` without effects on contacts, as plain statements on the writer's thread."""
        for sql, params in self._outcome_statements(answers):
            conn.executemany(sql, params)
        if not handoffs:
            return set()
        sql, marks = self._mark_statement(handoffs)
        granted = {int(r[0]) for r in conn.execute(sql, marks).fetchall()}
        refused = self._refused(handoffs, granted)
        if refused is not None:
            conn.execute(*refused)
        return granted

    async def _mark(self, conn: aiosqlite.Connection, handoffs: list[Handoff]) -> set[int]:
        """Mark the rows that may go `sending` in one statement, release the others; return the marked."""
        rows = await conn.execute_fetchall(*self._mark_statement(handoffs))
        granted = {int(r[0]) for r in rows}
        refused = self._refused(handoffs, granted)
        if refused is not None:
            await conn.execute(*refused)
        return granted

    def _outcome_statements(self, answers: list[Answered]) -> list[tuple[str, list[tuple[object, ...]]]]:
        """Outcomes of handed rows (`sending`) and of rows failed before any channel call (unsent)."""
        statements = []
        for clause, handed in ((IN_FLIGHT, True), (UNSENT, False)):
            params = [outcome_params(a.outcome, self.holder) for a in answers if a.handed is handed]
            if params:
                statements.append((OUTCOME_SQL + clause, params))
        return statements

    def _mark_statement(self, handoffs: list[Handoff]) -> tuple[str, tuple[object, ...]]:
        ids = [h.row_id for h in handoffs]
        lease_until = max(h.lease_until for h in handoffs)
        return MARK_SQL.format(marks=",".join("?" * len(ids))), (lease_until, *ids, self.holder)

    def _refused(self, handoffs: list[Handoff], granted: set[int]) -> tuple[str, tuple[object, ...]] | None:
        """Paused or campaign held: the claim goes back, the row waits as it was."""
        refused = [h.row_id for h in handoffs if h.row_id not in granted]
        if not refused:
            return None
        return (
            "UPDATE outbox SET lease_until = NULL, claimed_by = NULL"
            f" WHERE id IN ({','.join('?' * len(refused))}) AND {UNSENT}",
            (*refused, self.holder),
        )


async def _apply_effect(conn: aiosqlite.Connection, answer: Answered) -> None:
    if answer.effect in SUPPRESSING:
        await suppress_contact_address(
            conn, answer.contact_id, answer.channel, answer.effect, answer.at, source="dispatcher"
        )
    elif answer.effect in REVOKING:
        await revoke_consent(conn, answer.contact_id, answer.channel, answer.effect, answer.at)
