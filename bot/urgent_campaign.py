"""The campaign file an urgent message becomes: service priority, Telegram then email, 24 hours to go.

The typed text is data, never template code: it is written into TOML as an escaped basic string, and
for Jinja every `{` becomes `{{ '{' }}`, so no `{{`, `{%` or `{#` of the user's survives — the renderer
gives back exactly the text typed (it renders subject and text as plain text; Telegram escapes it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from policy.timeutil import iso_utc

URGENT_DEADLINE = timedelta(hours=24)
SUBJECT_CHARS = 80
ID_PREFIX = "urgent"


def toml_string(value: str) -> str:
    """A TOML basic string holding `value` exactly (quotes, backslashes and control characters escaped)."""
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def jinja_literal(text: str) -> str:
    """Jinja source that renders to `text` (every `{` is emitted by an expression, so none opens a tag)."""
    return text.replace("{", "{{ '{' }}")


def subject_of(text: str) -> str:
    """The first non-empty line, whitespace collapsed, cut to a subject's length."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    clean = " ".join(line.split())
    return clean if len(clean) <= SUBJECT_CHARS else clean[: SUBJECT_CHARS - 1] + "…"


def urgent_id(now: datetime, taken: set[str]) -> str:
    """`urgent-YYYYMMDD-HHMM-<n>` (UTC), the first n not taken."""
    stem = f"{ID_PREFIX}-{now.astimezone(UTC):%Y%m%d-%H%M}"
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def urgent_toml(*, campaign_id: str, name: str, audience: str, text: str, now: datetime) -> str:
    """The service campaign's file: start now, deadline in 24 h, one inline version for everyone."""
    subject = subject_of(text)
    return "\n".join(
        [
            "# An urgent service message fired from the chat-ops bot.",
            f"id = {toml_string(campaign_id)}",
            f"name = {toml_string(name)}",
            'priority = "service"',
            'channels = ["telegram", "email"]',
            f"audience = {toml_string(audience)}",
            f"start = {toml_string(iso_utc(now) or '')}",
            f"deadline = {toml_string(iso_utc(now + URGENT_DEADLINE) or '')}",
            "",
            "[[versions]]",
            'segment = "all"',
            'name = "urgent"',
            f"subject = {toml_string(jinja_literal(subject))}",
            f"text = {toml_string(jinja_literal(text))}",
            "",
        ]
    )
