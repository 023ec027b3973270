"""Telegram's HTML parse mode as the Bot API applies it: plain text plus entities, or the exact 400.

The stand-in must reject what Telegram rejects (an unescaped `<` in user data is the classic bug), so
this follows the server's rules: a closed set of tags, properly nested; `&lt; &gt; &amp; &quot;` and
numeric references decode, any other `&` stays literal; entity offsets count UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# tag -> entity type; `span` is a spoiler only with class="tg-spoiler" (checked below).
_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#[xX]([0-9a-fA-F]{1,8})|#([0-9]{1,8})|([a-zA-Z]+));?")
_SPACE = " \t\n\r\f"


class EntityParseError(ValueError):
    """Telegram's reason after "Bad Request: can't parse entities: "."""


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the plain text
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    text: str
    entities: list[dict[str, Any]]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, i: int) -> tuple[str, int] | None:
    """The character a reference at `i` stands for and where it ends, or None when `&` is literal."""
    match = _ENTITY.match(source, i)
    if match is None:
        return None
    hex_digits, dec_digits, name = match.groups()
    if name is not None:
        char = _NAMED.get(name)
        return (char, match.end()) if char is not None else None
    code = int(hex_digits, 16) if hex_digits is not None else int(dec_digits)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def error(self, message: str, index: int | None = None) -> EntityParseError:
        if index is not None:
            message = f"{message} at byte offset {_byte_offset(self.src, index)}"
        return EntityParseError(message)

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.utf16 += utf16_len(text)

    def run(self) -> Parsed:
        src, i = self.src, 0
        while i < len(src):
            ch = src[i]
            if ch == "&" and (decoded := _decode_entity(src, i)) is not None:
                self.emit(decoded[0])
                i = decoded[1]
            elif ch == "<":
                i = self.end_tag(i) if src.startswith("</", i) else self.start_tag(i)
            else:
                self.emit(ch)
                i += 1
        if self.stack:
            raise self.error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return Parsed("".join(self.out), self.entities)

    def start_tag(self, begin: int) -> int:
        src, i = self.src, begin + 1
        while i < len(src) and src[i] not in _SPACE and src[i] != ">":
            i += 1
        if i >= len(src):
            raise self.error("Unclosed start tag", begin)
        tag = src[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise self.error(f'Unsupported start tag "{tag}"', begin)
        attrs, i = self.attributes(tag, begin, i)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_Open(tag, self.utf16, attrs))
        return i + 1

    def attributes(self, tag: str, begin: int, i: int) -> tuple[dict[str, str], int]:
        src, attrs = self.src, dict[str, str]()
        while True:
            while i < len(src) and src[i] in _SPACE:
                i += 1
            if i >= len(src):
                raise self.error("Unclosed start tag", begin)
            if src[i] == ">":
                return attrs, i
            name_start = i
            while i < len(src) and src[i] not in _SPACE and src[i] not in "=>":
                i += 1
            name = src[name_start:i].lower()
            while i < len(src) and src[i] in _SPACE:
                i += 1
            if i >= len(src) or src[i] != "=":
                if tag == "blockquote" and name == "expandable":  # the one valueless attribute
                    attrs[name] = ""
                    continue
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            i += 1
            while i < len(src) and src[i] in _SPACE:
                i += 1
            if i >= len(src):
                raise self.error("Unclosed start tag", begin)
            value, i = self.attribute_value(begin, i)
            attrs[name] = value

    def attribute_value(self, begin: int, i: int) -> tuple[str, int]:
        src = self.src
        if src[i] not in "'\"":
            start = i
            while i < len(src) and (src[i].isalnum() or src[i] in ".-"):
                i += 1
            if i < len(src) and src[i] not in _SPACE and src[i] != ">":
                raise self.error("Unexpected end of name token", start)
            return src[start:i].lower(), i
        quote, i, chars = src[i], i + 1, []
        while i < len(src) and src[i] != quote:
            if src[i] == "&" and (decoded := _decode_entity(src, i)) is not None:
                chars.append(decoded[0])
                i = decoded[1]
            else:
                chars.append(src[i])
                i += 1
        if i >= len(src):
            raise self.error("Unclosed start tag", begin)
        return "".join(chars), i + 1

    def end_tag(self, begin: int) -> int:
        src, i = self.src, begin + 2
        while i < len(src) and src[i] not in _SPACE and src[i] != ">":
            i += 1
        name = src[begin + 2 : i].lower()
        while i < len(src) and src[i] in _SPACE:
            i += 1
        if i >= len(src) or src[i] != ">":
            raise self.error("Unclosed end tag", begin)
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        opened = self.stack.pop()
        if name and name != opened.tag:
            where = _byte_offset(src, begin)
            raise self.error(
                f'Unmatched end tag at byte offset {where}, expected "</{opened.tag}>", found "</{name}>"'
            )
        self.close(opened)
        return i + 1

    def close(self, opened: _Open) -> None:
        length = self.utf16 - opened.start
        if length == 0:
            return  # Telegram drops empty entities silently
        kind = _TAGS[opened.tag]
        entity: dict[str, Any] = {"type": kind, "offset": opened.start, "length": length}
        if kind == "text_link":
            url = opened.attrs.get("href", "")
            if not url:
                return  # Telegram silently drops a link without a usable href
            entity["url"] = url
        elif kind == "code" and self.stack and self.stack[-1].tag == "pre":
            language = opened.attrs.get("class", "")
            if language.startswith("language-"):
                self.stack[-1].attrs["language"] = language.removeprefix("language-")
                return  # <pre><code class="language-x"> is one pre entity with a language
        elif kind == "pre" and opened.attrs.get("language"):
            entity["language"] = opened.attrs["language"]
        elif kind == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = opened.attrs.get("emoji-id", "")
        self.entities.append(entity)


def parse_html(source: str) -> Parsed:
    """Parse `source` the way Telegram does with parse_mode=HTML; raise EntityParseError when it would."""
    return _Parser(source).run()
