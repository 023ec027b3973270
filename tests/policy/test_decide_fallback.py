"""A Telegram cascade step's connect-link fallback, decided by `policy.decide` from plain data: Telegram
when reachable there, else the connect-link email — only for a contact without a chat who never refused
Telegram, and only with email consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy.decide import Decider, Exclude, Send, Situation, Step
from ritm.policy_file import load_policy

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)  # 12:00 in Moscow: inside the window, outside quiet hours
STEP = Step(
    campaign_id="c",
    kind="cascade",
    priority="scenario",
    channels=("telegram", "email"),
    start=NOW,
    deadline=NOW + timedelta(days=2),
    windows=None,
    fallback="connect_link",
)


@pytest.mark.parametrize(
    ("chat", "telegram_ok", "email", "email_ok", "declined", "expected"),
    [
        (True, True, True, True, False, "telegram"),  # a chat: the step itself
        (False, False, True, True, False, "email"),  # no chat: the link by email
        (False, False, True, True, True, "no_consent"),  # refused Telegram: never invited
        (True, False, True, True, False, "no_consent"),  # a chat without consent: not re-invited
        (False, False, True, False, False, "no_consent"),  # no email consent: nothing
        (False, False, False, False, False, "no_address"),  # neither address
    ],
)
def test_the_fallback_channel(
    chat: bool, telegram_ok: bool, email: bool, email_ok: bool, declined: bool, expected: str
) -> None:
    situation = Situation(
        "c1",
        "Europe/Moscow",
        (chat, email),
        (telegram_ok, email_ok),
        declined=frozenset({"telegram"}) if declined else frozenset(),
    )
    decision = Decider(STEP, load_policy(None), NOW).decide(situation)
    if expected in ("telegram", "email"):
        assert isinstance(decision, Send) and decision.channel == expected
    else:
        assert decision == Exclude(expected)


def test_without_the_fallback_a_contact_without_a_chat_is_skipped() -> None:
    plain = Step("c", "cascade", "scenario", ("telegram",), NOW, NOW + timedelta(days=2), windows=None)
    situation = Situation("c1", "Europe/Moscow", (False,), (False,))
    assert Decider(plain, load_policy(None), NOW).decide(situation) == Exclude("no_address")
