"""Building the MIME message for one email: structure, encodings and the list headers.

Shape: `text/plain` alone, or `multipart/alternative` (text, html) when there is html, wrapped in
`multipart/mixed` when there are attachments (the webinar's ICS goes there as `text/calendar` with the
`method` parameter its body declares). Everything is 7-bit clean: bodies are base64 or
quoted-printable (whichever is shorter for the text), headers use RFC 2047 encoded words for Russian
subjects and display names, so any relay and any DKIM signer take the message unchanged.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage
from email.message import MIMEPart
from email.policy import EmailPolicy
from typing import Any

from dispatcher.channels.base import Attachment, EmailMessage

# Headers holding URLs: the stock folder turns a URL longer than a line into encoded words, which
# breaks every client's parser for them, so these are folded only between their comma-separated items.
_URL_HEADERS = frozenset(
    {"list-unsubscribe", "list-unsubscribe-post", "list-id", "list-help", "list-archive"}
)
_RESERVED = frozenset({"from", "to", "subject", "date", "message-id", "mime-version", "content-type"})
_ASCII_BYTES = bytes(range(128))
_METHOD = re.compile(rb"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)


class _MailPolicy(EmailPolicy):
    """SMTP policy (CRLF, 78-column folding) that folds URL list headers only at their commas."""

    def fold(self, name: str, value: str) -> str:
        verbatim = self._url_header(name, value)
        return verbatim if verbatim is not None else super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        verbatim = self._url_header(name, value)
        return verbatim.encode("ascii") if verbatim is not None else super().fold_binary(name, value)

    def _url_header(self, name: str, value: Any) -> str | None:
        text = str(value)
        if name.lower() not in _URL_HEADERS or not text.isascii():
            return None
        items = [item.strip() for item in text.split(",")]
        return f"{name}: " + ("," + self.linesep + " ").join(items) + self.linesep


POLICY = _MailPolicy(linesep="\r\n", cte_type="7bit")
POLICY_UTF8 = POLICY.clone(utf8=True)


def build_email(
    msg: EmailMessage,
    sender: str,
    *,
    domain: str,
    now: datetime | None = None,
) -> MimeMessage:
    """The complete MIME message for `msg` from `sender` ("Name <addr>"), ready to flatten.

    `domain` names the right-hand side of a generated Message-ID; `now` is the Date header (the
    caller's clock; the current time when omitted). Raises ValueError for a header that cannot be
    written (a line break in a value, or a custom header that would override a built-in one).
    """
    root = MimeMessage(policy=POLICY)
    root["From"] = sender
    root["To"] = msg.to
    root["Subject"] = msg.subject
    root["Date"] = email.utils.format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    root["Message-ID"] = _message_id(msg.message_id, domain)
    root["MIME-Version"] = "1.0"
    for name, value in msg.headers.items():
        if name.lower() in _RESERVED:
            raise ValueError(f"header {name!r} is set by the message builder, not by custom headers")
        root[name] = value

    body = _body(msg.text, msg.html)
    if not msg.attachments:
        _adopt(root, body)
        return root
    mixed = _container("mixed")
    mixed.attach(body)
    for attachment in msg.attachments:
        mixed.attach(_attachment(attachment))
    _adopt(root, mixed)
    return root


def to_bytes(message: MimeMessage, *, utf8: bool = False) -> bytes:
    """The wire form (CRLF line ends); `utf8` for an SMTPUTF8 transaction (non-ASCII address)."""
    return message.as_bytes(policy=POLICY_UTF8 if utf8 else POLICY)


def unsubscribe_headers(https_url: str, mailto: str | None = None) -> dict[str, str]:
    """`List-Unsubscribe` with the web link (and a mailto when given) plus RFC 8058 one-click.

    `List-Unsubscribe-Post: List-Unsubscribe=One-Click` is only added for an https link: RFC 8058
    requires HTTPS for one-click, and mailbox providers ignore it otherwise.
    """
    if not https_url.startswith(("https://", "http://")):
        raise ValueError(f"unsubscribe link must be an http(s) URL, got {https_url!r}")
    if not https_url.isascii() or (mailto is not None and not mailto.isascii()):
        raise ValueError("unsubscribe links must be ASCII (percent-encode them)")
    items = [f"<{https_url}>"]
    if mailto:
        items.append(f"<{mailto if mailto.startswith('mailto:') else 'mailto:' + mailto}>")
    headers = {"List-Unsubscribe": ", ".join(items)}
    if https_url.startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def list_headers(
    list_id: str, domain: str, *, description: str | None = None, bulk: bool = True
) -> dict[str, str]:
    """`List-Id` (RFC 2919, `"description" <list_id.domain>`) and `Precedence: bulk` for mass mail."""
    label = re.sub(r"[^A-Za-z0-9-]+", "-", list_id).strip("-").lower() or "list"
    value = f"<{label}.{domain}>"
    if description:
        value = f'"{email.utils.quote(description)}" {value}' if description.isascii() else value
    headers = {"List-Id": value}
    if bulk:
        headers["Precedence"] = "bulk"
    return headers


def envelope_address(header_value: str) -> str:
    """The bare address of a `"Name" <addr>` header value, for the SMTP envelope."""
    address = email.utils.parseaddr(header_value)[1]
    if not address or "@" not in address:
        raise ValueError(f"not an email address: {header_value!r}")
    return address


def _message_id(given: str | None, domain: str) -> str:
    if given:
        return given if given.startswith("<") else f"<{given}>"
    return email.utils.make_msgid(domain=domain)


def _body(text: str, html: str | None) -> MIMEPart:
    plain = _text_part(text, "plain")
    if html is None:
        return plain
    alternative = _container("alternative")
    alternative.attach(plain)
    alternative.attach(_text_part(html, "html"))
    return alternative


def _container(subtype: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = f"multipart/{subtype}"
    return part


def _text_part(text: str, subtype: str) -> MIMEPart:
    data = text.replace("\r\n", "\n").encode("utf-8")
    cte, payload = _encode_text(data)
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = cte
    part.set_payload(payload)
    return part


def _encode_text(data: bytes) -> tuple[str, str]:
    # The C codecs in binascii, not email's pure-Python quoprimime: a 30 KB html body costs
    # microseconds instead of milliseconds. Quoted-printable writes a non-ASCII byte as three
    # characters, base64 every byte as 4/3: QP wins while under ~18 % of the bytes are non-ASCII.
    non_ascii = len(data.translate(None, _ASCII_BYTES))
    if non_ascii == 0 and max((len(line) for line in data.split(b"\n")), default=0) <= 998:
        return "7bit", data.decode("ascii")
    if non_ascii * 100 <= len(data) * 18:
        return "quoted-printable", binascii.b2a_qp(data, istext=True).decode("ascii")
    # base64 hides line ends from the transport, so write text in its canonical CRLF form (RFC 2045).
    return "base64", base64.encodebytes(data.replace(b"\n", b"\r\n")).decode("ascii")


def _attachment(attachment: Attachment) -> MIMEPart:
    maintype, _, subtype = attachment.content_type.partition("/")
    if not maintype or not subtype:
        raise ValueError(f"bad attachment content type {attachment.content_type!r}")
    part = MIMEPart(policy=POLICY)
    params: dict[str, str] = {"name": attachment.filename}
    if attachment.content_type == "text/calendar":
        # RFC 6047: the Content-Type method must match the METHOD inside the calendar.
        found = _METHOD.search(attachment.data)
        params = {
            "charset": "utf-8",
            "method": found.group(1).decode().upper() if found else "PUBLISH",
            **params,
        }
    part.add_header("Content-Type", attachment.content_type, **params)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(attachment.data).decode("ascii"))
    return part


def _adopt(root: MimeMessage, body: MIMEPart) -> None:
    """Move `body`'s content headers and payload onto the top-level message."""
    for name in ("Content-Type", "Content-Transfer-Encoding"):
        if name in body:
            root[name] = body[name]
    root.set_payload(body.get_payload())
