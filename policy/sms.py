"""SMS parts and cost (SPEC §12.5): how many parts a text takes on the air and what they cost.

A text that fits the GSM 03.38 default alphabet is sent in GSM-7: 160 septets in one part, 153 per
part once concatenated (the user data header takes the rest); the extension table's characters
(`^{}\\[~]|€` and form feed) take two septets, an escape and the character, and a part never splits
such a pair. Any other character sends the whole text in UCS-2: 70 UTF-16 code units in one part, 67
per part once concatenated, and a part never splits a surrogate pair (an emoji takes two units).
Pure: the dry run estimates with it and the SMS channel records what it sent with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# (one part, each part of a concatenated message), in septets (GSM-7) or UTF-16 code units (UCS-2).
GSM7_LIMITS = (160, 153)
UCS2_LIMITS = (70, 67)
MAX_PARTS = 10  # a longer message is refused at the dry run: it costs ten times and reads badly

Encoding = Literal["gsm7", "ucs2"]
SMS = "sms"


def keeps_quiet_hours(priority: str, channel: str, urgent: bool) -> bool:
    """Whether a message keeps quiet hours: all but service do; a service SMS does too unless its
    campaign is urgent (SMS wakes people up: an access code can wait until morning, a moved stream not)."""
    return priority != "service" or (channel == SMS and not urgent)


@dataclass(frozen=True, slots=True)
class SmsParts:
    """How one text goes on the air: its encoding, its length in units and its parts."""

    encoding: Encoding
    units: int
    parts: int


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the default alphabet or its extension, else UCS-2."""
    return "gsm7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "ucs2"


def _widths(text: str, encoding: Encoding) -> list[int]:
    """The units each character takes (an escape pair or a surrogate pair is never split)."""
    if encoding == "gsm7":
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_parts(text: str) -> SmsParts:
    """The parts `text` takes; an empty text takes none (the provider refuses it)."""
    encoding = encoding_of(text)
    widths = _widths(text, encoding)
    units = sum(widths)
    single, each = GSM7_LIMITS if encoding == "gsm7" else UCS2_LIMITS
    if units == 0:
        return SmsParts(encoding, 0, 0)
    if units <= single:
        return SmsParts(encoding, units, 1)
    parts, filled = 1, 0
    for width in widths:
        if filled + width > each:
            parts, filled = parts + 1, 0
        filled += width
    return SmsParts(encoding, units, parts)


def sms_cost(parts: int, price_per_part: float) -> float:
    """The cost of `parts` parts in the policy's currency, rounded to kopecks (cents)."""
    return round(parts * price_per_part, 2)


@dataclass(frozen=True, slots=True)
class SmsBudget:
    """A campaign's SMS against the month's budget, all money in the policy's currency."""

    messages: int
    parts: int  # of all its messages
    cost: float
    spent: float  # this month before it
    budget: float

    @property
    def left(self) -> float:
        return round(max(0.0, self.budget - self.spent), 2)

    def problem(self, currency: str) -> str | None:
        """Why the campaign does not fit the month's SMS budget (with the figures), or None."""
        if self.cost <= self.left:
            return None
        return (
            f"over the SMS budget: {self.messages} SMS in {self.parts} parts cost {self.cost:.2f} {currency},"
            f" but {self.left:.2f} {currency} of this month's {self.budget:.2f} {currency} is left"
            f" ({self.spent:.2f} {currency} spent); shorten the text, narrow the audience or raise"
            " [channels.sms] budget_per_month"
        )


def month_span(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month holding `at` in `tz`, as [first instant, first instant of the next)."""
    local = at.astimezone(tz)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start.replace(tzinfo=tz), following.replace(tzinfo=tz)
