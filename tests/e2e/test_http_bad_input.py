"""The HTTP endpoints answer absurd or repeated input with a 4xx and a reason, and change nothing;
an unsubscribe waits out another process's write lock instead of failing."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from dispatcher.hooks import sign_hook
from policy.timeutil import iso_utc, to_epoch
from tests.e2e.conftest import World
from tests.e2e.people import add_contacts
from tests.secret_support import TEST_SECRET


async def post_raw(
    client: TestClient, world: World, body: bytes, *, delivery: str | None = None, skew_s: int = 0
) -> tuple[int, dict[str, object]]:
    stamp = to_epoch(world.clock()) + skew_s
    headers = {"X-Ritm-Timestamp": str(stamp), "X-Ritm-Signature": sign_hook(TEST_SECRET, body, stamp)}
    if delivery is not None:
        headers["X-Ritm-Delivery"] = delivery
    response = await client.post("/hooks/events", data=body, headers=headers)
    return response.status, await response.json()


async def active_tags(world: World, contact_id: str) -> list[str]:
    rows = await world.app.db.fetchall(
        "SELECT tag FROM tags WHERE contact_id = ? AND removed_at IS NULL ORDER BY tag", (contact_id,)
    )
    return [r[0] for r in rows]


async def test_absurd_webhook_bodies_get_a_400_with_a_reason(world: World) -> None:
    await add_contacts(world.app.db, ["w1"], at=world.clock())
    async with TestClient(TestServer(world.app.http)) as client:
        for body, reason in (
            (b"[" * 100_000, "nested too deeply"),
            (json.dumps({"tags": [[[]] * 3]}).encode(), "list of objects"),
            (b'{"contacts": "\\u0000"}', "list of objects"),
            (b'{"contacts": "\x00"}', "not JSON"),
            (b"", "not JSON"),
            (b"\xff\xfe", "not JSON"),
        ):
            status, answer = await post_raw(client, world, body, delivery=uuid.uuid4().hex)
            assert status == 400 and reason in str(answer["error"]), (body[:20], answer)
        ok_body = json.dumps({"tags": [{"contact_id": "w1", "tag": "marathon"}]}).encode()
        for delivery in (None, "", "x" * 201, "with space", "ключ"):
            status, answer = await post_raw(client, world, ok_body, delivery=delivery)
            assert status == 400 and "X-Ritm-Delivery" in str(answer["error"]), delivery
    assert await active_tags(world, "w1") == []


async def test_a_repeated_delivery_changes_nothing_for_a_week(world: World) -> None:
    await add_contacts(world.app.db, ["w1"], at=world.clock())
    set_body = json.dumps(
        {"tags": [{"contact_id": "w1", "tag": "marathon", "set_at": iso_utc(world.clock())}]}
    ).encode()
    async with TestClient(TestServer(world.app.http)) as client:
        status, answer = await post_raw(client, world, set_body, delivery="d-set")
        assert status == 200 and answer["tags"] == {"set": 1, "removed": 0}
        world.clock.advance(timedelta(seconds=60))
        remove = {"tags": [{"contact_id": "w1", "tag": "marathon", "action": "remove"}]}
        status, _ = await post_raw(client, world, json.dumps(remove).encode(), delivery="d-remove")
        assert status == 200 and await active_tags(world, "w1") == []

        # The platform retries the old `set` (new timestamp, same id): it must not undo the removal.
        world.clock.advance(timedelta(seconds=60))
        status, answer = await post_raw(client, world, set_body, delivery="d-set")
        assert (status, answer) == (200, {"ok": True, "duplicate": True})
        # The same signed request replayed under a fresh id is a repeat too (the signature is a key).
        stamp = to_epoch(world.clock())
        headers = {
            "X-Ritm-Timestamp": str(stamp),
            "X-Ritm-Signature": sign_hook(TEST_SECRET, set_body, stamp),
        }
        first = await client.post("/hooks/events", data=set_body, headers={**headers, "X-Ritm-Delivery": "a"})
        assert first.status == 200 and (await first.json()).get("duplicate") is None
        await client.post(
            "/hooks/events",
            data=json.dumps(remove).encode(),
            headers={
                **headers,
                "X-Ritm-Delivery": "b",
                "X-Ritm-Signature": sign_hook(TEST_SECRET, json.dumps(remove).encode(), stamp),
            },
        )
        replay = await client.post(
            "/hooks/events", data=set_body, headers={**headers, "X-Ritm-Delivery": "c"}
        )
        assert (await replay.json())["duplicate"] is True
        assert await active_tags(world, "w1") == []

        # Ids are remembered for 7 days, then pruned: the same id is a new delivery again.
        world.clock.advance(timedelta(days=7, minutes=5))
        status, answer = await post_raw(client, world, set_body, delivery="d-set")
        assert status == 200 and answer.get("duplicate") is None and "tags" in answer
    kept = await world.app.db.scalar("SELECT COUNT(*) FROM webhook_deliveries")
    assert kept == 2  # only this last delivery's id and signature


async def test_unsubscribing_a_deleted_contact_is_a_410_and_changes_nothing(world: World) -> None:
    await add_contacts(world.app.db, ["gone"], at=world.clock())
    url = world.app.service.signer.unsubscribe_url("gone", "email", "c-1")
    async with world.app.db.transaction() as conn:
        await conn.execute("DELETE FROM contacts WHERE id = 'gone'")
    audit_before = await world.app.db.scalar("SELECT COUNT(*) FROM audit_log")
    async with TestClient(TestServer(world.app.http)) as client:
        response = await client.post(url.split("ritm.school.example", 1)[1])
        assert response.status == 410 and "нет в нашей базе" in await response.text()
        forged = await client.post("/u/" + "A" * 40)
        assert forged.status == 404
    assert await world.app.db.scalar("SELECT COUNT(*) FROM events") == 0
    assert await world.app.db.scalar("SELECT COUNT(*) FROM audit_log") == audit_before


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


async def test_an_unsubscribe_waits_out_another_process_holding_the_write_lock(
    world: World, tmp_path: Path
) -> None:
    await add_contacts(world.app.db, ["busy"], at=world.clock())
    url = world.app.service.signer.unsubscribe_url("busy", "email", "c-1")
    hold_s = 7.0
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_LOCK,
        str(tmp_path / "ritm.db"),
        str(hold_s),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and (await holder.stdout.readline()).strip() == b"locked"
        started = time.monotonic()
        async with TestClient(TestServer(world.app.http)) as client:
            response = await client.post(url.split("ritm.school.example", 1)[1])
            waited_s = time.monotonic() - started
            assert response.status == 200, await response.text()
    finally:
        assert await asyncio.wait_for(holder.wait(), timeout=30) == 0
    assert waited_s >= hold_s - 1.5  # it really waited for the lock (and did not fail at the busy timeout)
    status = await world.app.db.scalar(
        "SELECT status FROM consents WHERE contact_id = 'busy' AND channel = 'email'"
    )
    assert status == "revoked"
    assert await world.app.db.scalar("SELECT COUNT(*) FROM events WHERE type = 'unsubscribe'") == 1


async def test_out_of_range_webhook_items_are_reported_not_a_500(world: World) -> None:
    body = json.dumps(
        {
            "contacts": [
                {"id": "big", "email": "big@example.org", "telegram_chat_id": 10**30},
                {"id": "old", "email": "old@example.org", "created_at": "0001-01-01T00:00:00Z"},
                {"id": "", "email": "empty@example.org"},
                {"id": "ok", "email": "ok@example.org", "telegram_chat_id": -1001234567890},
            ]
        }
    ).encode()
    async with TestClient(TestServer(world.app.http)) as client:
        status, answer = await post_raw(client, world, body, delivery="odd-1")
    assert status == 200, answer
    reasons = {e["index"]: e["reason"] for e in answer["errors"]}  # type: ignore[union-attr]
    assert "64-bit" in reasons[0] and "year 1 is outside" in reasons[1] and 2 in reasons
    assert answer["contacts"] == {"imported": 1, "updated": 0, "unchanged": 0}
