"""The stand-in's HTML parse mode follows Telegram's rules, and our escape_html always survives it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.channels.telegram import escape_html
from ritm.sandbox.telegram_html import EntityParseError, parse_html


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("plain", "plain", []),
        ("<b>a</b><i>b</i>", "ab", [("bold", 0, 1), ("italic", 1, 1)]),
        ("<b>x <i>y</i></b>", "x y", [("bold", 0, 3), ("italic", 2, 1)]),
        ("😀<u>z</u>", "😀z", [("underline", 2, 1)]),  # offsets count UTF-16 code units
        ("Tom &amp; Jerry &lt;3 &quot;hi&quot; &#1071;&#x44F;", 'Tom & Jerry <3 "hi" Яя', []),
        ("AT&T &nbsp; &copy", "AT&T &nbsp; &copy", []),  # unknown references stay literal, as on Telegram
        ("<B>caps</B>", "caps", [("bold", 0, 4)]),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<s>a</s><strike>b</strike><del>c</del>", "abc", [("strikethrough", i, 1) for i in range(3)]),
        ("<b></b>x", "x", []),  # empty entities are dropped
    ],
)
def test_text_and_entities(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed.entities] == entities


def test_links_code_blocks_and_quotes_carry_their_attributes() -> None:
    parsed = parse_html(
        '<a href="https://s.example/?a=1&amp;b=2">go</a> '
        '<pre><code class="language-python">x = 1</code></pre> <blockquote expandable>q</blockquote>'
    )
    link, pre, quote = parsed.entities
    assert link == {"type": "text_link", "offset": 0, "length": 2, "url": "https://s.example/?a=1&b=2"}
    assert pre == {"type": "pre", "offset": 3, "length": 5, "language": "python"}
    assert quote["type"] == "expandable_blockquote"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("Имя <Иван>", 'Unsupported start tag "иван" at byte offset 7'),  # byte offsets: Cyrillic is 2 bytes
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<i>open", 'Can\'t find end tag corresponding to start tag "i"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ("<a href=x/y>z</a>", "Unexpected end of name token at byte offset 8"),
    ],
)
def test_malformed_html_is_refused_with_telegrams_reason(source: str, reason: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(source)
    assert str(caught.value) == reason


@given(st.text(max_size=200))
def test_escaped_user_data_always_parses_back_to_itself(user_text: str) -> None:
    wrapped = f'<b>{escape_html(user_text)}</b> <a href="https://x.example/?q={escape_html(user_text)}">l</a>'
    parsed = parse_html(wrapped)
    assert parsed.text.startswith(user_text)
    assert parsed.entities[-1]["url"] == f"https://x.example/?q={user_text}"
