"""GetCourse-style exports through the column map; naive datetimes; tag dates and TTLs; consents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from policy.config import Policy
from storage.column_map import map_header, normalize_header
from storage.db import Database
from storage.importer import import_csv

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: ZoneInfo | None = None) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=tz or UTC).timestamp())


def test_headers_match_regardless_of_case_spaces_and_yo() -> None:
    assert normalize_header("\ufeff « Telegram_ID » ") == "telegram id"
    assert normalize_header("Отменён") == "отменен"
    hmap = map_header("contacts", ["EMAIL", "  имя ", "Фамилия", "Часовой   пояс", "Группа"], "x.csv")
    assert hmap.index == {"email": 0, "name": 1, "last_name": 2, "timezone": 3}
    assert hmap.extras == ((4, "Группа"),)
    # Two headers for one field: the better alias wins, the other becomes a custom field.
    hmap = map_header("contacts", ["Email", "Город", "Регион"], "x.csv")
    assert hmap.index["region"] == 2
    assert hmap.extras == ((1, "Город"),)


async def test_getcourse_users_and_orders(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    users = tmp_path / "users.csv"
    # A spreadsheet export: BOM, `;` separators, Russian headers, dates as ДД.ММ.ГГГГ in local time.
    users.write_text(
        "\ufeffID;Email;Имя;Фамилия;Телефон;Дата создания;Часовой пояс;Город;Telegram ID;"
        "Согласие на рассылку;Теги;utm_source\n"
        "1001;Olga@Example.ORG;Ольга;Петрова;+7 900 000-00-01;15.03.2026 12:30;Asia/Yekaterinburg;Пермь;"
        "7001;Да;funnel;vk\n"
        "1002;ivan@example.org;Иван;;;2026-03-16 09:00:00;;;;нет;;\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "contacts", users, default_policy, now=NOW)
    assert (report.imported, report.rejected) == (2, 0), report.errors

    row = await db.fetchone("SELECT * FROM contacts WHERE id = '1001'")
    assert row is not None
    assert row["email"] == "Olga@example.org"  # the domain is normalized, the local part kept
    assert row["name"] == "Ольга Петрова"
    assert row["region"] == "Пермь"
    assert row["telegram_chat_id"] == 7001
    assert row["created_at"] == epoch(2026, 3, 15, 12, 30, tz=MSK)  # read in the policy's zone
    assert json.loads(row["fields"]) == {"utm_source": "vk"}
    ivan = await db.fetchone("SELECT timezone, created_at, fields FROM contacts WHERE id = '1002'")
    assert ivan is not None and ivan["timezone"] is None  # empty zone stays NULL: the default applies at use
    assert ivan["created_at"] == epoch(2026, 3, 16, 9, tz=MSK)
    consents = await db.fetchall(
        "SELECT contact_id, channel, status, source FROM consents ORDER BY contact_id"
    )
    assert [tuple(c) for c in consents] == [
        ("1001", "email", "granted", "import"),
        ("1002", "email", "revoked", "import"),
    ]
    # An undated tag is set now (at the contact's creation a 14-day tag could be expired already).
    assert await db.scalar("SELECT set_at FROM tags WHERE contact_id = '1001'") == int(NOW.timestamp())

    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Номер заказа;Email пользователя;Стоимость, RUB;Валюта;Статус;Дата создания;Дата оплаты\n"
        "A-1;olga@EXAMPLE.org;4 990;руб.;Оплачен;20.03.2026 10:00;20.03.2026 10:05\n"
        "A-2;ivan@example.org;29900,50;RUB;Ожидаем оплаты;21.03.2026 11:00;\n"
        "A-3;ivan@example.org;990;RUB;Отменён;22.03.2026 11:00;\n"
        "A-4;nobody@example.org;990;RUB;Новый;22.03.2026 11:00;\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "orders", deals, default_policy, now=NOW)
    assert (report.imported, report.rejected) == (3, 1)
    assert report.errors[0].line == 5
    assert report.errors[0].reason == "unknown contact: no contact has the email 'nobody@example.org'"
    rows = {r["id"]: tuple(r) for r in await db.fetchall("SELECT * FROM orders ORDER BY id")}
    paid = epoch(2026, 3, 20, 10, 5, tz=MSK)
    assert rows["A-1"] == ("A-1", "1001", 4990.0, "RUB", "paid", epoch(2026, 3, 20, 10, tz=MSK), paid, None)
    assert rows["A-2"][1:5] == ("1002", 29900.5, "RUB", "pending")
    assert rows["A-3"][4] == "cancelled"


async def test_tag_dates_ttl_and_first_setting(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "id,created_at,tags\n"
        "c1,2026-11-01 10:00,marathon@2026-11-10 12:00;vip\n"  # naive dates: Moscow
        "c2,,intensive;club@2026-11-20T00:00:00Z\n",
        encoding="utf-8",
    )
    await import_csv(db, "contacts", path, default_policy, now=NOW)
    tags = {
        (r[0], r[1]): (r[2], r[3])
        for r in await db.fetchall("SELECT contact_id, tag, set_at, expires_at FROM tags")
    }
    marathon = epoch(2026, 11, 10, 12, tz=MSK)
    assert tags[("c1", "marathon")] == (marathon, marathon + 14 * 86400)  # ttl 14d in the default policy
    now = int(NOW.timestamp())
    assert tags[("c1", "vip")] == (now, None)  # no ttl; undated: set now, whatever created_at says
    assert tags[("c2", "intensive")] == (now, now + 7 * 86400)
    assert tags[("c2", "club")] == (epoch(2026, 11, 20), None)

    # Re-importing later changes nothing: an undated tag that exists keeps its first setting.
    again = await import_csv(db, "contacts", path, default_policy, now=NOW + timedelta(days=3))
    assert (again.updated, again.unchanged) == (0, 2)
    # An older date never moves a tag back; a newer one moves it (and its expiry) forward.
    path.write_text(
        "id,tags\nc1,marathon@2026-10-01T00:00:00Z\nc2,club@2026-11-22T00:00:00Z\n", encoding="utf-8"
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert (report.updated, report.unchanged) == (1, 1)
    assert await db.scalar("SELECT set_at FROM tags WHERE contact_id = 'c1' AND tag = 'marathon'") == marathon
    assert await db.scalar("SELECT set_at FROM tags WHERE contact_id = 'c2' AND tag = 'club'") == epoch(
        2026, 11, 22
    )


async def test_import_never_regrants_an_unsubscribe(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("id,email,consent_email\nc1,a@example.org,yes\n", encoding="utf-8")
    await import_csv(db, "contacts", path, default_policy, now=NOW)
    async with db.transaction() as conn:  # the subscriber clicks "unsubscribe"
        await conn.execute(
            "UPDATE consents SET status = 'revoked', source = 'unsubscribe' WHERE contact_id = 'c1'"
        )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)  # a stale export says yes
    assert report.unchanged == 1
    assert await db.scalar("SELECT status FROM consents WHERE contact_id = 'c1'") == "revoked"
    # An explicit "no" in the file is honoured, and a later "yes" can undo the import's own "no".
    path.write_text("id,email,consent_email\nc1,a@example.org,no\nc2,b@example.org,no\n", encoding="utf-8")
    await import_csv(db, "contacts", path, default_policy, now=NOW)
    path.write_text("id,email,consent_email\nc2,b@example.org,TRUE\n", encoding="utf-8")
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert report.updated == 1
    assert await db.scalar("SELECT status FROM consents WHERE contact_id = 'c2'") == "granted"


async def test_columns_absent_from_the_file_are_kept(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    full = tmp_path / "full.csv"
    full.write_text(
        "id,email,name,phone,region\nc1,a@example.org,Анна,8 (900) 123-45-67,Казань\n", encoding="utf-8"
    )
    await import_csv(db, "contacts", full, default_policy, now=NOW)
    partial = tmp_path / "partial.csv"
    partial.write_text("id,phone,email\nc1,,\n", encoding="utf-8")  # empty cells keep what is stored
    report = await import_csv(db, "contacts", partial, default_policy, now=NOW)
    assert report.unchanged == 1
    row = await db.fetchone("SELECT email, name, phone, region FROM contacts WHERE id = 'c1'")
    assert row is not None and tuple(row) == (
        "a@example.org",
        "Анна",
        "+79001234567",
        "Казань",
    )  # phones in E.164
    partial.write_text("id,phone,region\nc1,-,\n", encoding="utf-8")  # `-` clears an optional field
    report = await import_csv(db, "contacts", partial, default_policy, now=NOW)
    assert report.updated == 1
    row = await db.fetchone("SELECT email, name, phone, region FROM contacts WHERE id = 'c1'")
    assert row is not None and tuple(row) == ("a@example.org", "Анна", None, "Казань")
