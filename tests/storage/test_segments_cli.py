"""`ritm segment count|list` and `ritm rfm` through the typer app, on the worked example's database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from policy.config import Policy
from ritm.cli import segment_cmd
from ritm.cli.common import STATE
from ritm.cli.main import _global
from storage.db import Database
from tests.segments_support import load_worked

AT = "2026-11-20T12:00:00+00:00"


@pytest.fixture
def app() -> Iterator[typer.Typer]:
    """The root options and only this module's commands; the cached policy is reset around each test."""
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    segment_cmd.register(root)
    STATE._policy = None
    yield root
    STATE._policy = None


@pytest.fixture
def worked_db(tmp_path: Path, worked_dir: Path, worked_policy: Policy) -> Path:
    path = tmp_path / "worked.db"

    async def fill() -> None:
        async with await Database.open(path) as db:
            await load_worked(db, worked_dir, worked_policy)

    asyncio.run(fill())
    return path


def invoke(app: typer.Typer, db: Path, worked_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), "--policy", str(worked_dir / "policy.toml"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_segment_count_json(app: typer.Typer, worked_db: Path, worked_dir: Path) -> None:
    expected = json.loads((worked_dir / "expected.json").read_text(encoding="utf-8"))
    for text, want in expected["segment_count"].items():
        code, out, err = invoke(app, worked_db, worked_dir, "segment", "count", text, "--at", AT, "--json")
        assert (code, err) == (0, "")
        assert json.loads(out) == {"count": want}, text


def test_rfm_json_is_the_expected_distribution(app: typer.Typer, worked_db: Path, worked_dir: Path) -> None:
    expected = json.loads((worked_dir / "expected.json").read_text(encoding="utf-8"))
    code, out, _ = invoke(app, worked_db, worked_dir, "rfm", "--at", AT, "--json")
    assert code == 0
    assert json.loads(out) == expected["rfm"]


def test_segment_list_is_ordered_and_limited(app: typer.Typer, worked_db: Path, worked_dir: Path) -> None:
    code, out, _ = invoke(app, worked_db, worked_dir, "segment", "list", "tag:marathon", "--at", AT, "--json")
    assert code == 0
    ids = json.loads(out)["ids"]
    assert len(ids) == 4 and ids == sorted(ids)
    code, out, _ = invoke(
        app, worked_db, worked_dir, "segment", "list", "tag:marathon", "--at", AT, "--limit", "2", "--json"
    )
    assert json.loads(out) == {"ids": ids[:2]}
    code, out, _ = invoke(app, worked_db, worked_dir, "segment", "list", "tag:marathon", "--at", AT)
    assert out.split() == ids


def test_naive_at_is_read_in_the_policy_timezone(app: typer.Typer, worked_db: Path, worked_dir: Path) -> None:
    # 15:00 in Moscow is 12:00 UTC: the same instant as AT.
    code, out, _ = invoke(
        app,
        worked_db,
        worked_dir,
        "segment",
        "count",
        "tag:funnel within 7d",
        "--at",
        "2026-11-20T15:00",
        "--json",
    )
    assert (code, json.loads(out)) == (0, {"count": 3})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["segment", "count", "tag:marathon within 7"],
            'at column 21: expected a duration like 7d after "within"',
        ),
        (["segment", "count", "tag:nope"], 'at column 1: unknown tag "nope"'),
        (["segment", "list", "paid_total >"], "at column 13: expected a number"),
        (["segment", "count", "all", "--at", "yesterday"], "--at: unparsable date 'yesterday'"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    app: typer.Typer, worked_db: Path, worked_dir: Path, args: list[str], message: str
) -> None:
    before = worked_db.stat().st_size
    code, out, err = invoke(app, worked_db, worked_dir, *args)
    assert code == 2
    assert out == ""
    assert message in err and err.count("\n") == 1
    assert worked_db.stat().st_size == before


def test_an_invalid_policy_segment_is_reported(app: typer.Typer, worked_db: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[protect]\nmass = []\n[segments]\na = "segment:b"\nb = "segment:a"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(
        app, ["--db", str(worked_db), "--policy", str(policy), "segment", "count", "all"]
    )
    assert result.exit_code == 2
    assert "segments.a: at column 1: cycle of segments: a → b → a" in result.stderr
