"""The import contract (SPEC §3) on the worked example: counts, idempotent re-import, updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from policy.config import Policy
from storage.db import Database
from storage.importer import ImportReport, import_csv

NOW = datetime(2026, 11, 24, tzinfo=UTC)
LATER = datetime(2026, 12, 1, tzinfo=UTC)
KINDS = ("contacts", "orders", "events")


async def import_all(
    db: Database, folder: Path, policy: Policy, now: datetime = NOW
) -> dict[str, ImportReport]:
    return {kind: await import_csv(db, kind, folder / f"{kind}.csv", policy, now=now) for kind in KINDS}  # type: ignore[arg-type]


async def snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the imported tables, to prove a re-import changes nothing at all."""
    queries = {
        "contacts": "SELECT * FROM contacts ORDER BY id",
        "consents": "SELECT * FROM consents ORDER BY contact_id, channel",
        "tags": "SELECT * FROM tags ORDER BY contact_id, tag",
        "orders": "SELECT * FROM orders ORDER BY id",
        "events": "SELECT * FROM events ORDER BY id",
    }
    return {name: [tuple(r) for r in await db.fetchall(sql)] for name, sql in queries.items()}


async def test_counts_match_the_worked_example(db: Database, worked_dir: Path, worked_policy: Policy) -> None:
    expected = json.loads((worked_dir / "expected.json").read_text(encoding="utf-8"))["import"]
    reports = await import_all(db, worked_dir, worked_policy)
    for kind in KINDS:
        report = reports[kind]
        assert report.good_rows == expected[kind]["good_rows"], kind
        assert report.imported == expected[kind]["good_rows"], kind  # a fresh database: all new
        assert report.rejected == expected[kind]["rejected"], kind
        assert len(report.errors) == report.rejected
        assert all(e.line >= 2 for e in report.errors)
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == expected["contacts"]["good_rows"]
    assert await db.scalar("SELECT COUNT(*) FROM orders") == expected["orders"]["good_rows"]
    assert await db.scalar("SELECT COUNT(*) FROM events") == expected["events"]["good_rows"]
    audit = await db.fetchall("SELECT action, target, details FROM audit_log ORDER BY id")
    assert [(a["action"], a["target"]) for a in audit] == [
        ("import.contacts", "contacts.csv"), ("import.orders", "orders.csv"), ("import.events", "events.csv"),
    ]  # fmt: skip
    assert json.loads(audit[0]["details"]) == {"imported": 111, "updated": 0, "unchanged": 0, "rejected": 9}


async def test_progress_reports_rows_read(db: Database, worked_dir: Path, worked_policy: Policy) -> None:
    seen: list[int] = []
    await import_csv(
        db, "events", worked_dir / "events.csv", worked_policy, now=NOW, progress=seen.append, batch_rows=100
    )
    assert seen == sorted(seen) and len(seen) >= 6
    assert seen[-1] == 640  # every data row, good or bad


async def test_rejections_name_line_and_reason(db: Database, worked_dir: Path, worked_policy: Policy) -> None:
    reports = await import_all(db, worked_dir, worked_policy)
    contacts = {e.line: e.reason for e in reports["contacts"].errors}
    # Physical lines of contacts.csv (header = 1): h00001 is on line 3, h00003 on 5, h00071 on 73.
    assert "unparsable date '2025-13-45'" in contacts[3]
    assert "invalid email 'not-an-email'" in contacts[5]
    assert contacts[73] == "unknown timezone 'Mars/Olympus'"
    assert reports["orders"].errors[0].reason == "unknown contact 'ghost11'"
    assert reports["orders"].errors[0].line == 3
    assert [e.line for e in reports["events"].errors] == sorted(e.line for e in reports["events"].errors)


async def test_reimport_changes_nothing(db: Database, worked_dir: Path, worked_policy: Policy) -> None:
    await import_all(db, worked_dir, worked_policy)
    before = await snapshot(db)
    again = await import_all(db, worked_dir, worked_policy, now=LATER)  # later: `now` must not leak in
    for kind, report in again.items():
        assert (report.imported, report.updated) == (0, 0), kind
        assert report.unchanged == report.good_rows > 0
    assert await snapshot(db) == before  # including consents' `at` and tags' `set_at`


async def test_a_changed_row_counts_as_updated(
    db: Database, worked_dir: Path, worked_policy: Policy, tmp_path: Path
) -> None:
    await import_all(db, worked_dir, worked_policy)
    lines = (worked_dir / "contacts.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], {line.split(",", 1)[0]: line for line in lines[1:]}
    changed = [
        rows["h00002"].replace("Zoë", "Zoë Renamed"),  # a column
        rows["h00004"].replace(",Yes,yes,Yes,", ",no,yes,Yes,"),  # a consent: granted → revoked
        rows["h00005"].replace("marathon@2026-10-30T22:00:00+00:00", "marathon@2026-11-18T22:00:00+00:00"),
        rows["h00006"],  # untouched
    ]
    (tmp_path / "contacts.csv").write_text("\n".join([header, *changed]) + "\n", encoding="utf-8")

    report = await import_csv(db, "contacts", tmp_path / "contacts.csv", worked_policy, now=LATER)

    assert (report.imported, report.updated, report.unchanged, report.rejected) == (0, 3, 1, 0)
    assert await db.scalar("SELECT name FROM contacts WHERE id = 'h00002'") == "Zoë Renamed"
    consent = await db.fetchone(
        "SELECT status, at FROM consents WHERE contact_id = 'h00004' AND channel = 'email'"
    )
    assert consent is not None and tuple(consent) == ("revoked", int(LATER.timestamp()))
    tag = await db.fetchone(
        "SELECT set_at, expires_at FROM tags WHERE contact_id = 'h00005' AND tag = 'marathon'"
    )
    moved = int(datetime(2026, 11, 18, 22, tzinfo=UTC).timestamp())
    assert tag is not None and tuple(tag) == (moved, moved + 14 * 86400)
    # Columns absent from the file are kept, and the other contacts are untouched.
    assert await db.scalar("SELECT COUNT(*) FROM contacts") == 111
