"""GetCourse orders with refunds and products: «Возврат» leaves paid_total and orders_count, «Предложение»
is segmentable (`order:paid product = "…"`), and the orders table rebuilt by the migration keeps its rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from policy.config import Policy
from storage.db import Database, migration_files
from storage.importer import import_csv
from storage.segments import reading

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
USERS = (
    "\ufeffID;Email;Имя;Телефон;Дата создания\n"
    "1001;olga@example.org;Ольга;+79000000001;15.03.2026 12:30\n"
    "1002;ivan@example.org;Иван;+79000000002;16.03.2026 09:00\n"
    "1003;anna@example.org;Анна;+79000000003;17.03.2026 09:00\n"
)
DEALS_HEADER = "Номер заказа;ID пользователя;Предложение;Стоимость, RUB;Статус;Дата создания;Дата оплаты\n"
DEALS = DEALS_HEADER + (
    "A-1;1001;Курс X;4 990 руб.;Оплачен;20.03.2026 10:00;20.03.2026 10:05\n"
    "A-2;1001;Марафон;3 000;Завершён;21.03.2026 10:00;21.03.2026 10:05\n"
    "A-3;1002;Курс X;4 990;Возврат;20.03.2026 11:00;20.03.2026 11:05\n"
    "A-4;1002;Марафон;2 000;Оплачен;22.03.2026 11:00;22.03.2026 11:05\n"
    "A-5;1003;Курс X;4 990;Ожидаем оплаты;23.03.2026 11:00;\n"
    "A-6;1003;Курс X;4 990;Доставлен;23.03.2026 11:00;\n"
)


async def count(db: Database, policy: Policy, text: str) -> list[str]:
    async with reading(db, policy, NOW) as ctx:
        return await ctx.list(text)


async def test_refunds_leave_paid_total_and_orders_count(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    await import_csv(db, "contacts", tmp_path / "users.csv", default_policy, now=NOW)
    deals = tmp_path / "deals.csv"
    deals.write_text(DEALS, encoding="utf-8")
    report = await import_csv(db, "orders", deals, default_policy, now=NOW)
    assert (report.imported, report.rejected) == (5, 1)
    assert report.errors[0].line == 7
    assert report.errors[0].reason.startswith("unknown order status 'Доставлен': use pending, paid,")
    statuses = dict(await db.fetchall("SELECT id, status FROM orders"))  # type: ignore[arg-type]
    assert statuses["A-3"] == "refunded"

    # Ivan's refunded course is not paid: his total is the marathon alone, one paid order.
    assert await count(db, default_policy, "paid_total = 2000 AND orders_count = 1") == ["1002"]
    assert await count(db, default_policy, "paid_total = 7990 AND orders_count = 2") == ["1001"]
    assert await count(db, default_policy, "orders_count = 0") == ["1003"]  # pending only
    assert await count(db, default_policy, "order:refunded") == ["1002"]

    # A later export says Olga's marathon was refunded too: it leaves her total.
    deals.write_text(
        DEALS_HEADER + "A-2;1001;Марафон;3 000;Возврат средств;21.03.2026 10:00;21.03.2026 10:05\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "orders", deals, default_policy, now=NOW)
    assert report.updated == 1
    assert await count(db, default_policy, "paid_total = 4990 AND orders_count = 1") == ["1001"]
    again = await import_csv(db, "orders", deals, default_policy, now=NOW)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)


async def test_products_in_the_dsl(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    await import_csv(db, "contacts", tmp_path / "users.csv", default_policy, now=NOW)
    deals = tmp_path / "deals.csv"
    deals.write_text(DEALS, encoding="utf-8")
    await import_csv(db, "orders", deals, default_policy, now=NOW)

    assert await count(db, default_policy, 'order:paid product = "Курс X"') == ["1001"]  # 1002's refunded
    assert await count(db, default_policy, 'order:paid product = "Курс X" within 365d') == ["1001"]
    assert await count(db, default_policy, 'order:paid product = "Курс X" within 7d') == []
    assert await count(db, default_policy, 'order:paid product = "Марафон"') == ["1001", "1002"]
    assert await count(db, default_policy, 'order:pending product = "Курс X"') == ["1003"]
    assert await count(db, default_policy, 'order:refunded product = "Курс X"') == ["1002"]
    # An unknown product is no error: it just matches nobody.
    assert await count(db, default_policy, 'order:paid product = "Курс Y"') == []
    assert await count(db, default_policy, 'NOT order:paid product = "Курс Y"') == ["1001", "1002", "1003"]

    # An export without the product column (or with an empty cell) keeps the stored product; `-` clears.
    deals.write_text(
        "Номер заказа;ID пользователя;Стоимость;Статус;Дата создания;Дата оплаты\n"
        "A-1;1001;4990;Оплачен;20.03.2026 10:00;20.03.2026 10:05\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "orders", deals, default_policy, now=NOW)
    assert report.unchanged == 1
    assert await db.scalar("SELECT product FROM orders WHERE id = 'A-1'") == "Курс X"
    deals.write_text(DEALS_HEADER + "A-1;1001;;4990;Оплачен;20.03.2026 10:00;20.03.2026 10:05\n")
    assert (await import_csv(db, "orders", deals, default_policy, now=NOW)).unchanged == 1
    deals.write_text(DEALS_HEADER + "A-1;1001;-;4990;Оплачен;20.03.2026 10:00;20.03.2026 10:05\n")
    assert (await import_csv(db, "orders", deals, default_policy, now=NOW)).updated == 1
    assert await db.scalar("SELECT product FROM orders WHERE id = 'A-1'") is None


async def test_english_getcourse_headers_and_statuses(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    await import_csv(db, "contacts", tmp_path / "users.csv", default_policy, now=NOW)
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "Order ID,User ID,Offer,Amount,Status,Created at,Paid at\n"
        "E-1,1001,Course X,100,Refund,2026-03-20 10:00,2026-03-20 10:05\n"
        "E-2,1002,Course X,100,Completed,2026-03-20 10:00,2026-03-20 10:05\n"
        "E-3,1003,Course X,100,Awaiting payment,2026-03-20 10:00,\n",
        encoding="utf-8",
    )
    report = await import_csv(db, "orders", deals, default_policy, now=NOW)
    assert report.rejected == 0, report.errors
    rows = await db.fetchall("SELECT id, status, product FROM orders ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("E-1", "refunded", "Course X"),
        ("E-2", "paid", "Course X"),
        ("E-3", "pending", "Course X"),
    ]


async def test_the_rebuilt_orders_table_keeps_rows_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # a database as the migrations before this one left it
        conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT, at TEXT)")
        for number, name, sql in migration_files():
            if number < 12:
                conn.executescript(sql)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '')", (number, name))
        conn.execute("INSERT INTO contacts (id, email) VALUES ('c1', 'a@example.org')")
        conn.execute(
            "INSERT INTO orders (id, contact_id, amount, status, created_at, paid_at)"
            " VALUES ('o1', 'c1', 990, 'paid', 100, 200), ('o2', 'c1', 10, 'cancelled', 300, NULL)"
        )
    db = await Database.open(path)
    try:
        rows = await db.fetchall("SELECT * FROM orders ORDER BY id")
        assert [tuple(r) for r in rows] == [
            ("o1", "c1", 990.0, "RUB", "paid", 100, 200, None),
            ("o2", "c1", 10.0, "RUB", "cancelled", 300, None, None),
        ]
        indexes = {str(r[0]) for r in await db.fetchall("SELECT name FROM pragma_index_list('orders')")}
        assert {"orders_contact", "orders_paid_by_contact", "orders_status", "orders_product"} <= indexes
        async with db.transaction() as conn:  # the widened CHECK takes a refund; the FK still holds
            await conn.execute("UPDATE orders SET status = 'refunded' WHERE id = 'o1'")
        try:
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO orders (id, contact_id, amount, status, created_at)"
                    " VALUES ('o3', 'x', 1, 'paid', 1)"
                )
        except sqlite3.IntegrityError:
            pass
        else:
            raise AssertionError("an order of an unknown contact was accepted")
    finally:
        await db.close()


async def test_a_getcourse_process_reports_a_refund_by_webhook(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    import json

    from dispatcher.hooks import apply_hook

    (tmp_path / "users.csv").write_text(USERS, encoding="utf-8")
    await import_csv(db, "contacts", tmp_path / "users.csv", default_policy, now=NOW)
    paid = {
        "Номер заказа": "W-1",
        "ID пользователя": "1003",
        "Предложение": "Курс X",
        "Стоимость, RUB": "4 990",
        "Статус": "Оплачен",
        "Дата создания": "20.03.2026 10:00",
        "Дата оплаты": "20.03.2026 10:05",
    }
    body = json.dumps({"orders": [paid]}).encode()
    answer = await apply_hook(db, body, default_policy, now=NOW)
    assert answer["orders"]["imported"] == 1, answer
    assert await count(db, default_policy, 'order:paid product = "Курс X"') == ["1003"]
    refund = json.dumps({"orders": [{**paid, "Статус": "Возврат"}, {**paid, "Статус": "Потерян"}]})
    answer = await apply_hook(db, refund.encode(), default_policy, now=NOW)
    assert answer["orders"]["updated"] == 1
    assert answer["errors"][0]["reason"].startswith("unknown order status 'Потерян'")
    assert await count(db, default_policy, 'order:paid product = "Курс X"') == []
    assert await count(db, default_policy, 'order:refunded product = "Курс X" AND paid_total = 0') == ["1003"]
