"""The dashboard in a real headless Chromium: a stranger is sent to the bot, a member signs in with the
bot's one-time link, walks every page and approves a campaign; someone outside the team is refused.

Set RITM_SCREENSHOTS=docs to refresh the screenshots kept in docs/ (otherwise they go to tmp_path).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from policy.timeutil import to_epoch
from storage.outbox import rows_of_campaign
from storage.team import remove_member
from tests.bot.conftest import APPROVER, AUTHOR, EXAMPLES, OPERATOR
from tests.bot.test_bot_stats_e2e import send_digest
from tests.web.browser_support import Page
from tests.web.web_support import WebWorld, web_world

WEBINAR = (EXAMPLES / "webinar.toml").read_text()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[WebWorld]:
    async with web_world(tmp_path) as made:
        yield made


@pytest.fixture
async def page(browser_driver: WebDriver) -> Page:
    made = Page(browser_driver)
    await made.forget()
    return made


def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("RITM_SCREENSHOTS") or tmp_path)


async def results_and_plans(site: WebWorld) -> None:
    """A sent digest with sales after it, and the next days' plans with a double booking and a full cap."""
    world = site.bot
    await send_digest(world)
    sent = [r for r in await rows_of_campaign(world.app.db, "digest-48") if r["status"] == "sent"]
    tomorrow = to_epoch(world.clock() + timedelta(days=1))
    planned = [
        ("webinar-1203", row["contact_id"], "mass", "invite", "email", tomorrow + 3600 * (i % 5))
        for i, row in enumerate(sent[:40])
    ]
    planned += [
        ("course-followup", row["contact_id"], "scenario", "warm", "telegram", tomorrow + 86400 * (1 + i % 3))
        for i, row in enumerate(sent[:30])
    ]
    planned += [("promo-1205", r["contact_id"], "mass", "all", "email", tomorrow + 600) for r in sent[:3]]
    planned += [  # beside the follow-up on its first day: two messages for some, no cap exceeded
        ("reminder-1130", r["contact_id"], "scenario", "invite", "email", tomorrow + 86400 + 900)
        for r in sent[:10]
    ]
    async with world.app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO orders (id, contact_id, amount, currency, status, created_at, paid_at)"
            " VALUES (?, ?, 1990, 'RUB', 'paid', ?3, ?3)",
            [
                (f"web-{i}", r["contact_id"], r["sent_at"] + 7200 * (1 + i % 3))
                for i, r in enumerate(sent[::4])
            ],
        )
        await conn.executemany(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES (?, ?, ?, 'digest-48')",
            [(r["contact_id"], "open", r["sent_at"] + 1800 * (1 + i % 40)) for i, r in enumerate(sent[::2])]
            + [
                (r["contact_id"], "click", r["sent_at"] + 2400 * (1 + i % 30))
                for i, r in enumerate(sent[::5])
            ],
        )
        await conn.executemany(
            "INSERT INTO outbox (campaign_id, contact_id, step, priority, version, channel, due_at, status,"
            " created_at) VALUES (?, ?, 0, ?, ?, ?, ?, 'planned', 0)",
            planned,
        )


async def test_a_member_signs_in_from_the_bot_and_walks_every_page(
    site: WebWorld, page: Page, tmp_path: Path
) -> None:
    await results_and_plans(site)
    world = site.bot
    added = await world.app.service.add(WEBINAR, "webinar.toml", by=str(AUTHOR), at=world.clock())
    await world.say(AUTHOR, f"/dryrun {added.campaign.id}")

    await page.open(site.base + "/app/")  # no session: the sign-in page says where links come from
    assert await page.path() == "/app/signin"
    assert "send /web to the school's bot" in await page.text()

    await page.open(await site.login_link(APPROVER))
    await page.click("#sign-in")
    assert "Calendar" in await page.text("h1")
    calendar = await page.text("#calendar")
    assert "webinar-1203" in calendar and "invite\nemail" in calendar
    assert "contacts get 2+ non-service messages" in calendar or "over 1/1d" in calendar
    for color in ("red", "amber", "green"):
        assert await page.find(f"tr.day[data-light={color}] .light.{color}")
    await page.screenshot(shots(tmp_path) / "dashboard-calendar.png")

    await page.click("header a[href='/app/campaigns']")
    assert "digest-48" in await page.text("#campaigns")
    await page.click("a[href='/app/campaigns/digest-48']")
    assert await page.find("#daily-chart svg") and await page.find("#rps-chart svg")
    uplift = await page.text("#uplift")
    assert "95 % interval" in uplift and "holdout" in uplift
    groups = await page.text("#groups")
    assert "clients" in groups or "general" in groups
    await page.screenshot(shots(tmp_path) / "dashboard-campaign.png")

    contact = str((await rows_of_campaign(world.app.db, "digest-48"))[0]["contact_id"])
    await page.open(f"{site.base}/app/")
    await page.type_in("header input[name=id]", contact)
    assert f"Contact {contact}" in await page.text("h1")
    assert "email" in await page.text("#reach")
    assert "digest-48" in await page.text("#history")  # the planned message, with its state

    await page.click("header a[href='/app/queue']")
    assert "Queue" in await page.text("h1")
    queue = await page.text("#queue")
    assert "digest-48" in queue and "waiting" in queue
    await page.click("header a[href='/app/audit']")
    assert "web.sign_in" in await page.text("#audit")

    # The approver decides on the dashboard: the chat's four-eyes path, and the cards there close.
    await page.open(f"{site.base}/app/campaigns/{added.campaign.id}")
    await page.click("#approve")
    assert await page.text("#status") == "approved"
    assert [m for m in world.standin.sent(APPROVER) if m.edited]

    await page.click("header form[action='/app/signout'] button")
    assert await page.path() == "/app/signin"
    await page.open(site.base + "/app/campaigns")
    assert await page.path() == "/app/signin"


async def test_someone_outside_the_team_is_refused(site: WebWorld, page: Page) -> None:
    link = await site.login_link(OPERATOR)
    await remove_member(site.bot.app.db, OPERATOR, by="test", at=site.bot.clock())
    await page.open(link)
    await page.click("#sign-in")
    assert "Not for you" in await page.text("h1")
    assert "not in it" in await page.text("#message")
    await page.open(site.base + "/app/audit")
    assert await page.path() == "/app/signin"
