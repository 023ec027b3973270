"""Sizing segments from the chat: /segments, /segment (names, DSL, typos), /rfm, Russian plurals."""

from __future__ import annotations

import re

from storage.segments import SegmentContext
from tests.bot.conftest import VIEWER, BotWorld


def ru_contacts(n: int) -> str:
    """Russian plural of «контакт», written out independently of the catalog."""
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} контакт"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} контакта"
    return f"{n} контактов"


async def count(world: BotWorld, text: str) -> int:
    async with SegmentContext(world.app.db, world.app.policy, world.clock()) as ctx:
        return await ctx.count(text)


async def test_segment_typo_shows_a_caret_under_the_column(world: BotWorld) -> None:
    [reply] = await world.say(VIEWER, "/segment tag:funnel AND ordr:paid")
    assert reply.text is not None
    lines = reply.text.splitlines()
    assert lines[0] == "That segment expression has an error:"
    shown, caret = lines[1], lines[2]
    assert shown == "tag:funnel AND ordr:paid"
    assert caret.index("^") == shown.index("ordr") == 15  # column 16, 1-based
    assert lines[3].startswith('Column 16: unknown predicate "ordr:"')
    assert any(e["type"] == "pre" for e in reply.entities)


async def test_segment_by_name_gives_size_reach_rfm_and_a_masked_sample(world: BotWorld) -> None:
    expected = await count(world, "segment:sleeping")
    telegram = await count(world, "segment:sleeping AND has:telegram")
    [reply] = await world.say(VIEWER, "/segment sleeping", language_code="ru")
    text = reply.text or ""
    assert text.startswith(f"sleeping: {ru_contacts(expected)} (")
    assert f"Telegram: {telegram}" in text
    assert "По RFM-сегментам:" in text
    sample = re.findall(r"• (\S+) \((h\d{5})\) (\S+)", text)
    assert len(sample) == 5
    for masked_name, _, masked_email in sample:
        assert masked_name.endswith("***") and len(masked_name) <= 5
        assert masked_email == "—" or re.fullmatch(r".?\*\*\*@[\w.-]+", masked_email)


async def test_russian_plurals_follow_the_number(world: BotWorld) -> None:
    seen = set()
    for dsl in ("all", "has:telegram", "has:email", "segment:rplus", "tag:funnel", "rfm:champions"):
        n = await count(world, dsl)
        [reply] = await world.say(VIEWER, f"/segment {dsl}", language_code="ru")
        assert (reply.text or "").startswith(f"{dsl}: {ru_contacts(n)} ("), (dsl, reply.text)
        seen.add(ru_contacts(n).split()[1])
    assert len(seen) >= 2  # the base gives at least two different forms


async def test_user_text_is_escaped(world: BotWorld) -> None:
    [reply] = await world.say(VIEWER, '/segment interest = "<b>x</b>"')
    assert (reply.text or "").startswith('interest = "<b>x</b>": 0 contacts')
    assert all(e["type"] != "bold" or e["length"] > 20 for e in reply.entities)  # only our own bold


async def test_segments_and_rfm_overviews(world: BotWorld) -> None:
    total = await count(world, "all")
    [overview] = await world.say(VIEWER, "/segments")
    text = overview.text or ""
    assert text.startswith(f"Base: {total} contacts")
    for name in world.app.policy.segments:
        assert f"{name}: {await count(world, f'segment:{name}')} (" in text
    [rfm] = await world.say(VIEWER, "/rfm")
    async with SegmentContext(world.app.db, world.app.policy, world.clock()) as ctx:
        counts = await ctx.rfm_counts()
    assert (rfm.text or "").startswith(f"RFM over {sum(counts.values())} contacts")
    for name, n in counts.items():
        assert f"{name}: {n} (" in (rfm.text or "")
