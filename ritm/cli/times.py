"""Times as people read them: in the policy's timezone, with the zone named (SPEC §12.6)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from policy.timeutil import from_epoch
from ritm.cli.common import STATE


def policy_zone() -> ZoneInfo:
    return ZoneInfo(STATE.policy().default_timezone)


def zone_note() -> str:
    """The line under a table whose times are short: which zone they are in."""
    return f"times in {STATE.policy().default_timezone}"


def local_short(value: datetime | int | None) -> str:
    """`12-01 21:05` in the policy's zone (tables: the zone is named under them)."""
    if value is None:
        return ""
    moment = from_epoch(value) if isinstance(value, int) else value
    return moment.astimezone(policy_zone()).strftime("%m-%d %H:%M")


def local_stamp(value: datetime | int | None) -> str:
    """`2026-12-01 21:05 MSK` in the policy's zone, with the zone's abbreviation."""
    if value is None:
        return "—"
    moment = from_epoch(value) if isinstance(value, int) else value
    return moment.astimezone(policy_zone()).strftime("%Y-%m-%d %H:%M %Z")
