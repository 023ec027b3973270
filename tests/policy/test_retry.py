from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policy.retry import GiveUp, RetryAt, next_attempt

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_backoff_grows_then_stays_at_an_hour() -> None:
    delays = []
    for attempts in range(1, 7):
        decision = next_attempt(attempts, NOW, None)
        assert isinstance(decision, RetryAt)
        delays.append(decision.at - NOW)
    assert delays == [timedelta(minutes=m) for m in (1, 5, 15, 60, 60, 60)]


def test_gives_up_when_the_window_closes() -> None:
    assert next_attempt(4, NOW, NOW + timedelta(minutes=30)) == GiveUp("expired")


def test_provider_retry_after_is_honoured_on_first_attempt() -> None:
    decision = next_attempt(1, NOW, None, retry_after_s=7)
    assert decision == RetryAt(NOW + timedelta(seconds=7))
