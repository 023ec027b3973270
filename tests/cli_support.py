"""The typer app as a shell sees it, on a database in tmp_path with the worked example imported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from typer.testing import CliRunner

from ritm.cli import campaign_cmd, import_cmd, segment_cmd, team_cmd
from ritm.cli.main import _global

Invoke = Callable[..., tuple[int, str, str]]


def root_app() -> typer.Typer:
    """The root options with the import, team, campaign and segment commands."""
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    for module in (import_cmd, team_cmd, campaign_cmd, segment_cmd):
        module.register(root)
    return root


def worked_cli(tmp_path: Path, worked_dir: Path, *, policy: Path | None = None) -> Invoke:
    """`invoke(*args) -> (exit code, stdout, stderr)` with the worked base imported."""
    root = root_app()
    base = ["--db", str(tmp_path / "ritm.db"), "--policy", str(policy or worked_dir / "policy.toml")]

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(root, [*base, *args])
        return result.exit_code, result.stdout, result.stderr

    for kind in ("contacts", "orders", "events"):
        assert invoke("import", kind, str(worked_dir / f"{kind}.csv"), "--json")[0] == 0
    return invoke
