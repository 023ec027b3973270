"""/stats: delivery counts, tracked events and the uplift over the holdout, checked against the rows."""

from __future__ import annotations

import math
from datetime import timedelta

from policy.timeutil import to_epoch
from policy.uplift import Z_95
from storage.outbox import rows_of_campaign
from tests.bot.conftest import APPROVER, AUTHOR, EXAMPLES, VIEWER, BotWorld

WEEK_S = 7 * 86400


async def send_digest(world: BotWorld) -> None:
    app, clock = world.app, world.clock
    added = await app.service.add(
        (EXAMPLES / "digest.toml").read_text(), "digest.toml", by=str(AUTHOR), at=clock()
    )
    clock.set(added.campaign.start - timedelta(hours=1))
    await app.service.dry_run("digest-48", at=clock(), by=str(AUTHOR))
    await app.service.approve("digest-48", by=str(APPROVER), at=clock())
    await app.service.plan("digest-48", at=clock())
    end = clock() + timedelta(days=3)
    while clock() < end:
        while (await app.dispatch(clock())).claimed:
            pass
        clock.advance(timedelta(minutes=30))


async def test_stats_count_deliveries_events_and_the_uplift(world: BotWorld) -> None:
    await send_digest(world)
    rows = await rows_of_campaign(world.app.db, "digest-48")
    sent = [r for r in rows if r["status"] == "sent" and r["step"] == 0]
    holdout = [r for r in rows if r["status"] == "holdout"]
    assert sent and holdout
    # Paid orders: every 2nd treated contact within the week, one of them outside it; every 3rd holdout one.
    orders = []
    for i, row in enumerate(sent[::2]):
        late = i == 0
        orders.append((f"t{i}", row["contact_id"], 1000.0, row["sent_at"] + (WEEK_S + 60 if late else 3600)))
    for i, row in enumerate(holdout[::3]):
        orders.append((f"h{i}", row["contact_id"], 500.0, row["due_at"] + 7200))
    async with world.app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO orders (id, contact_id, amount, currency, status, created_at, paid_at)"
            " VALUES (?, ?, ?, 'RUB', 'paid', ?4, ?4)",
            orders,
        )
        await conn.execute(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES (?, 'open', ?, 'digest-48')",
            (sent[0]["contact_id"], sent[0]["sent_at"] + 60),
        )
    world.clock.advance(timedelta(days=8))

    treated_conv = len(sent[::2]) - 1
    holdout_conv = len(holdout[::3])
    p_t, p_h = treated_conv / len(sent), holdout_conv / len(holdout)
    se = math.sqrt(p_t * (1 - p_t) / len(sent) + p_h * (1 - p_h) / len(holdout))
    low, high = p_t - p_h - Z_95 * se, p_t - p_h + Z_95 * se

    [reply, _chart] = await world.say(VIEWER, "/stats digest-48")
    text = reply.text or ""
    assert f"Sent {len(sent)} · failed 0 · suppressed 0 · holdout {len(holdout)}" in text
    assert "Opens: 1 (1 contact)" in text and "Clicks: 0 (0 contacts)" in text
    assert (
        f"Conversions (paid orders within 7 days of sending): {treated_conv}, revenue {treated_conv} 000"
        in text
    )
    assert f"Converted: treated {p_t:.1%} of {len(sent)}, holdout {p_h:.1%} of {len(holdout)}" in text
    assert f"Uplift {p_t - p_h:+.1%} (95% CI {low:+.1%} … {high:+.1%})" in text
    verdict = "not significant" if low <= 0 <= high else "significant"
    assert text.rstrip().endswith(f"— {verdict}")
    assert to_epoch(world.clock()) > max(o[3] for o in orders)


async def test_stats_of_an_unknown_campaign(world: BotWorld) -> None:
    [reply] = await world.say(VIEWER, "/stats nope")
    assert reply.text == "Usage: /stats CAMPAIGN_ID; there is no campaign nope."
