"""Long answers fit Telegram: packing blocks under the limit, never cutting a tag; masking; the caret."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.format import TELEGRAM_LIMIT, caret_block, esc, mask_email, mask_name, pack, shorten, visible


def test_short_answers_stay_one_message() -> None:
    assert pack(["a", "<b>b</b>", "c"]) == ["a\n<b>b</b>\nc"]


def test_long_answers_split_at_block_boundaries() -> None:
    blocks = [f"<b>line {i}</b> " + "x" * 90 for i in range(100)]
    parts = pack(blocks, limit=1000, max_parts=50)
    assert len(parts) > 5 and all(len(p) <= 1000 for p in parts)
    assert [b for p in parts for b in p.split("\n")] == blocks  # nothing lost, nothing cut


def test_too_long_answers_are_summarised() -> None:
    blocks = ["y" * 100 for _ in range(500)]
    parts = pack(blocks, limit=1000, max_parts=3, more=lambda n: f"… and {n} more lines")
    assert len(parts) == 3 and all(len(p) <= 1000 for p in parts)
    shown = sum(p.count("y" * 100) for p in parts)
    assert parts[-1].endswith(f"… and {500 - shown} more lines")


def test_a_huge_block_is_shortened_without_leaving_a_tag_open() -> None:
    block = "<b>" + "&lt;" * 3000 + "</b>"
    cut = shorten(block, 100)
    assert len(cut) <= 100 and "<b>" not in cut and cut.endswith("…")
    assert visible(cut).rstrip("…") == "<" * len(visible(cut).rstrip("…"))


@given(st.lists(st.text(st.characters(blacklist_characters="\n<>&"), max_size=300), max_size=60))
def test_pack_property_every_part_fits_and_order_is_kept(texts: list[str]) -> None:
    blocks = [f"<i>{esc(t)}</i>" for t in texts]
    parts = pack(blocks, limit=500, max_parts=1000)
    assert all(len(p) <= 500 for p in parts)
    assert all(len(p) <= TELEGRAM_LIMIT for p in pack(blocks))
    joined = [b for p in parts for b in p.split("\n") if p]
    assert joined == blocks or not blocks


@pytest.mark.parametrize(
    ("name", "masked"),
    [("Анна Сидорова", "Ан***"), ("Ян", "Я***"), ("  ", "—"), (None, "—"), ("Ахмед <b>Bold</b>", "Ах***")],
)
def test_mask_name(name: str | None, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [("anna@example.org", "a***@example.org"), ("not-an-email", "—"), (None, "—"), ("@x.org", "***@x.org")],
)
def test_mask_email(email: str | None, masked: str) -> None:
    assert mask_email(email) == masked


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=300), st.data())
def test_caret_points_at_the_column(text: str, data: st.DataObject) -> None:
    column = data.draw(st.integers(1, len(text) + 1))
    block = caret_block(text, column)
    shown, pointer = visible(block).split("\n")
    index = pointer.index("^")
    flat = "".join(" " if ch in "\t\r\n" else ch for ch in text)
    if column <= len(text):
        start = index - (1 if shown.startswith("…") else 0)
        assert shown[index] == flat[column - 1]
        assert start >= 0
    assert len(shown) <= 62
