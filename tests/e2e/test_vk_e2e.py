"""VK through the durable dispatch path against the stand-in: a cascade email → VK, error 901 revoking
consent, a lost answer resent as one message, a bad token keeping the rows, the stricter setting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.i18n import shipped_catalogs
from bot.report_campaign import stats_blocks
from dispatcher.stats import campaign_stats
from policy.timeutil import iso_utc, to_epoch
from storage.campaigns import get_campaign
from storage.outbox import rows_of_campaign
from tests.e2e.conftest import APPROVER, AUTHOR
from tests.e2e.people import relax_app
from tests.e2e.vk_support import VkWorld, add_vk_contacts, vk_id_of, vk_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[VkWorld]:
    async for w in vk_world(tmp_path):
        relax_app(w.app)
        yield w


def campaign(campaign_id: str, world: VkWorld, *, channels: str, cascade_to: str | None = None) -> str:
    now = world.clock()
    text = f"""
id = "{campaign_id}"
name = "VK {campaign_id}"
priority = "mass"
channels = {channels}
audience = "all"
start = "{iso_utc(now)}"
deadline = "{iso_utc(now + timedelta(days=3))}"
windows = {{ from = "00:00", to = "00:00" }}
[[versions]]
segment = "all"
subject = "Приглашение"
text = "Приходите на эфир"
vk = "{{{{ contact.first_name }}}}, эфир в 19:00{{{{ button('Программа', links.program) }}}}"
[links]
program = "https://school.example/program"
"""
    if cascade_to is not None:
        text += f"""
[[cascade]]
channel = "{cascade_to}"
after = "12h"
unless = "event:open within 24h"
"""
    return text


async def run(world: VkWorld, campaign_id: str, text: str) -> None:
    service, now = world.app.service, world.clock()
    await service.add(text, f"{campaign_id}.toml", by=AUTHOR, at=now)
    await service.dry_run(campaign_id, at=now, by=AUTHOR)
    await service.approve(campaign_id, by=APPROVER, at=now)
    await service.plan(campaign_id, at=now)
    await drain(world)


async def drain(world: VkWorld) -> None:
    while (await world.app.dispatch(world.clock())).claimed:
        pass


async def statuses(world: VkWorld, campaign_id: str, step: int | None = None) -> dict[str, tuple[str, str]]:
    rows = await rows_of_campaign(world.app.db, campaign_id, step)
    return {r["contact_id"]: (r["status"], r["reason"] or "") for r in rows}


async def test_a_cascade_reaches_by_vk_those_who_did_not_open_the_email(world: VkWorld) -> None:
    ids = await add_vk_contacts(world.app.db, ["v1", "v2", "v3"], at=world.clock())
    await add_vk_contacts(world.app.db, ["v4"], at=world.clock(), vk_consent="revoked")
    for cid in [*ids, "v4"]:
        world.vk.allow(vk_id_of(cid))
    await run(world, "casc-vk", campaign("casc-vk", world, channels='["email"]', cascade_to="vk"))
    assert len(world.smtp.messages) == 4
    async with world.app.db.transaction() as conn:  # v1 opened the email
        await conn.execute(
            "INSERT INTO events (contact_id, type, at, campaign_id) VALUES ('v1', 'open', ?, 'casc-vk')",
            (to_epoch(world.clock()) + 600,),
        )
    for _ in range(3 * 24):
        world.clock.advance(timedelta(hours=1))
        await world.app.follow_up(world.clock())
        await drain(world)
    steps = await statuses(world, "casc-vk", 1)
    assert steps["v1"] == ("cancelled", "unless")
    assert steps["v2"][0] == steps["v3"][0] == "sent"
    assert "v4" not in steps or steps["v4"][0] != "sent"  # revoked VK consent: never reached there
    sent = sorted(world.vk.sent, key=lambda m: m.peer_id)
    assert [m.peer_id for m in sent] == [vk_id_of("v2"), vk_id_of("v3")]
    assert sent[0].text.startswith("Гость, эфир в 19:00")
    [(label, link)] = sent[0].links()
    assert label == "Программа" and link.startswith("https://ritm.school.example/c/")  # tracked click
    stats = await campaign_stats(world.app.reports, "casc-vk", world.clock())
    channels = stats.to_json()["channels"]
    assert (channels["email"]["sent"], channels["vk"]["sent"], channels["vk"]["failed"]) == (4, 2, 0)
    record = await get_campaign(world.app.db, "casc-vk")
    assert record is not None
    text = "\n".join(stats_blocks(record, stats, shipped_catalogs().translator("ru")))
    assert "ВКонтакте: отправлено 2, доставлено 2, отказы 0, жалобы 0, ошибки 0" in text


async def test_error_901_revokes_vk_consent_and_suppresses_the_address(world: VkWorld) -> None:
    await add_vk_contacts(world.app.db, ["n1", "n2"], at=world.clock())
    world.vk.allow(vk_id_of("n1"))  # n2 never allowed the community's messages
    await run(world, "vk-901", campaign("vk-901", world, channels='["vk"]'))
    assert await statuses(world, "vk-901") == {"n1": ("sent", ""), "n2": ("failed", "blocked")}
    consent = await world.app.db.fetchone(
        "SELECT status, source FROM consents WHERE contact_id = 'n2' AND channel = 'vk'"
    )
    assert consent is not None and tuple(consent) == ("revoked", "bot_blocked")
    suppressed = await world.app.db.scalar(
        "SELECT reason FROM suppressions WHERE channel = 'vk' AND address = ?", (str(vk_id_of("n2")),)
    )
    assert suppressed == "bot_blocked"


async def test_a_lost_answer_is_retried_and_makes_one_message(world: VkWorld) -> None:
    await add_vk_contacts(world.app.db, ["l1"], at=world.clock())
    world.vk.allow(vk_id_of("l1"))
    world.vk.lose_next_answers(1)
    await run(world, "vk-lost", campaign("vk-lost", world, channels='["vk"]'))
    assert (await statuses(world, "vk-lost"))["l1"][0] == "retry"
    world.clock.advance(timedelta(minutes=2))
    await drain(world)
    assert (await statuses(world, "vk-lost"))["l1"][0] == "sent"
    assert len(world.vk.sent_to(vk_id_of("l1"))) == 1 and world.vk.calls == 2


async def test_a_rejected_token_keeps_the_rows_for_later(world: VkWorld) -> None:
    await add_vk_contacts(world.app.db, ["t1", "t2"], at=world.clock())
    world.vk.token = "rotated-by-the-community-admin"
    await run(world, "vk-token", campaign("vk-token", world, channels='["vk"]'))
    assert {s for s, _ in (await statuses(world, "vk-token")).values()} == {"retry"}
    assert world.vk.sent == []


async def test_a_cascade_chains_email_telegram_and_vk(world: VkWorld) -> None:
    now = world.clock()
    await add_vk_contacts(world.app.db, ["m1", "m2"], at=now)
    async with world.app.db.transaction() as conn:  # m1 also has a Telegram chat, m2 does not
        await conn.execute("UPDATE contacts SET telegram_chat_id = 9001 WHERE id = 'm1'")
        await conn.execute(
            "INSERT INTO consents (contact_id, channel, status, source, at) VALUES ('m1', 'telegram',"
            " 'granted', 'test', ?)",
            (to_epoch(now),),
        )
    for cid in ("m1", "m2"):
        world.vk.allow(vk_id_of(cid))
    text = campaign("chain", world, channels='["email"]', cascade_to="telegram")
    text += '\n[[cascade]]\nchannel = "vk"\nafter = "12h"\nunless = "event:click within 24h"\n'
    await run(world, "chain", text)
    for _ in range(5 * 24):
        world.clock.advance(timedelta(hours=1))
        await world.app.follow_up(world.clock())
        await drain(world)
    rows = await rows_of_campaign(world.app.db, "chain")
    done = {(r["contact_id"], r["step"], r["channel"], r["status"]) for r in rows}
    assert {("m1", 0, "email", "sent"), ("m1", 1, "telegram", "sent"), ("m1", 2, "vk", "sent")} <= done
    # Without a chat the Telegram step is cancelled (no_address), and a chain goes on from a sent step only.
    assert ("m2", 1, "telegram", "cancelled") in done
    assert [m.peer_id for m in world.vk.sent] == [vk_id_of("m1")]
