"""SPEC §12.3 on GetCourse-style files with Russian headers: an import never erases, mixes up or
doubles a person — empty cells keep, `-` clears, a repeated id is the file's own contradiction, a file
of another kind is refused before anything is written, unknown tags follow the policy, absurd values
are line errors, and what the subscriber set is theirs. Re-importing any file changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer

from policy.config import ImportRules, Policy
from storage.db import Database
from storage.importer import ImportFileError, import_csv
from storage.tracking import bind_telegram, grant_consent, revoke_consent
from tests.storage.test_import_cli import app, invoke

__all__ = ["app"]  # the CLI fixture, shared with test_import_cli

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
USERS_HEADER = "ID;Email;Имя;Телефон;Telegram ID;Согласие на рассылку;Теги;Курс"


def users(tmp_path: Path, *rows: str, name: str = "users.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((USERS_HEADER, *rows)) + "\n", encoding="utf-8")
    return path


async def stored(db: Database, cid: str) -> tuple[object, ...]:
    row = await db.fetchone(
        "SELECT email, name, phone, telegram_chat_id, fields FROM contacts WHERE id = ?", (cid,)
    )
    assert row is not None
    return tuple(row)


async def test_empty_cells_keep_and_a_dash_clears(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    first = users(tmp_path, "1003;olga@mail.ru;Ольга;+79001234567;5551003;да;;Python")
    await import_csv(db, "contacts", first, default_policy, now=NOW)
    # The row: an export without the email and phone of 1003 must not wipe them.
    sparse = users(tmp_path, "1003;;Ольга;;;;;", name="sparse.csv")
    report = await import_csv(db, "contacts", sparse, default_policy, now=NOW)
    assert (report.unchanged, report.updated) == (1, 0)
    assert await stored(db, "1003") == (
        "olga@mail.ru",
        "Ольга",
        "+79001234567",
        5551003,
        '{"Курс": "Python"}',
    )
    cleared = users(tmp_path, "1003;;-;-;;;;-", name="cleared.csv")
    report = await import_csv(db, "contacts", cleared, default_policy, now=NOW)
    assert report.updated == 1
    assert await stored(db, "1003") == ("olga@mail.ru", None, None, 5551003, "{}")


async def test_a_repeated_id_keeps_the_first_row(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = users(
        tmp_path,
        "1001;anna@mail.ru;Анна;;;да;;",
        "1002;boris@mail.ru;Борис;;;да;;",
        "1001;anna@mail.ru;Анна;;;нет;;",  # line 4: its "нет" must not revoke line 2's consent
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert report.imported == 2 and report.rejected == 1
    assert [(e.line, e.reason) for e in report.errors] == [(4, "duplicate id (first at line 2)")]
    assert await db.scalar("SELECT status FROM consents WHERE contact_id = '1001'") == "granted"
    again = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert (again.imported, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 1)


async def test_an_orders_file_given_to_the_contacts_import_is_refused(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    await import_csv(
        db, "contacts", users(tmp_path, "1001;anna@mail.ru;Анна;;;да;;"), default_policy, now=NOW
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Номер заказа;ID пользователя;Дата создания;Статус;Сумма;Валюта\n"
        "1001;1001;05.11.2026 14:30;Оплачен;4 990 руб.;руб.\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError, match="this looks like an orders file: use `ritm import orders`"):
        await import_csv(db, "contacts", orders, default_policy, now=NOW)
    assert await stored(db, "1001") == ("anna@mail.ru", "Анна", None, None, "{}")  # nothing written
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 1
    events = tmp_path / "events.csv"
    events.write_text("ID пользователя;Тип;Дата\n1001;visit;05.11.2026 14:30\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="this looks like an events file: use `ritm import events`"):
        await import_csv(db, "orders", events, default_policy, now=NOW)


@pytest.mark.parametrize(
    ("rule", "imported", "rejected", "tags"),
    [("skip", 1, 0, ["marathon"]), ("reject_row", 0, 1, []), ("add", 1, 0, ["marathon", "неизвестный"])],
)
async def test_unknown_tags_follow_the_policy(
    db: Database,
    tmp_path: Path,
    default_policy: Policy,
    rule: str,
    imported: int,
    rejected: int,
    tags: list[str],
) -> None:
    policy = default_policy.model_copy(update={"import_": ImportRules(unknown_tags=rule)})  # type: ignore[arg-type]
    report = await import_csv(
        db, "contacts", users(tmp_path, "1001;anna@mail.ru;Анна;;;да;marathon, неизвестный;"), policy, now=NOW
    )
    assert (report.imported, report.rejected) == (imported, rejected)
    assert [r[0] for r in await db.fetchall("SELECT tag FROM tags ORDER BY tag")] == tags
    if rule == "skip":
        assert [w.line for w in report.warnings] == [2]
        assert "unknown tag 'неизвестный'" in report.warnings[0].reason
    # An undated tag is set now: a 14-day marathon is active right after the import.
    if "marathon" in tags:
        assert await db.scalar("SELECT set_at FROM tags WHERE tag = 'marathon'") == int(NOW.timestamp())


async def test_absurd_values_are_line_errors(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    path = users(
        tmp_path,
        "1001;anna@mail.ru;Анна;;99999999999999999999999;да;;",
        "1002;boris@mail.ru;Борис;;;да;marathon@31.12.9999;",
        "1003;vera@mail.ru;Вера;;;да;;",
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    reasons = {e.line: e.reason for e in report.errors}
    assert reasons[2].endswith("is out of range (at most 64-bit integers)")
    assert "year 9999 is outside 1900–2200" in reasons[3]
    assert report.imported == 1  # the batch is not lost for two bad rows
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "id,contact_id,amount,currency,status,created_at,paid_at\n"
        "o1,1003,1e300,RUB,pending,2026-11-01T10:00:00Z,\n"
        "o2,1003,990,RUB,pending,0001-01-01T00:00:00Z,\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "orders", orders, default_policy, now=NOW)
    assert report.rejected == 2 and "out of range" in report.errors[0].reason
    assert "year 1 is outside" in report.errors[1].reason


async def test_what_the_subscriber_set_is_theirs(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    original = users(tmp_path, "1001;anna@mail.ru;Анна;;5550001;да;;")
    await import_csv(db, "contacts", original, default_policy, now=NOW)
    async with db.transaction() as conn:  # the subscriber opens the deep link in another chat, then
        await bind_telegram(conn, "1001", 7770001, NOW)  # stops emails by the unsubscribe link
        await grant_consent(conn, "1001", "telegram", "bot", NOW)
        await revoke_consent(conn, "1001", "email", "unsubscribe_link", NOW)
    explicit = users(tmp_path, "1001;anna@mail.ru;Анна;;5550001;да;;", name="again.csv")
    report = await import_csv(db, "contacts", explicit, default_policy, now=NOW)
    assert report.unchanged == 1
    assert await db.scalar("SELECT telegram_chat_id FROM contacts WHERE id = '1001'") == 7770001
    consents = {r[0]: (r[1], r[2]) for r in await db.fetchall("SELECT channel, status, source FROM consents")}
    assert consents == {"telegram": ("granted", "bot"), "email": ("revoked", "unsubscribe_link")}


def test_strict_exits_3_when_rows_were_rejected(app: typer.Typer, tmp_path: Path) -> None:
    path = users(tmp_path, "1001;anna@mail.ru;Анна;;;да;;", "1001;anna@mail.ru;Анна;;;да;;")
    code, _, _ = invoke(app, tmp_path, "import", "contacts", str(path))
    assert code == 0  # the default: the file was read
    code, _, _ = invoke(app, tmp_path, "import", "contacts", str(path), "--strict")
    assert code == 3
    clean = users(tmp_path, "1002;boris@mail.ru;Борис;;;да;;", name="clean.csv")
    code, _, _ = invoke(app, tmp_path, "import", "contacts", str(clean), "--strict")
    assert code == 0


async def test_platform_timezones_become_iana_zones(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = tmp_path / "tz.csv"
    path.write_text(
        "ID;Email;Часовой пояс\n"
        "1;a@mail.ru;(GMT+03:00) Москва\n"
        "2;b@mail.ru;(GMT+05:00) Екатеринбург\n"
        "3;c@mail.ru;UTC+3\n"
        "4;d@mail.ru;GMT-05:00\n"
        "5;e@mail.ru;GMT+05:30\n"
        "6;f@mail.ru;(GMT+04:00) Москва\n"  # the city has another offset: the offset wins
        "7;g@mail.ru;UTC+15\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    zones = dict(await db.fetchall("SELECT id, timezone FROM contacts ORDER BY id"))  # type: ignore[arg-type]
    assert zones == {
        "1": "Europe/Moscow", "2": "Asia/Yekaterinburg", "3": "Etc/GMT-3", "4": "Etc/GMT+5",
        "5": "Asia/Kolkata", "6": "Etc/GMT-4",
    }  # fmt: skip
    assert [(e.line, e.reason) for e in report.errors] == [(8, "unknown timezone 'UTC+15'")]


async def test_amounts_in_other_currencies_are_converted(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    await import_csv(
        db, "contacts", users(tmp_path, "1001;anna@mail.ru;Анна;;;да;;"), default_policy, now=NOW
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Номер заказа;ID пользователя;Дата создания;Дата оплаты;Статус;Сумма;Валюта\n"
        "1;1001;05.11.2026 14:30;05.11.2026 15:00;Оплачен;4 990 руб.;руб.\n"
        "2;1001;06.11.2026 14:30;06.11.2026 15:00;Оплачен;15 000;KZT\n"
        "3;1001;07.11.2026 14:30;;Новый;100;USD\n",
        encoding="utf-8",
    )
    rates = default_policy.money.model_copy(update={"rates": {"KZT": 0.19}})
    policy = default_policy.model_copy(update={"money": rates})
    report = await import_csv(db, "orders", orders, policy, now=NOW)
    assert report.imported == 2
    assert [(e.line, e.reason) for e in report.errors] == [
        (4, "unknown currency USD: totals are kept in RUB; add USD to [money] rates in the policy")
    ]
    amounts = await db.fetchall("SELECT id, amount, currency FROM orders ORDER BY id")
    assert [tuple(r) for r in amounts] == [("1", 4990.0, "RUB"), ("2", 2850.0, "RUB")]
