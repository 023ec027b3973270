"""Reading DSNs (RFC 3464), ARF complaints (RFC 5965) and unsubscribe mails, and refusing the rest."""

from __future__ import annotations

import pytest

from dispatcher.feedback_parse import Unparsable, read_feedback, report_key
from tests.feedback.reports import arf, dsn, unsubscribe_mail

ORIGINAL = "<42.digest@school.example>"


@pytest.mark.parametrize(
    ("status", "action", "kind"),
    [
        ("5.1.1", "failed", "hard_bounce"),  # no such user
        ("5.1.10", "failed", "hard_bounce"),  # null MX
        ("5.2.2", "failed", "soft_bounce"),  # mailbox full
        ("5.7.1", "failed", "soft_bounce"),  # refused by policy: the address itself is fine
        ("4.4.7", "failed", "soft_bounce"),  # gave up after retries
        ("4.4.1", "delayed", "ignored"),  # still trying
        ("2.0.0", "delivered", "ignored"),
    ],
)
def test_a_dsn_says_what_happened_to_its_recipient(status: str, action: str, kind: str) -> None:
    raw = dsn(to="bounces+42@school.example", recipient="Ivan@Example.org", status=status, action=action)
    feedback = read_feedback(raw)
    assert feedback.kind == kind
    assert feedback.recipient == "Ivan@Example.org"
    assert "bounces+42@school.example" in feedback.delivered_to


@pytest.mark.parametrize("headers_only", [False, True])
def test_a_dsn_names_the_original_by_its_message_id_and_outbox_header(headers_only: bool) -> None:
    raw = dsn(
        to="noreply@school.example",
        recipient="ivan@example.org",
        original_id=ORIGINAL,
        outbox=42,
        headers_only=headers_only,
    )
    feedback = read_feedback(raw)
    assert feedback.message_ids == (ORIGINAL,)
    assert feedback.outbox_ids == (42,)


@pytest.mark.parametrize(("feedback_type", "kind"), [("abuse", "complaint"), ("not-spam", "ignored")])
def test_an_arf_report_is_a_complaint_unless_it_says_not_spam(feedback_type: str, kind: str) -> None:
    feedback = read_feedback(
        arf(recipient="olga@example.org", original_id=ORIGINAL, feedback_type=feedback_type)
    )
    assert (feedback.kind, feedback.recipient, feedback.message_ids) == (
        kind,
        "olga@example.org",
        (ORIGINAL,),
    )


def test_a_complaint_without_the_recipient_still_names_the_original() -> None:
    feedback = read_feedback(arf(recipient="olga@example.org", original_id=ORIGINAL, with_recipient=False))
    assert (feedback.kind, feedback.recipient, feedback.message_ids) == ("complaint", None, (ORIGINAL,))


@pytest.mark.parametrize(
    "subject", ["unsubscribe", "Unsubscribe me", "=?utf-8?b?0J7RgtC/0LjRgdCw0YLRjNGB0Y8=?="]
)
def test_a_mail_asking_to_unsubscribe_names_its_sender(subject: str) -> None:
    feedback = read_feedback(unsubscribe_mail(sender="Пётр <petr@example.org>", subject=subject))
    assert (feedback.kind, feedback.recipient) == ("unsubscribe", "petr@example.org")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (unsubscribe_mail(sender="a@example.org", subject="Re: your digest"), "neither a DSN"),
        (
            b"From: x@y\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\nhi",
            "report part",
        ),
        (
            dsn(to="b@school.example", recipient="a@example.org")
            .replace(b"Final-Recipient", b"X-Recipient")
            .replace(b"Original-Recipient", b"X-Original"),
            "no recipient",
        ),
        (dsn(to="b@school.example", recipient="a@example.org", status="bounced"), "not an RFC 3463 code"),
        (dsn(to="b@school.example", recipient="a@example.org", action="exploded"), "Action"),
        (
            arf(recipient="a@example.org", original_id=None).replace(b"Feedback-Type", b"X-Type"),
            "Feedback-Type",
        ),
        (
            dsn(to="b@school.example", recipient="a@example.org").replace(b"delivery-status;", b"oddity;"),
            "unknown type",
        ),
        (b"\xff\xfe\x00garbage" * 100, "neither a DSN"),
    ],
)
def test_what_cannot_be_read_says_why(raw: bytes, reason: str) -> None:
    with pytest.raises(Unparsable, match=reason):
        read_feedback(raw)


def test_a_report_is_known_by_its_message_id_or_else_its_bytes() -> None:
    raw = dsn(to="b@school.example", recipient="a@example.org", message_id="<dsn-1@mx.example.net>")
    assert report_key(raw) == "mid:<dsn-1@mx.example.net>"
    assert report_key(raw) == report_key(bytes(raw))
    bare = b"Subject: unsubscribe\r\nFrom: a@example.org\r\n\r\n"
    assert report_key(bare).startswith("sha256:")
    assert report_key(bare) != report_key(bare + b"x")
