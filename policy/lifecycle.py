"""The campaign lifecycle and the four-eyes rule as pure decisions (SPEC §6).

draft → dry_run → pending_approval → approved → scheduled → sending → done, or rejected / cancelled /
paused. Mass campaigns need approval by an approver who is not the author; the approval binds to the
fingerprint of the dry run it was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from policy.team import at_least

STATUSES = (
    "draft",
    "dry_run",
    "pending_approval",
    "approved",
    "scheduled",
    "sending",
    "done",
    "rejected",
    "cancelled",
    "paused",
)
# Once rows are in the outbox the file can no longer change under them.
FROZEN = frozenset({"scheduled", "sending", "done", "paused"})
# Planned count may drift this much from the approved one before approval is asked again.
REAPPROVAL_DRIFT = 0.10
# An approved campaign (or a series' occurrence) is planned this long before its start.
PLAN_AHEAD = timedelta(hours=1)


@dataclass(frozen=True)
class Refused:
    """A transition that is not allowed, with one sentence saying why."""

    reason: str


def status_after_change(status: str) -> str | Refused:
    """The status of a campaign whose file or templates just changed."""
    if status in FROZEN:
        return Refused(
            f"the campaign is {status}: its messages are already planned; cancel it or add a new id"
        )
    return "draft"


def status_after_dry_run(status: str, priority: str) -> str:
    """Mass campaigns wait for an approver after a dry run; others may be planned at once."""
    if status in FROZEN or status in ("rejected", "cancelled"):
        return status
    return "pending_approval" if priority == "mass" else "dry_run"


def check_approval(
    *,
    status: str,
    priority: str,
    author: str,
    approver: str,
    approver_role: str | None,
    fingerprint: str,
    dry_run_fingerprint: str | None,
) -> Refused | None:
    """None when `approver` may approve now; otherwise why not (four-eyes, role, stale dry run)."""
    if approver_role is None:
        return Refused(f"user {approver} is not in the team")
    if not at_least(approver_role, "approver"):
        return Refused(f"user {approver} is {approver_role}; approving needs the approver role")
    if approver == author:
        return Refused("the author of a campaign can never approve it (four-eyes rule)")
    if dry_run_fingerprint is None or status in ("draft",):
        return Refused("run a dry run first: an approval binds to the dry run it was shown")
    if dry_run_fingerprint != fingerprint:
        return Refused("the campaign or its templates changed since the dry run; run it again")
    if status == "approved":
        return Refused("the campaign is already approved")
    if status not in ("pending_approval", "dry_run"):
        return Refused(f"a {status} campaign cannot be approved")
    if priority != "mass":
        return None
    return None


def check_rejection(*, status: str, rejecter_role: str | None, rejecter: str) -> Refused | None:
    if not at_least(rejecter_role, "approver"):
        return Refused(f"user {rejecter} cannot reject: that needs the approver role")
    if status in FROZEN or status in ("rejected", "cancelled"):
        return Refused(f"a {status} campaign cannot be rejected")
    return None


def check_planning(
    *,
    status: str,
    priority: str,
    fingerprint: str,
    approved_fingerprint: str | None,
    approved_planned: int | None,
    planned: int,
) -> Refused | str:
    """The status planning leads to (`scheduled`, or back to `pending_approval`), or a refusal."""
    if status in ("rejected", "cancelled"):
        return Refused(f"a {status} campaign cannot be planned")
    if priority != "mass":
        return "scheduled"
    if status not in ("approved", "scheduled", "sending", "paused"):
        return Refused(f"a mass campaign must be approved before planning (it is {status})")
    if approved_fingerprint != fingerprint:
        return Refused("the campaign or its templates changed since approval; it needs a new dry run")
    if approved_planned is not None and drifted(approved_planned, planned):
        return "pending_approval"
    return "scheduled"


def drifted(approved: int, planned: int) -> bool:
    """More than 10 % away from the approved count (any change counts when nothing was approved)."""
    if approved == 0:
        return planned != 0
    return abs(planned - approved) / approved > REAPPROVAL_DRIFT
