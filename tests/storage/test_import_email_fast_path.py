"""The import's fast email path gives exactly email-validator's answer (normalized form or rejection)."""

from __future__ import annotations

import string

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.import_rows import BadRow, normalize_email

LOCAL_CHARS = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-.\"() ,"
DOMAINS = st.sampled_from(
    ["example.org", "EXAMPLE.com", "mail.example.net", "localhost", "xn--e1afmkfd.xn--p1ai", "пример.рф",
     "a", "-bad.org", "test", "example..org", "x" * 64 + ".org"]
)  # fmt: skip


def reference(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def ours(text: str) -> str | None:
    try:
        return normalize_email(text)
    except BadRow:
        return None


@settings(max_examples=400, deadline=None)
@given(local=st.text(alphabet=LOCAL_CHARS + "ёЖ", min_size=0, max_size=70), domain=DOMAINS)
def test_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    assert ours(text) == reference(text)


@pytest.mark.parametrize("text", ["a@b@example.org", "plain", "@example.org", "a@", "a..b@example.org"])
def test_obvious_rejections(text: str) -> None:
    assert ours(text) is None
    assert reference(text) is None
