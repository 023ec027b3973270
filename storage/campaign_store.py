"""SQLite's implementation of the campaign service's port (`dispatcher.ports.CampaignStore`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from policy.dry_run import DryRunReport
from storage import audit, campaigns, cancellations, recipients, team
from storage.campaigns import Approval, CampaignRecord
from storage.db import Connection, Database
from storage.recipients import Recipient
from storage.team import Member


class SqliteCampaignWrites:
    """The writes of one `BEGIN IMMEDIATE` transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def insert_campaign(
        self,
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
        await campaigns.insert_campaign(
            self.conn,
            id=id,
            name=name,
            priority=priority,
            source=source,
            fingerprint=fingerprint,
            author=author,
            at=at,
            series_id=series_id,
            status=status,
        )

    async def update_source(
        self,
        *,
        id: str,
        name: str,
        priority: str,
        source: str,
        fingerprint: str,
        status: str,
        at: datetime,
    ) -> None:
        await campaigns.update_source(
            self.conn,
            id=id,
            name=name,
            priority=priority,
            source=source,
            fingerprint=fingerprint,
            status=status,
            at=at,
        )

    async def set_status(self, campaign_id: str, status: str, at: datetime) -> None:
        await campaigns.set_status(self.conn, campaign_id, status, at)

    async def save_dry_run(self, campaign_id: str, report: DryRunReport, status: str, at: datetime) -> None:
        await campaigns.save_dry_run(self.conn, campaign_id, report, status, at)

    async def mark_planned(self, campaign_id: str, status: str, at: datetime) -> None:
        await campaigns.mark_planned(self.conn, campaign_id, status, at)

    async def record_decision(
        self,
        *,
        campaign_id: str,
        fingerprint: str,
        planned: int,
        decision: str,
        by_user: str,
        at: datetime,
        source: str,
    ) -> None:
        await campaigns.record_decision(
            self.conn,
            campaign_id=campaign_id,
            fingerprint=fingerprint,
            planned=planned,
            decision=decision,
            by_user=by_user,
            at=at,
            source=source,
        )

    async def cancel_rows_of_campaign(self, campaign_id: str) -> int:
        return await cancellations.cancel_rows_of_campaign(self.conn, campaign_id)

    async def audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str | None = None,
        source: str = "cli",
        details: dict[str, Any] | None = None,
    ) -> None:
        await audit.audit(
            self.conn, at=at, actor=actor, action=action, target=target, source=source, details=details
        )


class SqliteCampaigns:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def campaign(self, campaign_id: str) -> CampaignRecord | None:
        return await campaigns.get_campaign(self.db, campaign_id)

    async def latest_approval(self, campaign_id: str) -> Approval | None:
        return await campaigns.latest_approval(self.db, campaign_id)

    async def occurrences(self, series_id: str) -> list[CampaignRecord]:
        return await campaigns.occurrences_of(self.db, series_id)

    async def recipients(self, contact_ids: Sequence[str]) -> dict[str, Recipient]:
        return await recipients.load_recipients(self.db, contact_ids)

    async def member(self, user_id: int) -> Member | None:
        return await team.get_member(self.db, user_id)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqliteCampaignWrites]:
        async with self.db.transaction() as conn:
            yield SqliteCampaignWrites(conn)
