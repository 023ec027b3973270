"""Signed, compact, URL-safe tokens for links we hand out (unsubscribe, open, click, ICS, /start).

A token is `base64url(header ‖ payload ‖ tag)` without padding: one header byte (bit 0 = carries an
expiry), the parts as UTF-8 joined by the ASCII unit separator, and the first 16 bytes (128 bits) of
HMAC-SHA256 over a domain label, the token *kind* and the bytes before the tag. The kind is never
written into the token, only into the MAC, so a token minted for one purpose verifies for no other.

Kinds in use: "u" unsubscribe (contact_id, channel), "o" open (outbox id), "c" click (outbox id, link
name), "e" ICS (campaign id, contact id), "s" Telegram deep-link start (contact id), "w" dashboard
sign-in (a one-time nonce, with an expiry). A Telegram
`/start` payload is limited to 64 characters of `[A-Za-z0-9_-]`: a start token fits for contact ids of
up to `MAX_START_ID_BYTES` UTF-8 bytes (see `fits_telegram_start`).

Pure: no clock reads — expiry is checked against the `now` the caller passes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

TAG_BYTES = 16  # 128-bit tag: forging needs ~2**128 tries, and keeps a start token under 64 chars
TELEGRAM_START_MAX = 64
MAX_START_ID_BYTES = (TELEGRAM_START_MAX * 6 // 8) - 1 - TAG_BYTES  # 31: base64 of 48 bytes is 64 chars

_SEP = b"\x1f"
_HAS_EXP = 0x01
_KNOWN_FLAGS = _HAS_EXP
_DOMAIN = b"ritm-token-v1\x00"
_KIND = re.compile(r"[a-z][a-z0-9_]{0,15}")
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def sign(
    secret: bytes | str,
    kind: str,
    *parts: str | int,
    expires_at: int | datetime | None = None,
) -> str:
    """A token carrying `parts` for purpose `kind`; with `expires_at` it stops verifying after then.

    Parts are given back by `verify` as strings (an int `7` comes back as `"7"`). A part may not contain
    the unit separator U+001F; at least one part is required.
    """
    key = _key(secret)
    if not parts:
        raise ValueError("a token needs at least one part")
    texts = [str(p) for p in parts]
    if expires_at is not None:
        texts.append(str(_epoch(expires_at)))
    joined = "\x1f".join(texts)
    if joined.count("\x1f") != len(texts) - 1:
        raise ValueError("token parts may not contain the unit separator U+001F")
    body = (_EXP_HEADER if expires_at is not None else _PLAIN_HEADER) + joined.encode("utf-8")
    return _b64encode(body + key.tag(kind, body))


def verify(
    secret: bytes | str,
    kind: str,
    token: str,
    *,
    now: int | datetime | None = None,
) -> tuple[str, ...] | None:
    """The parts of a valid `kind` token signed with `secret`, else None.

    None for any alteration, truncation, non-canonical encoding, wrong kind, wrong secret, and for an
    expired token. A token that carries an expiry is only accepted when `now` is given (fail closed).
    """
    key = _key(secret)
    key.check_kind(kind)
    raw = _b64decode(token)
    if raw is None or len(raw) < 1 + TAG_BYTES:
        return None
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(tag, key.tag(kind, body)):
        return None
    flags = body[0]
    if flags & ~_KNOWN_FLAGS:
        return None
    try:
        texts = tuple(p.decode("utf-8") for p in body[1:].split(_SEP))
    except UnicodeDecodeError:
        return None
    if flags & _HAS_EXP:
        if now is None or len(texts) < 2 or not texts[-1].isdigit():
            return None
        if _epoch(now) >= int(texts[-1]):
            return None
        texts = texts[:-1]
    return texts


def fits_telegram_start(token: str) -> bool:
    """Whether `token` can be a Telegram `/start` deep-link payload (≤ 64 chars of [A-Za-z0-9_-])."""
    return len(token) <= TELEGRAM_START_MAX and bool(_ALPHABET.fullmatch(token))


class _Key:
    """A secret ready to tag with: HMAC-SHA256 (RFC 2104) from SHA-256 states in which the padded key,
    and then the domain label and a kind, are already hashed. Each token only copies two states and
    hashes its own bytes, where `hmac.new` would derive the padded keys again (most of a token's cost
    on the send path, which mints several a message)."""

    __slots__ = ("_inner", "_kinds", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))
        self._kinds: dict[str, Any] = {}  # kind → the inner state after the domain label and the kind

    def check_kind(self, kind: str) -> None:
        self._inner_of(kind)

    def tag(self, kind: str, body: bytes) -> bytes:
        inner = self._inner_of(kind).copy()
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]

    def _inner_of(self, kind: str) -> Any:
        try:
            return self._kinds[kind]
        except KeyError:
            if not isinstance(kind, str) or not _KIND.fullmatch(kind):
                raise ValueError(
                    f"bad token kind {kind!r}: expected a short lowercase name such as 'u'"
                ) from None
            state = self._inner.copy()
            state.update(_DOMAIN + kind.encode("ascii") + b"\x00")
            self._kinds[kind] = state  # kinds are a handful of literals: no bound needed
            return state


_BLOCK = 64  # SHA-256's block size: the HMAC key is padded (or first hashed) to it
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
_PLAIN_HEADER = bytes([0])
_EXP_HEADER = bytes([_HAS_EXP])


@functools.lru_cache(maxsize=16)  # the current secret and the previous ones, across rotations
def _key(secret: bytes | str) -> _Key:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the token secret is empty")
    return _Key(key)


def _epoch(value: int | datetime) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("token expiry needs an aware datetime")
        return int(value.timestamp())
    return int(value)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(token: str) -> bytes | None:
    # The stdlib decoder skips characters outside the alphabet and ignores the spare low bits of the
    # last character, so several strings decode alike; accept only the one canonical spelling.
    if not isinstance(token, str) or not _ALPHABET.fullmatch(token) or len(token) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == token else None
