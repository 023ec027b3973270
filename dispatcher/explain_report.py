"""`contact explain`'s answer as a model: produced once by `dispatcher.explain`, rendered by the CLI
(a table, or JSON through `as_json`) and by the bot's /contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy.config import LocalWindow
from policy.due import RuleVerdict
from policy.rfm import NO_ACTIVITY, RfmScores
from policy.silence import SilenceWindow
from policy.timeutil import iso_utc


@dataclass(frozen=True, slots=True)
class Reach:
    """Whether the contact can be reached on one channel, and why (not)."""

    ok: bool
    why: str


@dataclass(frozen=True, slots=True)
class NextSend:
    """The first instant a message of one priority could reach the contact (None: not in the horizon)."""

    at: datetime | None
    why: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Which channel a cascade step would take for the contact now (None: it would be skipped)."""

    step: int
    channel: str | None
    why: str

    def as_json(self) -> dict[str, Any]:
        return {"step": self.step, "channel": self.channel, "why": self.why}


@dataclass(frozen=True, slots=True)
class CampaignVerdict:
    """The campaign's own decision for the contact (its dry run for one row)."""

    id: str
    in_audience: bool
    excluded: str | None = None
    channel: str | None = None
    due_at: int | None = None
    holdout: bool = False
    version: str | None = None
    variant: str | None = None
    cascade: tuple[FollowUp, ...] = ()

    def as_json(self) -> dict[str, Any]:
        if not self.in_audience:
            return {"id": self.id, "in_audience": False}
        return {
            "cascade": [f.as_json() for f in self.cascade],
            "id": self.id,
            "in_audience": True,
            "excluded": self.excluded,
            "channel": self.channel,
            "due_at": iso_utc(self.due_at),
            "holdout": self.holdout,
            "version": self.version,
            "variant": self.variant,
        }


@dataclass(frozen=True)
class Explanation:
    """Why one contact would or would not get a message at `at`, and when next."""

    contact: str
    at: datetime
    timezone: str
    local_time: str
    reachable: dict[str, Reach]  # per channel, in the policy's channel order
    protected_by: str | None
    rfm: RfmScores | None
    window_segment: str
    window: LocalWindow
    cap_segments: list[str]
    silences: list[SilenceWindow]  # those not over at `at`
    rules_now: list[RuleVerdict]  # a mass message at `at`
    next: dict[str, NextSend]  # per priority: mass, scenario
    campaign: CampaignVerdict | None = None

    @property
    def rfm_segment(self) -> str:
        return self.rfm.segment if self.rfm else NO_ACTIVITY

    def as_json(self) -> dict[str, Any]:
        """The stable JSON of `ritm contact explain --json`."""
        rfm = self.rfm
        result: dict[str, Any] = {
            "contact": self.contact,
            "at": iso_utc(self.at),
            "timezone": self.timezone,
            "local_time": self.local_time,
            "reachable": {ch: {"ok": r.ok, "why": r.why} for ch, r in self.reachable.items()},
            "protected": [{"segment": self.protected_by}] if self.protected_by else [],
            "rfm": (
                {"segment": rfm.segment, "r": rfm.r, "f": rfm.f, "m": rfm.m}
                if rfm
                else {"segment": NO_ACTIVITY}
            ),
            "window": {
                "segment": self.window_segment,
                "from": self.window.from_,
                "to": self.window.to,
                "days": self.window.days,
            },
            "cap_segments": list(self.cap_segments),
            "silences": [
                {"starts": iso_utc(s.starts), "ends": iso_utc(s.ends), "blocks": s.blocks, "reason": s.reason}
                for s in self.silences
            ],
            "rules_now": [{"rule": v.rule, "ok": v.ok, "detail": v.detail} for v in self.rules_now],
            "next": {p: {"at": iso_utc(n.at), "why": n.why} for p, n in self.next.items()},
        }
        if self.campaign is not None:
            result["campaign"] = self.campaign.as_json()
        return result
