"""Telegram-sized, HTML-safe answers: escaping, masking personal data, splitting long replies.

A reply is built as a list of *blocks*: each block is balanced HTML (a line, or a `<pre>` section) and
is never split, so a cut can never break a tag. `pack` joins blocks into messages under Telegram's
4096-character limit and, past a number of messages, summarises the rest in one line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

TELEGRAM_LIMIT = 4096
PART_LIMIT = 3900  # what we pack into one message: room left for a "more" line
MAX_PARTS = 5  # longer answers are summarised rather than flooding the chat
_TAG = re.compile(r"<[^>]*>")


def esc(value: object) -> str:
    """Escape text for Telegram's HTML parse mode (quotes need no escaping there)."""
    return html.escape(str(value), quote=False)


def visible(block: str) -> str:
    """The text a user sees for an HTML block (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", block))


def shorten(block: str, limit: int) -> str:
    """A block cut to `limit` characters; a cut one loses its markup so no tag is left open."""
    if len(block) <= limit:
        return block
    text = visible(block)
    cut = text[: max(limit - 1, 0)]
    while len(esc(cut)) > limit - 1 and cut:
        cut = cut[:-1]
    return esc(cut) + "…"


def pack(
    blocks: Sequence[str],
    *,
    limit: int = PART_LIMIT,
    max_parts: int = MAX_PARTS,
    more: Callable[[int], str] | None = None,
) -> list[str]:
    """Join blocks with newlines into at most `max_parts` messages of at most `limit` characters.

    Blocks that do not fit are counted and summarised by `more(n)` at the end of the last message.
    """
    parts: list[str] = []
    current = ""
    left_out = 0
    for index, raw in enumerate(blocks):
        block = shorten(raw, limit)
        candidate = f"{current}\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if len(parts) + 1 >= max_parts:
            left_out = len(blocks) - index
            break
        parts.append(current)
        current = block
    if current or not parts:
        parts.append(current)
    if left_out:
        note = more(left_out) if more is not None else f"… +{left_out}"
        last = parts[-1]
        while last and len(last) + 1 + len(note) > limit:
            last = last.rsplit("\n", 1)[0] if "\n" in last else ""
        parts[-1] = f"{last}\n{note}" if last else note
    return [p for p in parts if p.strip()] or [""]


def mask_name(name: str | None) -> str:
    """ "Анна Сидорова" → "Ан***": enough to recognise a row, not enough to identify a person."""
    clean = " ".join((name or "").split())
    if not clean:
        return "—"
    keep = 2 if len(clean) > 2 else 1
    return clean[:keep] + "***"


def mask_email(email: str | None) -> str:
    """ "anna@example.org" → "a***@example.org"."""
    if not email or "@" not in email:
        return "—"
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else f"***@{domain}"


def caret_block(text: str, column: int, width: int = 60) -> str:
    """A `<pre>` block showing `text` with a caret under the 1-based `column` (long text is windowed)."""
    flat = "".join(" " if ch in "\t\r\n" else ch for ch in text)
    index = min(max(column - 1, 0), len(flat))
    start = max(0, min(index - width // 2, len(flat) - width)) if len(flat) > width else 0
    shown = flat[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(flat) else ""
    pointer = " " * (len(prefix) + index - start) + "^"
    return f"<pre>{esc(prefix + shown + suffix)}\n{pointer}</pre>"


def utc_text(value: datetime | str | None) -> str:
    """An instant as `2026-11-25 06:00 UTC` (ISO text accepted); a dash for none."""
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # our stored instants are UTC
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def first_sentence(error: BaseException | str) -> str:
    """The first line of an error message: our errors are one sentence, parsers' may run on."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
