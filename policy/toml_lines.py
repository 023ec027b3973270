"""Where a key sits in a TOML text: the line of every table header, key and inline-table key.

`tomllib` returns values without positions, so an error would name the key but not the line. This is a
light scan of the text (tables, arrays of tables with their running index, dotted and quoted keys,
inline tables, multi-line strings skipped) good enough to point at the line of a key the parser has
already accepted; a location it does not know falls back to its nearest known parent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

Path = tuple[str, ...]
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_INLINE_KEY = re.compile(r"""[{,]\s*([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=""")


def _split(dotted: str) -> Path:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def key_lines(text: str) -> dict[Path, int]:
    """Each key path (array-of-tables entries indexed from 0, as pydantic counts) → its 1-based line."""
    lines: dict[Path, int] = {}
    arrays: Counter[Path] = Counter()
    table: Path = ()
    open_quote: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if open_quote is not None:  # inside a multi-line string: no keys here
            if line.count(open_quote) % 2 == 1:
                open_quote = None
            continue
        header = _HEADER.match(line)
        if header is not None:
            path = _split(header.group(2))
            if header.group(1) == "[[":
                index = arrays[path]
                arrays[path] += 1
                lines.setdefault(path, number)
                path = (*path, str(index))
            table = path
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key is None:
            continue
        path = (*table, *_split(key.group(1)))
        lines.setdefault(path, number)
        rest = line[key.end() :]
        for inner in _INLINE_KEY.findall(rest):
            lines.setdefault((*path, *_split(inner)), number)
        for quote in ('"""', "'''"):
            if rest.count(quote) % 2 == 1:
                open_quote = quote
                break
    return lines


def line_of(lines: dict[Path, int], loc: Sequence[str | int]) -> int | None:
    """The line of `loc`, else of its nearest parent that has one (None at the top level)."""
    path = tuple(str(part) for part in loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None
