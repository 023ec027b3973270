"""Campaign records, their dry runs and the approvals given to them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from policy.dry_run import DryRunReport
from policy.timeutil import from_epoch, to_epoch
from storage.audit import audit
from storage.db import Database

_COLUMNS = (
    "id, name, priority, status, source, fingerprint, author, created_at, updated_at, dry_run,"
    " dry_run_at, planned_at, series_id"
)


@dataclass(frozen=True)
class CampaignRecord:
    id: str
    name: str
    priority: str
    status: str
    source: str
    fingerprint: str
    author: str
    created_at: datetime
    updated_at: datetime
    dry_run: DryRunReport | None  # the last one shown; the approval binds to its fingerprint
    dry_run_at: datetime | None
    planned_at: datetime | None
    series_id: str | None = None  # set on a series' occurrence

    @property
    def dry_run_fingerprint(self) -> str | None:
        return None if self.dry_run is None else self.dry_run.fingerprint


@dataclass(frozen=True)
class Approval:
    campaign_id: str
    fingerprint: str
    planned: int
    decision: str
    by_user: str
    at: datetime
    source: str


def _record(row: aiosqlite.Row) -> CampaignRecord:
    return CampaignRecord(
        id=row[0],
        name=row[1],
        priority=row[2],
        status=row[3],
        source=row[4],
        fingerprint=row[5],
        author=row[6],
        created_at=from_epoch(row[7]),
        updated_at=from_epoch(row[8]),
        dry_run=DryRunReport.from_json(json.loads(row[9])) if row[9] else None,
        dry_run_at=from_epoch(row[10]) if row[10] is not None else None,
        planned_at=from_epoch(row[11]) if row[11] is not None else None,
        series_id=row[12],
    )


async def get_campaign(db: Database, campaign_id: str) -> CampaignRecord | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,))
    return _record(row) if row else None


async def list_campaigns(db: Database, statuses: tuple[str, ...] = ()) -> list[CampaignRecord]:
    where = f" WHERE status IN ({','.join('?' * len(statuses))})" if statuses else ""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM campaigns{where} ORDER BY created_at, id", statuses)
    return [_record(r) for r in rows]


async def insert_campaign(
    conn: aiosqlite.Connection,
    *,
    id: str,
    name: str,
    priority: str,
    source: str,
    fingerprint: str,
    author: str,
    at: datetime,
    series_id: str | None = None,
    status: str = "draft",
) -> None:
    await conn.execute(
        f"INSERT INTO campaigns ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)",
        (id, name, priority, status, source, fingerprint, author, to_epoch(at), to_epoch(at), series_id),
    )


async def update_source(
    conn: aiosqlite.Connection,
    *,
    id: str,
    name: str,
    priority: str,
    source: str,
    fingerprint: str,
    status: str,
    at: datetime,
) -> None:
    """A changed file: new source and fingerprint, and the status the lifecycle gives it."""
    await conn.execute(
        "UPDATE campaigns SET name = ?, priority = ?, source = ?, fingerprint = ?, status = ?, updated_at = ?"
        " WHERE id = ?",
        (name, priority, source, fingerprint, status, to_epoch(at), id),
    )


async def set_status(conn: aiosqlite.Connection, campaign_id: str, status: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE campaigns SET status = ?, updated_at = ? WHERE id = ?", (status, to_epoch(at), campaign_id)
    )


async def start_sending(db: Database, campaign_ids: Sequence[str], at: datetime) -> None:
    """`scheduled` → `sending` for campaigns whose first rows go out now."""
    if not campaign_ids:
        return
    async with db.transaction() as conn:
        await conn.executemany(
            "UPDATE campaigns SET status = 'sending', updated_at = ? WHERE id = ? AND status = 'scheduled'",
            [(to_epoch(at), campaign_id) for campaign_id in sorted(set(campaign_ids))],
        )


async def save_dry_run(
    conn: aiosqlite.Connection, campaign_id: str, report: DryRunReport, status: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE campaigns SET dry_run = ?, dry_run_at = ?, status = ?, updated_at = ? WHERE id = ?",
        (json.dumps(report.to_json(), ensure_ascii=False), to_epoch(at), status, to_epoch(at), campaign_id),
    )


async def mark_planned(conn: aiosqlite.Connection, campaign_id: str, status: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE campaigns SET planned_at = ?, status = ?, updated_at = ? WHERE id = ?",
        (to_epoch(at), status, to_epoch(at), campaign_id),
    )


async def record_decision(
    conn: aiosqlite.Connection,
    *,
    campaign_id: str,
    fingerprint: str,
    planned: int,
    decision: str,
    by_user: str,
    at: datetime,
    source: str,
) -> None:
    await conn.execute(
        "INSERT INTO approvals (campaign_id, fingerprint, planned, decision, by_user, at, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (campaign_id, fingerprint, planned, decision, by_user, to_epoch(at), source),
    )
    await audit(
        conn,
        at=at,
        actor=by_user,
        action=f"campaign.{decision}",
        target=campaign_id,
        source=source,
        details={"fingerprint": fingerprint, "planned": planned},
    )


async def latest_approval(db: Database, campaign_id: str) -> Approval | None:
    """The last decision on the campaign, whatever it was."""
    row = await db.fetchone(
        "SELECT campaign_id, fingerprint, planned, decision, by_user, at, source FROM approvals"
        " WHERE campaign_id = ? ORDER BY at DESC, id DESC LIMIT 1",
        (campaign_id,),
    )
    if row is None:
        return None
    return Approval(row[0], row[1], int(row[2]), row[3], row[4], from_epoch(row[5]), row[6])


async def occurrences_of(db: Database, series_id: str) -> list[CampaignRecord]:
    """The occurrences of a series created so far, oldest date first."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM campaigns WHERE series_id = ? ORDER BY id", (series_id,)
    )
    return [_record(r) for r in rows]


async def campaigns_to_finish(db: Database) -> list[str]:
    """Sending campaigns with nothing left to send in their outbox."""
    rows = await db.fetchall(
        "SELECT c.id FROM campaigns c WHERE c.status IN ('scheduled', 'sending') AND NOT EXISTS ("
        " SELECT 1 FROM outbox o WHERE o.campaign_id = c.id AND o.status IN ('planned', 'retry', 'sending'))"
        " AND EXISTS (SELECT 1 FROM outbox o WHERE o.campaign_id = c.id)"
        " AND NOT EXISTS (SELECT 1 FROM trigger_state t WHERE t.campaign_id = c.id)"  # triggers go on
    )
    return [r[0] for r in rows]
