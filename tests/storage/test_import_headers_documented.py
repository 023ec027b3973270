"""The README's import section lists every header the column map knows and every order status spelling,
so a school can check its export against the documentation instead of the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.column_map import ALIASES, normalize_header
from storage.import_rows import ORDER_STATUSES

README = Path(__file__).resolve().parents[2] / "README.md"


def _import_section() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("**CSV import.**") : text.index("**Lifecycle.**")]
    quoted = re.findall(r"«([^»]+)»", " ".join(section.split()))
    return {normalize_header(q) for q in quoted}


@pytest.mark.parametrize("kind", sorted(ALIASES))
def test_every_header_of_the_column_map_is_in_the_readme(kind: str) -> None:
    documented = _import_section()
    missing = [
        a for aliases in ALIASES[kind].values() for a in aliases if normalize_header(a) not in documented
    ]  # type: ignore[index]
    assert not missing, f"README's import section lacks these {kind} headers: {missing}"


def test_every_order_status_spelling_is_in_the_readme() -> None:
    documented = _import_section()
    missing = [s for s in ORDER_STATUSES if normalize_header(s) not in documented]
    assert not missing, f"README's import section lacks these order statuses: {missing}"
