"""From email to Telegram: a cascade's Telegram step emails contacts without a chat their connect link
(`fallback = "connect_link"`); the link, followed in Telegram, binds the chat through the real bot.

The base comes from a GetCourse-style file (Russian headers); the SMTP server, the Bot API stand-in and
aiogram's polling are real, the clock is injected.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from dispatcher.explain import explain_contact
from policy.timeutil import iso_utc
from storage.importer import import_csv
from storage.outbox import rows_of_campaign
from tests.bot.conftest import AUTHOR, BotWorld

CHAT = 777002
USERS = (
    "ID;Email;Имя;Telegram ID;Интерес;Язык;Согласие на рассылку;Согласие на telegram\n"
    "gc-1;gc1@example.org;Anna;;connect-demo;en;да;\n"  # no chat: the English link email
    "gc-2;gc2@example.org;Борис;;connect-demo;ru;да;нет\n"  # refused Telegram: never invited
    "gc-3;gc3@example.org;Вера;555003;connect-demo;ru;да;да\n"  # a chat: the Telegram step itself
    "gc-4;gc4@example.org;Глеб;;connect-demo;ru;да;\n"  # no chat: the Russian link email
)
CONNECT = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


def campaign_text(world: BotWorld) -> str:
    now = world.clock()
    return f"""
id = "connect-demo"
name = "Эфир и Telegram"
priority = "scenario"
channels = ["email"]
audience = 'interest = "connect-demo"'
start = "{iso_utc(now)}"
deadline = "{iso_utc(now + timedelta(days=3))}"
windows = {{ from = "00:00", to = "00:00" }}

[[versions]]
segment = "all"
subject = "Эфир в четверг"
text = "Приходите на эфир. {{{{ unsubscribe_url }}}}"
telegram = "Напоминаем про эфир в четверг"

[[cascade]]
channel = "telegram"
after = "12h"
fallback = "connect_link"
"""


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def run_days(world: BotWorld, days: int) -> None:
    for _ in range(days * 24):
        await world.app.follow_up(world.clock())
        while (await world.app.dispatch(world.clock())).claimed:
            pass
        world.clock.advance(timedelta(hours=1))


async def test_the_emailed_link_binds_the_chat(world: BotWorld, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text(USERS, encoding="utf-8")
    report = await import_csv(world.app.db, "contacts", users, world.app.policy, now=world.clock())
    assert report.rejected == 0, report.errors
    service = world.app.service
    await service.add(campaign_text(world), "connect.toml", by=str(AUTHOR), at=world.clock())

    dry = await service.dry_run("connect-demo", at=world.clock(), by=str(AUTHOR))
    [step] = dry.cascade
    assert (step.step, step.channel, step.fallback) == (1, "telegram", "connect_link")
    assert step.fallback_preview is not None and CONNECT.search(step.fallback_preview.text)
    assert dry.to_json()["cascade"][0]["fallback"] == "connect_link"
    explained = await explain_contact(world.app.db, world.app.policy, "gc-1", world.clock(), "connect-demo")
    assert explained is not None and explained.campaign is not None
    [follow_up] = explained.campaign.cascade
    assert follow_up.channel == "email" and "connect link" in follow_up.why

    await service.plan("connect-demo", at=world.clock())
    await run_days(world, 2)

    rows = await rows_of_campaign(world.app.db, "connect-demo", 1)
    steps = {r["contact_id"]: (r["status"], r["channel"], r["reason"]) for r in rows}
    assert steps == {
        "gc-1": ("sent", "email", None),
        "gc-2": ("cancelled", "telegram", "no_consent"),
        "gc-3": ("sent", "telegram", None),
        "gc-4": ("sent", "email", None),
    }
    [_, english] = [m.message for m in world.smtp.to("gc1@example.org")]
    assert english["Subject"] == "Anna, get our live-session reminders in Telegram"
    [_, russian] = [m.message for m in world.smtp.to("gc4@example.org")]
    assert russian["Subject"] == "Глеб, напоминания об эфирах — теперь и в Telegram"
    assert len(world.smtp.to("gc2@example.org")) == 1  # the first email only

    found = CONNECT.search(body(english))
    assert found is not None and found.group(1) == world.standin.bot_username
    [reply] = await world.say(CHAT, f"/start {found.group(2)}", language_code="en")
    assert (reply.text or "").startswith("Done: the school's messages will come to this chat.")
    row = await world.app.db.fetchone("SELECT telegram_chat_id FROM contacts WHERE id = 'gc-1'")
    assert row is not None and row[0] == CHAT
    consent = await world.app.db.fetchone(
        "SELECT status, source FROM consents WHERE contact_id = 'gc-1' AND channel = 'telegram'"
    )
    assert consent is not None and tuple(consent) == ("granted", "deep_link")
    # The Russian email carries its own contact's link, not Anna's.
    other = CONNECT.search(body(russian))
    assert other is not None and other.group(2) != found.group(2)


async def test_a_link_email_is_cancelled_when_the_chat_got_bound_before_it_went(
    world: BotWorld, tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_text(USERS, encoding="utf-8")
    await import_csv(world.app.db, "contacts", users, world.app.policy, now=world.clock())
    service = world.app.service
    await service.add(campaign_text(world), "connect.toml", by=str(AUTHOR), at=world.clock())
    await service.dry_run("connect-demo", at=world.clock(), by=str(AUTHOR))
    await service.plan("connect-demo", at=world.clock())
    while (await world.app.dispatch(world.clock())).claimed:
        pass
    world.clock.advance(timedelta(hours=13))
    await world.app.follow_up(world.clock())  # the link emails are planned for the next morning
    planned = {r["contact_id"]: r["status"] for r in await rows_of_campaign(world.app.db, "connect-demo", 1)}
    assert planned["gc-4"] == "planned"
    token = world.app.service.signer.start_token("gc-4")  # bound by another route meanwhile
    await world.say(CHAT, f"/start {token}")
    await run_days(world, 2)
    rows = await rows_of_campaign(world.app.db, "connect-demo", 1)
    steps = {r["contact_id"]: (r["status"], r["reason"]) for r in rows}
    assert steps["gc-4"] == ("cancelled", "telegram_connected")
    assert steps["gc-1"] == ("sent", None)
    assert len(world.smtp.to("gc4@example.org")) == 1
