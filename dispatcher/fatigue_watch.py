"""The over-mailing watch: this window's usage against the baseline windows before it (`[alerts]`)."""

from __future__ import annotations

from datetime import datetime

from policy.config import Policy
from policy.fatigue import FatigueAlert, fatigue_alerts
from storage.db import Database
from storage.fatigue import usage


async def fatigue_check(db: Database, policy: Policy, now: datetime) -> list[FatigueAlert]:
    rules = policy.alerts
    if not rules.enabled:
        return []
    start = now - rules.window
    current = await usage(db, start, now)
    baseline = await usage(db, start - rules.window * rules.baseline_windows, start)
    return fatigue_alerts(current, baseline, rules)
