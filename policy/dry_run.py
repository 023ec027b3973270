"""The dry run's report (SPEC §6) as a value: the planner counts, the campaign service adds the previews,
storage keeps it as JSON beside the campaign, and the CLI and the bot render it.

`to_json` gives the SPEC's keys (the `--json` contract and the stored form); `from_json` reads a stored
report back, including one written before a key existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from policy.timeutil import iso_utc, parse_instant

HOURS = tuple(f"{h:02d}" for h in range(24))


@dataclass(frozen=True)
class Preview:
    """One version rendered for its first planned member (`contact = "sample"` when it has none)."""

    contact: str
    channel: str
    subject: str
    text: str
    html: str | None = None
    telegram: str | None = None
    buttons: tuple[tuple[str, str], ...] | None = None  # Telegram only: (label, url)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "contact": self.contact,
            "channel": self.channel,
            "subject": self.subject,
            "text": self.text,
        }
        if self.html is not None:
            out["html"] = self.html
        if self.telegram is not None:
            out["telegram"] = self.telegram
        if self.buttons is not None:
            out["buttons"] = [list(b) for b in self.buttons]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Preview:
        buttons = data.get("buttons")
        return cls(
            contact=str(data.get("contact", "")),
            channel=str(data.get("channel", "")),
            subject=str(data.get("subject") or ""),
            text=str(data.get("text") or ""),
            html=data.get("html"),
            telegram=data.get("telegram"),
            buttons=None if buttons is None else tuple((str(b[0]), str(b[1])) for b in buttons),
        )


@dataclass(frozen=True)
class FollowUpStep:
    """A cascade step as the dry run shows it; a connect-link fallback carries its email's preview."""

    step: int
    channel: str
    after: str  # e.g. "12h"
    unless: str | None = None
    fallback: str | None = None
    fallback_preview: Preview | None = None

    def describe(self) -> str:
        text = f"step {self.step}: {self.channel} {self.after} later"
        if self.unless:
            text += f", unless {self.unless}"
        if self.fallback:
            text += (
                f"; fallback {self.fallback}: contacts without a bound chat (who never refused Telegram)"
                " get an email with their Telegram connect link instead"
            )
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": self.step,
            "channel": self.channel,
            "after": self.after,
            "unless": self.unless,
            "fallback": self.fallback,
        }
        if self.fallback_preview is not None:
            out["fallback_preview"] = self.fallback_preview.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FollowUpStep:
        preview = data.get("fallback_preview")
        return cls(
            step=int(data.get("step", 0)),
            channel=str(data.get("channel", "")),
            after=str(data.get("after", "")),
            unless=data.get("unless"),
            fallback=data.get("fallback"),
            fallback_preview=Preview.from_json(preview) if preview else None,
        )


@dataclass(frozen=True)
class DryRunReport:
    """Who would get what, when, and who is excluded and why, at `at`."""

    campaign: str
    at: datetime
    audience: int
    excluded: Mapping[str, int]  # reason -> contacts, in the SPEC §4 order (first reason wins)
    eligible: int
    holdout: int
    planned: int
    by_version: Mapping[str, int]
    by_variant: Mapping[str, int]
    by_channel: Mapping[str, int]
    by_rfm: Mapping[str, int]
    first_due: datetime | None
    last_due: datetime | None
    due_hours_utc: Mapping[str, int]  # "00".."23" -> planned messages due in that UTC hour
    unversioned: int = 0
    fingerprint: str = ""  # of the campaign and its templates; the approval binds to it
    widened_protect: tuple[str, ...] = ()  # protected segments the campaign drops
    previews: Mapping[str, Preview] = field(default_factory=dict)  # version -> its preview
    cascade: tuple[FollowUpStep, ...] = ()
    status: str | None = None  # the campaign's status after this dry run (not stored)
    # A series' occurrence: what its planned count is compared with (the series' approval or the
    # previous occurrence) and that count.
    compared_with: str | None = None
    compared_planned: int | None = None
    # A campaign with SMS: the parts its planned SMS take and their cost in the policy's currency.
    sms_parts: int | None = None
    sms_cost: float | None = None

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "campaign": self.campaign,
            "at": iso_utc(self.at),
            "audience": self.audience,
            "excluded": dict(self.excluded),
            "eligible": self.eligible,
            "holdout": self.holdout,
            "planned": self.planned,
            "by_version": dict(self.by_version),
            "by_variant": dict(self.by_variant),
            "by_channel": dict(self.by_channel),
            "by_rfm": dict(self.by_rfm),
            "first_due": iso_utc(self.first_due),
            "last_due": iso_utc(self.last_due),
            "due_hours_utc": dict(self.due_hours_utc),
            "unversioned": self.unversioned,
            "fingerprint": self.fingerprint,
            "widened_protect": list(self.widened_protect),
            "previews": {name: p.to_json() for name, p in self.previews.items()},
            "cascade": [step.to_json() for step in self.cascade],
        }
        if self.status is not None:
            out["status"] = self.status
        if self.compared_with is not None:
            out["compared_with"] = self.compared_with
            out["compared_planned"] = self.compared_planned
        if self.sms_parts is not None:
            out["sms_parts"] = self.sms_parts
            out["sms_cost"] = self.sms_cost
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DryRunReport:
        def counts(key: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in (data.get(key) or {}).items()}

        def instant(key: str) -> datetime | None:
            value = data.get(key)
            return parse_instant(value) if value else None

        at = instant("at")
        if at is None:
            raise ValueError("a stored dry run without its instant")
        hours = counts("due_hours_utc")
        return cls(
            campaign=str(data.get("campaign", "")),
            at=at,
            audience=int(data.get("audience", 0)),
            excluded=counts("excluded"),
            eligible=int(data.get("eligible", 0)),
            holdout=int(data.get("holdout", 0)),
            planned=int(data.get("planned", 0)),
            by_version=counts("by_version"),
            by_variant=counts("by_variant"),
            by_channel=counts("by_channel"),
            by_rfm=counts("by_rfm"),
            first_due=instant("first_due"),
            last_due=instant("last_due"),
            due_hours_utc={h: hours.get(h, 0) for h in HOURS},
            unversioned=int(data.get("unversioned", 0)),
            fingerprint=str(data.get("fingerprint", "")),
            widened_protect=tuple(str(p) for p in data.get("widened_protect") or ()),
            previews={str(k): Preview.from_json(v) for k, v in (data.get("previews") or {}).items()},
            cascade=tuple(FollowUpStep.from_json(c) for c in data.get("cascade") or ()),
            status=data.get("status"),
            compared_with=data.get("compared_with"),
            compared_planned=data.get("compared_planned"),
            sms_parts=data.get("sms_parts"),
            sms_cost=data.get("sms_cost"),
        )
