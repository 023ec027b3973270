"""Suppressions are per address (SPEC §12.3): after 1001 unsubscribes, 1031 holding the same address in
another case is not reached — by a segment count, by explain, by a merge, nor at send time — and a base
that already held such duplicates still migrates, lists them and folds them with `ritm contact merge`."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from dispatcher.explain import explain_contact
from policy.config import Policy
from storage.contact_data import load_contact
from storage.db import Database
from storage.identity import resolved_id
from storage.importer import import_csv
from storage.merge import merge_contacts
from storage.segments import SegmentContext
from storage.suppressions import suppress
from storage.tracking import bind_telegram, grant_consent, revoke_consent
from tests.e2e.people import add_contacts
from tests.identity.support import NOW, USERS_HEADER, cli, csv_file, legacy_database, run_cli, snapshot

INSERT = "INSERT INTO contacts (id, email, name, phone, created_at) VALUES (?, ?, ?, ?, 0)"
GRANT = "INSERT INTO consents (contact_id, channel, status, source, at) VALUES (?, ?, 'granted', 'import', 0)"


async def reachable_by_email(db: Database, policy: Policy) -> int:
    async with await SegmentContext.create(db, policy, NOW) as ctx:
        return await ctx.count("has:email")


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """The issue's base before addresses were unique: 1001 and 1031 share an address in other case,
    1002 and 1003 one phone in two spellings; 1005's address had bounced (per contact, then)."""
    path = tmp_path / "legacy.db"
    legacy_database(
        path,
        [
            (INSERT, ("1001", "anna.ivanova@mail.ru", "Анна", None)),
            (INSERT, ("1031", "ANNA.IVANOVA@mail.ru", "Анна И.", "+7 (900) 000-00-31")),
            (INSERT, ("1002", "ivan@example.org", "Иван", "8 900 123-45-67")),
            (INSERT, ("1003", "ivan.p@example.org", "Иван П.", "+7 900 123 45 67")),
            (INSERT, ("1005", "gone@example.org", "Ольга", "")),
            *((GRANT, (cid, "email")) for cid in ("1001", "1031", "1002", "1003", "1005")),
            ("INSERT INTO suppressions VALUES ('1005', 'email', 'hard_bounce', 7)", ()),
            ("INSERT INTO orders VALUES ('A-7', '1031', 4990, 'RUB', 'paid', 100, 200)", ()),
        ],
    )
    return path


def test_a_base_with_duplicates_migrates_and_lists_them(legacy: Path, default_policy: Policy) -> None:
    async def migrate() -> None:
        db = await Database.open(legacy)
        try:
            rows = await db.fetchall("SELECT id, phone, shares_address_with FROM contacts ORDER BY id")
            assert [tuple(r) for r in rows] == [
                ("1001", None, None),
                ("1002", "+79001234567", None),
                ("1003", "+79001234567", "1002"),  # the same phone once spelled alike
                ("1005", None, None),  # an empty phone is no phone
                ("1031", "+79000000031", "1001"),
            ]
            suppressed = await db.fetchall("SELECT channel, address, reason, at FROM suppressions")
            assert [tuple(r) for r in suppressed] == [("email", "gone@example.org", "hard_bounce", 7)]
            assert await reachable_by_email(db, default_policy) == 4
        finally:
            await db.close()

    asyncio.run(migrate())
    code, out, _ = run_cli(cli(legacy), legacy, "contact", "duplicates", "--json")
    assert code == 0 and json.loads(out) == {
        "duplicates": [{"contact": "1031", "owner": "1001"}, {"contact": "1003", "owner": "1002"}]
    }


async def test_after_1001_unsubscribes_1031_is_not_reached(legacy: Path, default_policy: Policy) -> None:
    db = await Database.open(legacy)
    try:
        async with db.transaction() as conn:  # what the unsubscribe link's POST does
            await revoke_consent(conn, "1001", "email", "unsubscribe_link", NOW)
        assert await reachable_by_email(db, default_policy) == 2  # 1002 and 1003
        other = await load_contact(db, "1031")
        assert other is not None and other.consents["email"] == "granted" and not other.reachable("email")
        explained = await explain_contact(db, default_policy, "1031", NOW)
        assert explained is not None
        assert explained.reachable["email"].why == (
            "suppressed: address anna.ivanova@mail.ru unsubscribed on 2026-11-24 12:00 UTC"
        )
        # A re-import granting 1031's consent again changes nothing about the address.
        users = csv_file(legacy.parent, "users.csv", USERS_HEADER, "1031;;;;да")
        await import_csv(db, "contacts", users, default_policy, now=NOW + timedelta(hours=1))
        assert await reachable_by_email(db, default_policy) == 2
    finally:
        await db.close()


def test_merge_folds_the_duplicate_and_the_stricter_consent_wins(
    legacy: Path, default_policy: Policy
) -> None:
    async def unsubscribe() -> None:
        db = await Database.open(legacy)
        async with db.transaction() as conn:
            await revoke_consent(conn, "1001", "email", "unsubscribe_link", NOW)
        await db.close()

    asyncio.run(unsubscribe())
    app = cli(legacy)
    before = snapshot(legacy)
    code, out, _ = run_cli(app, legacy, "contact", "merge", "1001", "1031", "--dry-run", "--json")
    assert code == 0 and snapshot(legacy) == before
    planned = json.loads(out)
    code, out, _ = run_cli(app, legacy, "contact", "merge", "1001", "1031", "--json", "--at", NOW.isoformat())
    done = json.loads(out)
    assert code == 0 and {**planned, "dry_run": False} == done
    assert done["moved"]["orders"] == 1 and done["taken"] == ["phone"]
    assert done["consents"] == {"email": "revoked"}  # 1031's grant does not outlive 1001's unsubscribe
    contacts, _, _, orders = snapshot(legacy)
    assert [c[0] for c in contacts] == ["1001", "1002", "1003", "1005"]
    assert ("A-7", "1001") in [(o[0], o[1]) for o in orders]
    assert run_cli(app, legacy, "contact", "duplicates", "--json")[1].count('"contact"') == 1
    code, _, err = run_cli(app, legacy, "contact", "merge", "1001", "1031")
    assert code == 2 and "already merged into 1001" in err
    code, _, err = run_cli(app, legacy, "contact", "merge", "1001", "1001")
    assert code == 2 and "into itself" in err
    code, _, err = run_cli(app, legacy, "contact", "merge", "1001", "nobody")
    assert code == 2 and "no contact 'nobody'" in err

    async def explain_merged() -> None:  # the merged id explains the contact it became
        db = await Database.open(legacy)
        try:
            explained = await explain_contact(db, default_policy, "1031", NOW)
            assert explained is not None and explained.contact == "1001"
        finally:
            await db.close()

    asyncio.run(explain_merged())


async def test_an_address_stays_suppressed_for_whoever_holds_it_next(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    first = csv_file(tmp_path, "first.csv", USERS_HEADER, "1001;anna.ivanova@mail.ru;Анна;;да")
    await import_csv(db, "contacts", first, default_policy, now=NOW)
    async with db.transaction() as conn:
        await revoke_consent(conn, "1001", "email", "unsubscribe_link", NOW)
    # 1001 moves to another address; then the old one comes back under a new id — still unsubscribed.
    # (Within one file the move would be refused: the address still belongs to 1001 when 1031 claims it.)
    for name, row in (
        ("moved.csv", "1001;anna.new@mail.ru;;;"),
        ("new.csv", "1031;ANNA.IVANOVA@MAIL.RU;А;;да"),
    ):
        report = await import_csv(
            db, "contacts", csv_file(tmp_path, name, USERS_HEADER, row), default_policy, now=NOW
        )
        assert (report.imported + report.updated, report.rejected) == (1, 0), report.errors
    assert await reachable_by_email(db, default_policy) == 0  # 1001's consent is revoked, 1031's address too


async def test_suppress_is_the_one_way_in(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    users = csv_file(tmp_path, "users.csv", USERS_HEADER, "1001;anna@почта.рф;Анна;;да")
    await import_csv(db, "contacts", users, default_policy, now=NOW)
    async with db.transaction() as conn:
        assert await suppress(conn, "email", " ANNA@XN--80A1ACNY.XN--P1AI ", "complaint", NOW, source="feed")
        assert not await suppress(conn, "email", "anna@почта.рф", "hard_bounce", NOW, source="feed")
        with pytest.raises(ValueError, match="unknown suppression reason"):
            await suppress(conn, "email", "anna@почта.рф", "bored", NOW)
    rows = await db.fetchall("SELECT channel, address, reason FROM suppressions")
    assert [tuple(r) for r in rows] == [("email", "anna@почта.рф", "complaint")]  # the first reason stands
    assert await reachable_by_email(db, default_policy) == 0
    # The subscriber opting in again lifts only their own unsubscribe, never a complaint or a bounce.
    async with db.transaction() as conn:
        await grant_consent(conn, "1001", "email", "bot", NOW)
    assert await reachable_by_email(db, default_policy) == 0


async def test_telegram_block_suppresses_the_chat_until_the_subscriber_writes_again(db: Database) -> None:
    await add_contacts(db, ["t1"], at=NOW, email=False, telegram=True)
    async with db.transaction() as conn:
        await revoke_consent(conn, "t1", "telegram", "bot_blocked", NOW)
    assert [tuple(r) for r in await db.fetchall("SELECT * FROM suppressions")] == [
        ("telegram", "10001", "bot_blocked", int(NOW.timestamp()))
    ]
    async with db.transaction() as conn:
        await bind_telegram(conn, "t1", 10001, NOW)
    assert await db.fetchall("SELECT * FROM suppressions") == []


async def test_merged_ids_follow_a_later_merge(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    rows = ("a1;a@example.org;А;;да", "b1;b@example.org;Б;;нет", "c1;c@example.org;В;;")
    await import_csv(
        db, "contacts", csv_file(tmp_path, "u.csv", USERS_HEADER, *rows), default_policy, now=NOW
    )
    await merge_contacts(db, "a1", "b1", at=NOW)
    report = await merge_contacts(db, "c1", "a1", at=NOW)
    assert report.consents == {"email": "revoked"}  # b1's "нет" outlives a1's grant, through both merges
    assert [await resolved_id(db, cid) for cid in ("a1", "b1", "c1")] == ["c1", "c1", "c1"]
    contact = await db.fetchone("SELECT email, name FROM contacts")
    assert contact is not None and tuple(contact) == ("c@example.org", "В")
