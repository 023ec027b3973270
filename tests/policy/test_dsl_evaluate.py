"""The pure evaluator's semantics case by case (differential tests hold the SQL compiler to the same)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policy.config import Policy
from policy.contact import ContactData, EventRecord, OrderRecord, TagRecord
from policy.evaluate import evaluate
from policy.rfm import RfmScores
from tests.segments_support import diff_policy

AT = datetime(2026, 6, 15, 12, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def policy() -> Policy:
    return diff_policy()


def tagged(*tags: TagRecord) -> ContactData:
    return ContactData(id="c1", tags=tags)


@pytest.mark.parametrize(
    ("record", "text", "expected"),
    [
        (TagRecord("vip", AT - D), "tag:vip", True),
        (TagRecord("vip", AT), "tag:vip", True),  # set exactly at `at`
        (TagRecord("vip", AT + timedelta(seconds=1)), "tag:vip", False),  # set after `at`
        (TagRecord("vip", AT - D, expires_at=AT), "tag:vip", False),  # expired at `at`
        (TagRecord("vip", AT - D, expires_at=AT + H), "tag:vip", True),
        (TagRecord("vip", AT - D, removed_at=AT), "tag:vip", False),
        (TagRecord("vip", AT - D, removed_at=AT + H), "tag:vip", True),  # removed later: active at `at`
        (TagRecord("vip", AT - 7 * D), "tag:vip within 7d", True),  # [at − D, at] is closed
        (TagRecord("vip", AT - 7 * D - timedelta(seconds=1)), "tag:vip within 7d", False),
        (TagRecord("vip", AT - H), "tag:vip within 0m", False),
        (TagRecord("funnel", AT), "tag:vip", False),
    ],
)
def test_tags(policy: Policy, record: TagRecord, text: str, expected: bool) -> None:
    assert evaluate(text, tagged(record), policy, AT) is expected


@pytest.mark.parametrize(
    ("order", "text", "expected"),
    [
        (OrderRecord("o", 100, "pending", AT - D), "order:pending", True),
        (OrderRecord("o", 100, "pending", AT + H), "order:pending", False),  # created after `at`
        (OrderRecord("o", 100, "pending", AT - 2 * D), "order:pending within 2d", True),
        (OrderRecord("o", 100, "pending", AT - 2 * D - H), "order:pending within 2d", False),
        (OrderRecord("o", 100, "paid", AT - 9 * D, AT - D), "order:paid within 2d", True),  # by paid_at
        (OrderRecord("o", 100, "paid", AT - D, AT + H), "order:paid", False),  # paid after `at`
        (OrderRecord("o", 100, "cancelled", AT - D), "order:paid OR order:pending", False),
        (OrderRecord("o", 100, "cancelled", AT - D), "order:cancelled within 1d", True),
        (OrderRecord("o", 100, "refunded", AT - D, AT - D), "order:paid OR order:refunded within 1d", True),
        (OrderRecord("o", 100, "refunded", AT - D, AT - D), "paid_total > 0 OR orders_count > 0", False),
        (OrderRecord("o", 1, "paid", AT - D, AT - H, "Курс X"), 'order:paid product = "Курс X"', True),
        (OrderRecord("o", 1, "paid", AT - D, AT - H, "Курс X"), 'order:paid product = "курс x"', False),
        (OrderRecord("o", 1, "paid", AT - D, AT - H), 'order:paid product = "Курс X"', False),
        (OrderRecord("o", 1, "pending", AT - D, None, "Курс X"), 'order:paid product = "Курс X"', False),
        (OrderRecord("o", 1, "paid", AT - 9 * D, AT - 3 * D, "A"), 'order:paid product = "A" within 2d', 0),
        (OrderRecord("o", 1, "paid", AT - 9 * D, AT - D, "A"), 'order:paid within 2d product = "A"', 1),
    ],
)
def test_orders(policy: Policy, order: OrderRecord, text: str, expected: bool) -> None:
    assert evaluate(text, ContactData(id="c1", orders=(order,)), policy, AT) is bool(expected)


@pytest.mark.parametrize(
    ("event", "text", "expected"),
    [
        (EventRecord("open", AT), "event:open", True),
        (EventRecord("open", AT + timedelta(seconds=1)), "event:open", False),
        (EventRecord("open", AT - 30 * D), "event:open within 30d", True),
        (EventRecord("open", AT - 30 * D - timedelta(seconds=1)), "event:open within 30d", False),
        (EventRecord("click", AT), "event:open", False),
    ],
)
def test_events(policy: Policy, event: EventRecord, text: str, expected: bool) -> None:
    assert evaluate(text, ContactData(id="c1", events=(event,)), policy, AT) is expected


@pytest.mark.parametrize(
    ("contact", "text", "expected"),
    [
        (ContactData("c", email="a@x.org", consents={"email": "granted"}), "has:email", True),
        (ContactData("c", email="", consents={"email": "granted"}), "has:email", False),
        (ContactData("c", email="a@x.org"), "has:email", False),  # consent unknown = not granted
        (ContactData("c", email="a@x.org", consents={"email": "revoked"}), "has:email", False),
        (
            ContactData("c", email="a@x.org", consents={"email": "granted"}, suppressed=frozenset({"email"})),
            "has:email",
            False,
        ),
        (ContactData("c", telegram_chat_id=0, consents={"telegram": "granted"}), "has:telegram", True),
        (ContactData("c", phone="+7", consents={"sms": "granted"}), "has:sms AND NOT has:email", True),
    ],
)
def test_reachability(policy: Policy, contact: ContactData, text: str, expected: bool) -> None:
    assert evaluate(text, contact, policy, AT) is expected


SPENDER = ContactData(
    "c",
    orders=(
        OrderRecord("o1", 3000, "paid", AT - 400 * D, AT - 400 * D),  # outside the 30d RFM period
        OrderRecord("o2", 2000, "paid", AT - 2 * D, AT - D),
        OrderRecord("o3", 9000, "paid", AT - D, AT + H),  # paid after `at`: ignored
        OrderRecord("o4", 500, "pending", AT - H),
        OrderRecord("o5", 500, "pending", AT + H),  # created after `at`: ignored
        OrderRecord("o6", 4000, "refunded", AT - 3 * D, AT - 3 * D),  # refunded: no longer paid
    ),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid_total = 5000", True),
        ("orders_count = 2", True),  # the paid ones: o1 and o2
        ("order:refunded within 3d", True),
        ("monetary = 2000", True),
        ("frequency = 4", True),  # o2, o3, o4, o6 created in (at − 30d, at]
        ("recency_days = 0", True),  # o4 an hour ago
        ("r = 5 AND f = 4 AND m = 3", True),
        ("rfm:big_spenders", False),
        ("rfm:champions", True),
    ],
)
def test_money_and_rfm_fields(policy: Policy, text: str, expected: bool) -> None:
    assert evaluate(text, SPENDER, policy, AT) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("recency_days >= 0", False),
        ("recency_days < 1000", False),
        ("r >= 4", False),
        ("NOT r >= 4", True),
        ("r != 3", False),
        ("rfm:no_activity", True),
        ("rfm:other OR rfm:lost", False),
        ("frequency = 0 AND monetary = 0", True),
        ("paid_total = 0 AND orders_count < 1", True),
        ("created_days >= 0 OR created_days < 0", False),  # no created_at: no value
    ],
)
def test_a_contact_without_activity_has_no_recency_or_scores(
    policy: Policy, text: str, expected: bool
) -> None:
    assert evaluate(text, ContactData("quiet"), policy, AT) is expected


@pytest.mark.parametrize(
    ("contact", "text", "expected"),
    [
        (ContactData("c"), 'timezone = "Europe/Moscow"', True),  # the policy's default
        (ContactData("c", timezone=""), 'timezone = "Europe/Moscow"', True),
        (ContactData("c", timezone="UTC"), 'timezone = "Europe/Moscow"', False),
        (ContactData("c"), 'region = ""', True),  # missing is the empty string
        (ContactData("c", region=""), 'region != "Урал"', True),
        (ContactData("c", region="Урал"), 'region != "Урал"', False),
        (ContactData("c", locale="en"), 'locale < "ru"', True),
        (ContactData("c"), 'interest < "a"', True),
        (ContactData("c", created_at=AT - D), "created_days = 1", True),
        (ContactData("c", created_at=AT - D + timedelta(seconds=1)), "created_days = 0", True),  # floor
        (ContactData("c", created_at=AT + timedelta(seconds=1)), "created_days = -1", True),  # floor < 0
    ],
)
def test_contact_fields(policy: Policy, contact: ContactData, text: str, expected: bool) -> None:
    assert evaluate(text, contact, policy, AT) is expected


def test_named_segments_are_evaluated_through(policy: Policy) -> None:
    warm = ContactData("c", events=(EventRecord("click", AT - D),))
    assert evaluate("segment:warm", warm, policy, AT)
    assert not evaluate("segment:sleepy", warm, policy, AT)
    assert evaluate("segment:sleepy", warm, policy, AT + 8 * D)
    rich = replace(warm, orders=(OrderRecord("o", 5000, "paid", AT - D, AT - D),))
    assert evaluate("segment:warm_rich", rich, policy, AT)


def test_at_is_truncated_to_whole_seconds(policy: Policy) -> None:
    contact = ContactData("c", events=(EventRecord("open", AT - D),))
    assert evaluate("event:open within 1d", contact, policy, AT + timedelta(microseconds=999_999))
    assert not evaluate("event:open within 1d", contact, policy, AT + timedelta(seconds=1))


def test_naive_at_is_refused(policy: Policy) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate("all", ContactData("c"), policy, datetime(2026, 1, 1))  # noqa: DTZ001


def test_quantile_scores_come_from_the_caller() -> None:
    policy = diff_policy("quantiles")
    active = ContactData("c", events=(EventRecord("open", AT - D),))
    with pytest.raises(ValueError, match="pass the contact's scores"):
        evaluate("r >= 1", active, policy, AT)
    given = RfmScores(r=2, f=5, m=1, segment="lost")
    assert evaluate("r = 2 AND f = 5 AND rfm:lost", active, policy, AT, rfm=given)
    # Without activity no scores are needed (and given ones are not used).
    assert evaluate("rfm:no_activity AND NOT r >= 1", ContactData("q"), policy, AT, rfm=given)
