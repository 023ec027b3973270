"""Signed tokens: round trips, and every kind of tampering is rejected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from policy.tokens import MAX_START_ID_BYTES, TAG_BYTES, fits_telegram_start, sign, verify

SECRET = b"s3cret-for-tests"
ALPHABET = string.ascii_letters + string.digits + "-_"
part_text = st.text(st.characters(blacklist_characters="\x1f", blacklist_categories=["Cs"]), max_size=40)


def test_round_trip_each_kind() -> None:
    cases: dict[str, tuple[str | int, ...]] = {
        "u": ("c-1024", "email"),
        "o": (987654,),
        "c": (987654, "program"),
        "e": ("digest-48", "c-1024"),
        "s": ("1024",),
    }
    for kind, parts in cases.items():
        token = sign(SECRET, kind, *parts)
        assert verify(SECRET, kind, token) == tuple(str(p) for p in parts)


def test_str_and_bytes_secret_are_the_same_key() -> None:
    assert verify("s3cret-for-tests", "o", sign(SECRET, "o", 5)) == ("5",)


def test_kind_is_bound_into_the_mac() -> None:
    unsubscribe = sign(SECRET, "u", "42", "email")
    assert verify(SECRET, "c", unsubscribe) is None
    assert verify(SECRET, "u", unsubscribe) == ("42", "email")


def test_wrong_secret_rejected() -> None:
    assert verify(b"another-secret", "o", sign(SECRET, "o", 1)) is None


def test_truncation_and_extension_rejected() -> None:
    token = sign(SECRET, "c", 17, "program")
    for cut in range(len(token)):
        assert verify(SECRET, "c", token[:cut]) is None
    assert verify(SECRET, "c", token + "A") is None
    assert verify(SECRET, "c", token + "\n") is None
    assert verify(SECRET, "c", " " + token) is None


def test_garbage_rejected_without_raising() -> None:
    for junk in ["", "=", "a", "%%%%", "AAAA", "A" * 200, "ключ", "abc=", "ab+/"]:
        assert verify(SECRET, "o", junk) is None


def test_tokens_already_handed_out_are_minted_and_verified_unchanged() -> None:
    # Minted by the first implementation (`hmac.new` per token): links in mailboxes must keep working.
    minted = [
        (SECRET, "c", (987654, "program"), None, "ADk4NzY1NB9wcm9ncmFtgYe75FqRezqxrVBtv6ajJg"),
        (
            "k" * 64,
            "u",
            ("c-1024", "email", "digest-48"),
            None,
            "AGMtMTAyNB9lbWFpbB9kaWdlc3QtNDjSIesQpwsAXWQCvFuMIgtm",
        ),
        ("ключ" * 40, "s", ("1024",), None, "ADEwMjQrDf5LHr98_s9qwxCu6L7r"),
        (
            SECRET,
            "w",
            ("nonce-1",),
            datetime(2026, 12, 1, tzinfo=UTC),
            "AW5vbmNlLTEfMTc5NjA4MzIwMJ69ULHH7Vzh59fAE3sdlOM",
        ),
    ]
    for secret, kind, parts, expires, token in minted:
        assert sign(secret, kind, *parts, expires_at=expires) == token
        now = datetime(2026, 11, 30, tzinfo=UTC)
        assert verify(secret, kind, token, now=now) == tuple(str(p) for p in parts)


@given(key=st.binary(min_size=1, max_size=200), parts=st.lists(part_text, min_size=1, max_size=3))
@example(key=b"k" * 64, parts=["1"])
@example(key=b"k" * 65, parts=["1"])
def test_the_tag_is_hmac_sha256_for_any_key_length(key: bytes, parts: list[str]) -> None:
    # The signer keeps precomputed SHA-256 states; short, block-sized and hashed-first keys all agree
    # with the standard library's HMAC over the same message.
    raw = base64.urlsafe_b64decode(sign(key, "c", *parts) + "==")
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    expected = hmac.new(key, b"ritm-token-v1\x00c\x00" + body, hashlib.sha256).digest()[:TAG_BYTES]
    assert tag == expected


def test_tag_is_at_least_128_bits() -> None:
    token = sign(SECRET, "o", 1)
    # 1 header byte + "1" + 16-byte tag = 18 bytes = 24 base64 characters.
    assert TAG_BYTES * 8 >= 128
    assert len(token) == 24


def test_start_token_for_typical_ids_fits_telegram() -> None:
    for contact_id in ["1", "123456789", "9223372036854775807", "gc-00012345678", "x" * MAX_START_ID_BYTES]:
        token = sign(SECRET, "s", contact_id)
        assert fits_telegram_start(token), (contact_id, len(token))
        assert verify(SECRET, "s", token) == (contact_id,)
    assert not fits_telegram_start(sign(SECRET, "s", "x" * (MAX_START_ID_BYTES + 1)))


def test_expiry_checked_against_now() -> None:
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    token = sign(SECRET, "u", "42", "email", expires_at=at + timedelta(days=30))
    assert verify(SECRET, "u", token, now=at) == ("42", "email")
    assert verify(SECRET, "u", token, now=at + timedelta(days=30)) is None
    assert verify(SECRET, "u", token, now=int((at + timedelta(days=31)).timestamp())) is None
    # Without a clock an expiring token cannot be judged, so it is refused.
    assert verify(SECRET, "u", token) is None


def test_expiry_flag_cannot_be_stripped() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with_exp = sign(SECRET, "o", 7, expires_at=at)
    without = sign(SECRET, "o", 7)
    assert with_exp != without
    assert verify(SECRET, "o", with_exp, now=at + timedelta(seconds=1)) is None


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign(b"", "o", 1)
    with pytest.raises(ValueError, match="kind"):
        sign(SECRET, "Open!", 1)
    with pytest.raises(ValueError, match="at least one part"):
        sign(SECRET, "o")
    with pytest.raises(ValueError, match="separator"):
        sign(SECRET, "c", 1, "a\x1fb")
    with pytest.raises(ValueError, match="aware"):
        sign(SECRET, "o", 1, expires_at=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@given(parts=st.lists(part_text, min_size=1, max_size=4), kind=st.sampled_from(["u", "o", "c", "e", "s"]))
def test_any_parts_round_trip(parts: list[str], kind: str) -> None:
    token = sign(SECRET, kind, *parts)
    assert all(ch in ALPHABET for ch in token)
    assert verify(SECRET, kind, token) == tuple(parts)


@given(
    parts=st.lists(part_text, min_size=1, max_size=3),
    data=st.data(),
)
def test_any_single_character_change_is_rejected(parts: list[str], data: st.DataObject) -> None:
    token = sign(SECRET, "c", *parts)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="index")
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != token[index]]), label="char")
    altered = token[:index] + replacement + token[index + 1 :]
    assert verify(SECRET, "c", altered) is None


@given(parts=st.lists(part_text, min_size=1, max_size=3), data=st.data())
def test_any_single_character_insertion_or_deletion_rejected(parts: list[str], data: st.DataObject) -> None:
    token = sign(SECRET, "u", *parts)
    index = data.draw(st.integers(min_value=0, max_value=len(token)), label="index")
    inserted = token[:index] + data.draw(st.sampled_from(ALPHABET), label="char") + token[index:]
    assert verify(SECRET, "u", inserted) is None
    if index < len(token):
        assert verify(SECRET, "u", token[:index] + token[index + 1 :]) is None
