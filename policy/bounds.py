"""Values no policy or campaign file means: checked on the parsed TOML before the schema sees it.

Integers beyond 64 bits cannot be stored in SQLite, years outside 1900–2200 overflow date arithmetic
downstream, NaN and infinities break every comparison, and tables nested deeper than any real file
would exhaust the stack. Each is reported as a key error (SPEC §12.3), naming the key.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from policy.timeutil import year_problem

MAX_INT = 2**63 - 1
MAX_NESTING = 16  # tables and arrays inside each other; real files use three or four


def out_of_range(data: Any) -> tuple[str, str] | None:
    """(dotted key, why) of the first value outside what a file may say, or None."""
    return _walk(data, (), 0)


def _walk(value: Any, path: tuple[str, ...], depth: int) -> tuple[str, str] | None:
    key = ".".join(path) or "(top level)"
    if isinstance(value, dict | list):
        if depth >= MAX_NESTING:
            return key, f"nested more than {MAX_NESTING} levels deep"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for name, item in items:
            found = _walk(item, (*path, str(name)), depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        return key, "the number is out of range (at most 64-bit integers)"
    if isinstance(value, float) and not math.isfinite(value):
        return key, f"expected a finite number, got {value}"
    if isinstance(value, date):  # datetime is a date too
        problem = year_problem(value.year)
        if problem is not None:
            return key, problem
    return None
