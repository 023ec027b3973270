"""`ritm campaign …` from the shell's point of view: the four-eyes rule cannot be bypassed from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ritm.cli import campaign_cmd, import_cmd, team_cmd
from ritm.cli.common import STATE
from ritm.cli.main import _global

AT = "2026-11-20T12:00:00+00:00"


@pytest.fixture
def cli(tmp_path: Path, worked_dir: Path) -> Iterator[object]:
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.callback()(_global)
    for module in (import_cmd, team_cmd, campaign_cmd):
        module.register(root)
    base = ["--db", str(tmp_path / "ritm.db"), "--policy", str(worked_dir / "policy.toml")]

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(root, [*base, *args])
        return result.exit_code, result.stdout, result.stderr

    for kind in ("contacts", "orders", "events"):
        assert invoke("import", kind, str(worked_dir / f"{kind}.csv"), "--json")[0] == 0
    assert invoke("team", "add", "1", "approver")[0] == 0
    assert invoke("team", "add", "2", "approver")[0] == 0
    assert invoke("team", "add", "3", "operator")[0] == 0
    yield invoke
    STATE.forget()


def test_author_cannot_approve_and_plan_needs_approval(cli, worked_dir: Path) -> None:  # type: ignore[no-untyped-def]
    campaign = str(worked_dir / "campaign.toml")
    assert cli("campaign", "add", campaign, "--by", "1")[0] == 0
    code, _, err = cli("campaign", "approve", "worked-1", "--by", "2")
    assert code == 2 and "dry run first" in err
    code, out, err = cli("campaign", "dry-run", "worked-1", "--at", AT, "--json", "--by", "1")
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "pending_approval" and report["planned"] == 39
    for key in (
        "audience",
        "excluded",
        "eligible",
        "holdout",
        "planned",
        "by_version",
        "by_variant",
        "by_channel",
        "by_rfm",
        "first_due",
        "last_due",
        "due_hours_utc",
        "previews",
    ):
        assert key in report, key

    for who, why in (("1", "four-eyes"), ("3", "approver role"), ("99", "not in the team")):
        code, _, err = cli("campaign", "approve", "worked-1", "--by", who)
        assert code == 2 and why in err, (who, err)
    code, _, err = cli("campaign", "plan", "worked-1", "--at", AT)
    assert code == 2 and "approved before planning" in err

    assert cli("campaign", "approve", "worked-1", "--by", "2")[0] == 0
    code, out, err = cli("campaign", "plan", "worked-1", "--at", AT, "--json")
    assert code == 0, err
    assert json.loads(out) == {"status": "scheduled", "inserted": 45, "planned": 39, "holdout": 6}
    code, out, _ = cli("campaign", "plan", "worked-1", "--at", AT, "--json")
    assert json.loads(out)["inserted"] == 0  # idempotent


def test_a_changed_file_goes_back_to_draft_and_needs_a_new_approval(
    cli, worked_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    original = (worked_dir / "campaign.toml").read_text(encoding="utf-8")
    path = tmp_path / "campaign.toml"
    path.write_text(original, encoding="utf-8")
    cli("campaign", "add", str(path), "--by", "1")
    cli("campaign", "dry-run", "worked-1", "--at", AT, "--by", "1")
    assert cli("campaign", "approve", "worked-1", "--by", "2")[0] == 0
    path.write_text(
        original.replace('name = "Worked example"', 'name = "Worked example, v2"'), encoding="utf-8"
    )
    code, out, _ = cli("campaign", "add", str(path), "--by", "1", "--json")
    assert code == 0 and json.loads(out) == {"id": "worked-1", "status": "draft", "change": "changed"}
    code, _, err = cli("campaign", "plan", "worked-1", "--at", AT)
    assert code == 2 and "approved" in err


def test_bad_campaign_file_gets_every_problem_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nname = "X"\npriority = "loud"\n', encoding="utf-8")
    code, _, err = cli("campaign", "add", str(bad), "--by", "1")
    assert code == 2 and "bad.toml: 6 problems" in err and "Traceback" not in err
    assert "priority: must be service, scenario or mass, got 'loud' (line 3)" in err
    assert err.count("\n") == 7  # the count, one line per problem
    code, _, err = cli("campaign", "add", str(tmp_path / "missing.toml"), "--by", "1")
    assert code == 2 and "cannot read" in err


def test_a_template_over_its_render_limits_is_one_sentence(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, worked_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limits come from RITM_RENDER__*: `add` refuses a file whose template is too slow or too big,
    `dry-run` a stored campaign whose template file became so; exit 2, one line, nothing stored."""
    monkeypatch.setenv("RITM_RENDER__TIMEOUT_S", "0.3")
    monkeypatch.setenv("RITM_RENDER__MAX_BYTES", "5000")
    source = (worked_dir / "campaign.toml").read_text(encoding="utf-8")
    slow = tmp_path / "slow.toml"
    loops = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    slow.write_text(source.replace("Новый разбор для вас.", loops), encoding="utf-8")
    code, _, err = cli("campaign", "add", str(slow), "--by", "1")
    assert code == 2 and err.count("\n") == 1
    assert err.strip().endswith("worked-1:versions.all.text, line 1: took longer than 0.3 s")
    big = tmp_path / "big.toml"
    big.write_text(source.replace("Новый разбор для вас.", "{{ 'x' * 5001 }}"), encoding="utf-8")
    code, _, err = cli("campaign", "add", str(big), "--by", "1")
    assert code == 2 and err.strip().endswith("worked-1:versions.all.text, line 1: produced more than 5 KB")
    assert cli("campaign", "list", "--json")[1].strip() == "[]"

    templates = tmp_path / "templates"
    (templates / "note").mkdir(parents=True)
    (templates / "note" / "subject.j2").write_text("Тема", encoding="utf-8")
    (templates / "note" / "email.txt.j2").write_text("Коротко.", encoding="utf-8")
    monkeypatch.setenv("RITM_TEMPLATES", str(templates))
    with_file = tmp_path / "file.toml"
    with_file.write_text(
        source.replace(
            'subject = "Привет, {{ contact.name }}"\ntext = "Новый разбор для вас."', 'template = "note"'
        ),
        encoding="utf-8",
    )
    assert cli("campaign", "add", str(with_file), "--by", "1")[0] == 0
    (templates / "note" / "email.txt.j2").write_text("Коротко.\n" + loops, encoding="utf-8")
    code, _, err = cli("campaign", "dry-run", "worked-1", "--at", AT, "--by", "1")
    assert code == 2 and err.count("\n") == 1
    assert err.strip().endswith("note/email.txt.j2, line 2: took longer than 0.3 s")
