"""Property: whatever text goes into a message comes back out of a standard parser unchanged."""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header
from email.message import EmailMessage as Parsed
from email.message import MIMEPart

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.channels.base import Attachment, EmailMessage
from dispatcher.mime import POLICY, build_email, render_email, to_bytes
from tests.email_support import NOW, SENDER

# Any character but surrogates; headers additionally without line breaks (those are refused).
any_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)
header_text = st.text(
    st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"], blacklist_characters="\x85"), max_size=120
).map(lambda s: " ".join(s.split()))
name_word = st.text(
    st.characters(whitelist_categories=["Lu", "Ll", "Nd"], max_codepoint=0x4FF), min_size=1, max_size=12
)
# Up to 45 UTF-8 bytes: one encoded word (longer names are checked with an RFC 2047 decoder below).
display_name = (
    st.lists(name_word, min_size=1, max_size=4).map(" ".join).filter(lambda n: len(n.encode()) <= 45)
)


def parse(raw: bytes) -> Parsed:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, Parsed)
    return parsed


def text_of(part: MIMEPart | None) -> str:
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=150, deadline=None)
@given(subject=header_text, name=display_name, text=any_text, html=any_text)
def test_subject_name_and_bodies_round_trip(subject: str, name: str, text: str, html: str) -> None:
    msg = EmailMessage(to=f"{name} <ivan@example.com>", subject=subject, text=text, html=html)
    raw = render_email(msg, SENDER, domain="school.example", now=NOW).data
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = parse(raw)
    assert parsed["Subject"] == subject
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["To"].addresses[0].addr_spec == "ivan@example.com"
    assert text_of(parsed.get_body(("plain",))) == normalised(text)
    assert text_of(parsed.get_body(("html",))) == normalised(html)
    # build_email's object flattens back to exactly the bytes the channel sends.
    assert email.message_from_bytes(raw, policy=POLICY).as_bytes(policy=POLICY) == raw


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=2000), filename=header_text.filter(bool))
def test_attachments_round_trip(data: bytes, filename: str) -> None:
    msg = EmailMessage(
        to="a@example.com",
        subject="s",
        text="t",
        attachments=(Attachment(filename, "application/octet-stream", data),),
    )
    parsed = parse(to_bytes(build_email(msg, SENDER, domain="school.example", now=NOW)))
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_payload(decode=True) == data
    assert attachment.get_filename() == filename


def test_long_display_name_decodes_per_rfc_2047() -> None:
    name = "Константин Константинопольский-Preobrazhensky"
    raw = render_email(
        EmailMessage(to=f"{name} <k@example.com>", subject="s", text="t"), SENDER, domain="x.example"
    ).data
    to_line = raw.split(b"\r\nTo: ", 1)[1].split(b"\r\nSubject:", 1)[0].replace(b"\r\n ", b" ").decode()
    phrase = to_line.rsplit(" <", 1)[0]
    assert phrase.count("=?utf-8?b?") >= 2
    assert all(len(word) <= 75 for word in phrase.split())
    assert str(make_header(decode_header(phrase))) == name
