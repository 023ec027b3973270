"""Addresses as identities: the one key per channel that uniqueness and suppressions compare.

An email is compared without case the way SQLite's `lower()` folds it (ASCII letters), so the key
computed here and the unique index `contacts(lower(email))` always agree; its domain is already
IDNA-normalised by the import (email-validator). A phone is kept in E.164. A chat id (and a VK user id)
is its decimal text.
"""

from __future__ import annotations

import re

CHANNEL_ADDRESS = {"email": "email", "telegram": "telegram_chat_id", "sms": "phone", "vk": "vk_id"}
# The key of a contact's address per channel, over `contacts c`: what `suppressions.address` holds.
ADDRESS_KEY_SQL = {
    "email": "lower(c.email)",
    "telegram": "CAST(c.telegram_chat_id AS TEXT)",
    "sms": "c.phone",
    "vk": "CAST(c.vk_id AS TEXT)",
}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SEPARATORS = re.compile(r"[ ().\u00a0\t-]")
_DIGITS = re.compile(r"[0-9]+")
E164_DIGITS = range(8, 16)  # a country code and a subscriber number; E.164 allows at most 15


def email_key(email: str) -> str:
    """The email as the unique index compares it (SQLite's `lower()`: ASCII letters only)."""
    return email.lower() if email.isascii() else email.translate(_ASCII_LOWER)


class BadPhone(ValueError):
    """Not a phone number in a form we can read; the message is one sentence."""


def normalize_phone(text: str) -> str:
    """E.164 (`+79001234567`) from what people type: `+7 (900) 123-45-67`, `8 900 123 45 67`,
    `9001234567` (a Russian mobile without its code), `0049 30 1234567`.

    The same rules as migration 0010 applies to stored phones, so old and new rows compare alike.
    """
    raw = _SEPARATORS.sub("", text)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+"):
        digits = raw[1:]
    elif len(raw) == 11 and raw[0] in "78":
        digits = "7" + raw[1:]
    elif len(raw) == 10 and raw[0] == "9":
        digits = "7" + raw
    else:
        digits = ""
    if not (_DIGITS.fullmatch(digits) and len(digits) in E164_DIGITS and digits[0] != "0"):
        raise BadPhone(
            f"phone {text[:40]!r} is not a phone number: write it with its country code, +7 900 123-45-67"
        )
    return "+" + digits
