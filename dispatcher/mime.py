"""Building the MIME message for one email: structure, encodings and the list headers.

Shape: `text/plain` alone, or `multipart/alternative` (text, html) when there is html, wrapped in
`multipart/mixed` when there are attachments (the webinar's ICS goes there as `text/calendar` with the
`method` parameter its body declares). Everything is 7-bit clean: bodies are 7bit, quoted-printable or
base64 (whichever is shortest), headers use RFC 2047 encoded words for Russian subjects and names, so any
relay and any DKIM signer take the message unchanged.

`render_email` writes the wire bytes directly: the stdlib's header registry and generator cost ~2.5 ms
a message, which alone would halve a campaign's send rate; this costs tens of microseconds.
`build_email` parses those same bytes into an `email.message.EmailMessage`, so the object a caller
inspects is exactly what goes on the wire.
"""

from __future__ import annotations

import binascii
import email.policy
import email.utils
import functools
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage as MimeMessage
from urllib.parse import quote

from dispatcher.channels.base import Attachment, EmailMessage

# Parsed messages keep the header lines exactly as rendered: the stock refolding would turn a URL
# longer than a line (List-Unsubscribe) into encoded words, which no client can use.
POLICY = email.policy.SMTP.clone(refold_source="none")
POLICY_UTF8 = POLICY.clone(utf8=True)

_RESERVED = frozenset({"from", "to", "subject", "date", "message-id", "mime-version", "content-type"})
_LIST_HEADERS = frozenset({"list-unsubscribe", "list-id", "list-help", "list-archive", "list-post"})
_LIST_ITEM_SEP = re.compile(r"(?<=>)\s*,\s*(?=<)")  # between "<...>" items, never inside a URL
_PRINTABLE = re.compile(r"[\t\x20-\x7e]*")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`{|}~-]+")
_METHOD = re.compile(rb"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# `addr` or `Plain Name <addr>` (no quotes, comments or groups): the everyday shapes, parsed fast.
_ADDR = r'[^\s"<>(),;:@\\\[\]]+@[^\s"<>(),;:@\\\[\]]+'
_NAMED_ADDRESS = re.compile(r'\s*([^"<>(),;:@\\\[\]]*?)\s*<(' + _ADDR + r")>\s*")
_BARE_ADDRESS = re.compile(r"\s*(" + _ADDR + r")\s*")
_ADDRESS = re.compile(_ADDR)
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_EW_BYTES = 39  # 39 UTF-8 bytes → 52 base64 chars → 64-char words: "Subject: " + one fits in 76 columns
_EW_NAME_BYTES = 45  # 60 base64 chars → 72-char words, within RFC 2047's 75
_LINE = 78


@dataclass(frozen=True)
class RenderedEmail:
    """The wire form of one email and the Message-ID written into it."""

    message_id: str
    data: bytes


def render_email(
    msg: EmailMessage, sender: str, *, domain: str, now: datetime | None = None, utf8: bool = False
) -> RenderedEmail:
    """The complete message for `msg` from `sender` ("Name <addr>") as CRLF bytes.

    `domain` is the right-hand side of a generated Message-ID; `now` the Date header (the caller's
    clock; the current time when omitted); `utf8` writes a non-ASCII address raw (SMTPUTF8).
    Raises ValueError for a header that cannot be written (a line break in a value, a custom header
    that would override a built-in one, a malformed address).
    """
    message_id = _message_id(msg.message_id, domain)
    lines = [
        _address_header("From", sender, utf8),
        _address_header("To", msg.to, utf8),
        _text_header("Subject", msg.subject),
        _date_line(math.floor((now or datetime.now(UTC)).timestamp())),
        "Message-ID: " + message_id,
        "MIME-Version: 1.0",
    ]
    for name, value in msg.headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED:
            raise ValueError(f"header {name!r} cannot be set as a custom header")
        lines.append(_text_header(name, value))
    body = _body(msg.text, msg.html)
    if msg.attachments:
        body = _multipart("mixed", [body, *(_attachment(a) for a in msg.attachments)])
    head = "\r\n".join(lines) + "\r\n"
    return RenderedEmail(message_id, head.encode("utf-8" if utf8 else "ascii") + body)


def build_email(msg: EmailMessage, sender: str, *, domain: str, now: datetime | None = None) -> MimeMessage:
    """The message as an `email.message.EmailMessage` (parsed from `render_email`'s bytes)."""
    rendered = render_email(msg, sender, domain=domain, now=now)
    parsed = email.message_from_bytes(rendered.data, policy=POLICY)
    assert isinstance(parsed, MimeMessage)  # an EmailPolicy always builds EmailMessage
    return parsed


def to_bytes(message: MimeMessage, *, utf8: bool = False) -> bytes:
    """The wire form (CRLF line ends) of a built message; `utf8` for an SMTPUTF8 transaction."""
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
    if description and description.isascii():
        value = f'"{email.utils.quote(description)}" {value}'
    headers = {"List-Id": value}
    if bulk:
        headers["Precedence"] = "bulk"
    return headers


def envelope_address(header_value: str) -> str:
    """The bare address of a `"Name" <addr>` header value, for the SMTP envelope."""
    address = _split_address(header_value)[1]
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"not an email address: {header_value!r}")
    return address


# headers -------------------------------------------------------------------------------------------


def _message_id(given: str | None, domain: str) -> str:
    if given:
        _check_line(given)
        return given if given.startswith("<") else f"<{given}>"
    return email.utils.make_msgid(domain=domain)


@functools.lru_cache(maxsize=4)  # a second's messages share it; the stdlib formats it for ~25 µs
def _date_line(second: int) -> str:
    return "Date: " + email.utils.format_datetime(datetime.fromtimestamp(second, UTC))


def _split_address(value: str) -> tuple[str, str]:
    """(display name, address): a regex for the everyday shapes, the stdlib parser for the rest."""
    named = _NAMED_ADDRESS.fullmatch(value)
    if named:
        return named.group(1), named.group(2)
    bare = _BARE_ADDRESS.fullmatch(value)
    if bare:
        return "", bare.group(1)
    return email.utils.parseaddr(value)


def _check_line(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header values may not contain line breaks: {value!r}")


@functools.lru_cache(maxsize=256)  # the From line is the same for every message of a channel
def _address_header(name: str, value: str, utf8: bool) -> str:
    _check_line(value)
    display, address = _split_address(value)
    if not _ADDRESS.fullmatch(address) or (not utf8 and not address.isascii()):
        raise ValueError(f"not an email address for {name}: {value!r}")
    if not display:
        return f"{name}: {address}"
    if _PRINTABLE.fullmatch(display) and "=?" not in display:
        phrase = (
            display if all(_ATOM.fullmatch(w) for w in display.split()) else f'"{email.utils.quote(display)}"'
        )
    else:
        # One word whenever it fits (45 bytes: most names): CPython's address parser, unlike RFC 2047
        # and mail clients, keeps the space between adjacent encoded words of a phrase.
        phrase = " ".join(_encoded_words(display, _EW_NAME_BYTES))
    return _fold(f"{name}: {phrase} <{address}>")


def _text_header(name: str, value: str) -> str:
    _check_line(value)
    if name.lower() in _LIST_HEADERS and value.isascii():
        # Fold only between the <...> items, so every URL stays whole on its own line.
        return f"{name}: " + ",\r\n ".join(_LIST_ITEM_SEP.split(value.strip()))
    if _PRINTABLE.fullmatch(value) and "=?" not in value:
        return _fold(f"{name}: {value}")
    return f"{name}: " + "\r\n ".join(_encoded_words(value))


def _encoded_words(text: str, limit: int = _EW_BYTES) -> list[str]:
    """RFC 2047 base64 words of ≤ `limit` bytes each, never splitting a UTF-8 sequence.

    Decoders drop the whitespace between adjacent encoded words, so a word may end anywhere."""
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte: back off
            end -= 1
        words.append(
            "=?utf-8?b?" + binascii.b2a_base64(data[start:end], newline=False).decode("ascii") + "?="
        )
        start = end
    return words or ["=?utf-8?b??="]


def _fold(line: str) -> str:
    """Fold a printable header line at spaces to ≤ 78 columns where it can (long tokens stay whole)."""
    if len(line) <= _LINE:
        return line
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > _LINE:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\r\n ".join(out)


# bodies --------------------------------------------------------------------------------------------


def _body(text: str, html: str | None) -> bytes:
    plain = _text_part(text, "plain")
    return plain if html is None else _multipart("alternative", [plain, _text_part(html, "html")])


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    # "=_" never occurs in base64 or quoted-printable output, and 7bit parts are checked below,
    # so a random "=_" boundary cannot collide with content.
    boundary = "=_ritm_" + secrets.token_hex(12)
    marker = b"\r\n--" + boundary.encode("ascii")
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")
    return head + b"".join(marker + b"\r\n" + p for p in parts) + marker + b"--\r\n"


def _text_part(text: str, subtype: str) -> bytes:
    # One line-end convention inside; a bare CR would be illegal on the wire in 7bit.
    cte, payload = _encode_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    return head.encode("ascii") + payload


def _encode_text(text: str) -> tuple[str, bytes]:
    # binascii's C codecs, not email's pure-Python quoprimime. Quoted-printable writes a non-ASCII
    # byte as three characters and base64 every byte as 4/3: QP is shorter under ~18 % non-ASCII.
    data = text.encode("utf-8")
    if (
        len(data) == len(text)
        and b"=_" not in data
        and max((len(line) for line in data.split(b"\n")), default=0) <= 998
    ):
        return "7bit", data.replace(b"\n", b"\r\n")
    # UTF-8 bytes beyond one per character, doubled: the non-ASCII bytes of Cyrillic text, exactly.
    non_ascii = 2 * (len(data) - len(text))
    if non_ascii * 100 <= len(data) * 18:
        return "quoted-printable", binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")
    # Base64 hides line ends from the transport, so encode the canonical CRLF form (RFC 2045).
    return "base64", _base64_lines(data.replace(b"\n", b"\r\n"))


def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character CRLF lines (one C call and slicing; `encodebytes` loops per 57 bytes)."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)]) + b"\r\n"


def _attachment(attachment: Attachment) -> bytes:
    maintype, _, subtype = attachment.content_type.partition("/")
    if not (_TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        raise ValueError(f"bad attachment content type {attachment.content_type!r}")
    params = ""
    if attachment.content_type == "text/calendar":
        # RFC 6047: the Content-Type method must match the METHOD inside the calendar.
        found = _METHOD.search(attachment.data)
        params = f'; charset="utf-8"; method={found.group(1).decode().upper() if found else "PUBLISH"}'
    filename = _param("filename", attachment.filename)
    head = (
        f"Content-Type: {attachment.content_type}{params};\r\n {_param('name', attachment.filename)}\r\n"
        f"Content-Disposition: attachment;\r\n {filename}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head.encode("ascii") + _base64_lines(attachment.data)


def _param(name: str, value: str) -> str:
    _check_line(value)
    if _PRINTABLE.fullmatch(value):
        return f'{name}="{email.utils.quote(value)}"'
    return f"{name}*=utf-8''{quote(value, safe='')}"  # RFC 2231
