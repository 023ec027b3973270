"""What the email adapter adds around a rendered message when configured: a VERP return path and DKIM.

- VERP (`RITM_SMTP__RETURN_PATH = bounces@school.example`): each message's envelope sender becomes
  `bounces+<outbox id>@school.example`, so a DSN, which goes to the envelope sender, names the outbox
  row even when the bouncing server quotes nothing of the original.
- DKIM (`RITM_SMTP__DKIM_KEY` and `RITM_SMTP__DKIM_SELECTOR`, dkimpy): a `DKIM-Signature` header
  over the From's domain (relaxed/simple, rsa-sha256 or ed25519-sha256 by the key).

Without either, the adapter does not build an `Envelope` at all: the hot path stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dispatcher.channels.base import EmailMessage

OUTBOX_HEADER = "X-Ritm-Outbox"  # set by dispatcher.delivery on every email
# Headers a DKIM signature covers: what a reader sees and what a replay would want to change.
SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-unsubscribe", b"list-unsubscribe-post", b"list-id",
)  # fmt: skip
_ADDRESS = re.compile(r"[^@+\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_ROW_MESSAGE_ID = re.compile(r"^<(\d{1,18})\.[^<>@\s]+@[^<>@\s]+>$")
_VERP = re.compile(r"^(?P<local>[^@+]+)\+(?P<id>\d{1,18})@(?P<domain>[^@]+)$")


class EnvelopeError(ValueError):
    """A VERP or DKIM setting cannot be used; one sentence naming the variable."""


def outbox_message_id(outbox_id: int, campaign_id: str, domain: str) -> str:
    """The Message-ID of an outbox row's email: it carries the row id, so a report quoting it names
    the row without an index on `outbox.message_id` (one more write per message sent)."""
    return f"<{outbox_id}.{campaign_id}@{domain}>"


def outbox_id_in(message_id: str) -> int | None:
    """The row id an `outbox_message_id` carries (the caller compares the whole id with the row's)."""
    found = _ROW_MESSAGE_ID.match(message_id.strip())
    return int(found[1]) if found else None


def verp_address(return_path: str, outbox_id: int) -> str:
    """`bounces@d` and row 42 → `bounces+42@d`."""
    local, _, domain = return_path.rpartition("@")
    return f"{local}+{outbox_id}@{domain}"


def verp_outbox_id(return_path: str, address: str) -> int | None:
    """The outbox row a VERP address names, when it is one of `return_path`'s."""
    found = _VERP.match(address.strip().strip("<>"))
    if found is None:
        return None
    local, _, domain = return_path.rpartition("@")
    if found["local"].lower() != local.lower() or found["domain"].lower() != domain.lower():
        return None
    return int(found["id"])


@dataclass(frozen=True)
class DkimKey:
    selector: bytes
    domain: bytes
    private_key: bytes


def load_dkim_key(key: str, selector: str, domain: str) -> DkimKey:
    """`key` is a PEM private key or the path of a file holding one; raises EnvelopeError."""
    text = key.strip()
    if not text.startswith("-----BEGIN"):
        path = Path(text).expanduser()
        try:
            text = path.read_text("ascii").strip()
        except (OSError, UnicodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise EnvelopeError(f"RITM_SMTP__DKIM_KEY: cannot read the key file {path} ({why})") from None
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,63}", selector):
        raise EnvelopeError(f"RITM_SMTP__DKIM_SELECTOR: {selector!r} is not a DNS label")
    import dkim  # here, not at the top: it pulls in a DNS resolver (~0.1 s) that only signing needs

    loaded = DkimKey(selector.encode(), domain.encode("idna"), text.encode("ascii"))
    try:  # sign a tiny message once, so a bad key stops the start, not every send
        dkim.sign(
            b"From: a@" + loaded.domain + b"\r\n\r\n", loaded.selector, loaded.domain, loaded.private_key
        )
    except (dkim.DKIMException, ValueError, IndexError, TypeError) as exc:
        raise EnvelopeError(f"RITM_SMTP__DKIM_KEY: not a usable RSA or Ed25519 private key ({exc})") from None
    return loaded


class Envelope:
    """The envelope sender and the signed bytes of one message."""

    def __init__(self, default_sender: str, *, return_path: str | None, dkim_key: DkimKey | None) -> None:
        self.default_sender = default_sender
        self.return_path = return_path
        self.dkim_key = dkim_key

    def sender(self, message: EmailMessage) -> str:
        outbox = message.headers.get(OUTBOX_HEADER, "")
        if self.return_path is None or not outbox.isdigit():
            return self.default_sender
        return verp_address(self.return_path, int(outbox))

    def sign(self, data: bytes) -> bytes:
        """`data` with a DKIM-Signature header in front (unchanged without a key); ValueError when
        the message cannot be signed."""
        key = self.dkim_key
        if key is None:
            return data
        import dkim  # loaded already by load_dkim_key, which made the key

        try:
            signature = dkim.sign(
                data,
                key.selector,
                key.domain,
                key.private_key,
                canonicalize=(b"relaxed", b"simple"),
                include_headers=list(SIGNED_HEADERS),
            )
        except dkim.DKIMException as exc:
            raise ValueError(f"DKIM signing failed: {exc}") from None
        return signature + data


def build_envelope(
    sender: str, *, return_path: str | None, dkim_key: str | None, dkim_selector: str | None
) -> Envelope | None:
    """The envelope the settings ask for, or None when they ask for neither VERP nor DKIM."""
    if bool(dkim_key) != bool(dkim_selector):
        raise EnvelopeError("RITM_SMTP__DKIM_KEY and RITM_SMTP__DKIM_SELECTOR are set together or not at all")
    if return_path is None and not dkim_key:
        return None
    if return_path is not None and not _ADDRESS.fullmatch(return_path):
        raise EnvelopeError(
            f"RITM_SMTP__RETURN_PATH: {return_path!r} is not an address such as bounces@school.example"
        )
    domain = sender.rpartition("@")[2]
    key = load_dkim_key(dkim_key, dkim_selector, domain) if dkim_key and dkim_selector else None
    return Envelope(sender, return_path=return_path, dkim_key=key)
