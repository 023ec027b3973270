"""Tables that fit 80 columns: no outer edge, short fields never wrap, long text folds instead of `…`."""

from __future__ import annotations

from rich import box
from rich.table import Table


def compact_table(title: str) -> Table:
    # No outer edge: rich counts the edge's spaces in no width budget and crops the last column's
    # final character at exactly the console's width.
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)


def add_short(table: Table, heading: str, *, right: bool = False) -> None:
    """A column of ids, states, counts and times: never wrapped, never cut."""
    table.add_column(heading, justify="right" if right else "left", no_wrap=True)


def add_text(table: Table, heading: str, *, min_width: int = 12) -> None:
    """A column of free text (reasons, errors): wraps at words and folds a long word, never `…`."""
    table.add_column(heading, overflow="fold", min_width=min_width)
