"""Soft bounces add up, webhook reports are signed and answered, unknown senders are kept aside."""

from __future__ import annotations

import uuid
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from dispatcher.feedback import SOFT_BOUNCE_SPAN, apply_feedback
from dispatcher.hooks import sign_hook
from policy.timeutil import to_epoch
from storage.feedback import kept_aside
from tests.e2e.conftest import World
from tests.e2e.people import add_contacts, relax
from tests.feedback.conftest import RETURN_PATH
from tests.feedback.reports import arf, dsn, unsubscribe_mail
from tests.feedback.test_feedback_mailbox import send_campaign, suppression
from tests.secret_support import TEST_SECRET


async def soft_bounce(world: World, address: str) -> bool:
    applied = await apply_feedback(
        world.app.db,
        dsn(to=RETURN_PATH, recipient=address, status="4.2.2"),
        source="imap",
        now=world.clock(),
        return_path=RETURN_PATH,
    )
    assert applied.kind == "soft_bounce" and applied.new
    return applied.suppressed


async def test_three_soft_bounces_within_30_days_suppress_the_address(world: World) -> None:
    await add_contacts(world.app.db, ["s1", "s2"], at=world.clock())
    assert not await soft_bounce(world, "s1@example.org")
    world.clock.advance(SOFT_BOUNCE_SPAN + timedelta(days=1))  # the first one falls out of the span
    assert not await soft_bounce(world, "S1@example.org")
    world.clock.advance(timedelta(days=10))
    assert not await soft_bounce(world, "s1@example.org")
    assert await suppression(world, "s1@example.org") is None
    world.clock.advance(timedelta(days=10))
    assert await soft_bounce(world, "s1@example.org")  # three within 30 days
    assert await suppression(world, "s1@example.org") == "soft_bounces"
    assert await suppression(world, "s2@example.org") is None


async def test_an_unsubscribe_mail_from_an_unknown_address_is_kept_aside(world: World) -> None:
    applied = await apply_feedback(
        world.app.db,
        unsubscribe_mail(sender="stranger@example.net"),
        source="imap",
        now=world.clock(),
        return_path=None,
    )
    assert (applied.kind, applied.new) == ("unparsable", True)
    [aside] = await kept_aside(world.app.db)
    assert aside.detail == "no contact has the address 'stranger@example.net' the unsubscribe mail came from"


async def post_report(
    client: TestClient, world: World, body: bytes, *, secret: str = TEST_SECRET, delivery: str | None = None
) -> tuple[int, dict[str, object]]:
    stamp = to_epoch(world.clock())
    headers = {
        "Content-Type": "message/rfc822",
        "X-Ritm-Timestamp": str(stamp),
        "X-Ritm-Signature": sign_hook(secret, body, stamp),
        "X-Ritm-Delivery": delivery or uuid.uuid4().hex,
    }
    response = await client.post("/hooks/bounces", data=body, headers=headers)
    return response.status, await response.json()


async def test_the_bounce_webhook_applies_signed_reports_only(world: World) -> None:
    relax(world)
    await add_contacts(world.app.db, ["h1", "h2"], at=world.clock())
    rows = await send_campaign(world, "hooked")
    bounce = dsn(to=f"bounces+{rows['h1']}@school.example", recipient="h1@example.org")
    async with TestClient(TestServer(world.app.http)) as client:
        forged = await post_report(client, world, bounce, secret="x" * 40)
        assert forged[0] == 401
        assert await suppression(world, "h1@example.org") is None

        status, body = await post_report(client, world, bounce, delivery="d-1")
        assert (status, body["kind"], body["outbox_id"], body["contact_id"]) == (
            200,
            "hard_bounce",
            rows["h1"],
            "h1",
        )
        assert await suppression(world, "h1@example.org") == "hard_bounce"
        assert await post_report(client, world, bounce, delivery="d-1") == (
            200,
            {"ok": True, "duplicate": True},
        )
        world.clock.advance(timedelta(seconds=5))  # a new delivery, newly signed, of the same report
        again = await post_report(client, world, bounce)
        assert again[0] == 200 and again[1]["new"] is False

        status, body = await post_report(client, world, b"Subject: hello\r\n\r\nnot a report\r\n")
        assert status == 422 and body["kept_aside"] is True
        assert body["error"] == "neither a DSN, an ARF report nor an unsubscribe request"

        complaint = arf(recipient="h2@example.org", original_id=None)
        status, body = await post_report(client, world, complaint)
        assert (status, body["kind"], body["contact_id"]) == (
            200,
            "complaint",
            None,
        )  # no row named: the address
    assert await suppression(world, "h2@example.org") == "complaint"
