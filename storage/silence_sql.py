"""Loads what silence windows are derived from (payments, activity ends, declined offers, manual ones)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from policy.config import Policy
from policy.silence import SilenceInputs
from storage.db import Database


async def silence_inputs(
    db: Database,
    policy: Policy,
    *,
    at: int,
    since: int,
    until: int,
    contact_ids: Sequence[str] = (),
) -> dict[str, SilenceInputs]:
    """Everything that can open a silence window overlapping [since, until), known at `at`.

    With `contact_ids` only those contacts are read (the send-time re-check of a small batch).
    """
    found: dict[str, SilenceInputs] = defaultdict(SilenceInputs)
    one = f" AND contact_id IN ({','.join('?' * len(contact_ids))})" if contact_ids else ""
    extra: tuple[object, ...] = tuple(contact_ids)
    rules = policy.silence

    pay_from = since - int(rules.after_payment.total_seconds())
    async with db.cursor(
        "SELECT contact_id, paid_at FROM orders WHERE status = 'paid' AND paid_at IS NOT NULL"
        f" AND paid_at <= ? AND paid_at >= ? AND paid_at < ?{one}",
        (at, pay_from, until, *extra),
    ) as cur:
        async for cid, paid_at in cur:
            found[cid].paid_at.append(int(paid_at))

    activity = [name for name, tag in policy.tags.items() if tag.activity]
    if activity:
        marks = ",".join("?" * len(activity))
        act_from = since - int(rules.after_activity.total_seconds())
        # The end of an activity is its removal or expiry, whichever comes first. For a batch, the unary
        # `+` leaves SQLite only the contacts' own rows (the primary key) to search: by tag it would walk
        # every activity tag of the base.
        plus = "+" if contact_ids else ""
        async with db.cursor(
            "SELECT contact_id, MIN(COALESCE(removed_at, expires_at), COALESCE(expires_at, removed_at)) AS e"
            f" FROM tags WHERE {plus}tag IN ({marks}) AND {plus}set_at <= ?"
            f" AND COALESCE(removed_at, expires_at) IS NOT NULL{one}",
            (*activity, at, *extra),
        ) as cur:
            async for cid, end in cur:
                if end is not None and act_from <= int(end) < until:
                    found[cid].activity_ends.append(int(end))

    offer_from = since - int(rules.after_offer_declined.total_seconds())
    async with db.cursor(
        "SELECT contact_id, at FROM events WHERE type = 'offer_declined' AND at <= ? AND at >= ? AND at < ?"
        f"{one}",
        (at, offer_from, until, *extra),
    ) as cur:
        async for cid, t in cur:
            found[cid].offer_declined_at.append(int(t))

    async with db.cursor(
        "SELECT contact_id, starts_at, ends_at, blocks, reason FROM silences"
        f" WHERE ends_at > ? AND starts_at < ?{one}",
        (since, until, *extra),
    ) as cur:
        async for cid, starts, ends, blocks, reason in cur:
            found[cid].manual.append((int(starts), int(ends), blocks, reason))
    return found
