"""A mass campaign from file to inbox: four-eyes approval, planning, ticks on a moving clock, tracking."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dispatcher.campaigns import CampaignRefused
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import APPROVER, AUTHOR, EXAMPLES, World


async def run_until(world: World, until_hours: int, step_min: int = 15) -> None:
    """Move the clock in steps, ticking the worker until nothing is due at each step."""
    end = world.clock() + timedelta(hours=until_hours)
    while world.clock() < end:
        while (await world.app.dispatch(world.clock())).claimed:
            pass
        world.clock.advance(timedelta(minutes=step_min))


async def test_digest_goes_out_once_per_planned_row(worked_world: World) -> None:
    world = worked_world
    app, clock = world.app, world.clock
    text = (EXAMPLES / "digest.toml").read_text(encoding="utf-8")
    added = await app.service.add(text, "digest.toml", by=AUTHOR, at=clock())
    assert added.record.status == "draft"
    clock.set(added.campaign.start - timedelta(hours=1))

    report = await app.service.dry_run("digest-48", at=clock(), by=AUTHOR)
    assert report.status == "pending_approval"
    assert report.planned > 0 and set(report.previews) == {"clients", "warm", "general"}

    with pytest.raises(CampaignRefused, match="four-eyes"):
        await app.service.approve("digest-48", by=AUTHOR, at=clock())
    with pytest.raises(CampaignRefused, match="before planning"):
        await app.service.plan("digest-48", at=clock())
    await app.service.approve("digest-48", by=APPROVER, at=clock())

    result = await app.service.plan("digest-48", at=clock())
    assert result.status == "scheduled"
    assert result.inserted == report.eligible
    again = await app.service.plan("digest-48", at=clock())
    assert again.inserted == 0

    await run_until(world, until_hours=3 * 24)

    rows = await rows_of_campaign(app.db, "digest-48")
    sent = [r for r in rows if r["status"] == "sent"]
    assert len(sent) == report.planned
    emails = [r for r in sent if r["channel"] == "email"]
    chats = [r for r in sent if r["channel"] == "telegram"]
    received = [m for m in world.smtp.messages]
    assert len(received) == len(emails)
    recipients = [m.rcpt_tos[0] for m in received]
    assert len(set(recipients)) == len(recipients)  # nobody got it twice
    assert len(world.telegram.all_sent()) == len(chats)
    # Every message went out inside the window the plan gave it.
    assert all(r["sent_at"] >= r["due_at"] for r in sent)
    assert not [r for r in rows if r["status"] in ("planned", "sending", "retry")]


async def test_tracking_links_and_one_click_unsubscribe(worked_world: World) -> None:
    world = worked_world
    app, clock = world.app, world.clock
    text = (EXAMPLES / "digest.toml").read_text(encoding="utf-8")
    added = await app.service.add(text, "digest.toml", by=AUTHOR, at=clock())
    clock.set(added.campaign.start - timedelta(hours=1))
    await app.service.dry_run("digest-48", at=clock(), by=AUTHOR)
    await app.service.approve("digest-48", by=APPROVER, at=clock())
    await app.service.plan("digest-48", at=clock())
    await run_until(world, until_hours=30)
    message = world.smtp.messages[0].message
    unsubscribe = str(message["List-Unsubscribe"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = re.search(r"<https://ritm\.school\.example(/u/[^>]+)>", unsubscribe)
    assert path is not None
    contact = (await app.db.fetchone("SELECT contact_id FROM outbox WHERE id = ?",
                                     (int(str(message["X-Ritm-Outbox"])),)))[0]  # fmt: skip
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    pixel = re.search(r"https://ritm\.school\.example(/o/[A-Za-z0-9_-]+\.gif)", html)
    click = re.search(r"https://ritm\.school\.example(/c/[A-Za-z0-9_-]+)", html)
    assert pixel and click
    assert path.group(1) in html  # the header's one-click link is the body's own

    async with TestClient(TestServer(app.http)) as client:
        page = await client.get(path.group(1))
        assert page.status == 200 and "<form method=post>" in await page.text()
        assert await consent(world, contact) == "granted"  # GET never unsubscribes

        forged = path.group(1)[:-2] + ("AA" if not path.group(1).endswith("AA") else "BB")
        assert (await client.post(forged)).status == 404
        assert await consent(world, contact) == "granted"

        assert (await client.post(path.group(1), data={"List-Unsubscribe": "One-Click"})).status == 200
        assert await consent(world, contact) == "revoked"

        assert (await client.get(pixel.group(1))).headers["Content-Type"] == "image/gif"
        jump = await client.get(click.group(1), allow_redirects=False)
        assert jump.status == 302 and jump.headers["Location"].startswith("https://school.example/")
        assert (await client.get("/c/not-a-token", allow_redirects=False)).status == 404

    kinds = {r[0] for r in await app.db.fetchall("SELECT type FROM events WHERE campaign_id = 'digest-48'")}
    assert {"open", "click", "unsubscribe"} <= kinds


async def consent(world: World, contact_id: str) -> str | None:
    row = await world.app.db.fetchone(
        "SELECT status FROM consents WHERE contact_id = ? AND channel = 'email'", (contact_id,)
    )
    return None if row is None else str(row[0])
