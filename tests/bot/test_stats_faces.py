"""One stats model, two faces: `ritm campaign stats` and the bot's /stats show the same numbers."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import typer
from typer.testing import CliRunner

from dispatcher.stats import CampaignStats, campaign_stats
from ritm.cli import campaign_cmd
from ritm.cli.common import STATE
from ritm.cli.main import _global
from storage.outbox import rows_of_campaign
from tests.bot.conftest import VIEWER, BotWorld
from tests.bot.test_bot_stats_e2e import send_digest

CAMPAIGN = "digest-48"


async def cli(world: BotWorld, *args: str) -> str:
    """Run `ritm campaign …` on the world's database in its own thread (the CLI runs its own loop)."""
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    campaign_cmd.register(root)
    argv = ["--db", str(world.app.db.path), "campaign", *args]
    try:
        result = await asyncio.to_thread(CliRunner().invoke, root, argv, env={"COLUMNS": "200"})
    finally:
        STATE.forget()
    assert result.exit_code == 0, result.output
    return result.stdout


async def measured(world: BotWorld) -> CampaignStats:
    await send_digest(world)
    rows = await rows_of_campaign(world.app.db, CAMPAIGN, step=0)
    sent = [r for r in rows if r["status"] == "sent"]
    holdout = [r for r in rows if r["status"] == "holdout"]
    assert len(sent) >= 3 and holdout
    async with world.app.db.transaction() as conn:
        for i, row in enumerate([*sent[:3], holdout[0]]):
            await conn.execute(
                "INSERT INTO orders (id, contact_id, amount, currency, status, created_at, paid_at)"
                " VALUES (?, ?, ?, 'RUB', 'paid', ?4, ?4)",
                (f"faces-{i}", row["contact_id"], 1500.0 * (i + 1), (row["sent_at"] or row["due_at"]) + 3600),
            )
        await conn.execute(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES (?, 'open', ?, ?)",
            (sent[0]["contact_id"], sent[0]["sent_at"] + 60, CAMPAIGN),
        )
    world.clock.advance(timedelta(days=8))
    return await campaign_stats(world.app.reports, CAMPAIGN, world.clock())


def numbers(pattern: str, text: str) -> tuple[str, ...]:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in:\n{text}"
    return found.groups()


async def test_cli_and_bot_render_the_same_stats(world: BotWorld) -> None:
    stats = await measured(world)
    assert stats.treated.orders == 3 and stats.holdout.converted == 1 and stats.uplift is not None
    [reply, _chart] = await world.say(VIEWER, "/stats digest-48")
    bot = reply.text or ""
    table = await cli(world, "stats", CAMPAIGN, "--at", world.clock().isoformat())

    totals = (
        str(stats.count("sent")),
        str(stats.failed),
        str(stats.count("suppressed")),
        str(stats.count("holdout")),
        str(stats.waiting),
    )
    assert (
        numbers(r"Sent (\d+) · failed (\d+) · suppressed (\d+) · holdout (\d+) · waiting (\d+)", bot)
        == totals
    )
    assert (
        numbers(r"sent (\d+), failed (\d+), suppressed (\d+), holdout (\d+), waiting (\d+)", table) == totals
    )
    revenue = f"{stats.treated.revenue:,.0f}"
    assert numbers(r"sending\): (\d+), revenue ([\d ]+)", bot) == (
        str(stats.treated.orders),
        revenue.replace(",", " "),
    )
    assert numbers(r"(\d+) paid orders, revenue ([\d,]+)", table) == (str(stats.treated.orders), revenue)
    lift = stats.uplift.difference
    assert numbers(r"Uplift ([+-][\d.]+)%", bot) == (f"{lift * 100:+.1f}",)
    assert numbers(r"→ ([+-][\d.]+)%", table) == (f"{lift * 100:+.2f}",)
    assert round(float(numbers(r"→ ([+-][\d.]+)%", table)[0]), 1) == float(
        numbers(r"Uplift ([+-][\d.]+)%", bot)[0]
    )


async def test_cli_json_is_the_model(world: BotWorld) -> None:
    stats = await measured(world)
    out = await cli(world, "stats", CAMPAIGN, "--at", world.clock().isoformat(), "--json")
    document = json.loads(out)
    assert document == stats.to_json()
    assert sum(g["conversions"] for g in document["groups"]) == stats.treated.converted
    assert sum(g["sent"] for g in document["groups"]) == stats.treated.contacts
