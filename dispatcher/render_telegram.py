"""Telegram HTML: which tags it accepts, how long a message really is, and how to cut one safely.

Telegram measures the 4096-character limit after parsing entities, so tags do not count and `&amp;`
counts as one character; it counts UTF-16 code units, so an emoji can count twice. We count the same
way. A message over the limit is cut between tokens — never inside a tag or an entity —, preferably at
a space or line break, then gets «…» and the closing tags of whatever was still open.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_LENGTH = 4096
ELLIPSIS = "…"
# Telegram HTML accepts these and nothing else (no <p>, no <br>: line breaks are newlines).
ALLOWED_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "tg-emoji",
        "span",
    ]
)
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
# Prefer a cut at a space or line break this close to the limit over a cut inside a word.
WORD_BOUNDARY_WINDOW = 200


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    kind: str  # "open", "close", "entity", "text"
    name: str = ""  # tag name, or the text of a text run


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() > pos:
            out.append(_Token(pos, match.start(), "text", text[pos : match.start()]))
        if match.group(2):
            kind = "close" if match.group(1) else "open"
            out.append(_Token(match.start(), match.end(), kind, match.group(2).lower()))
        else:
            out.append(_Token(match.start(), match.end(), "entity", html.unescape(match.group())))
        pos = match.end()
    if pos < len(text):
        out.append(_Token(pos, len(text), "text", text[pos:]))
    return out


def _units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(markup: str) -> str:
    """The text a reader sees: tags dropped, entities decoded."""
    return "".join(t.name for t in _tokens(markup) if t.kind in ("text", "entity"))


def telegram_length(markup: str) -> int:
    return _units(visible_text(markup))


def markup_problem(markup: str) -> str | None:
    """A sentence about the first tag Telegram would reject (unknown or unbalanced), or None."""
    stack: list[str] = []
    for token in _tokens(markup):
        if token.kind == "open":
            if token.name not in ALLOWED_TAGS:
                return f"tag <{token.name}> is not allowed in Telegram HTML (use b, i, u, s, a, code, pre)"
            stack.append(token.name)
        elif token.kind == "close":
            if not stack or stack[-1] != token.name:
                return f"closing tag </{token.name}> does not match an open tag"
            stack.pop()
        elif token.kind == "text" and "<" in token.name:
            return "a bare '<' in Telegram HTML must be written as &lt;"
    if stack:
        return f"tag <{stack[-1]}> is never closed"
    return None


def trim_telegram(markup: str, limit: int = MAX_LENGTH) -> str:
    """`markup` cut to at most `limit` visible characters with «…», tags balanced; unchanged if it fits."""
    if telegram_length(markup) <= limit:
        return markup
    budget = limit - _units(ELLIPSIS)
    used = 0
    open_tags: tuple[str, ...] = ()  # immutable, so remembering it at a cut point costs nothing
    cut, cut_tags = 0, open_tags
    soft: tuple[int, tuple[str, ...], int] | None = None  # the last space or newline: (pos, tags, used)
    for token in _tokens(markup):
        if token.kind == "open":
            open_tags += (token.name,)
            continue  # an opening tag is cut away with the text after it when nothing of it fits
        if token.kind == "close":
            open_tags = open_tags[:-1]
            cut, cut_tags = token.end, open_tags
            continue
        chars = [token.name] if token.kind == "entity" else token.name
        pos = token.start
        for char in chars:
            width = _units(char) if len(char) > 1 or ord(char) > 0xFFFF else 1
            if used + width > budget:
                if soft is not None and used - soft[2] <= WORD_BOUNDARY_WINDOW:
                    cut, cut_tags = soft[0], soft[1]
                closing = "".join(f"</{name}>" for name in reversed(cut_tags))
                return markup[:cut].rstrip() + ELLIPSIS + closing
            if token.kind == "text" and char.isspace():
                soft = (pos, open_tags, used)
            used += width
            pos = token.end if token.kind == "entity" else pos + 1
            cut, cut_tags = pos, open_tags
    return markup
