"""The campaign lifecycle and the four-eyes rule as pure decisions."""

from __future__ import annotations

import pytest

from policy.lifecycle import (
    Refused,
    check_approval,
    check_planning,
    check_rejection,
    drifted,
    status_after_change,
    status_after_dry_run,
)

BASE = dict(
    status="pending_approval",
    priority="mass",
    author="1",
    approver="2",
    approver_role="approver",
    fingerprint="f1",
    dry_run_fingerprint="f1",
)


def test_an_approver_who_is_not_the_author_may_approve_the_dry_run_shown() -> None:
    assert check_approval(**BASE) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"approver": "1"}, "four-eyes"),
        ({"approver_role": "operator"}, "approver role"),
        ({"approver_role": None}, "not in the team"),
        ({"dry_run_fingerprint": None}, "dry run first"),
        ({"dry_run_fingerprint": "f0"}, "changed since the dry run"),
        ({"status": "approved"}, "already approved"),
        ({"status": "rejected"}, "cannot be approved"),
    ],
)
def test_approval_refusals_say_why(change: dict[str, object], why: str) -> None:
    refused = check_approval(**{**BASE, **change})  # type: ignore[arg-type]
    assert isinstance(refused, Refused) and why in refused.reason


def test_an_admin_approves_too_but_never_their_own() -> None:
    assert check_approval(**{**BASE, "approver_role": "admin"}) is None  # type: ignore[arg-type]
    assert check_approval(**{**BASE, "approver_role": "admin", "approver": "1"}) is not None  # type: ignore[arg-type]


def test_changing_a_campaign_sends_it_back_to_draft_until_it_is_planned() -> None:
    for status in ("draft", "dry_run", "pending_approval", "approved", "rejected"):
        assert status_after_change(status) == "draft"
    for status in ("scheduled", "sending", "done", "paused"):
        assert isinstance(status_after_change(status), Refused)


def test_only_mass_campaigns_wait_for_approval_after_a_dry_run() -> None:
    assert status_after_dry_run("draft", "mass") == "pending_approval"
    assert status_after_dry_run("draft", "service") == "dry_run"
    assert status_after_dry_run("scheduled", "mass") == "scheduled"


def test_planning_needs_the_approved_fingerprint_and_a_stable_count() -> None:
    ok = dict(
        status="approved", priority="mass", fingerprint="f", approved_fingerprint="f", approved_planned=1000
    )
    assert check_planning(**ok, planned=1100) == "scheduled"  # type: ignore[arg-type]
    assert check_planning(**ok, planned=1101) == "pending_approval"  # type: ignore[arg-type]
    assert check_planning(**ok, planned=899) == "pending_approval"  # type: ignore[arg-type]
    assert isinstance(check_planning(**{**ok, "approved_fingerprint": "g"}, planned=1000), Refused)  # type: ignore[arg-type]
    assert isinstance(check_planning(**{**ok, "status": "pending_approval"}, planned=1000), Refused)  # type: ignore[arg-type]
    assert check_planning(**{**ok, "priority": "service", "status": "draft"}, planned=5) == "scheduled"  # type: ignore[arg-type]


def test_drift_is_more_than_ten_percent() -> None:
    assert not drifted(100, 110) and drifted(100, 111) and drifted(0, 1) and not drifted(0, 0)


def test_rejecting_needs_the_approver_role() -> None:
    assert check_rejection(status="pending_approval", rejecter_role="approver", rejecter="2") is None
    assert isinstance(
        check_rejection(status="pending_approval", rejecter_role="viewer", rejecter="3"), Refused
    )
    assert isinstance(check_rejection(status="done", rejecter_role="admin", rejecter="2"), Refused)
