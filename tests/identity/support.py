"""GetCourse-style files for the identity tests, and a database as it was before addresses were unique."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import typer
from typer.testing import CliRunner

from ritm.cli import contact_cmd, import_cmd, segment_cmd
from ritm.cli.common import STATE
from ritm.cli.main import _global
from storage.db import Database, migration_files

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
USERS_HEADER = "ID;Email;Имя;Телефон;Согласие на рассылку"
ORDERS_HEADER = "ID заказа;ID пользователя;Сумма;Статус;Дата создания;Дата оплаты"


def csv_file(tmp_path: Path, name: str, header: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def cli(db_path: Path) -> typer.Typer:
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    for module in (import_cmd, contact_cmd, segment_cmd):
        module.register(root)
    STATE._policy = None
    return root


def run_cli(app: typer.Typer, db_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", str(db_path), *args])
    return result.exit_code, result.stdout, result.stderr


def snapshot(
    db_path: Path, tables: Sequence[str] = ("contacts", "consents", "suppressions", "orders")
) -> list:
    with sqlite3.connect(db_path) as conn:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables]


def legacy_database(path: Path, statements: Sequence[tuple[str, tuple[object, ...]]]) -> None:
    """A database migrated to 0009 (before addresses were unique), then filled by `statements`."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT, at TEXT)")
        for number, name, sql in migration_files():
            if number <= 9:
                conn.executescript(sql)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'then')", (number, name))
        for sql, params in statements:
            conn.execute(sql, params)


async def open_db(path: Path) -> Database:
    return await Database.open(path)
