"""`vk_id` and `consent_vk` in contact imports: the forms people copy a VK id in, a line error for the
rest, the column map's Russian headers, and has:vk counting the result."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from policy.config import Policy
from storage.db import Database
from storage.importer import import_csv
from storage.segments import SegmentContext

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_vk_ids_import_and_a_bad_one_is_a_line_error(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = write(
        tmp_path / "contacts.csv",
        "id,email,vk_id,consent_vk",
        "k1,k1@example.org,123456,1",  # 2
        "k2,k2@example.org,id777,yes",  # 3
        "k3,k3@example.org,https://vk.com/id888,0",  # 4
        "k4,k4@example.org,vk.com/durov,1",  # 5: a short name, not an id
        "k5,k5@example.org,0,1",  # 6
        "k6,k6@example.org,-5,1",  # 7
        "k7,k7@example.org,99999999999999999999999,1",  # 8: beyond 64 bits
        "k8,k8@example.org,,1",  # 9: consent without an id: stored, not reachable
    )
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    reasons = {e.line: e.reason for e in report.errors}
    assert report.imported == 4 and sorted(reasons) == [5, 6, 7, 8]
    assert all(r.startswith("vk_id ") and "not a VK user id" in r for r in reasons.values())
    stored = await db.fetchall("SELECT id, vk_id FROM contacts ORDER BY id")
    assert [tuple(r) for r in stored] == [("k1", 123456), ("k2", 777), ("k3", 888), ("k8", None)]
    ctx = SegmentContext(db, default_policy, NOW)
    assert await ctx.count("has:vk") == 2  # k1, k2: an id and consent; k3 said no, k8 has no id
    again = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 4)


async def test_getcourse_style_headers_map_to_vk_fields(
    db: Database, tmp_path: Path, default_policy: Policy
) -> None:
    path = write(tmp_path / "gc.csv", "Email;ВКонтакте;Согласие ВКонтакте", "g1@example.org;id4242;да")
    report = await import_csv(db, "contacts", path, default_policy, now=NOW)
    assert report.imported == 1, report.errors
    assert await db.scalar("SELECT vk_id FROM contacts") == 4242
    assert await db.scalar("SELECT status FROM consents WHERE channel = 'vk'") == "granted"
