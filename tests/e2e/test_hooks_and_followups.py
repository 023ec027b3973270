"""The webhook over HTTP, and the follow-ups it drives: cascades stop on `unless`, reminders on attendance."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from dispatcher.hooks import sign_hook
from policy.timeutil import iso_utc, to_epoch
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import APPROVER, AUTHOR, World
from tests.e2e.people import add_contacts, relax
from tests.secret_support import TEST_SECRET


async def post_hook(
    client: TestClient,
    world: World,
    payload: object,
    *,
    secret: str = TEST_SECRET,
    skew_s: int = 0,
    delivery: str | None = None,
) -> tuple[int, dict[str, object]]:
    body = json.dumps(payload).encode()
    stamp = to_epoch(world.clock()) + skew_s
    headers = {
        "X-Ritm-Timestamp": str(stamp),
        "X-Ritm-Signature": sign_hook(secret, body, stamp),
        "X-Ritm-Delivery": delivery or uuid.uuid4().hex,
    }
    response = await client.post("/hooks/events", data=body, headers=headers)
    return response.status, await response.json()


async def test_signed_hook_stores_and_forged_hook_changes_nothing(world: World) -> None:
    now = world.clock()
    await add_contacts(world.app.db, ["h1", "h2"], at=now)
    paid = {
        "id": "o-1",
        "contact_id": "h1",
        "amount": 4900,
        "status": "paid",
        "created_at": iso_utc(now),
        "paid_at": iso_utc(now),
    }
    async with TestClient(TestServer(world.app.http)) as client:
        status, _ = await post_hook(client, world, {"orders": [paid]}, secret="wrong")
        assert status == 401
        status, _ = await post_hook(client, world, {"orders": [paid]}, skew_s=-3600)
        assert status == 401
        assert await world.app.db.scalar("SELECT COUNT(*) FROM orders") == 0

        status, body = await post_hook(
            client,
            world,
            {
                "orders": [paid, {**paid, "id": "o-2", "contact_id": "ghost"}],
                "tags": [{"contact_id": "h2", "tag": "marathon"}, {"contact_id": "h2", "tag": "nonsense"}],
                "events": [{"contact_id": "h1", "type": "visit", "at": iso_utc(now)}],
            },
        )
        assert status == 200, body
        assert body["orders"] == {"imported": 1, "updated": 0, "unchanged": 0}
        reasons = {(e["kind"], e["index"]): e["reason"] for e in body["errors"]}  # type: ignore[union-attr]
        assert "unknown contact" in reasons[("orders", 1)] and "unknown tag" in reasons[("tags", 1)]
        unsigned = await client.post("/hooks/events", data=b"not json")
        assert unsigned.status == 401
    # The payment opens the after-payment silence; the tag puts h2 in a protected segment.
    explained = await world.app.db.scalar(
        "SELECT COUNT(*) FROM tags WHERE contact_id = 'h2' AND tag = 'marathon'"
    )
    assert explained == 1


async def test_cascade_goes_only_to_those_who_did_not_react(world: World) -> None:
    relax(world)
    now = world.clock()
    ids = await add_contacts(world.app.db, ["c1", "c2", "c3"], at=now, telegram=True)
    text = f"""
id = "casc-1"
name = "Cascade"
priority = "mass"
channels = ["email"]
audience = "all"
start = "{iso_utc(now)}"
deadline = "{iso_utc(now + timedelta(days=3))}"
windows = {{ from = "00:00", to = "00:00" }}
[[versions]]
segment = "all"
subject = "Приглашение"
text = "Приходите"
telegram = "Напоминаем о приглашении"
[[cascade]]
channel = "telegram"
after = "12h"
unless = "event:open within 24h"
"""
    await world.app.service.add(text, "casc.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run("casc-1", at=now, by=AUTHOR)
    await world.app.service.approve("casc-1", by=APPROVER, at=now)
    await world.app.service.plan("casc-1", at=now)
    while (await world.app.dispatch(now)).claimed:
        pass
    async with world.app.db.transaction() as conn:  # c1 opened the email
        await conn.execute(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES ('c1', 'open', ?, 'casc-1')",
            (to_epoch(now) + 600,),
        )
    world.clock.advance(timedelta(hours=11))
    await world.app.follow_up(world.clock())
    assert len(await rows_of_campaign(world.app.db, "casc-1", step=1)) == 0  # not yet: 12 h
    world.clock.advance(timedelta(hours=2))
    await world.app.follow_up(world.clock())
    steps = {
        r["contact_id"]: (r["status"], r["reason"]) for r in await rows_of_campaign(world.app.db, "casc-1", 1)
    }
    assert steps == {"c1": ("cancelled", "unless"), "c2": ("planned", None), "c3": ("planned", None)}
    # Never on the same local day as the email: due at the next local midnight at the earliest.
    for _ in range(3 * 24):
        while (await world.app.dispatch(world.clock())).claimed:
            pass
        world.clock.advance(timedelta(hours=1))
    chats = {m.chat_id for m in world.telegram.all_sent()}
    assert len(chats) == 2 and len(ids) == 3


async def test_reminders_stop_once_the_contact_attended(world: World) -> None:
    relax(world)
    now = world.clock()
    await add_contacts(world.app.db, ["r1", "r2"], at=now)
    starts = now + timedelta(days=2)
    text = f"""
id = "web-1"
name = "Webinar"
priority = "mass"
channels = ["email"]
audience = "all"
start = "{iso_utc(now)}"
deadline = "{iso_utc(now + timedelta(days=1))}"
windows = {{ from = "00:00", to = "00:00" }}
[[versions]]
segment = "all"
template = "webinar_invite"
[links]
register = "https://school.example/r"
program = "https://school.example/p"
[event]
title = "Эфир"
starts_at = "{iso_utc(starts)}"
duration = "60m"
url = "https://school.example/live"
reminders = ["24h", "2h"]
"""
    await world.app.service.add(text, "web.toml", by=AUTHOR, at=now)
    await world.app.service.dry_run("web-1", at=now, by=AUTHOR)
    await world.app.service.approve("web-1", by=APPROVER, at=now)
    await world.app.service.plan("web-1", at=now)
    async with world.app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO events (contact_id, type, at, campaign_id)"
            " VALUES (?, 'webinar_registered', ?, 'web-1')",
            [("r1", to_epoch(now)), ("r2", to_epoch(now))],
        )
    await world.app.follow_up(world.clock())
    reminders = [r for r in await rows_of_campaign(world.app.db, "web-1") if r["step"] >= 100]
    assert sorted((r["contact_id"], r["step"], r["due_at"]) for r in reminders) == sorted(
        (c, 100 + k, to_epoch(starts - offset))
        for c in ("r1", "r2")
        for k, offset in enumerate([timedelta(hours=24), timedelta(hours=2)])
    )
    # r1 attends early (a replay of a recording, say): the platform tells us; their reminders stop.
    async with TestClient(TestServer(world.app.http)) as client:
        status, body = await post_hook(
            client,
            world,
            {
                "events": [
                    {
                        "contact_id": "r1",
                        "type": "webinar_attended",
                        "at": iso_utc(now),
                        "campaign_id": "web-1",
                    }
                ]
            },
        )
    assert status == 200 and body["reminders_stopped"] == 2
    while world.clock() < starts:
        while (await world.app.dispatch(world.clock())).claimed:
            pass
        world.clock.advance(timedelta(minutes=30))
    sent = [m.rcpt_tos[0] for m in world.smtp.messages]
    assert sent.count("r1@example.org") == 1  # the invitation only
    assert sent.count("r2@example.org") == 3  # invitation and two reminders
