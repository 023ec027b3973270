"""/urgent end to end: segment → text → preview → confirm → service rows → delivered, even while paused."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from storage.campaigns import list_campaigns
from storage.outbox import rows_of_campaign
from storage.pause import get_paused
from storage.segments import SegmentContext
from tests.bot.conftest import ADMIN, OPERATOR, VIEWER, BotWorld

TEXT = "Эфир переносится на 19:00!\nСсылка та же. <b>не жирный</b> {{ contact.name }} {% if x %} & {# #}"


async def test_urgent_message_goes_out_as_service_while_paused(world: BotWorld) -> None:
    await world.say(ADMIN, "/pause")
    assert await get_paused(world.app.db)

    [ask] = await world.say(OPERATOR, "/urgent")
    labels = [b["text"] for b in ask.buttons()]
    assert labels[0] == "Everyone" and "warm" in labels and labels[-1] == "Cancel"

    await world.press(OPERATOR, ask, text="warm")
    assert ask.edited and ask.buttons() == []  # the choice is made
    audience = world.standin.sent(OPERATOR)[-1]
    async with SegmentContext(world.app.db, world.app.policy, world.clock()) as ctx:
        size = await ctx.count("segment:warm")
        reachable = await ctx.count("segment:warm AND (has:telegram OR has:email)")
    assert (audience.text or "").startswith(f"Audience «warm»: {size} contacts, reachable {reachable} (")

    replies = await world.say(OPERATOR, TEXT)
    preview = replies[-1]
    assert TEXT in (preview.text or "")  # shown exactly as typed: escaped, never rendered
    assert "email subject: «Эфир переносится на 19:00!»" in (preview.text or "")
    assert [b["text"] for b in preview.buttons()] == ["🚨 Send now", "Cancel"]
    assert await world.app.db.scalar("SELECT COUNT(*) FROM campaigns") == 0  # nothing before confirming

    await world.press(OPERATOR, preview, text="🚨 Send now")
    [record] = await list_campaigns(world.app.db)
    assert record.id == "urgent-20261124-0900-1" and record.priority == "service"
    assert record.author == str(OPERATOR) and record.status == "scheduled"
    done = world.standin.sent(OPERATOR)[-1]
    rows = await rows_of_campaign(world.app.db, record.id)
    assert (
        rows and {r["priority"] for r in rows} == {"service"} and {r["status"] for r in rows} == {"planned"}
    )
    assert len(rows) == reachable
    assert (done.text or "").startswith(f"🚨 {record.id} is on its way: {len(rows)} planned now.")
    assert preview.buttons() == []  # the preview's buttons are gone

    [calendar] = await world.say(OPERATOR, "/calendar")
    per_channel = Counter(r["channel"] for r in rows)  # a line per channel
    for channel, name in (("email", "email"), ("telegram", "Telegram")):
        if per_channel[channel]:
            line = f"{record.id} Urgent: warm (service) · urgent · {name}: {per_channel[channel]}"
            assert line in (calendar.text or "")

    report = await world.app.dispatch(world.clock())  # paused: only service messages go
    assert report.paused and report.outcomes["sent"] == len(rows)
    sent = await rows_of_campaign(world.app.db, record.id)
    assert {r["status"] for r in sent} == {"sent"}
    chats = [r for r in sent if r["channel"] == "telegram"]
    for row in chats:
        chat_id = await world.app.db.scalar(
            "SELECT telegram_chat_id FROM contacts WHERE id = ?", (row["contact_id"],)
        )
        [delivered] = world.standin.sent(int(chat_id))  # type: ignore[call-overload]
        assert delivered.text == TEXT
    emails = [m.message for m in world.smtp.messages]
    assert len(emails) == len(sent) - len(chats)
    assert all(str(m["Subject"]) == "Эфир переносится на 19:00!" for m in emails)


async def test_urgent_with_a_dsl_typo_and_a_cancel(world: BotWorld) -> None:
    [typo] = await world.say(OPERATOR, "/urgent tag:webinar AND has:pigeon")
    assert (typo.text or "").startswith("That segment expression has an error:")
    assert "^" in (typo.text or "")
    [asked] = await world.say(OPERATOR, "/urgent has:telegram")
    assert "Now write the message text" in (asked.text or "")
    preview = (await world.say(OPERATOR, "Занятие отменено"))[-1]
    [cancelled] = await world.say(OPERATOR, "/cancel")
    assert cancelled.text == "Cancelled."
    stale = await world.press(OPERATOR, preview, text="🚨 Send now")  # an old preview's button
    assert (
        stale["show_alert"] and stale["text"] == "This preview is no longer active: start again with /urgent."
    )
    [free] = await world.say(OPERATOR, "just chatting")
    assert free.text == "I did not understand that. /help lists what I can do."
    assert await world.app.db.scalar("SELECT COUNT(*) FROM campaigns") == 0


async def test_typed_segment_and_a_second_urgent_in_the_same_minute(world: BotWorld) -> None:
    for expected in ("urgent-20261124-0900-1", "urgent-20261124-0900-2"):
        await world.say(OPERATOR, "/urgent")
        await world.say(OPERATOR, "has:telegram")  # typed instead of a button
        preview = (await world.say(OPERATOR, "Доступ к урокам восстановлен"))[-1]
        await world.press(OPERATOR, preview, text="🚨 Send now")
        assert expected in {r.id for r in await list_campaigns(world.app.db)}
    world.clock.advance(timedelta(minutes=1))
    [refused] = await world.say(VIEWER, "/urgent")
    assert (refused.text or "").startswith("Sorry, this needs the operator role")
