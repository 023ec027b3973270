"""From the chat alone: add a campaign file, read its dry run, four-eyes approval on cards, watch it go."""

from __future__ import annotations

from datetime import timedelta

from ritm.sandbox.telegram_records import SentMessage
from storage.campaigns import get_campaign
from storage.outbox import status_counts
from tests.bot.conftest import ADMIN, APPROVER, AUTHOR, EXAMPLES, OPERATOR, VIEWER, BotWorld

DIGEST = (EXAMPLES / "digest.toml").read_bytes()


def card_of(world: BotWorld, user_id: int) -> SentMessage:
    """The one approval card in a member's chat (with its buttons, or edited after a decision)."""
    [card] = [m for m in world.standin.sent(user_id) if m.buttons() or m.edited]
    return card


def open_cards(world: BotWorld, user_id: int) -> list[SentMessage]:
    return [m for m in world.standin.sent(user_id) if m.buttons()]


async def run_until_sent(world: BotWorld, hours: int, step_min: int = 15) -> None:
    end = world.clock() + timedelta(hours=hours)
    while world.clock() < end:
        while (await world.app.dispatch(world.clock())).claimed:
            pass
        world.clock.advance(timedelta(minutes=step_min))


async def test_bad_campaign_file_gets_its_first_error_sentence(world: BotWorld) -> None:
    bad = DIGEST.replace(b'priority = "mass"', b'priority = "bulk"')
    [reply] = await world.upload(AUTHOR, "digest.toml", bad)
    assert reply.text == (
        "Not done: digest.toml: priority: must be service, scenario or mass, got 'bulk' (line 6)"
    )
    [typo] = await world.upload(
        AUTHOR, "digest.toml", DIGEST.replace(b'audience = "all"', b'audience = "tag:"')
    )
    assert (typo.text or "").startswith("Not done: digest.toml: audience: at column")
    [wrong] = await world.upload(AUTHOR, "base.csv", b"id,email\n")
    assert wrong.text == "Send a campaign file with the .toml extension."
    assert await world.app.db.scalar("SELECT COUNT(*) FROM campaigns") == 0
    [refused] = await world.upload(VIEWER, "digest.toml", DIGEST)
    assert refused.text == "Sorry, this needs the operator role; yours is viewer."


async def test_four_eyes_approval_edits_every_card_and_the_campaign_goes_out(world: BotWorld) -> None:
    [added] = await world.upload(AUTHOR, "digest.toml", DIGEST)
    assert added.text == "digest-48: added as draft; /dryrun digest-48"
    record = await get_campaign(world.app.db, "digest-48")
    assert record is not None and record.author == str(AUTHOR) and record.status == "draft"
    [listed] = await world.say(VIEWER, "/campaigns")
    assert "digest-48 Дайджест недели #48 — mass, draft" in (listed.text or "")

    _, campaign = await world.app.service.load("digest-48")
    world.clock.set(campaign.start - timedelta(hours=1))
    [refused] = await world.say(VIEWER, "/dryrun digest-48")
    assert (refused.text or "").startswith("Sorry, this needs the operator role")

    replies = await world.say(AUTHOR, "/dryrun digest-48")
    report = (await get_campaign(world.app.db, "digest-48")).dry_run  # type: ignore[union-attr]
    assert report is not None
    text = "\n".join(m.text or "" for m in replies if not m.buttons())
    assert "Dry run of digest-48" in text and f"planned: {report.planned}" in text
    assert f"Audience: {report.audience} contacts" in text
    assert "no address" in text and "Approval cards sent to 3 approvers." in text
    assert "Preview «general»" in text

    cards = {user: card_of(world, user) for user in (AUTHOR, APPROVER, ADMIN)}
    for other in (OPERATOR, VIEWER):  # approvers only
        assert not [m for m in world.standin.sent(other) if m.buttons()]
    assert "Approval needed: digest-48" in (cards[AUTHOR].text or "")  # the author's language (en)
    assert "Нужно согласование: digest-48" in (cards[APPROVER].text or "")  # no language known: ru

    answer = await world.press(AUTHOR, cards[AUTHOR], text="✅ Approve")
    assert answer["show_alert"] is True
    assert answer["text"] == "Not done: the author of a campaign can never approve it (four-eyes rule)"
    assert all(not c.edited and c.buttons() for c in cards.values())  # every card stays
    assert (await get_campaign(world.app.db, "digest-48")).status == "pending_approval"  # type: ignore[union-attr]

    answer = await world.press(APPROVER, cards[APPROVER], text="✅ Согласовать")
    assert answer["text"] == "Approved." and not answer["show_alert"]
    assert (await get_campaign(world.app.db, "digest-48")).status == "approved"  # type: ignore[union-attr]
    for user, card in cards.items():
        assert card.edited and card.buttons() == [], user
    assert "✅ Approved by member202 (202)" in (cards[AUTHOR].text or "")
    assert "✅ Согласовал(а) member202 (202)" in (cards[ADMIN].text or "")

    assert await world.app.plan_due(world.clock()) == ["digest-48"]
    await run_until_sent(world, hours=3 * 24)
    counts = await status_counts(world.app.db, "digest-48")
    assert counts.get("sent") == report.planned
    [stats, chart] = await world.say(VIEWER, "/stats digest-48")
    assert chart.photo is not None  # the numbers, then their chart
    assert f"Sent {report.planned} · failed 0" in (stats.text or "")
    assert f"holdout {report.holdout}" in (stats.text or "")


async def test_a_newer_dry_run_supersedes_the_cards_and_a_rejection_closes_them(world: BotWorld) -> None:
    await world.upload(OPERATOR, "digest.toml", DIGEST)
    _, campaign = await world.app.service.load("digest-48")
    world.clock.set(campaign.start - timedelta(hours=2))
    await world.say(OPERATOR, "/dryrun digest-48")
    [first] = open_cards(world, APPROVER)
    world.clock.advance(timedelta(minutes=30))
    await world.say(OPERATOR, "/dryrun digest-48")
    assert first.edited and first.buttons() == []
    assert "Заменено более новым прогоном" in (first.text or "")  # the approver's card is in ru
    [second] = open_cards(world, APPROVER)
    assert second.message_id != first.message_id
    answer = await world.press(APPROVER, second, data=second.buttons()[1]["callback_data"])
    assert answer["text"] == "Rejected."  # the press carries no language: en
    assert (await get_campaign(world.app.db, "digest-48")).status == "rejected"  # type: ignore[union-attr]
    for user in (AUTHOR, APPROVER, ADMIN):
        assert open_cards(world, user) == []
    assert "Отклонил(а) member202 (202)" in (second.text or "")
    rows = await world.audit_rows("campaign.rejected")
    assert rows == [(str(APPROVER), "campaign.rejected", "digest-48", "bot")]
