"""Telegram's 4096 limit: `check` refuses a long message, `render` cuts it safely at send time."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.render import Renderer, TemplateProblem, sample_context
from dispatcher.render_telegram import (
    ELLIPSIS,
    MAX_LENGTH,
    markup_problem,
    telegram_length,
    trim_telegram,
    visible_text,
)
from tests.render_support import ctx, inline_campaign

ENTITY_OR_TAG = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|<[^<>]*>")


def test_length_counts_what_the_reader_sees_in_utf16_units() -> None:
    assert telegram_length('<b>a</b> <a href="https://x.example/?a=1&amp;b=2">&amp;</a>') == 3
    assert telegram_length("😀") == 2  # outside the BMP: two UTF-16 code units, as Telegram counts
    assert visible_text("<i>x &lt; y</i>") == "x < y"


def test_short_messages_are_untouched() -> None:
    text = "<b>Привет</b> &amp; пока"
    assert trim_telegram(text) == text


def test_trim_cuts_at_a_word_closes_tags_and_adds_an_ellipsis() -> None:
    long = "<b>" + "слово " * 1000 + "</b>"
    cut = trim_telegram(long)
    assert telegram_length(cut) <= MAX_LENGTH
    assert cut.endswith(ELLIPSIS + "</b>")
    assert cut.removesuffix(ELLIPSIS + "</b>").endswith("слово")  # no half word
    assert markup_problem(cut) is None


def test_trim_never_splits_an_entity_or_a_tag() -> None:
    entities = trim_telegram("&amp;" * 5000)
    assert telegram_length(entities) <= MAX_LENGTH
    assert entities.removesuffix(ELLIPSIS).replace("&amp;", "") == ""
    link = '<a href="https://x.example/?a=1&amp;b=2">' + "x" * 5000 + "</a>"
    cut = trim_telegram(link)
    assert cut.startswith('<a href="https://x.example/?a=1&amp;b=2">')
    assert cut.endswith(ELLIPSIS + "</a>") and markup_problem(cut) is None


def test_trim_counts_astral_characters_twice() -> None:
    cut = trim_telegram("😀" * 3000)
    assert telegram_length(cut) <= MAX_LENGTH
    assert telegram_length(cut) >= MAX_LENGTH - 2


def test_markup_problems_are_named() -> None:
    assert markup_problem("<b>ok</b> <i>ok</i> <a href='x'>ok</a>") is None
    assert markup_problem("<p>no</p>") is not None and "<p>" in (markup_problem("<p>no</p>") or "")
    assert "never closed" in (markup_problem("<b>open") or "")
    assert "does not match" in (markup_problem("<b>x</i>") or "")
    assert "&lt;" in (markup_problem("a < b") or "")


def test_check_refuses_over_4096_and_render_trims() -> None:
    c = inline_campaign(telegram="<b>{{ contact.first_name }}</b>\n{{ contact.fields.body }}")
    body = "Длинный абзац про сегменты & частоту. " * 200
    sample = ctx(fields={"body": body})
    r = Renderer()
    try:
        r.check(c, sample)
    except TemplateProblem as problem:
        assert problem.template == "inline:versions.all.telegram"
        assert "over Telegram's 4096" in problem.message
    else:
        raise AssertionError("check accepted a message over 4096 characters")
    sent = r.render(c, version="all", variant=None, channel="telegram", ctx=sample)
    assert sent.telegram is not None
    assert telegram_length(sent.telegram) <= MAX_LENGTH
    assert sent.telegram.startswith("<b>Анна</b>\nДлинный абзац")
    assert sent.telegram.endswith(ELLIPSIS) and markup_problem(sent.telegram) is None
    assert sent.text == visible_text(sent.telegram)
    short = ctx(fields={"body": "коротко"})
    r.check(c, short)
    assert (
        r.render(c, version="all", variant=None, channel="telegram", ctx=short).telegram
        == "<b>Анна</b>\nкоротко"
    )
    r.check(inline_campaign(), sample_context("Europe/Moscow"))


_words = st.text(alphabet=st.sampled_from("абв xyz😀\n"), min_size=0, max_size=40)
_pieces = st.recursive(
    st.one_of(_words, st.sampled_from(["&amp;", "&lt;", "&#128512;", "&quot;"])),
    lambda inner: st.tuples(st.sampled_from(["b", "i", "code", "a"]), st.lists(inner, max_size=4)).map(
        lambda t: (
            (f'<{t[0]} href="https://x.example/?q=1&amp;r=2">' if t[0] == "a" else f"<{t[0]}>")
            + "".join(t[1])
            + f"</{t[0]}>"
        )
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_pieces, min_size=1, max_size=12), limit=st.integers(min_value=5, max_value=120))
def test_trim_property_prefix_balanced_within_limit(parts: list[str], limit: int) -> None:
    markup = "".join(parts)
    cut = trim_telegram(markup, limit)
    assert telegram_length(cut) <= limit
    assert markup_problem(cut) is None
    if telegram_length(markup) <= limit:
        assert cut == markup
    else:
        shown = visible_text(cut)
        assert shown.endswith(ELLIPSIS)
        assert visible_text(markup).startswith(shown.removesuffix(ELLIPSIS).rstrip())
        # Every entity or tag in the result is whole: stripping them leaves no '&…;' or '<…>' fragments.
        assert "<" not in ENTITY_OR_TAG.sub("", cut)
