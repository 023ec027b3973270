"""Callback data the bot never made (`apr:zz`, a huge card id) gets a specific alert and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.campaigns import get_campaign
from tests.bot.conftest import APPROVER, AUTHOR, EXAMPLES, BotWorld


async def forge(world: BotWorld, data: str) -> dict[str, Any]:
    """Press `data` on the approver's card as a modified client could, whatever its buttons carry."""
    [card] = [m for m in world.standin.sent(APPROVER) if m.buttons()]
    query_id = world.standin.press_button(APPROVER, card, data=data, forged=True)
    await world.standin.wait_until_consumed()
    answer = world.standin.callback_answer(query_id)
    assert answer is not None, "the bot did not answer the press"
    return answer


async def test_forged_approval_buttons_are_answered_and_change_nothing(world: BotWorld) -> None:
    await world.upload(AUTHOR, "digest.toml", (EXAMPLES / "digest.toml").read_bytes())
    _, campaign = await world.app.service.load("digest-48")
    world.clock.set(campaign.start - timedelta(hours=1))
    await world.say(AUTHOR, "/dryrun digest-48")
    [card] = [m for m in world.standin.sent(APPROVER) if m.buttons()]
    for data in ("apr:zz", "apr:ok", "apr:ok:", "apr:maybe:1", "apr:ok:99999999999999999999999", "apr:ok:٣"):
        answer = await forge(world, data)
        assert answer["show_alert"] is True and answer["text"] == "This button is not one of ours.", data
    answer = await forge(world, "apr:ok:999999")
    assert answer["text"] == "This card is closed."
    record = await get_campaign(world.app.db, "digest-48")
    assert record is not None and record.status == "pending_approval"
    assert card.buttons() and not card.edited
