"""Reading what comes back to the bounce/feedback mailbox: DSNs, ARF complaints and unsubscribe mails.

- A DSN (RFC 3464) is a `multipart/report; report-type=delivery-status`; its per-recipient block says
  `Action: failed` with a `Status` (RFC 3463): 5.x.x is a hard bounce (the address is dead) except a
  full mailbox (5.2.2) and a policy block (5.7.x: the sender or content was refused, the address is
  fine), which count as soft, like every 4.x.x. `delayed`, `delivered`, `relayed`, `expanded` change
  nothing.
- An ARF report (RFC 5965) is a `multipart/report; report-type=feedback-report`; every Feedback-Type
  but `not-spam` is a complaint.
- Anything else whose Subject asks to unsubscribe is what a mail client sends to the List-Unsubscribe
  `mailto:` address: it comes from the subscriber's own address.

Both reports carry the original message (or its headers) as their last part: its Message-ID names the
outbox row. The report's own recipients (To, Delivered-To, …) carry the VERP return path when one was set.
Nothing here touches the database; a message that is none of these raises `Unparsable` with the reason.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Literal

FeedbackKind = Literal["hard_bounce", "soft_bounce", "complaint", "unsubscribe", "ignored"]

_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_UNSUBSCRIBE = re.compile(r"\b(unsubscribe|отписаться|отписка)\b", re.IGNORECASE)
# Headers of a report that may hold the address it was delivered to (the VERP return path).
_DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
_IGNORED_ACTIONS = frozenset({"delayed", "delivered", "relayed", "expanded"})
MAX_REPORT_BYTES = 5_000_000


class Unparsable(ValueError):
    """The message is not a DSN, an ARF report or an unsubscribe mail we can act on; str() says why."""


@dataclass(frozen=True)
class Feedback:
    """What one report says, before it is matched to an outbox row."""

    kind: FeedbackKind
    recipient: str | None  # the address the report is about (DSN recipient, complainant, sender)
    message_ids: tuple[str, ...]  # the original message's Message-ID
    delivered_to: tuple[str, ...]  # where the report itself was sent (a VERP return path)
    outbox_ids: tuple[int, ...]  # X-Ritm-Outbox of the original, when its headers came back
    detail: str = ""


def report_key(raw: bytes) -> str:
    """The identity of a report: its own Message-ID when it has one, else a digest of its bytes."""
    try:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:65536])
        found = _MESSAGE_ID.search(str(headers.get("Message-ID", "")))
    except (ValueError, TypeError, IndexError):
        found = None
    if found:
        return "mid:" + found.group(0)[:400]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def read_feedback(raw: bytes) -> Feedback:
    """What `raw` (one whole message as received) reports; raises Unparsable with the reason."""
    if not raw.strip():
        raise Unparsable("the message is empty")
    if len(raw) > MAX_REPORT_BYTES:
        raise Unparsable(f"the message is larger than {MAX_REPORT_BYTES} bytes")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        return _read(msg)
    except Unparsable:
        raise
    except (ValueError, TypeError, LookupError, AttributeError, IndexError) as exc:
        raise Unparsable(f"the message cannot be read: {type(exc).__name__}: {exc}") from None


def _read(msg: Message) -> Feedback:
    delivered_to = _addresses(msg, _DELIVERED_TO)
    if msg.get_content_type() != "multipart/report":
        return _unsubscribe_mail(msg, delivered_to)
    report_type = str(msg.get_param("report-type", "") or "").lower()
    payload = msg.get_payload()
    parts = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    if len(parts) < 2:
        raise Unparsable("a multipart/report without its report part")
    message_ids, outbox_ids = _original(parts)
    if report_type == "delivery-status":
        kind, recipient, detail = _delivery_status(parts)
    elif report_type == "feedback-report":
        kind, recipient, detail = _feedback_report(parts)
    else:
        raise Unparsable(f"a report of unknown type {report_type or '(none)'!r}")
    return Feedback(kind, recipient, message_ids, delivered_to, outbox_ids, detail)


def _part(parts: list[Message], content_type: str) -> Message:
    for part in parts:
        if part.get_content_type() == content_type:
            return part
    raise Unparsable(f"the report has no {content_type} part")


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = part.get_payload(decode=True)
    if not isinstance(text, bytes):
        return []
    parser = BytesHeaderParser(policy=email.policy.compat32)
    return [parser.parsebytes(block.strip() + b"\n") for block in re.split(rb"\r?\n\s*\r?\n", text)]


def _delivery_status(parts: list[Message]) -> tuple[FeedbackKind, str | None, str]:
    blocks = _field_blocks(_part(parts, "message/delivery-status"))
    recipients = [b for b in blocks if b.get("Final-Recipient") or b.get("Original-Recipient")]
    if not recipients:
        raise Unparsable("the DSN names no recipient (no Final-Recipient)")
    block = next((b for b in recipients if _word(b, "Action") == "failed"), recipients[0])
    action = _word(block, "Action")
    recipient = _typed_address(block.get("Original-Recipient")) or _typed_address(
        block.get("Final-Recipient")
    )
    status = str(block.get("Status", "")).strip()
    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
    detail = f"{action} {status} {diagnostic}".strip()[:300]
    if action in _IGNORED_ACTIONS:
        return "ignored", recipient, detail
    if action != "failed":
        raise Unparsable(f"the DSN's Action is {action or '(none)'!r}, not one RFC 3464 defines")
    code = _STATUS.match(status)
    if code is None:
        raise Unparsable(f"the DSN's Status {status or '(none)'!r} is not an RFC 3463 code")
    klass, subject, detail_code = code.groups()
    if klass == "5" and (subject, detail_code) != ("2", "2") and subject != "7":
        return "hard_bounce", recipient, detail
    return "soft_bounce", recipient, detail


def _feedback_report(parts: list[Message]) -> tuple[FeedbackKind, str | None, str]:
    blocks = _field_blocks(_part(parts, "message/feedback-report"))
    fields = blocks[0] if blocks else None
    if fields is None or not fields.get("Feedback-Type"):
        raise Unparsable("the ARF report has no Feedback-Type")
    feedback_type = _word(fields, "Feedback-Type")
    recipient = _typed_address(fields.get("Original-Rcpt-To"))
    detail = f"feedback-type {feedback_type}; {' '.join(str(fields.get('User-Agent', '')).split())}"
    return ("ignored" if feedback_type == "not-spam" else "complaint"), recipient, detail.strip("; ")[:300]


def _original(parts: list[Message]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The original message's Message-ID and X-Ritm-Outbox, from the report's last part."""
    last = parts[-1]
    headers: Message | None = None
    if last.get_content_type() == "message/rfc822":
        inner = last.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            headers = inner[0]
    elif last.get_content_type() in ("text/rfc822-headers", "message/rfc822-headers"):
        body = last.get_payload(decode=True)
        if isinstance(body, bytes):
            headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(body)
    if headers is None:
        return (), ()
    ids = tuple(m.group(0) for m in _MESSAGE_ID.finditer(str(headers.get("Message-ID", ""))))[:1]
    outbox = str(headers.get("X-Ritm-Outbox", "")).strip()
    return ids, ((int(outbox),) if outbox.isascii() and outbox.isdigit() and len(outbox) < 19 else ())


def _unsubscribe_mail(msg: Message, delivered_to: tuple[str, ...]) -> Feedback:
    subject = str(msg.get("Subject", ""))
    if not _UNSUBSCRIBE.search(_decoded(subject)):
        raise Unparsable("neither a DSN, an ARF report nor an unsubscribe request")
    sender = _addresses(msg, ("From",))
    if not sender:
        raise Unparsable("an unsubscribe request without a From address")
    return Feedback("unsubscribe", sender[0], (), delivered_to, (), f"subject {subject[:200]!r}")


def _decoded(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value)))


def _word(block: Message, name: str) -> str:
    value = str(block.get(name, "")).strip().lower()
    return value.split(";")[0].split()[0] if value else ""


def _typed_address(value: object) -> str | None:
    """The address of an `rfc822; addr` field (DSN recipients, ARF Original-Rcpt-To)."""
    if value is None:
        return None
    text = str(value).strip()
    kind, sep, address = text.partition(";")
    address = (address if sep else kind).strip().strip("<>").strip()
    if sep and kind.strip().lower() not in ("rfc822", "utf-8"):
        return None
    return address if "@" in address else None


def _addresses(msg: Message, names: tuple[str, ...]) -> tuple[str, ...]:
    found: list[str] = []
    for name in names:
        for value in msg.get_all(name, []):
            for _, address in email.utils.getaddresses([str(value)]):
                if "@" in address and address not in found:
                    found.append(address)
    return tuple(found)
