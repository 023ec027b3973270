"""Retry decisions for temporary send failures: a pure function of attempts, now and the deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


@dataclass(frozen=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    reason: str  # "expired": the window closed before the next attempt


def next_attempt(
    attempts: int, now: datetime, deadline: datetime | None, retry_after_s: float | None = None
) -> RetryAt | GiveUp:
    """Backoff 1 m, 5 m, 15 m, 1 h, 1 h … (or the provider's retry_after if longer) until the deadline."""
    delay = BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]
    if retry_after_s is not None:
        delay = (
            max(delay, timedelta(seconds=retry_after_s)) if attempts > 1 else timedelta(seconds=retry_after_s)
        )
    at = now + delay
    if deadline is not None and at >= deadline:
        return GiveUp("expired")
    return RetryAt(at)
