"""/stats answers with the numbers and then a PNG chart of the campaign's days."""

from __future__ import annotations

from datetime import timedelta

from dispatcher.plan_calendar import local_days
from dispatcher.stats import ATTRIBUTION
from storage.daily_stats import campaign_days
from tests.bot.conftest import VIEWER, BotWorld
from tests.bot.test_bot_stats_e2e import send_digest


async def test_stats_carry_a_chart_of_the_days(world: BotWorld) -> None:
    await send_digest(world)
    replies = await world.say(VIEWER, "/stats digest-48", language_code="en")
    *texts, chart = replies
    assert texts and all(m.photo is None for m in texts)
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    assert len(chart.photo.data) > 10_000  # a drawn chart, not an empty canvas
    assert chart.text == "digest-48: messages sent, opens, clicks and conversions per day."
    # What the chart draws: every first send of the campaign on its day.
    now = world.clock()
    days = local_days(now - timedelta(days=13), world.app.policy.default_timezone, 14)
    counts = await campaign_days(world.app.db, "digest-48", days, ATTRIBUTION)
    sent = await world.app.db.scalar(
        "SELECT COUNT(*) FROM outbox WHERE campaign_id = 'digest-48' AND status = 'sent'"
    )
    assert sum(d.sends for d in counts) == sent and int(str(sent)) > 0
