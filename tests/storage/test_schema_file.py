"""storage/schema.sql is exactly the schema the migrations produce (tables, columns, indexes, checks)."""

from __future__ import annotations

from pathlib import Path

from storage.schema_file import REGENERATE, SCHEMA_FILE, SchemaObject, loaded_schema, migrated_schema


def difference(migrated: list[SchemaObject], loaded: list[SchemaObject]) -> str:
    want = {o.normalised for o in migrated}
    have = {o.normalised for o in loaded}
    lines = [f"  missing from schema.sql: {o[0]} {o[1]}: {o[3]}" for o in sorted(want - have)]
    lines += [f"  only in schema.sql: {o[0]} {o[1]}: {o[3]}" for o in sorted(have - want)]
    return "\n".join(lines)


async def test_schema_file_matches_the_migrations(tmp_path: Path) -> None:
    migrated = await migrated_schema(tmp_path / "migrated.db")
    loaded = loaded_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    drift = difference(migrated, loaded)
    assert not drift, (
        f"storage/schema.sql is not what the migrations produce; run `{REGENERATE}` and commit it:\n{drift}"
    )
    assert {o.name for o in migrated if o.kind == "table"} >= {"contacts", "outbox", "campaigns", "team"}


async def test_a_column_added_by_a_migration_alone_is_caught(tmp_path: Path) -> None:
    migrated = await migrated_schema(tmp_path / "migrated.db")
    text = (
        SCHEMA_FILE.read_text(encoding="utf-8")
        + "\nALTER TABLE contacts ADD COLUMN max_messenger_id INTEGER;\n"
    )
    drift = difference(migrated, loaded_schema(text))
    assert "only in schema.sql: table contacts" in drift and "max_messenger_id" in drift
