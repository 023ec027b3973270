"""The subscriber side through the stand-in: deep-link binding, forged links, /stop, preferences."""

from __future__ import annotations

import json

from tests.bot.conftest import BotWorld

CHAT = 777001


async def snapshot(world: BotWorld) -> list[list[tuple[object, ...]]]:
    tables = ("contacts", "consents", "suppressions", "audit_log")
    return [
        [tuple(r) for r in await world.app.db.fetchall(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in tables
    ]


async def consent(world: BotWorld, contact_id: str, channel: str) -> tuple[str, str] | None:
    row = await world.app.db.fetchone(
        "SELECT status, source FROM consents WHERE contact_id = ? AND channel = ?", (contact_id, channel)
    )
    return None if row is None else (str(row[0]), str(row[1]))


async def test_deep_link_binds_the_chat_and_grants_consent(world: BotWorld) -> None:
    token = world.app.service.signer.start_token("h00020")
    [reply] = await world.say(CHAT, f"/start {token}", language_code="ru")
    assert (reply.text or "").startswith("Готово: сообщения школы будут приходить в этот чат.")
    chat = await world.app.db.scalar("SELECT telegram_chat_id FROM contacts WHERE id = 'h00020'")
    assert chat == CHAT
    assert await consent(world, "h00020", "telegram") == ("granted", "deep_link")
    bound = await world.audit_rows("telegram.bound")
    assert [(r[0], r[2], r[3]) for r in bound] == [("contact:h00020", "h00020", "bot")]


async def test_a_forged_token_gets_one_sentence_and_changes_nothing(world: BotWorld) -> None:
    token = world.app.service.signer.start_token("h00020")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    before = await snapshot(world)
    for payload in (forged, "h00020", "x" * 64):
        [reply] = await world.say(CHAT, f"/start {payload}")
        assert reply.text == "This link is not valid: open the newest link from the school's email."
    assert await snapshot(world) == before


async def test_stop_asks_first_then_revokes_telegram_consent(world: BotWorld) -> None:
    await world.say(CHAT, f"/start {world.app.service.signer.start_token('h00020')}")
    [ask] = await world.say(CHAT, "/stop")
    assert ask.text == "Stop the school's messages in Telegram?"
    await world.press(CHAT, ask, text="No, keep")
    assert ask.text == "Kept: messages keep coming." and ask.buttons() == []
    assert await consent(world, "h00020", "telegram") == ("granted", "deep_link")

    [ask] = await world.say(CHAT, "/stop")
    await world.press(CHAT, ask, text="Yes, stop")
    assert (ask.text or "").startswith("Stopped: no more messages here.")
    assert await consent(world, "h00020", "telegram") == ("revoked", "bot")
    revoked = await world.audit_rows("consent.revoked")
    assert [(r[2], r[3]) for r in revoked] == [("h00020", "bot")]


async def test_preferences_toggle_channels_and_store_the_frequency(world: BotWorld) -> None:
    await world.say(CHAT, f"/start {world.app.service.signer.start_token('h00020')}")
    [prefs] = await world.say(CHAT, "/prefs")
    assert [b["text"] for b in prefs.buttons()] == ["Email: on", "Telegram: on", "● As usual", "Once a week"]
    assert await consent(world, "h00020", "telegram") == ("granted", "deep_link")  # was revoked

    answer = await world.press(CHAT, prefs, text="Email: on")
    assert answer["text"] == "Saved."
    assert await consent(world, "h00020", "email") == ("revoked", "bot")
    assert next(b["text"] for b in prefs.buttons()) == "Email: off"

    await world.press(CHAT, prefs, text="Once a week")
    fields = await world.app.db.scalar("SELECT fields FROM contacts WHERE id = 'h00020'")
    assert json.loads(str(fields))["frequency"] == "weekly"
    assert [b["text"] for b in prefs.buttons()][2:] == ["As usual", "● Once a week"]

    await world.press(CHAT, prefs, text="Email: off")
    assert await consent(world, "h00020", "email") == ("granted", "bot")


async def test_a_subscriber_without_email_cannot_switch_email_on(world: BotWorld) -> None:
    await world.say(CHAT, f"/start {world.app.service.signer.start_token('h00000')}")  # no email on file
    [prefs] = await world.say(CHAT, "/prefs")
    answer = await world.press(CHAT, prefs, text="Email: off")
    assert answer["show_alert"] and answer["text"] == "The school has no email address of yours."
    assert await consent(world, "h00000", "email") == ("revoked", "import")


async def test_bound_subscriber_free_text_gets_a_note_without_an_audit_row(world: BotWorld) -> None:
    await world.say(CHAT, f"/start {world.app.service.signer.start_token('h00020')}")
    [note] = await world.say(CHAT, "спасибо!", language_code="ru")
    assert note.text == "Этот чат получает сообщения школы; ответы здесь не читают. /prefs, /stop."
    assert await world.audit_rows("bot.stranger") == []
    [hello] = await world.say(CHAT, "/start")
    assert (hello.text or "").startswith("This chat is connected.")


async def test_a_group_chat_cannot_be_bound(world: BotWorld) -> None:
    group = -100777
    world.standin.add_chat(group, chat_type="supergroup", title="School chat")
    before = await snapshot(world)
    token = world.app.service.signer.start_token("h00020")
    world.standin.user_message(CHAT, f"/start {token}", chat_id=group, language_code="en")
    await world.standin.wait_until_consumed()
    [reply] = world.standin.sent(group)
    assert reply.text == "Open this link in a private chat with the bot."
    assert await snapshot(world) == before
