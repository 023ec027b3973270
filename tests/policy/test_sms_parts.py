"""SMS part counting: GSM-7 160/153 with two-septet extension characters, UCS-2 70/67, no split pairs."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from policy.sms import GSM7_BASIC, GSM7_EXTENSION, MAX_PARTS, sms_cost, sms_parts

BASIC = "".join(sorted(GSM7_BASIC))
EXTENSION = "".join(sorted(GSM7_EXTENSION))


def test_the_limits_of_one_part() -> None:
    assert sms_parts("a" * 160).parts == 1
    assert sms_parts("a" * 161).parts == 2
    assert sms_parts("a" * 306).parts == 2
    assert sms_parts("a" * 307).parts == 3
    assert sms_parts("я" * 70).parts == 1
    assert sms_parts("я" * 71).parts == 2
    assert sms_parts("я" * 134).parts == 2
    assert sms_parts("я" * 135).parts == 3
    assert sms_parts("").parts == 0


def test_extension_characters_count_twice_and_one_cyrillic_letter_switches_to_ucs2() -> None:
    assert sms_parts("€" * 80) == sms_parts("a" * 160)
    assert (sms_parts("€" * 81).units, sms_parts("€" * 81).parts) == (162, 2)
    assert sms_parts("a" * 159 + "ж").encoding == "ucs2"
    assert sms_parts("a" * 159 + "ж").parts == 3  # 160 UCS-2 units: 67 + 67 + 26


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets fit two parts of 153 only if the "€" pair may straddle them; it may not.
    assert sms_parts("a" * 152 + "€" + "a" * 152).parts == 3
    assert sms_parts("a" * 152 + "€" + "a" * 151).parts == 2  # the pair opens part two: 2 + 151


def test_an_emoji_takes_two_units_and_is_never_split() -> None:
    assert sms_parts("😀" * 35).parts == 1
    assert sms_parts("я" * 66 + "😀" + "я" * 66).parts == 3  # 66 | 😀 + 65 | 1


@given(st.text(alphabet=BASIC, max_size=1600))
def test_plain_gsm7_is_ceil_of_153_past_one_part(text: str) -> None:
    parts = sms_parts(text)
    assert parts.encoding == "gsm7" and parts.units == len(text)
    expected = 0 if not text else 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert parts.parts == expected


@given(st.text(alphabet=st.characters(min_codepoint=0x400, max_codepoint=0x4FF), min_size=1, max_size=700))
def test_cyrillic_is_ucs2_ceil_of_67_past_one_part(text: str) -> None:
    parts = sms_parts(text)
    assert parts.encoding == "ucs2"
    assert parts.parts == (1 if len(text) <= 70 else math.ceil(len(text) / 67))


@given(
    st.text(alphabet=BASIC + EXTENSION + "яж😀", max_size=400),
    st.text(alphabet=BASIC + EXTENSION + "я😀", max_size=50),
)
def test_appending_never_takes_fewer_parts_within_one_encoding(text: str, more: str) -> None:
    before, after = sms_parts(text), sms_parts(text + more)
    if before.encoding == after.encoding:
        assert after.parts >= before.parts
    assert after.units >= before.units or before.encoding != after.encoding


def test_cost_is_parts_times_price_rounded_and_the_cap_is_ten() -> None:
    assert sms_cost(3, 3.45) == 10.35
    assert MAX_PARTS == 10
