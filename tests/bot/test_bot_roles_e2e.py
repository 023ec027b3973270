"""Roles through the real dispatcher: strangers and too-low roles are refused, politely and audited."""

from __future__ import annotations

from storage.pause import get_paused
from tests.bot.conftest import ADMIN, EXAMPLES, OPERATOR, STRANGER, VIEWER, BotWorld


async def test_stranger_gets_a_refusal_and_an_audit_row(world: BotWorld) -> None:
    [reply] = await world.say(STRANGER, "/segments")
    assert reply.text is not None and "for the school's team only" in reply.text
    assert await world.audit_rows("bot.refused") == [(str(STRANGER), "bot.refused", "segments", "bot")]
    assert await world.audit_rows("bot.segments") == []  # the command itself never ran


async def test_stranger_free_text_gets_a_note_and_an_audit_row(world: BotWorld) -> None:
    [reply] = await world.say(STRANGER, "привет, где мой курс?", language_code="ru")
    assert reply.text is not None and reply.text.startswith("Здравствуйте! Это бот школы.")
    rows = await world.audit_rows("bot.stranger")
    assert [(r[0], r[3]) for r in rows] == [(str(STRANGER), "bot")]


async def test_viewer_cannot_fire_an_urgent_message(world: BotWorld) -> None:
    [reply] = await world.say(VIEWER, "/urgent all")
    assert reply.text == "Sorry, this needs the operator role; yours is viewer."
    assert await world.app.db.scalar("SELECT COUNT(*) FROM campaigns") == 0
    assert await world.audit_rows("bot.refused") == [(str(VIEWER), "bot.refused", "urgent", "bot")]


async def test_operator_cannot_pause_but_an_admin_can(world: BotWorld) -> None:
    [refused] = await world.say(OPERATOR, "/pause", language_code="ru")
    assert refused.text == "Извините, для этого нужна роль «администратор»; у вас — «оператор»."
    assert not await get_paused(world.app.db)

    [paused] = await world.say(ADMIN, "/pause")
    assert paused.text is not None and paused.text.startswith("⏸ Paused")
    assert await get_paused(world.app.db)
    # Audited twice: the bot's command row and the pause itself, both from the bot.
    assert await world.audit_rows("pause") == [(str(ADMIN), "pause", "", "bot")]
    assert await world.audit_rows("bot.pause") == [(str(ADMIN), "bot.pause", "pause", "bot")]

    [resumed] = await world.say(ADMIN, "/resume")
    assert resumed.text is not None and resumed.text.startswith("▶️ Resumed")
    assert not await get_paused(world.app.db)


async def test_every_allowed_team_action_is_audited_with_source_bot(world: BotWorld) -> None:
    await world.say(VIEWER, "/whoami")
    await world.say(VIEWER, "/rfm")
    rows = await world.app.db.fetchall(
        "SELECT action, source FROM audit_log WHERE actor = ? ORDER BY id", (str(VIEWER),)
    )
    assert [(r[0], r[1]) for r in rows] == [("bot.whoami", "bot"), ("bot.rfm", "bot")]


async def test_command_menus_follow_the_role_and_language(world: BotWorld) -> None:
    default_ru = [c["command"] for c in world.standin.commands(None, "ru")]
    assert default_ru == ["start", "prefs", "stop"]
    assert world.standin.commands(None, "ru")[2]["description"] == "отписаться от сообщений в Telegram"

    def chat_menu(user_id: int, language: str) -> list[str]:
        return [c["command"] for c in world.standin.commands({"type": "chat", "chat_id": user_id}, language)]

    viewer, admin = chat_menu(VIEWER, "en"), chat_menu(ADMIN, "en")
    assert "segment" in viewer and "urgent" not in viewer and "pause" not in viewer
    assert {"urgent", "pause", "resume", "dryrun"} <= set(admin)
    assert "urgent" in chat_menu(OPERATOR, "ru") and "pause" not in chat_menu(OPERATOR, "ru")
    assert chat_menu(STRANGER, "en") == []


async def test_whoami_answers_in_the_members_language(world: BotWorld) -> None:
    [reply] = await world.say(OPERATOR, "/whoami", language_code="uk")
    assert reply.text is not None and "роль: оператор" in reply.text
    # The language is remembered for messages the bot starts itself (approval cards).
    assert await world.app.db.scalar("SELECT locale FROM team WHERE user_id = ?", (OPERATOR,)) == "ru"
    [switched] = await world.say(OPERATOR, "/lang en")
    assert switched.text == "Done: I will answer you in English."
    [again] = await world.say(OPERATOR, "/whoami", language_code="ru")
    assert again.text is not None and "role: operator" in again.text


async def test_help_lists_what_the_role_allows(world: BotWorld) -> None:
    [viewer] = await world.say(VIEWER, "/help")
    [admin] = await world.say(ADMIN, "/help")
    assert "/segment NAME | DSL — size, reach, RFM and a sample of a segment" in (viewer.text or "")
    assert "/urgent" not in (viewer.text or "") and "/pause" not in (viewer.text or "")
    assert "/urgent [NAME | DSL]" in (admin.text or "") and "/pause" in (admin.text or "")
    [start] = await world.say(ADMIN, "/start")
    assert start.text == admin.text  # a member's /start is the help


async def test_a_stranger_pressing_a_team_button_is_refused_and_audited(world: BotWorld) -> None:
    await world.upload(OPERATOR, "digest.toml", (EXAMPLES / "digest.toml").read_bytes())
    await world.say(OPERATOR, "/dryrun digest-48")
    [card] = [m for m in world.standin.sent(ADMIN) if m.buttons()]
    answer = await world.press(STRANGER, card, text=card.buttons()[0]["text"])
    assert answer["show_alert"] and "for the school's team only" in str(answer["text"])
    answer = await world.press(VIEWER, card, text=card.buttons()[0]["text"])
    assert answer["text"] == "Sorry, this needs the approver role; yours is viewer."
    refused = await world.audit_rows("bot.refused")
    assert [r[0] for r in refused] == [str(STRANGER), str(VIEWER)]
    assert card.buttons() and not card.edited
