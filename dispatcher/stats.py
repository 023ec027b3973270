"""Campaign results (SPEC §9): one model, computed here once; the CLI and the bot only render it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dispatcher.ports import ResultsStore
from policy.sms import sms_cost
from policy.uplift import Uplift, uplift
from storage.campaign_stats import Arm, Reaction

ATTRIBUTION = timedelta(days=7)  # a paid order this soon after the send counts as a conversion
WAITING = ("planned", "retry", "sending")
FAILED = ("failed", "expired")


@dataclass(frozen=True)
class GroupStats:
    """The first sends of one (version, variant, channel) and what came of them."""

    version: str
    variant: str | None
    channel: str
    statuses: Mapping[str, int]
    opens: int
    clicks: int
    unsubscribes: int
    complaints: int
    conversions: int
    revenue: float
    bounced: int = 0  # refused at send time or bounced later (a DSN)
    bounced_after: int = 0  # sent, then bounced (a DSN)

    @property
    def sent(self) -> int:
        return self.statuses.get("sent", 0)

    @property
    def delivered(self) -> int:
        """Accepted by the provider and not bounced since."""
        return self.sent - self.bounced_after

    @property
    def failed(self) -> int:
        return sum(self.statuses.get(s, 0) for s in FAILED)

    def per_send(self, value: float) -> float | None:
        return value / self.sent if self.sent else None


@dataclass(frozen=True)
class SmsStats:
    """A campaign's SMS: accepted by the gateway, the parts billed, their cost (None when the caller
    gave no price), and the delivery reports received."""

    sent: int
    parts: int
    cost: float | None
    delivered: int
    failed: int

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "parts": self.parts,
            "cost": self.cost,
            "delivered": self.delivered,
            "failed": self.failed,
        }


@dataclass(frozen=True)
class CampaignStats:
    """Everything SPEC §9 measures for one campaign, up to `at`."""

    campaign: str
    at: datetime
    attribution: timedelta
    statuses: Mapping[str, int]  # rows of every step per status
    reactions: Mapping[str, Reaction]  # event type -> events and people
    groups: tuple[GroupStats, ...]
    treated: Arm
    holdout: Arm
    uplift: Uplift | None
    registered: int
    attended: int
    channels: Mapping[str, Mapping[str, int]]  # channel -> status -> rows, every step
    # channel -> refused (SMTP 5xx at send time) / bounced_after (a DSN) / complaints -> rows, every step
    feedback: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    sms: SmsStats | None = None

    def on_channel(self, channel: str, *statuses: str) -> int:
        return sum(self.channels.get(channel, {}).get(s, 0) for s in statuses)

    def delivered(self, channel: str) -> int:
        """Rows accepted by the provider and not bounced since; for SMS, what the delivery reports said."""
        if channel == "sms" and self.sms is not None:
            return self.sms.delivered
        return self.on_channel(channel, "sent") - self.feedback.get(channel, {}).get("bounced_after", 0)

    def bounced(self, channel: str) -> int:
        """Rows refused at send time or bounced later."""
        counts = self.feedback.get(channel, {})
        return counts.get("refused", 0) + counts.get("bounced_after", 0)

    def complaints(self, channel: str) -> int:
        return self.feedback.get(channel, {}).get("complaints", 0)

    def count(self, *statuses: str) -> int:
        return sum(self.statuses.get(s, 0) for s in statuses)

    @property
    def waiting(self) -> int:
        return self.count(*WAITING)

    @property
    def failed(self) -> int:
        return self.count(*FAILED)

    def reaction(self, kind: str) -> Reaction:
        return self.reactions.get(kind, Reaction(0, 0))

    @property
    def show_up_rate(self) -> float | None:
        return self.attended / self.registered if self.registered else None

    def to_json(self) -> dict[str, Any]:
        """The `ritm campaign stats --json` document (its keys are part of the CLI contract)."""
        lift = self.uplift
        return {
            "campaign": self.campaign,
            "attribution_days": self.attribution.days,
            "groups": [_group_json(g) for g in self.groups],
            "treated": _arm_json(self.treated),
            "holdout": _arm_json(self.holdout),
            "uplift": None
            if lift is None
            else {
                "treated_rate": round(lift.treated_rate, 4),
                "holdout_rate": round(lift.holdout_rate, 4),
                "difference": round(lift.difference, 4),
                "ci95": [round(lift.low, 4), round(lift.high, 4)],
                "significant": lift.significant,
            },
            "show_up_rate": _round(self.show_up_rate, 4),
            "channels": {
                channel: {
                    "sent": self.on_channel(channel, "sent"),
                    "delivered": self.delivered(channel),
                    "bounced": self.bounced(channel),
                    "complaints": self.complaints(channel),
                    "failed": self.on_channel(channel, *FAILED),
                    "suppressed": self.on_channel(channel, "suppressed"),
                    "waiting": self.on_channel(channel, *WAITING),
                }
                for channel in self.channels
            },
            "sms": self.sms.to_json() if self.sms is not None else None,
        }


async def campaign_stats(
    store: ResultsStore, campaign_id: str, at: datetime, *, sms_price: float | None = None
) -> CampaignStats:
    """Measure one campaign up to `at`; its SMS cost at `sms_price` per part (the policy's)."""
    groups = tuple(
        GroupStats(
            version=g.version,
            variant=g.variant or None,
            channel=g.channel,
            statuses=g.statuses,
            opens=g.opened,
            clicks=g.clicked,
            unsubscribes=g.unsubscribed,
            complaints=g.complained,
            conversions=g.converted,
            revenue=g.revenue,
            bounced=g.bounced,
            bounced_after=g.bounced_after,
        )
        for g in await store.breakdown(campaign_id, ATTRIBUTION, at)
    )
    arms = await store.conversion_arms(campaign_id, ATTRIBUTION, at)
    treated, holdout = arms.treated, arms.holdout
    shows = await store.attendance(campaign_id, at)
    return CampaignStats(
        campaign=campaign_id,
        at=at,
        attribution=ATTRIBUTION,
        statuses=await store.status_counts(campaign_id),
        reactions=await store.reactions(campaign_id, at),
        groups=groups,
        treated=treated,
        holdout=holdout,
        uplift=uplift(treated.contacts, treated.converted, holdout.contacts, holdout.converted),
        registered=shows.registered,
        attended=shows.attended,
        channels=await store.channel_counts(campaign_id),
        feedback=await store.channel_feedback(campaign_id),
        sms=await _sms(store, campaign_id, sms_price),
    )


async def _sms(store: ResultsStore, campaign_id: str, price: float | None) -> SmsStats | None:
    found = await store.sms_summary(campaign_id)
    if not found.sent:
        return None
    cost = sms_cost(found.parts, price) if price is not None else None
    return SmsStats(found.sent, found.parts, cost, found.delivered, found.failed)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _arm_json(arm: Arm) -> dict[str, Any]:
    return {"contacts": arm.contacts, "converted": arm.converted, "revenue": arm.revenue}


def _group_json(g: GroupStats) -> dict[str, Any]:
    return {
        "version": g.version,
        "variant": g.variant,
        "channel": g.channel,
        "statuses": dict(g.statuses),
        "sent": g.sent,
        "delivered": g.delivered,
        "bounced": g.bounced,
        "failed": g.failed,
        "opens": g.opens,
        "clicks": g.clicks,
        "unsubscribes": g.unsubscribes,
        "complaints": g.complaints,
        "conversions": g.conversions,
        "revenue": round(g.revenue, 2),
        "revenue_per_send": _round(g.per_send(g.revenue), 2),
        "open_rate": _round(g.per_send(g.opens), 4),
        "click_rate": _round(g.per_send(g.clicks), 4),
    }
