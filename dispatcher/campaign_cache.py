"""Parsed campaigns for the hot paths (worker, follow-ups, HTTP): parse a file once per version."""

from __future__ import annotations

from dataclasses import dataclass

from policy.campaign import Campaign, parse_campaign
from policy.config import Policy, PolicyError
from storage.campaigns import CampaignRecord, get_campaign
from storage.db import Database


@dataclass(frozen=True)
class LoadedCampaign:
    record: CampaignRecord
    campaign: Campaign


class CampaignCache:
    """Reads the record each time (one indexed row) and re-parses only when its source changed."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy
        self._parsed: dict[str, tuple[str, Campaign]] = {}

    async def get(self, campaign_id: str) -> LoadedCampaign | None:
        record = await get_campaign(self.db, campaign_id)
        if record is None:
            return None
        cached = self._parsed.get(campaign_id)
        if cached is None or cached[0] != record.source:
            try:
                campaign = parse_campaign(record.source, f"campaign {campaign_id}", self.policy)
            except PolicyError:
                # A stored campaign that no longer parses (the policy changed under it) sends nothing.
                return None
            cached = (record.source, campaign)
            self._parsed[campaign_id] = cached
        return LoadedCampaign(record, cached[1])
