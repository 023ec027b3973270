"""/contact: the explanation of one contact, read from the chat (and bad ids, one sentence each)."""

from __future__ import annotations

from bot.format import utc_text
from dispatcher.explain import explain_contact
from tests.bot.conftest import EXAMPLES, OPERATOR, VIEWER, BotWorld


async def test_contact_explains_reach_rules_and_next_instants(world: BotWorld) -> None:
    explained = await explain_contact(world.app.db, world.app.policy, "h00012", world.clock())
    assert explained is not None
    replies = await world.say(VIEWER, "/contact h00012")
    text = "\n".join(m.text or "" for m in replies)
    assert text.startswith(f"Contact h00012 · {explained.timezone}, local time {explained.local_time}")
    for channel, reach in explained.reachable.items():
        mark = "✅" if reach.ok else "—"
        name = {"email": "email", "telegram": "Telegram", "sms": "SMS", "vk": "VK"}[channel]
        assert f"{mark} {name}: {reach.why}" in text
    mass = explained.next["mass"]
    when = utc_text(mass.at) if mass.at else "none"
    assert f"Next mass message: {when} — {mass.why}" in text
    assert len(replies) == 1


async def test_contact_with_a_campaign_and_bad_ids(world: BotWorld) -> None:
    await world.upload(OPERATOR, "digest.toml", (EXAMPLES / "digest.toml").read_bytes())
    replies = await world.say(VIEWER, "/contact h00012 digest-48", language_code="ru")
    assert "Кампания digest-48:" in "\n".join(m.text or "" for m in replies)
    # The member's language is remembered from the first message (ru), whatever the next one says.
    [unknown] = await world.say(VIEWER, "/contact nobody", language_code="en")
    assert unknown.text == "Контакта nobody нет."
    [no_campaign] = await world.say(VIEWER, "/contact h00012 nothing-here")
    assert no_campaign.text == "Не выполнено: there is no campaign 'nothing-here'"
    [usage] = await world.say(VIEWER, "/contact")
    assert usage.text == "Использование: /contact ID_КОНТАКТА [ID_КАМПАНИИ]"
