"""Parsed campaigns for the hot paths (worker, follow-ups, HTTP): parse a file once per version."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from policy.campaign import Campaign
from policy.config import Policy, PolicyError
from policy.occurrences import parse_stored
from storage.campaigns import CampaignRecord, get_campaign
from storage.db import Database


@dataclass(frozen=True)
class LoadedCampaign:
    record: CampaignRecord
    campaign: Campaign


class CampaignCache:
    """Reads the record each time (one indexed row) and re-parses only when its source changed."""

    def __init__(
        self,
        db: Database,
        policy: Policy,
        fingerprint: Callable[[Campaign], str] | None = None,
        *,
        fingerprint_ttl_s: float = 30.0,
    ) -> None:
        self.db = db
        self.policy = policy
        self.fingerprint = fingerprint
        self.fingerprint_ttl_s = fingerprint_ttl_s
        self._parsed: dict[str, tuple[str, Campaign]] = {}
        self._fingerprints: dict[str, tuple[float, str]] = {}

    async def get(self, campaign_id: str) -> LoadedCampaign | None:
        record = await get_campaign(self.db, campaign_id)
        if record is None:
            return None
        cached = self._parsed.get(campaign_id)
        if cached is None or cached[0] != record.source:
            try:
                campaign = parse_stored(record.id, record.source, self.policy)
            except PolicyError:
                # A stored campaign that no longer parses (the policy changed under it) sends nothing.
                return None
            cached = (record.source, campaign)
            self._parsed[campaign_id] = cached
        return LoadedCampaign(record, cached[1])

    def templates_changed(self, loaded: LoadedCampaign) -> bool:
        """Whether the campaign's file or templates on disk differ from what was approved.

        Reading every template file costs milliseconds, so the answer is kept for a few seconds (a
        real-time TTL: this guards files on disk, it is not scheduling logic) — unless it disagrees with
        the record: a campaign approved again since (its fingerprint moved) is looked at anew, not held
        on the strength of the files as they were before."""
        if self.fingerprint is None or not loaded.campaign.requires_approval:
            return False
        now = time.monotonic()
        cached = self._fingerprints.get(loaded.record.id)
        if (
            cached is None
            or now - cached[0] > self.fingerprint_ttl_s
            or cached[1] != loaded.record.fingerprint
        ):
            cached = (now, self.fingerprint(loaded.campaign))
            self._fingerprints[loaded.record.id] = cached
        return cached[1] != loaded.record.fingerprint
