"""Names in expressions resolve against the policy: unknown names, named-segment cycles, policy checks."""

from __future__ import annotations

import pytest

from policy.config import Policy, PolicyError, parse_policy
from policy.dsl import DslError, Rfm, SegmentRef, Tag
from policy.segment_names import check_policy_segments, resolve, segment_expr

BASE = """
[tags]
funnel = { description = "funnel" }
marathon = { description = "marathon" }

[protect]
mass = []
"""


def policy_with(segments: dict[str, str]) -> Policy:
    lines = "\n".join(f'{name} = "{text}"' for name, text in segments.items())
    return parse_policy(f"{BASE}\n[segments]\n{lines}\n")


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ("tag:nope", 1, 'unknown tag "nope": expected one of funnel, marathon'),
        ("has:email AND tag:Funnel", 15, 'unknown tag "Funnel"'),
        ("segment:missing", 1, 'unknown segment "missing": expected one of warm'),
        ("NOT rfm:champs", 5, 'unknown RFM segment "champs": expected one of champions, loyal'),
    ],
)
def test_unknown_names_are_errors_at_their_column(text: str, column: int, expected: str) -> None:
    policy = policy_with({"warm": "event:open within 7d"})
    with pytest.raises(DslError) as info:
        resolve(text, policy)
    assert info.value.column == column
    assert expected in str(info.value)


def test_rfm_names_include_no_activity_and_other() -> None:
    policy = policy_with({})
    assert resolve("rfm:no_activity OR rfm:other OR rfm:lost", policy) is not None
    assert resolve(Rfm("champions"), policy) == Rfm("champions")


def test_a_policy_without_tags_says_so() -> None:
    policy = parse_policy('[protect]\nmass = []\n[segments]\nx = "all"\n')
    with pytest.raises(DslError, match="it defines none"):
        resolve("tag:funnel", policy)


def test_a_self_reference_is_a_cycle() -> None:
    policy = policy_with({"loop": "tag:funnel OR segment:loop"})
    with pytest.raises(PolicyError) as info:
        check_policy_segments(policy)
    assert str(info.value) == "segments.loop: at column 15: cycle of segments: loop → loop"
    with pytest.raises(DslError, match="cycle of segments: loop → loop") as used:
        resolve("has:sms AND segment:loop", policy)
    assert used.value.column == 13


def test_a_longer_cycle_is_named_in_order_and_taints_its_users() -> None:
    policy = policy_with(
        {
            "user": "segment:a AND tag:funnel",
            "a": "segment:b",
            "b": "NOT segment:c",
            "c": "segment:a OR all",
            "fine": "tag:marathon",
        }
    )
    with pytest.raises(PolicyError) as info:
        check_policy_segments(policy)
    assert str(info.value).startswith('segments.user: at column 1: uses segment "a", which cannot be used')
    assert "cycle of segments: a → b → c → a" in str(info.value)
    for name in ("a", "b", "c", "user"):
        with pytest.raises(DslError, match="a → b → c → a"):
            resolve(f"segment:{name}", policy)
    assert segment_expr(policy, "fine") == Tag("marathon")


def test_a_broken_segment_is_reported_with_its_own_column() -> None:
    policy = policy_with({"ok": "tag:funnel", "typo": "tag:funnel within 7"})
    with pytest.raises(PolicyError) as info:
        check_policy_segments(policy)
    assert (
        str(info.value)
        == 'segments.typo: at column 19: expected a duration like 7d after "within", found "7"'
    )
    assert resolve("segment:ok", policy) == SegmentRef("ok")
    with pytest.raises(DslError, match=r"segments\.typo: at column 19"):
        resolve("segment:ok OR segment:typo", policy)


def test_unknown_names_inside_segments_are_policy_errors() -> None:
    policy = policy_with({"vip": "tag:vip"})
    with pytest.raises(PolicyError, match=r'segments\.vip: at column 1: unknown tag "vip"'):
        check_policy_segments(policy)


def test_the_shipped_policies_are_valid(default_policy: Policy, worked_policy: Policy) -> None:
    check_policy_segments(default_policy)
    check_policy_segments(worked_policy)
    assert "sleeping" in default_policy.segments
