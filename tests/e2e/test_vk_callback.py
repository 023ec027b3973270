"""`POST /hooks/vk`: VK's Callback API over HTTP — confirmation, consent from message_allow / message_deny
(audited, lifting an earlier 901), and bad input refused with a reason and nothing stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from ritm.policy_file import default_policy_text
from ritm.sandbox.vk_api import DEFAULT_GROUP_ID
from storage.suppressions import suppress
from tests.e2e.vk_support import VK_SECRET, VkWorld, add_vk_contacts, vk_id_of, vk_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[VkWorld]:
    policy = default_policy_text() + f"\n[channels.vk]\ngroup_id = {DEFAULT_GROUP_ID}\nrate_per_s = 20\n"
    async for w in vk_world(tmp_path, policy_text=policy):
        yield w


@pytest.fixture
async def hook_url(world: VkWorld) -> AsyncIterator[str]:
    async with TestServer(world.app.http) as server:
        yield str(server.make_url("/hooks/vk"))


async def consents(world: VkWorld) -> list[tuple[str, str, str]]:
    rows = await world.app.db.fetchall(
        "SELECT contact_id, status, source FROM consents WHERE channel = 'vk' ORDER BY contact_id"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_confirmation_gets_the_configured_string(world: VkWorld, hook_url: str) -> None:
    assert await world.vk.notify(hook_url, "confirmation", 0, secret=None) == (200, "standin-confirmation")


async def test_allow_and_deny_set_the_consent_and_are_audited(world: VkWorld, hook_url: str) -> None:
    await add_vk_contacts(world.app.db, ["a1", "a2"], at=world.clock(), vk_consent=None)
    async with world.app.db.transaction() as conn:  # an earlier send got 901
        await suppress(conn, "vk", vk_id_of("a1"), "bot_blocked", world.clock())
    assert await world.vk.notify(hook_url, "message_allow", vk_id_of("a1"), secret=VK_SECRET) == (200, "ok")
    assert await world.vk.notify(hook_url, "message_deny", vk_id_of("a2"), secret=VK_SECRET) == (200, "ok")
    assert await consents(world) == [("a1", "granted", "vk"), ("a2", "revoked", "vk")]
    assert (
        await world.app.db.scalar(
            "SELECT COUNT(*) FROM suppressions WHERE address = ?", (str(vk_id_of("a1")),)
        )
        == 0
    )
    denied = await world.app.db.scalar(
        "SELECT reason FROM suppressions WHERE channel = 'vk' AND address = ?", (str(vk_id_of("a2")),)
    )
    assert denied == "unsubscribe"
    audit = await world.app.db.fetchall(
        "SELECT target, action, source FROM audit_log WHERE action LIKE 'consent.%' ORDER BY target"
    )
    assert [tuple(r) for r in audit] == [("a1", "consent.granted", "vk"), ("a2", "consent.revoked", "vk")]
    # VK resends an event it got no "ok" for: a repeat changes nothing.
    assert await world.vk.notify(hook_url, "message_deny", vk_id_of("a2"), secret=VK_SECRET) == (200, "ok")
    assert await world.app.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'consent.%'") == 2


async def test_a_forged_or_missing_secret_is_refused_and_changes_nothing(
    world: VkWorld, hook_url: str
) -> None:
    await add_vk_contacts(world.app.db, ["f1"], at=world.clock())
    for secret in ("guessed", None, ""):
        status, body = await world.vk.notify(hook_url, "message_deny", vk_id_of("f1"), secret=secret)
        assert status == 403 and "secret" in body
    assert await consents(world) == [("f1", "granted", "test")]


async def test_bad_bodies_get_400_or_403_with_one_sentence(world: VkWorld, hook_url: str) -> None:
    await add_vk_contacts(world.app.db, ["b1"], at=world.clock())
    event = {"type": "message_deny", "group_id": DEFAULT_GROUP_ID, "secret": VK_SECRET}
    cases: list[tuple[bytes, int, str]] = [
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe", 400, "not JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({**event, "object": {"user_id": "x"}}).encode(), 400, "user_id"),
        (json.dumps({**event, "object": {"user_id": True}}).encode(), 400, "user_id"),
        (json.dumps({**event, "object": {"user_id": 2**70}}).encode(), 400, "user_id"),
        (
            json.dumps({**event, "group_id": 1, "object": {"user_id": vk_id_of("b1")}}).encode(),
            403,
            "community",
        ),
    ]
    async with ClientSession() as session:
        for body, status, reason in cases:
            async with session.post(hook_url, data=body) as answer:
                text = await answer.text()
                assert (answer.status, reason in text) == (status, True), (body[:40], text)
                assert text.strip().endswith(".") and "\n" not in text.strip()  # one sentence
    assert await consents(world) == [("b1", "granted", "test")]


async def test_an_unknown_vk_user_is_answered_ok_and_stores_nothing(world: VkWorld, hook_url: str) -> None:
    assert await world.vk.notify(hook_url, "message_allow", 424242, secret=VK_SECRET) == (200, "ok")
    assert await consents(world) == []
