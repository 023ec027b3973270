"""Fatigue alerts as a table: rates per 1 000 sends against the baseline, thresholds, the suggested cap."""

from __future__ import annotations

import pytest

from policy.config import Alerts
from policy.fatigue import Usage, fatigue_alerts, suggested_cap

RULES = Alerts()  # factor 2, open rate drop 30 %, at least 200 sends and 3 events


def use(
    sends: int, unsub: int = 0, complaints: int = 0, opens: int = 0, contacts: int = 0, **kw: str
) -> Usage:
    return Usage(
        segment=kw.get("segment", "clients"),
        channel=kw.get("channel", "email"),
        sends=sends,
        contacts=contacts or sends,
        unsubscribes=unsub,
        complaints=complaints,
        opens=opens,
        campaigns=("news",),
    )


@pytest.mark.parametrize(
    ("now", "before", "fires"),
    [
        (use(400, unsub=6), use(1600, unsub=8), ["unsubscribes"]),  # 15 vs 5 per 1 000: tripled
        (use(400, unsub=4), use(1600, unsub=8), ["unsubscribes"]),  # 10 vs 5: exactly twice
        (use(400, unsub=3), use(1600, unsub=8), []),  # 7.5 vs 5: below the factor
        (use(400, unsub=2), use(1600, unsub=0), []),  # fewer than 3 events never alert
        (use(400, unsub=3), use(1600, unsub=0), ["unsubscribes"]),  # from nothing to 3
        (use(150, unsub=9), use(1600, unsub=8), []),  # too few sends to tell
        (use(400, complaints=3), use(1600, complaints=1), ["complaints"]),
        (use(400, opens=100), use(1600, opens=640), ["open_rate"]),  # 25 % vs 40 %: fell by 37 %
        (use(400, opens=120), use(1600, opens=640), []),  # 30 % vs 40 %: fell by 25 %
        (use(400, opens=10, channel="telegram"), use(1600, opens=640, channel="telegram"), []),
    ],
)
def test_alerts_fire_beyond_their_threshold_only(now: Usage, before: Usage, fires: list[str]) -> None:
    assert [a.measure for a in fatigue_alerts([now], [before], RULES)] == fires


def test_an_alert_names_segment_channel_campaigns_and_rates() -> None:
    [alert] = fatigue_alerts([use(400, unsub=6)], [use(1600, unsub=8)], RULES)
    assert (alert.segment, alert.channel, alert.campaigns) == ("clients", "email", ("news",))
    assert (alert.now, alert.before, alert.sends) == (15.0, 5.0, 400)


def test_the_watch_can_be_turned_off() -> None:
    assert fatigue_alerts([use(400, unsub=40)], [], Alerts(enabled=False)) == []


@pytest.mark.parametrize(
    ("now", "before", "cap"),
    [
        (use(900, contacts=300), use(1600, contacts=400), 1),  # 3 a week now, 1 before: back to 1
        (use(900, contacts=300), use(4800, contacts=400), 2),  # 3 now, 3 before: one fewer
        (use(400, contacts=400), None, 1),  # never below one
    ],
)
def test_the_suggested_cap_goes_back_to_the_calm_pace(now: Usage, before: Usage | None, cap: int) -> None:
    assert suggested_cap(now, before, 4) == cap
