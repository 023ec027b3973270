"""SMS in the policy: quiet hours hold for service SMS unless the campaign is urgent, `[channels.sms]`
priorities bound which campaigns may use SMS, and the stricter setting holds across channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy.campaign import CampaignError, parse_campaign
from policy.config import Policy, PolicyError, parse_policy
from policy.decide import Defer, Exclude, Send, Situation, decide
from policy.silence import SilenceInputs
from policy.steps import cascade_step, first_step, send_time_step
from policy.timeutil import to_epoch

# 23:30 in Moscow: inside the default quiet hours (21:00–08:00).
NIGHT = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)
MORNING = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 08:00 in Moscow


def campaign(policy: Policy, *, priority: str = "service", channels: str = '["sms"]', extra: str = "") -> str:
    return f"""
id = "code"
name = "Access code"
priority = "{priority}"
channels = {channels}
audience = "all"
start = "2026-11-24T20:00:00Z"
deadline = "2026-11-26T00:00:00Z"
{extra}
[[versions]]
segment = "all"
subject = "Доступ"
text = "Ваш код 4815"
"""


def reachable(*flags: bool) -> Situation:
    return Situation("c1", "Europe/Moscow", flags, flags)


@pytest.mark.parametrize(
    ("channels", "reach", "extra", "expected"),
    [
        ('["sms"]', (True,), "", MORNING),  # a service SMS waits for the morning
        ('["sms"]', (True,), "urgent = true", NIGHT),  # unless the campaign is urgent
        ('["email"]', (True,), "", NIGHT),  # service email ignores quiet hours as before
        ('["email", "sms"]', (False, True), "", MORNING),  # the channel chosen decides
    ],
)
def test_quiet_hours_hold_for_service_sms_unless_urgent(
    default_policy: Policy, channels: str, reach: tuple[bool, ...], extra: str, expected: datetime
) -> None:
    c = parse_campaign(campaign(default_policy, channels=channels, extra=extra), "c.toml", default_policy)
    decision = decide(reachable(*reach), first_step(c, default_policy), default_policy, NIGHT)
    assert isinstance(decision, Send) and decision.due == expected


def test_a_service_sms_claimed_at_night_is_deferred_to_the_morning(default_policy: Policy) -> None:
    c = parse_campaign(campaign(default_policy), "c.toml", default_policy)
    step = send_time_step(
        c, default_policy, reminder=False, priority="service", channel="sms", deadline=c.deadline
    )
    assert decide(reachable(True), step, default_policy, NIGHT) == Defer(MORNING, "quiet hours")
    assert decide(reachable(True), step, default_policy, MORNING) == Send(MORNING, "sms")
    urgent = parse_campaign(campaign(default_policy, extra="urgent = true"), "c.toml", default_policy)
    step = send_time_step(
        urgent, default_policy, reminder=False, priority="service", channel="sms", deadline=c.deadline
    )
    assert decide(reachable(True), step, default_policy, NIGHT) == Send(NIGHT, "sms")


def test_revoked_sms_consent_is_never_reached_by_sms(default_policy: Policy) -> None:
    c = parse_campaign(campaign(default_policy, extra="urgent = true"), "c.toml", default_policy)
    has_phone_no_consent = Situation("c1", "Europe/Moscow", (True,), (False,), declined=frozenset({"sms"}))
    assert decide(has_phone_no_consent, first_step(c, default_policy), default_policy, NIGHT) == Exclude(
        "no_consent"
    )


def test_only_the_listed_priorities_may_use_sms(default_policy: Policy) -> None:
    with pytest.raises(CampaignError, match=r"priorities allow SMS only for service, scenario: a mass"):
        parse_campaign(campaign(default_policy, priority="mass"), "c.toml", default_policy)
    cascade = '\n[[cascade]]\nchannel = "sms"\nafter = "12h"\n'
    with pytest.raises(CampaignError, match="a mass campaign cannot use it"):
        parse_campaign(
            campaign(default_policy, priority="mass", channels='["email"]', extra=cascade),
            "c.toml",
            default_policy,
        )
    allowing = parse_policy('[protect]\nmass = []\n[channels.sms]\npriorities = ["mass"]\n')
    assert parse_campaign(campaign(allowing, priority="mass"), "c.toml", allowing).priority == "mass"


def test_urgent_is_for_service_campaigns_only(default_policy: Policy) -> None:
    with pytest.raises(CampaignError, match="urgent: only a service campaign can be urgent"):
        parse_campaign(
            campaign(default_policy, priority="scenario", extra="urgent = true"), "c.toml", default_policy
        )


def test_the_sms_section_is_validated_naming_the_key() -> None:
    with pytest.raises(PolicyError, match=r"channels\.sms\.budget_per_month"):
        parse_policy("[protect]\nmass = []\n[channels.sms]\nbudget_per_month = -1\n")
    with pytest.raises(PolicyError, match=r"channels\.sms\.sender: .*11 Latin"):
        parse_policy('[protect]\nmass = []\n[channels.sms]\nsender = "Школа"\n')
    with pytest.raises(PolicyError, match=r"channels\.sms\.priorities"):
        parse_policy('[protect]\nmass = []\n[channels.sms]\npriorities = ["loud"]\n')


def test_a_cascade_never_reaches_by_sms_after_a_revocation_nor_through_a_silence(
    default_policy: Policy,
) -> None:
    cascade = '\n[[cascade]]\nchannel = "sms"\nafter = "12h"\n'
    c = parse_campaign(
        campaign(default_policy, priority="scenario", channels='["email"]', extra=cascade),
        "c.toml",
        default_policy,
    )
    step = cascade_step(c, 1)
    sent = NIGHT - timedelta(hours=12)
    revoked = Situation(
        "c1", "Europe/Moscow", (True,), (False,), previous_sent=sent, declined=frozenset({"sms"})
    )
    assert decide(revoked, step, default_policy, NIGHT) == Exclude("no_consent")
    # A manual silence blocking everything but service over the whole span: no SMS gets through it.
    silence = SilenceInputs(manual=[(to_epoch(sent), to_epoch(c.deadline), "all", "manual")])
    silenced = Situation("c1", "Europe/Moscow", (True,), (True,), previous_sent=sent, silences=silence)
    decision = decide(silenced, step, default_policy, NIGHT)
    assert isinstance(decision, Exclude) and decision.reason.startswith("silence")
