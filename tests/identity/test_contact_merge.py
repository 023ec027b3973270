"""`merge_contacts`: what the subscriber bound themselves survives a merge, the newer tag wins, an event
both have stays once, and the merge is audited."""

from __future__ import annotations

import json
from pathlib import Path

from policy.config import Policy
from storage.db import Database
from storage.importer import import_csv
from storage.merge import merge_contacts
from storage.tracking import bind_telegram, grant_consent
from tests.identity.support import NOW, csv_file

HEADER = "ID;Email;Имя;Telegram ID;Согласие на рассылку;Согласие на телеграм;Теги"


async def test_the_chat_the_subscriber_bound_is_the_one_kept(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    rows = (
        "k1;keep@example.org;Анна;5001;да;да;funnel@2026-11-01T10:00:00+03:00",
        "o1;other@example.org;;;нет;;funnel@2026-11-10T10:00:00+03:00",
    )
    await import_csv(db, "contacts", csv_file(tmp_path, "u.csv", HEADER, *rows), default_policy, now=NOW)
    events = csv_file(
        tmp_path, "e.csv", "ID пользователя;Тип;Дата", "k1;open;01.11.2026 12:00", "o1;open;01.11.2026 12:00"
    )
    await import_csv(db, "events", events, default_policy, now=NOW)
    async with db.transaction() as conn:  # o1 opened the /start link in their own chat
        await bind_telegram(conn, "o1", 7007, NOW)
        await grant_consent(conn, "o1", "telegram", "deep_link", NOW)
    report = await merge_contacts(db, "k1", "o1", at=NOW, actor="42")
    assert report.taken == ["telegram_chat_id"]
    assert report.consents == {"email": "revoked", "telegram": "granted"}
    assert report.moved["events"] == 0 and report.moved["tags"] == 1
    contact = await db.fetchone("SELECT email, name, telegram_chat_id FROM contacts WHERE id = 'k1'")
    assert contact is not None and tuple(contact) == ("keep@example.org", "Анна", 7007)
    consent = await db.fetchone(
        "SELECT status, source FROM consents WHERE contact_id = 'k1' AND channel = 'telegram'"
    )
    assert consent is not None and tuple(consent) == ("granted", "deep_link")  # still the subscriber's own
    tag = await db.fetchone("SELECT set_at FROM tags WHERE contact_id = 'k1' AND tag = 'funnel'")
    assert tag is not None and tag[0] == int(NOW.replace(month=11, day=10, hour=7).timestamp())
    assert await db.scalar("SELECT COUNT(*) FROM events WHERE contact_id = 'k1'") == 1
    audit = await db.fetchone("SELECT actor, details FROM audit_log WHERE action = 'contact.merged'")
    assert audit is not None and audit[0] == "42" and json.loads(audit[1])["other"] == "o1"
