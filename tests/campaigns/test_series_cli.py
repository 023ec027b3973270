"""`ritm campaign add` of a series refuses a bad schedule with the key; `occurrences` lists its dates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ritm.cli.common import STATE
from tests.cli_support import Invoke, root_app

EXAMPLE = Path(__file__).resolve().parents[2] / "ritm" / "examples" / "digest_series.toml"
RULE = 'schedule = "FREQ=WEEKLY;BYDAY=TU;BYHOUR=11;BYMINUTE=0"'


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Invoke]:
    root = root_app()
    base = ["--db", str(tmp_path / "ritm.db")]

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(root, [*base, *args])
        return result.exit_code, result.stdout, result.stderr

    assert invoke("team", "add", "1", "operator")[0] == 0
    yield invoke
    STATE.forget()


def _file(tmp_path: Path, old: str, new: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "series.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            RULE,
            'schedule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"',
            "series.toml: schedule: the rule 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' never fires",
        ),
        (
            'until = "2027-06-30"',
            'until = "2026-11-30"',
            "series.toml: until: 2026-11-30 23:59 is before the first occurrence (2026-12-01 11:00)",
        ),
        (RULE, 'schedule = "every funday 11:00"', "series.toml: schedule: 'funday' is not a weekday"),
        (RULE, 'schedule = "FREQ=HOURLY"', "series.toml: schedule: FREQ must be DAILY, WEEKLY"),
        (
            RULE,
            'schedule = "FREQ=DAILY;COUNT=3"',
            "series.toml: schedule: give COUNT as the campaign's `count`",
        ),
        ('"2026-12-29", ', '"2026-12-30", ', "series.toml: skip: 2026-12-30 is not a date of the schedule"),
        ('run_window = "2d"', 'run_window = "0m"', "series.toml: run_window: must be > 0"),
        (
            'until = "2027-06-30"',
            'until = "2027-06-30"\ncount = 3',
            "series.toml: count: give until or count",
        ),
        ('start = "2026-12-01T00:00:00"', 'deadline = "2026-12-20T00:00:00"', "series.toml: deadline:"),
    ],
)
def test_a_bad_series_is_refused_at_add_with_its_key(
    cli: Invoke, tmp_path: Path, old: str, new: str, said: str
) -> None:
    code, _, err = cli("campaign", "add", _file(tmp_path, old, new), "--by", "1")
    assert code == 2
    assert err.strip().removeprefix("error: ").startswith(said), err
    assert "Traceback" not in err
    code, out, _ = cli("campaign", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_occurrences_lists_the_next_dates_without_the_skipped_ones(cli: Invoke, tmp_path: Path) -> None:
    assert cli("campaign", "add", str(EXAMPLE), "--by", "1")[0] == 0
    code, out, err = cli(
        "campaign", "occurrences", "digest-weekly", "--count", "4", "--at", "2026-12-20", "--json"
    )
    assert code == 0, err
    lines = json.loads(out)
    assert [(o["id"], o["number"], o["state"]) for o in lines] == [
        ("digest-weekly@2026-12-22", 4, "upcoming"),
        ("digest-weekly@2027-01-12", 5, "upcoming"),  # 29 December and 5 January are skipped
        ("digest-weekly@2027-01-19", 6, "upcoming"),
        ("digest-weekly@2027-01-26", 7, "upcoming"),
    ]
    assert lines[0]["start"] == "2026-12-22T08:00:00+00:00"  # 11:00 in Moscow
    assert lines[0]["deadline"] == "2026-12-24T08:00:00+00:00"  # run_window = 2d
    code, _, err = cli("campaign", "occurrences", "nothing-here")
    assert code == 2 and "there is no campaign 'nothing-here'" in err


def test_occurrences_of_a_one_off_campaign_is_refused(cli: Invoke, tmp_path: Path) -> None:
    one_off = EXAMPLE.parent / "digest.toml"
    assert cli("campaign", "add", str(one_off), "--by", "1")[0] == 0
    code, _, err = cli("campaign", "occurrences", "digest-48")
    assert code == 2 and err.strip() == "error: digest-48 is not a series: its file has no schedule"
