"""Bad rows are rejected one by one, by line and reason; an unusable file is one error and no write."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policy.config import Policy
from storage.db import Database
from storage.importer import ImportFileError, import_csv

NOW = datetime(2026, 11, 24, tzinfo=UTC)
CONTACTS_HEADER = (
    "id,email,name,telegram_chat_id,phone,timezone,locale,region,interest,created_at,"
    "consent_email,consent_telegram,consent_sms,tags"
)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_each_bad_contact_row_is_rejected_at_its_line(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = write(
        tmp_path / "contacts.csv",
        CONTACTS_HEADER,
        "c1,anna@example.org,Анна,,,Europe/Moscow,ru,,,2026-01-05 10:00,yes,,,funnel",  # 2: good
        "c2,not-an-email,Борис,,,,,,,,,,,",  # 3
        "c3,c3@example.org,Вера,,,Mars/Olympus,,,,,,,,",  # 4
        "c4,c4@example.org,Глеб,,,,,,,2026-02-30,,,,",  # 5
        "c5,c5@example.org,Дина,,,,,,,,,,,unicorn",  # 6
        "c6,c6@example.org,Егор,12ab,,,,,,,,,,",  # 7
        "c7,c7@example.org,Жанна,,,,,,,,maybe,,,",  # 8
        '"c8,multi",c8@example.org,"Зоя',  # 9-10: a quoted newline inside the name
        'Two lines",,,,,,,,,,,',
        "c9,c9@example.org,Игорь,,,,,,,,,,,webinar@yesterday",  # 11
        "c10,c10@example.org,Кира,,,,,",  # 12: too few fields
        ",nobody@example.org,Лев,,,,,,,,,,,",  # 13: no id
        "c11,c11@example.org,Майя,,,Asia/Kathmandu,,,,,1,0,,",  # 14: good
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)

    reasons = {e.line: e.reason for e in report.errors}
    assert report.imported == 4  # c1, c5 (its unknown tag skipped), the two-line c8 and c11
    assert report.rejected == 8 == len(reasons)
    assert reasons[3].startswith("invalid email 'not-an-email'")
    assert reasons[4] == "unknown timezone 'Mars/Olympus'"
    assert reasons[5] == "created_at: unparsable date '2026-02-30'"
    assert 6 not in reasons  # policy [import] unknown_tags = "skip": the row lands, the tag is reported
    assert [(w.line, w.reason.split(":")[0]) for w in report.warnings] == [(6, "unknown tag 'unicorn'")]
    assert reasons[7] == "telegram_chat_id '12ab' is not an integer"
    assert reasons[8].startswith("consent_email: bad consent value 'maybe'")
    assert reasons[11] == "tags: unparsable date 'yesterday'"
    assert reasons[12] == "the row has 8 fields where the header has 14"
    assert reasons[13] == "the id is empty"
    ids = [r[0] for r in await db.fetchall("SELECT id FROM contacts ORDER BY id")]
    assert ids == ["c1", "c11", "c5", "c8,multi"]
    # A rejected row leaves nothing behind: no consent, no tag of c7 or c9; c5 has no unknown tag.
    assert await db.scalar("SELECT COUNT(*) FROM consents WHERE contact_id IN ('c7', 'c9')") == 0
    assert await db.scalar("SELECT COUNT(*) FROM tags WHERE contact_id IN ('c5', 'c9')") == 0


async def test_bad_rows_never_damage_what_is_stored(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    good = write(
        tmp_path / "good.csv",
        CONTACTS_HEADER,
        "c1,anna@example.org,Анна,555,,Europe/Moscow,ru,,,2026-01-05 10:00,yes,yes,,"
        "funnel@2026-11-20T10:00:00Z",
    )
    await import_csv(db, "contacts", good, default_policy, now=NOW)
    before = [tuple(r) for r in await db.fetchall("SELECT * FROM contacts")]
    bad = write(
        tmp_path / "bad.csv",
        CONTACTS_HEADER,
        "c1,broken@,Анна Новая,,,,,,,,no,no,,",
        "c1,anna@example.org,Анна Новая,,,Nowhere/City,,,,,no,no,,",
        "c1,anna@example.org,Анна Новая,99999999999999999999999,,,,,,,no,no,,vip",
    )
    report = await import_csv(db, "contacts", bad, default_policy, now=NOW)
    assert report.rejected == 3 and report.good_rows == 0
    assert [tuple(r) for r in await db.fetchall("SELECT * FROM contacts")] == before
    assert await db.scalar("SELECT COUNT(*) FROM consents WHERE status = 'granted'") == 2
    assert await db.scalar("SELECT COUNT(*) FROM tags") == 1


async def test_bad_order_and_event_rows(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    contacts = write(tmp_path / "c.csv", "id,email", "c1,a@example.org", "c2,b@example.org")
    await import_csv(db, "contacts", contacts, default_policy, now=NOW)
    orders = write(
        tmp_path / "orders.csv",
        "id,contact_id,amount,currency,status,created_at,paid_at",
        "o1,c1,4990,RUB,paid,2026-11-01T10:00:00Z,2026-11-01T11:00:00Z",  # 2: good
        "o2,ghost,990,RUB,pending,2026-11-01T10:00:00Z,",  # 3
        "o3,c1,-5,RUB,pending,2026-11-01T10:00:00Z,",  # 4
        "o4,c1,12abc,RUB,pending,2026-11-01T10:00:00Z,",  # 5
        "o5,c1,990,RUB,shipped,2026-11-01T10:00:00Z,",  # 6
        "o6,c1,990,RUB,paid,2026-11-01T10:00:00Z,",  # 7: paid without paid_at
        "o7,c1,990,RUB,paid,2026-11-01T10:00:00Z,2026-10-01T10:00:00Z",  # 8: paid before created
        "o8,c1,990,rubles,pending,2026-11-01T10:00:00Z,",  # 9
        "o9,c2,1 990,руб.,Новый,01.11.2026 10:00,",  # 10: good, Russian spellings
    )
    report = await import_csv(db, "orders", orders, default_policy, now=NOW)
    reasons = {e.line: e.reason for e in report.errors}
    assert report.imported == 2 and report.rejected == 7
    assert reasons[3] == "unknown contact 'ghost'"
    assert reasons[4] == "bad amount '-5': must be zero or more"
    assert reasons[5].startswith("bad amount '12abc'")
    assert reasons[6].startswith("unknown order status 'shipped': use pending, paid, cancelled or refunded")
    assert reasons[7] == "a paid order needs paid_at"
    assert reasons[8] == "paid_at is before created_at"
    assert reasons[9].startswith("bad currency 'rubles'")
    row = await db.fetchone("SELECT amount, currency, status FROM orders WHERE id = 'o9'")
    assert row is not None and tuple(row) == (1990.0, "RUB", "pending")

    events = write(
        tmp_path / "events.csv",
        "contact_id,type,at,campaign_id",
        "c1,open,2026-11-02T10:00:00Z,digest-1",  # 2
        "c1,open,2026-11-02T10:00:00Z,digest-1",  # 3: the same natural key again → unchanged
        "ghost,open,2026-11-02T10:00:00Z,",  # 4
        "c1,open now!,2026-11-02T10:00:00Z,",  # 5
        "c1,click,,",  # 6
        "c2,CLICK,2026-11-02 13:00,",  # 7: good; naive → Moscow
    )
    report = await import_csv(db, "events", events, default_policy, now=NOW)
    reasons = {e.line: e.reason for e in report.errors}
    assert (report.imported, report.unchanged, report.rejected) == (2, 1, 3)
    assert reasons == {
        4: "unknown contact 'ghost'",
        5: "bad event type 'open now!': expected a word such as open, click or visit",
        6: "at is empty",
    }
    at = await db.scalar("SELECT at FROM events WHERE contact_id = 'c2' AND type = 'click'")
    assert at == int(datetime(2026, 11, 2, 10, tzinfo=UTC).timestamp())


async def test_broken_bytes_in_a_later_row_reject_only_that_row(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        b"id,email,name\n"
        + b"".join(b"a%d,a%d@example.org,Anna\n" % (i, i) for i in range(5000))
        + b"c2,b@example.org,\xff\xfeBad\nc3,c@example.org,C\n"
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert report.rejected == 1
    assert report.errors[0].line == 5002
    assert report.errors[0].reason == "the row is not valid UTF-8 text"
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 5001  # the 5000 before it and c3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "contains binary data"),
        (
            "id,email,name\nc1,a@example.org,Анна\n".encode("cp1251"),
            "not UTF-8 text (it looks like Windows-1251)",
        ),
        (codecs.BOM_UTF16_LE + "id,email\n".encode("utf-16-le"), "the file is UTF-16"),
        (b"email_address,full_name\nx@example.org,X\n", "has no 'id' or 'email' column"),
        (b'{"contacts": [1, 2]}\n', "does not look like a contacts file"),
        (b"id,email,id\nc1,a@example.org,c1\n", "the column 'id' appears twice"),
    ],
)
async def test_unusable_files_raise_one_sentence_and_write_nothing(
    db: Database, tmp_path: Path, default_policy: Policy, content: bytes | None, message: str
) -> None:
    path = tmp_path / "contacts.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportFileError) as caught:
        await import_csv(db, "contacts", path, default_policy, now=NOW)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 0
    assert await db.scalar("SELECT COUNT(*) FROM audit_log") == 0


async def test_missing_required_order_column(db: Database, tmp_path: Path, default_policy: Policy) -> None:
    path = write(tmp_path / "orders.csv", "id,contact_id,amount,created_at", "o1,c1,100,2026-01-01")
    with pytest.raises(ImportFileError, match="no 'status' column"):
        await import_csv(db, "orders", path, default_policy, now=NOW)
