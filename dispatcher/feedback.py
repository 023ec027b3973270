"""Applying a bounce, a complaint or an unsubscribe mail (SPEC §12.5), whichever way it arrived.

The IMAP reader (dispatcher/imap_feedback.py) and `POST /hooks/bounces` both hand the whole message
to `apply_feedback`. In one transaction it claims the report's key (a second read changes nothing),
matches the outbox row (the VERP return path, else the original's Message-ID) and acts:

- hard bounce → the address is suppressed (`hard_bounce`);
- soft bounce → counted; the third within `SOFT_BOUNCE_SPAN` suppresses the address (`soft_bounces`);
- complaint → the contact's email consent is revoked and the address suppressed (`complaint`); the
  campaign counts it (a `complaint` event);
- unsubscribe mail → the email consent is revoked, as by the unsubscribe link;
- anything unusable is kept aside (`kind = 'unparsable'`, with the reason and the bytes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from dispatcher.channels.envelope import outbox_id_in, verp_outbox_id
from dispatcher.feedback_parse import MAX_REPORT_BYTES, Feedback, Unparsable, read_feedback, report_key
from policy.timeutil import to_epoch
from storage.contacts import contacts_by_email
from storage.db import Connection, Database
from storage.deliveries import claim_delivery
from storage.feedback import ReportRecord, SentRow, claim_report, find_sent_row, soft_bounces_since
from storage.suppressions import address_key, suppress
from storage.tracking import record_event, revoke_consent

log = logging.getLogger(__name__)

SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_SPAN = timedelta(days=30)


@dataclass(frozen=True)
class Applied:
    """What one report did: `new` is False when the report had been read before (nothing changed)."""

    key: str
    kind: str  # hard_bounce | soft_bounce | complaint | unsubscribe | ignored | unparsable | duplicate
    new: bool
    outbox_id: int | None = None
    contact_id: str | None = None
    address: str | None = None
    suppressed: bool = False
    detail: str = ""


async def apply_feedback(
    db: Database,
    raw: bytes,
    *,
    source: str,
    now: datetime,
    return_path: str | None,
    delivery: Sequence[str] = (),
) -> Applied:
    """Read and apply one report; never raises for what the message says (see the module docstring).

    `delivery` holds a webhook delivery's keys: one seen within a week makes this a `duplicate`."""
    key = report_key(raw)
    try:
        feedback: Feedback | None = read_feedback(raw)
        why = ""
    except Unparsable as exc:
        feedback, why = None, str(exc)
    async with db.transaction() as conn:
        if delivery and not await claim_delivery(conn, delivery, now_s=to_epoch(now)):
            return Applied(key, "duplicate", False)
        if feedback is None:
            applied = await _keep_aside(conn, key, why, source, now, raw)
        else:
            applied = await _apply(conn, key, feedback, source, now, raw, return_path)
    log.info(
        "feedback report",
        extra={
            "event": "feedback_report",
            "kind": applied.kind,
            "new": applied.new,
            "outbox_id": applied.outbox_id,
            "contact_id": applied.contact_id,
            "source": source,
        },
    )
    return applied


async def _keep_aside(
    conn: Connection, key: str, why: str, source: str, now: datetime, raw: bytes
) -> Applied:
    record = ReportRecord(key, "unparsable", None, None, None, why[:500], source)
    # Kept for a person to look at; a huge one only as far as a report could reasonably go.
    new = await claim_report(conn, record, at=now, raw=raw[:MAX_REPORT_BYTES])
    return Applied(key, "unparsable", new, detail=why)


async def _apply(
    conn: Connection,
    key: str,
    feedback: Feedback,
    source: str,
    now: datetime,
    raw: bytes,
    return_path: str | None,
) -> Applied:
    verp = [
        found
        for address in feedback.delivered_to
        if return_path is not None and (found := verp_outbox_id(return_path, address)) is not None
    ]
    quoted = [(found, m) for m in feedback.message_ids if (found := outbox_id_in(m)) is not None]
    row = await find_sent_row(conn, [*verp, *feedback.outbox_ids], quoted)
    contact_id = row.contact_id if row is not None else None
    if contact_id is None and feedback.kind == "unsubscribe" and feedback.recipient:
        owners = await contacts_by_email(conn, [feedback.recipient])
        contact_id = next(iter(owners.get(feedback.recipient, [])), None)
    address = _address(feedback, row)
    if address is None or (feedback.kind == "unsubscribe" and contact_id is None):
        why = "no outbox row matches the report and it names no address"
        if feedback.kind == "unsubscribe":
            why = f"no contact has the address {feedback.recipient!r} the unsubscribe mail came from"
        return await _keep_aside(conn, key, why, source, now, raw)
    key_address = address_key("email", address)
    record = ReportRecord(
        key,
        feedback.kind,
        key_address,
        row.outbox_id if row else None,
        contact_id,
        feedback.detail,
        source,
    )
    if not await claim_report(conn, record, at=now, raw=None):
        return Applied(key, feedback.kind, False, record.outbox_id, contact_id, key_address)
    suppressed = await _act(conn, feedback, row, contact_id, address, key_address, source, now)
    return Applied(
        key, feedback.kind, True, record.outbox_id, contact_id, key_address, suppressed, feedback.detail
    )


def _address(feedback: Feedback, row: SentRow | None) -> str | None:
    """The address the report is about: the one it names, else the one the row's contact holds."""
    if feedback.recipient:
        return feedback.recipient
    return row.email if row is not None and row.email else None


async def _act(
    conn: Connection,
    feedback: Feedback,
    row: SentRow | None,
    contact_id: str | None,
    address: str,
    key_address: str,
    source: str,
    now: datetime,
) -> bool:
    campaign_id = row.campaign_id if row is not None else None
    meta = {"source": source, "detail": feedback.detail}
    suppress_address = partial(suppress, conn, "email", address, source=source, contact_id=contact_id)
    if feedback.kind in ("hard_bounce", "soft_bounce"):
        if contact_id is not None:
            await record_event(conn, contact_id, "bounce", now, campaign_id, {**meta, "kind": feedback.kind})
        if feedback.kind == "hard_bounce":
            return await suppress_address("hard_bounce", now)
        # This report is already stored, so it counts among the ones in the span.
        if await soft_bounces_since(conn, key_address, now - SOFT_BOUNCE_SPAN) >= SOFT_BOUNCE_LIMIT:
            return await suppress_address("soft_bounces", now)
        return False
    if feedback.kind == "complaint":
        revoked = False
        if contact_id is not None:
            await record_event(conn, contact_id, "complaint", now, campaign_id, meta)
            revoked = await revoke_consent(conn, contact_id, "email", "complaint", now)
        added = await suppress_address("complaint", now)
        return revoked or added
    if feedback.kind == "unsubscribe" and contact_id is not None:
        if await revoke_consent(conn, contact_id, "email", "unsubscribe_mail", now):
            await record_event(conn, contact_id, "unsubscribe", now, campaign_id, {"channel": "email"})
        return True
    return False
