"""`ritm import` and `ritm demo-data` through the typer app: JSON keys, exit codes, one-sentence errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ritm.cli import demo_data_cmd, import_cmd
from ritm.cli.common import STATE
from ritm.cli.main import _global


@pytest.fixture
def app() -> Iterator[typer.Typer]:
    """The root options and only these commands; the cached policy is reset around each test."""
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    import_cmd.register(root)
    demo_data_cmd.register(root)
    STATE._policy = None
    yield root
    STATE._policy = None


def invoke(app: typer.Typer, tmp_path: Path, *args: str, policy: Path | None = None) -> tuple[int, str, str]:
    options = ["--db", str(tmp_path / "cli.db"), *(["--policy", str(policy)] if policy else [])]
    result = CliRunner().invoke(app, [*options, *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_summary_has_exactly_the_contract_keys(
    app: typer.Typer, tmp_path: Path, worked_dir: Path
) -> None:
    policy = worked_dir / "policy.toml"
    code, out, _ = invoke(
        app, tmp_path, "import", "contacts", str(worked_dir / "contacts.csv"), "--json", policy=policy
    )
    assert code == 0  # bad rows do not make the file unusable
    summary = json.loads(out)
    # SPEC §10 keys, then the warnings of §12.3 (rows imported with something left out)
    assert list(summary) == ["imported", "updated", "unchanged", "rejected", "errors", "warnings"]
    assert (summary["imported"], summary["rejected"]) == (111, 9)
    assert summary["errors"][0] == {"line": 3, "reason": "created_at: unparsable date '2025-13-45'"}
    assert all(set(e) == {"line", "reason"} for e in summary["errors"])

    code, out, _ = invoke(
        app, tmp_path, "import", "contacts", str(worked_dir / "contacts.csv"), "--json", policy=policy
    )
    assert code == 0
    assert {k: v for k, v in json.loads(out).items() if k not in ("errors", "warnings")} == {
        "imported": 0, "updated": 0, "unchanged": 111, "rejected": 9,
    }  # fmt: skip


def test_human_summary_lists_the_first_errors(app: typer.Typer, tmp_path: Path, worked_dir: Path) -> None:
    code, out, _ = invoke(
        app,
        tmp_path,
        "import",
        "contacts",
        str(worked_dir / "contacts.csv"),
        policy=worked_dir / "policy.toml",
    )
    assert code == 0
    assert "111" in out and "line 73: unknown timezone 'Mars/Olympus'" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "no such file"), (b"name;phone\nX;1\n", "no 'id' or 'email' column")],
)
def test_unusable_file_exits_2_with_one_sentence(
    app: typer.Typer, tmp_path: Path, content: bytes | None, needle: str
) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = invoke(app, tmp_path, "import", "contacts", str(path), "--json")
    assert code == 2
    assert out == ""
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_kind_is_a_usage_error(app: typer.Typer, tmp_path: Path) -> None:
    code, _, _ = invoke(app, tmp_path, "import", "people", str(tmp_path / "x.csv"))
    assert code == 2


def test_demo_data_then_import(app: typer.Typer, tmp_path: Path) -> None:
    out_dir = tmp_path / "base"
    code, out, _ = invoke(
        app, tmp_path, "demo-data", "--contacts", "300", "--seed", "5", "--out", str(out_dir), "--json"
    )
    assert code == 0
    counts = json.loads(out)
    assert counts["contacts"] == 300 and counts["anchor"] == "2026-11-23T09:00:00+03:00"
    for kind in ("contacts", "orders", "events"):
        code, out, _ = invoke(app, tmp_path, "import", kind, str(out_dir / f"{kind}.csv"), "--json")
        summary = json.loads(out)
        assert code == 0 and summary["rejected"] == 0
        assert summary["imported"] == counts[kind]


def test_demo_data_rejects_a_bad_anchor(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = invoke(app, tmp_path, "demo-data", "--anchor", "someday", "--out", str(tmp_path / "x"))
    assert code == 2
    assert "--anchor: unparsable date 'someday'" in err
