"""MIME structure, encodings and list headers of the messages we build (no network)."""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as Parsed
from email.message import MIMEPart

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from dispatcher.calendar import event_ics
from dispatcher.channels.base import Attachment, EmailMessage
from dispatcher.mime import build_email, list_headers, render_email, to_bytes, unsubscribe_headers
from tests.email_support import NOW, SENDER, ics_attachment, message

DOMAIN = "school.example"


def content(part: MIMEPart) -> str:
    """Decoded text with the wire's CRLF line ends read as newlines, as a mail client shows it."""
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def parse(raw: bytes) -> Parsed:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, Parsed)
    return parsed


def wire(msg: EmailMessage) -> bytes:
    return to_bytes(build_email(msg, SENDER, domain=DOMAIN, now=NOW))


def test_text_only_is_a_single_text_part() -> None:
    parsed = parse(wire(message(html=None)))
    assert parsed.get_content_type() == "text/plain"
    assert not parsed.is_multipart()
    assert content(parsed) == "Иван, здравствуйте!\nЭфир начнётся в 19:00 по Москве."


def test_text_and_html_make_multipart_alternative_text_first() -> None:
    parsed = parse(wire(message()))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    html = parsed.get_body(("html",))
    assert html is not None
    assert "<b>19:00</b>" in content(html)


def test_attachments_wrap_in_multipart_mixed_with_calendar_method() -> None:
    ics = event_ics(
        uid="w1@school.example",
        title="Эфир",
        starts_at=NOW + timedelta(days=2),
        duration=timedelta(minutes=90),
        url="https://school.example/live",
        stamp=NOW,
    )
    parsed = parse(wire(message(attachments=ics_attachment(ics))))
    assert parsed.get_content_type() == "multipart/mixed"
    body, calendar_part = list(parsed.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "PUBLISH"
    assert calendar_part.get_filename() == "webinar.ics"
    payload = calendar_part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload == ics
    assert Calendar.from_ical(payload)["method"] == "PUBLISH"


def test_request_calendar_gets_request_method_parameter() -> None:
    ics = event_ics(
        uid="w2@school.example",
        title="Консультация",
        starts_at=NOW,
        duration=timedelta(minutes=30),
        url=None,
        organizer_email="team@school.example",
        attendee_email="ivan@example.com",
        method="REQUEST",
        stamp=NOW,
    )
    parsed = parse(wire(message(attachments=ics_attachment(ics))))
    assert list(parsed.iter_parts())[1].get_param("method") == "REQUEST"


def test_binary_attachment_round_trips() -> None:
    blob = bytes(range(256)) * 10
    parsed = parse(wire(message(attachments=(Attachment("программа.pdf", "application/pdf", blob),))))
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "программа.pdf"
    assert attachment.get_payload(decode=True) == blob


def test_russian_subject_and_names_are_encoded_and_round_trip() -> None:
    raw = wire(message(to="Иван Петров <ivan@example.com>"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    parsed = parse(raw)
    assert parsed["Subject"] == "Эфир: база как актив — начинаем в 19:00"
    assert parsed["From"].addresses[0].display_name == "Школа Ритм"
    assert parsed["To"].addresses[0].display_name == "Иван Петров"
    assert parsed["To"].addresses[0].addr_spec == "ivan@example.com"


def test_whole_message_is_seven_bit_with_crlf_lines() -> None:
    raw = wire(message(text="Ёжик " * 500, html="<p>" + "Кириллица и latin mix. " * 300 + "</p>"))
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    ("text", "cte"),
    [
        ("Plain ASCII only.\n", "7bit"),
        ("Mostly English with one café and a naïve résumé.\n", "quoted-printable"),
        ("Полностью русский текст письма.\n", "base64"),
    ],
)
def test_body_encoding_is_the_compact_one_and_decodes_exactly(text: str, cte: str) -> None:
    parsed = parse(wire(message(text=text, html=None)))
    assert parsed["Content-Transfer-Encoding"] == cte
    assert content(parsed) == text


def test_quoted_printable_keeps_equals_signs_and_trailing_spaces() -> None:
    text = "a=b, x == y, café  \nnext line\t\n"
    parsed = parse(wire(message(text=text, html=None)))
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert content(parsed) == text


def test_message_id_generated_unique_and_on_our_domain() -> None:
    ids = {parse(wire(message()))["Message-ID"] for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith("<") and i.endswith("@school.example>") for i in ids)


def test_message_id_taken_from_the_message_when_given() -> None:
    assert (
        parse(wire(message(message_id="outbox-17@school.example")))["Message-ID"]
        == "<outbox-17@school.example>"
    )
    assert parse(wire(message(message_id="<x@y>")))["Message-ID"] == "<x@y>"


def test_date_header_is_the_injected_clock() -> None:
    assert parse(wire(message()))["Date"].datetime == NOW


# A day inside datetime's range at both ends: the UTC form of a local time may be a day off.
# Hypothesis takes naive bounds and attaches the zones itself.
FIRST_DAY, LAST_DAY = datetime(1, 1, 2), datetime(9999, 12, 30)  # noqa: DTZ001


@given(st.datetimes(FIRST_DAY, LAST_DAY, timezones=st.timezones()))
def test_date_header_is_the_clock_in_utc_to_the_second(now: datetime) -> None:
    # one formatted line per second is shared by that second's messages; it must still be its own
    raw = render_email(message(), SENDER, domain=DOMAIN, now=now).data
    expected = email.utils.format_datetime(now.astimezone(UTC).replace(microsecond=0))
    assert f"\r\nDate: {expected}\r\n".encode() in raw  # the raw line: parsers read year 99 as 1999


def test_list_unsubscribe_both_forms_and_one_click() -> None:
    url = "https://school.example/u/" + "Q" * 110  # longer than a header line
    headers = unsubscribe_headers(url, "unsubscribe@school.example?subject=unsubscribe-Q")
    headers.update(list_headers("digest-48", DOMAIN, description="Weekly digest"))
    raw = wire(message(headers=headers))
    parsed = parse(raw)
    assert parsed["List-Unsubscribe"] == f"<{url}>, <mailto:unsubscribe@school.example?subject=unsubscribe-Q>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Id"] == '"Weekly digest" <digest-48.school.example>'
    assert parsed["Precedence"] == "bulk"
    # The URL travels whole on its own line: never cut, never turned into encoded words.
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:".encode() in raw
    assert b"=?utf-8?" not in raw.split(b"List-Unsubscribe:", 1)[1].split(b"\r\nList-Unsubscribe-Post", 1)[0]


def test_one_click_only_for_https() -> None:
    assert "List-Unsubscribe-Post" not in unsubscribe_headers("http://127.0.0.1:8080/u/abc")
    assert unsubscribe_headers("http://127.0.0.1:8080/u/abc") == {
        "List-Unsubscribe": "<http://127.0.0.1:8080/u/abc>"
    }
    assert unsubscribe_headers("https://s.example/u/a", "mailto:u@s.example")["List-Unsubscribe"] == (
        "<https://s.example/u/a>, <mailto:u@s.example>"
    )
    with pytest.raises(ValueError, match="http"):
        unsubscribe_headers("javascript:alert(1)")


def test_header_injection_and_reserved_headers_are_refused() -> None:
    with pytest.raises(ValueError):
        wire(message(headers={"X-Campaign": "digest\r\nBcc: everyone@example.com"}))
    with pytest.raises(ValueError, match="Subject"):
        wire(message(headers={"Subject": "other"}))


def test_commas_inside_list_unsubscribe_urls_are_not_folding_points() -> None:
    url = "https://school.example/u/abc?ids=1,2,3"
    parsed = parse(wire(message(headers=unsubscribe_headers(url, "u@school.example?subject=a,b"))))
    assert parsed["List-Unsubscribe"] == f"<{url}>, <mailto:u@school.example?subject=a,b>"
