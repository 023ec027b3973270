"""One contact as plain data, for pure evaluation of segments and RFM (`policy.evaluate`, `policy.rfm`).

It mirrors the rows storage keeps for the contact (SPEC §3): the contact's own fields, current consents
and suppressions, and the full history of tags, orders and events. Instants are aware UTC datetimes in
whole seconds, exactly as stored; nothing here is filtered by time — the evaluator applies `at`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TagRecord:
    """A tag on the contact; active at t when set_at ≤ t < removed_at / expires_at (each when set)."""

    tag: str
    set_at: datetime
    expires_at: datetime | None = None
    removed_at: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        return (
            self.set_at <= at
            and (self.removed_at is None or self.removed_at > at)
            and (self.expires_at is None or self.expires_at > at)
        )


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order; `status` is its current status (a refunded order is no longer paid), `paid_at` is
    set for paid orders, `product` is what was bought when the platform said."""

    id: str
    amount: float
    status: str
    created_at: datetime
    paid_at: datetime | None = None
    product: str | None = None

    def paid_by(self, at: datetime) -> bool:
        """A paid order whose payment happened at or before `at`."""
        return self.status == "paid" and self.paid_at is not None and self.paid_at <= at


@dataclass(frozen=True, slots=True)
class EventRecord:
    """Something the contact did (open, click, visit, webinar_attended, …)."""

    type: str
    at: datetime
    campaign_id: str | None = None


@dataclass(frozen=True)
class ContactData:
    """Everything segment and RFM evaluation may look at for one contact.

    `consents` maps a channel to its current status (`granted` / `revoked`; a missing channel is
    unknown, i.e. not granted); `suppressed` holds the channels whose address must not be used.
    """

    id: str
    email: str | None = None
    telegram_chat_id: int | None = None
    phone: str | None = None
    vk_id: int | None = None
    timezone: str | None = None
    locale: str | None = None
    region: str | None = None
    interest: str | None = None
    created_at: datetime | None = None
    consents: Mapping[str, str] = field(default_factory=dict)
    suppressed: frozenset[str] = frozenset()
    tags: tuple[TagRecord, ...] = ()
    orders: tuple[OrderRecord, ...] = ()
    events: tuple[EventRecord, ...] = ()

    def has_address(self, channel: str) -> bool:
        """An address to send to on `channel` (the same test as the campaign planner's)."""
        if channel == "email":
            return bool(self.email)
        if channel == "telegram":
            return self.telegram_chat_id is not None
        if channel == "sms":
            return bool(self.phone)
        if channel == "vk":
            return self.vk_id is not None
        return False

    def reachable(self, channel: str) -> bool:
        """Address present, consent granted, address not suppressed (SPEC §3)."""
        return (
            self.has_address(channel)
            and self.consents.get(channel) == "granted"
            and channel not in self.suppressed
        )
