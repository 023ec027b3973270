"""The shipped example campaigns parse against the default policy and say what the README promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy.campaign import Campaign, parse_campaign
from policy.sms import sms_parts
from tests.render_support import EXAMPLES, policy


def example(name: str) -> Campaign:
    path = EXAMPLES / name
    return parse_campaign(path.read_text(encoding="utf-8"), path.name, policy())


def test_every_example_parses() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.toml"))
    assert names == [
        "anniversary.toml",
        "digest.toml",
        "digest_series.toml",
        "dunning.toml",
        "service.toml",
        "sms_deadline.toml",
        "webinar.toml",
        "winback.toml",
    ]
    for name in names:
        assert example(name).source


def test_digest_is_a_mass_send_with_three_segment_versions() -> None:
    c = example("digest.toml")
    assert c.priority == "mass" and c.requires_approval
    assert c.channels == ["email", "telegram"]
    assert [(v.segment, v.name, v.template) for v in c.versions] == [
        ("rplus", "clients", "digest_clients"),
        ("warm", "warm", "digest_warm"),
        ("all", "general", "digest_general"),
    ]
    assert c.widened_protect(policy()) == []
    assert [v.name for v in c.variants] == ["A", "B"] and c.holdout == pytest.approx(0.1)
    # Naive dates are Moscow time (the default policy's zone).
    assert c.start == datetime(2026, 11, 25, 6, tzinfo=UTC)


def test_digest_series_is_weekly_on_tuesdays_with_the_new_year_break_skipped() -> None:
    c = example("digest_series.toml")
    assert c.series is not None and c.occurrence is not None
    assert [v.name for v in c.versions] == ["clients", "warm", "general"]
    dates = [o.date.isoformat() for o in list(c.series.occurrences())[3:6]]
    assert dates == ["2026-12-22", "2027-01-12", "2027-01-19"]
    assert (c.start, c.deadline) == (
        datetime(2026, 12, 1, 8, tzinfo=UTC),
        datetime(2026, 12, 3, 8, tzinfo=UTC),
    )


def test_webinar_is_email_then_a_telegram_cascade_with_reminders() -> None:
    c = example("webinar.toml")
    assert c.priority == "mass" and c.windows == "policy" and c.channels == ["email"]
    assert len(c.cascade) == 1
    step = c.cascade[0]
    assert (step.channel, step.after, step.template) == ("telegram", timedelta(hours=12), "webinar_followup")
    assert step.unless is not None and "webinar_registered" in step.unless
    assert c.event is not None
    # Two reminders: with the invitation they fit the default 3-per-5-days non-service cap.
    assert c.event.reminders == [timedelta(hours=24), timedelta(hours=2)]
    assert c.event.starts_at == datetime(2026, 11, 27, 16, tzinfo=UTC)
    assert "register" in c.links


def test_service_notice_skips_approval_and_sends_no_reminders() -> None:
    c = example("service.toml")
    assert c.priority == "service" and not c.requires_approval
    assert c.event is not None and c.event.reminders == []
    assert c.channels == ["telegram", "email"]


def test_dunning_is_email_then_telegram_stopped_by_a_payment() -> None:
    c = example("dunning.toml")
    assert (c.trigger, c.until, c.reentry, c.priority) == (
        "event:order_created",
        "order:paid",
        "after 30d",
        "scenario",
    )
    assert [(s.after, s.channel, s.template) for s in c.steps] == [
        (timedelta(hours=1), "email", "dunning_1"),
        (timedelta(hours=24), "telegram", "dunning_2"),
    ]
    assert not c.requires_approval and c.channels == ["email", "telegram"]


def test_winback_enters_sleeping_30d_and_anniversary_is_yearly() -> None:
    assert example("winback.toml").trigger == "enter:segment:sleeping_30d"
    assert "sleeping_30d" in policy().segments
    anniversary = example("anniversary.toml")
    assert (anniversary.trigger, anniversary.reentry) == ("date:first_paid_at", "never")


def test_the_sms_deadline_reminder_is_one_part_even_for_a_long_name() -> None:
    c = example("sms_deadline.toml")
    assert (c.priority, c.channels, c.urgent) == ("scenario", ["sms"], False)
    text = c.versions[0].text or ""
    assert sms_parts(text.replace("{{ contact.first_name }}", "Александра")).parts == 1
