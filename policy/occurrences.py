"""A series' occurrences as campaigns: `<series id>@<local date>`, each with its own start and deadline.

An occurrence is stored with its series' file text (a snapshot: editing the series later does not
change what an occurrence already planned renders), so reading one back parses the file and picks
the occurrence by the date in its id.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from policy.campaign import Campaign, CampaignError, parse_campaign
from policy.config import Policy
from policy.lifecycle import Refused, drifted
from policy.series import Occurrence, occurrence_day

UPCOMING = "upcoming"  # an occurrence not opened yet: it is dry-run and planned an hour before its start


def as_occurrence(campaign: Campaign, occurrence: Occurrence) -> Campaign:
    """The campaign that runs `occurrence` of the series `campaign`."""
    series = campaign.series
    if series is None:
        raise ValueError(f"campaign {campaign.id} is not a series")
    series_id = series_of(campaign)
    return campaign.model_copy(
        update={
            "id": occurrence.campaign_id(series_id),
            "start": occurrence.start,
            "deadline": occurrence.start + series.run_window,
            "occurrence": occurrence,
        }
    )


def series_of(campaign: Campaign) -> str:
    """The id of the series a campaign belongs to (its own id for the series itself)."""
    return campaign.id.partition("@")[0]


def is_series(campaign: Campaign) -> bool:
    """The series itself (not one of its occurrences): it is never planned, its occurrences are."""
    return campaign.series is not None and "@" not in campaign.id


def parse_stored(campaign_id: str, text: str, policy: Policy) -> Campaign:
    """A stored campaign: the file as parsed, or the occurrence its id names."""
    source = f"campaign {campaign_id}"
    campaign = parse_campaign(text, source, policy)
    found = occurrence_day(campaign_id)
    if campaign.series is None or found is None:
        return campaign
    series_id, day = found
    occurrence = campaign.series.on(day) if series_id == campaign.id else None
    if occurrence is None:
        raise CampaignError(f"{source}: {day.isoformat()} is not a date of the series {campaign.id}")
    return as_occurrence(campaign, occurrence)


def next_occurrence(campaign: Campaign, at: datetime) -> Campaign:
    """The occurrence a series' dry run shows at `at`: the first whose window is still open (the
    last one once the series is over)."""
    series = campaign.series
    if series is None or not is_series(campaign):
        return campaign
    upcoming = series.upcoming(at, 1)
    if upcoming:
        return as_occurrence(campaign, upcoming[0])
    # Bounded: a series with no open occurrence has ended (an unbounded rule always has a next one).
    last = deque(series.occurrences(), maxlen=1)
    return as_occurrence(campaign, last[0]) if last else campaign


@dataclass(frozen=True)
class Baseline:
    """What an occurrence is compared with: the last approval of the series or the previous occurrence
    planned under it, whichever is newer."""

    source: str  # "series" | the previous occurrence's id
    fingerprint: str
    planned: int
    at: datetime


def occurrence_gate(baseline: Baseline | None, fingerprint: str, planned: int) -> str | None:
    """None when the occurrence may be planned under the series' approval; else why it goes back to
    approval (`fingerprint` or `drift`), or `unapproved` when the series has no approval to inherit."""
    if baseline is None:
        return "unapproved"
    if baseline.fingerprint != fingerprint:
        return "fingerprint"
    if drifted(baseline.planned, planned):
        return "drift"
    return None


def check_occurrence(
    *, status: str, baseline: Baseline | None, fingerprint: str, planned: int
) -> Refused | str:
    """The status planning an occurrence under its series' approval leads to (`scheduled`, or
    `pending_approval` when its fingerprint changed or its count drifted), or a refusal."""
    if status in ("rejected", "cancelled"):
        return Refused(f"a {status} occurrence cannot be planned")
    if status not in ("approved", "scheduled", "sending", "paused"):
        return Refused(f"the occurrence must be approved before planning (it is {status})")
    gate = occurrence_gate(baseline, fingerprint, planned)
    if gate == "unapproved":
        return Refused("its series has no approval to plan it under")
    return "scheduled" if gate is None else "pending_approval"
