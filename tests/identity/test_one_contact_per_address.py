"""SPEC §12.3 on a GetCourse-style file (`ID;Email;Имя;Телефон`): an email (trimmed, without case, IDNA
domain) and a phone (E.164) belong to one contact; a row claiming another contact's address is rejected
naming it, or merged with `--merge-by-email`; re-importing a file changes nothing the second time."""

from __future__ import annotations

import json
from pathlib import Path

from policy.config import Policy
from storage.db import Database
from storage.importer import import_csv
from tests.identity.support import (
    NOW,
    ORDERS_HEADER,
    USERS_HEADER,
    cli,
    csv_file,
    run_cli,
    snapshot,
)

ROWS = (
    "1001;anna.ivanova@mail.ru;Анна;8 (900) 123-45-67;да",
    "1031; ANNA.IVANOVA@MAIL.RU ;Анна И.;;да",  # the second id: the same address, other case
    "1040;petr@почта.рф;Пётр;+7 900 123 45 67;да",  # another address, 1001's phone
    "1050;PETR@XN--80A1ACNY.XN--P1AI;Пётр П.;;да",  # 1040's address with the domain in ASCII form
)


async def test_an_address_in_another_case_or_form_belongs_to_the_first_contact(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    users = csv_file(tmp_path, "users.csv", USERS_HEADER, *ROWS)
    report = await import_csv(db, "contacts", users, default_policy, now=NOW)
    assert (report.imported, report.rejected) == (2, 2)
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "email ANNA.IVANOVA@mail.ru belongs to contact 1001"),
        (4, "phone +79001234567 belongs to contact 1001"),
    ]
    rows = await db.fetchall("SELECT id, email, phone FROM contacts ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("1001", "anna.ivanova@mail.ru", "+79001234567"),
        ("1050", "PETR@почта.рф", None),  # 1040 was refused: its address was still free
    ]


async def test_an_idna_domain_and_its_ascii_form_are_one_address(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    users = csv_file(tmp_path, "users.csv", USERS_HEADER, ROWS[2].replace("+7 900 123 45 67", ""), ROWS[3])
    report = await import_csv(db, "contacts", users, default_policy, now=NOW)
    assert report.imported == 1
    assert [(e.line, e.reason) for e in report.errors] == [(3, "email PETR@почта.рф belongs to contact 1040")]


async def test_reimporting_the_file_changes_nothing(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    users = csv_file(tmp_path, "users.csv", USERS_HEADER, *ROWS)
    await import_csv(db, "contacts", users, default_policy, now=NOW)
    before = snapshot(db.path)
    again = await import_csv(db, "contacts", users, default_policy, now=NOW)
    assert (again.imported, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 2)
    assert snapshot(db.path) == before


def test_merge_by_email_updates_the_owner_and_its_id_resolves(tmp_path: Path) -> None:
    db_path = tmp_path / "ritm.db"
    app = cli(db_path)
    users = csv_file(tmp_path, "users.csv", USERS_HEADER, ROWS[0])
    assert run_cli(app, db_path, "import", "contacts", str(users))[0] == 0
    second = csv_file(tmp_path, "second.csv", USERS_HEADER, "1031;ANNA.IVANOVA@MAIL.RU;Анна Иванова;;")
    code, out, _ = run_cli(app, db_path, "import", "contacts", str(second), "--json")
    assert code == 0 and json.loads(out)["errors"][0]["reason"].startswith(
        "email ANNA.IVANOVA@mail.ru belongs"
    )
    code, out, _ = run_cli(app, db_path, "import", "contacts", str(second), "--merge-by-email", "--json")
    assert code == 0 and json.loads(out)["updated"] == 1
    # The export's orders still say 1031: they land on 1001.
    orders = csv_file(
        tmp_path, "orders.csv", ORDERS_HEADER, "A-1;1031;4 990 руб.;Оплачен;05.11.2026 14:30;05.11.2026 14:35"
    )
    code, out, _ = run_cli(app, db_path, "import", "orders", str(orders), "--json")
    assert code == 0 and json.loads(out)["imported"] == 1
    contacts, _, _, stored_orders = snapshot(db_path)
    assert [(c[0], c[1], c[2]) for c in contacts] == [("1001", "anna.ivanova@mail.ru", "Анна Иванова")]
    assert [(o[0], o[1]) for o in stored_orders] == [("A-1", "1001")]
    before = snapshot(db_path)
    for path, extra in ((second, ["--merge-by-email"]), (orders, [])):
        kind = "orders" if path == orders else "contacts"
        assert run_cli(app, db_path, "import", kind, str(path), *extra)[0] == 0
    assert snapshot(db_path) == before
    code, _, err = run_cli(app, db_path, "import", "orders", str(orders), "--merge-by-email")
    assert code == 2 and "contacts files only" in err


async def test_a_bad_phone_is_a_line_error(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    users = csv_file(tmp_path, "users.csv", USERS_HEADER, "1001;a@example.org;Анна;+7 900;", "1002;;Иван;12;")
    report = await import_csv(db, "contacts", users, default_policy, now=NOW)
    assert report.imported == 0
    assert [e.line for e in report.errors] == [2, 3]
    assert all("is not a phone number" in e.reason for e in report.errors)
