"""A series approved once in the chat; an occurrence whose count drifted comes back as a card that
shows the difference, and goes through the same four-eyes path."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.campaigns import get_campaign
from tests.bot.conftest import ADMIN, APPROVER, AUTHOR, EXAMPLES, VIEWER, BotWorld
from tests.e2e.people import add_contacts

SERIES = "digest-weekly"
FIRST, SECOND = f"{SERIES}@2026-11-25", f"{SERIES}@2026-12-02"


def weekly_on_wednesdays() -> bytes:
    text = (EXAMPLES / "digest_series.toml").read_text(encoding="utf-8")
    text = text.replace('"FREQ=WEEKLY;BYDAY=TU;BYHOUR=11;BYMINUTE=0"', '"every wednesday 11:00"')
    text = text.replace('start = "2026-12-01T00:00:00"', 'start = "2026-11-25T00:00:00"')
    text = text.replace('skip = ["2026-12-29", "2027-01-05"]', 'skip = ["2026-12-30"]')
    return text.encode()


async def test_a_drifted_occurrence_comes_back_as_a_card_with_the_difference(world: BotWorld) -> None:
    [added] = await world.upload(AUTHOR, "digest_series.toml", weekly_on_wednesdays())
    assert added.text == f"{SERIES}: added as draft; /dryrun {SERIES}"
    await world.say(AUTHOR, f"/dryrun {SERIES}")
    [card] = [m for m in world.standin.sent(APPROVER) if m.buttons()]
    assert f"Нужно согласование: {SERIES}" in (card.text or "")
    assert (await world.press(APPROVER, card, text="✅ Согласовать"))["text"] == "Approved."

    [calendar] = await world.say(VIEWER, "/calendar")
    assert f"🔁 {FIRST} Дайджест недели: series occurrence at 11:00 — not planned yet" in (
        calendar.text or ""
    )

    world.clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # an hour before 11:00 in Moscow
    assert await world.app.plan_due(world.clock()) == [FIRST]
    [calendar] = await world.say(VIEWER, "/calendar")
    assert f"• {FIRST} Дайджест недели (mass)" in (calendar.text or "")  # its planned rows now
    assert "🔁" not in (calendar.text or "")
    first = await get_campaign(world.app.db, FIRST)
    assert first is not None and first.status == "scheduled" and first.dry_run is not None
    assert not [m for m in world.standin.sent(APPROVER) if m.buttons()]  # planned without a card

    await add_contacts(world.app.db, [f"n{i:03d}" for i in range(30)], at=world.clock())
    world.clock.set(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
    assert await world.app.plan_due(world.clock()) == [SECOND]
    second = await get_campaign(world.app.db, SECOND)
    assert second is not None and second.status == "pending_approval" and second.dry_run is not None
    before, after = first.dry_run.planned, second.dry_run.planned
    assert after > before * 1.1

    cards = {u: [m for m in world.standin.sent(u) if m.buttons()] for u in (AUTHOR, APPROVER, ADMIN)}
    assert all(len(c) == 1 for c in cards.values())
    change = f"{(after - before) / before:+.0%}"
    assert f"Occurrence of a series: planned {after}, against {before} under {FIRST} ({change})." in (
        cards[AUTHOR][0].text or ""
    )
    assert f"Выпуск серии: запланировано {after}, было {before} в {FIRST}" in (cards[APPROVER][0].text or "")

    refused = await world.press(AUTHOR, cards[AUTHOR][0], text="✅ Approve")
    assert refused["text"] == "Not done: the author of a campaign can never approve it (four-eyes rule)"
    assert (await world.press(APPROVER, cards[APPROVER][0], text="✅ Согласовать"))["text"] == "Approved."
    assert await world.app.plan_due(world.clock()) == [SECOND]
    second = await get_campaign(world.app.db, SECOND)
    assert second is not None and second.status == "scheduled"
    [stats] = await world.say(VIEWER, f"/stats {SERIES}")
    text = stats.text or ""
    assert text.startswith(f"Series {SERIES} «Дайджест недели»: occurrences side by side")
    assert FIRST in text and SECOND in text
    assert not world.errors
