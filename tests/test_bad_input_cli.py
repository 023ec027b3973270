"""Absurd input to the CLI gets one sentence on stderr and exit 2, never a traceback, and changes nothing.

Out-of-range values follow SPEC §12.3: integers beyond 64 bits, years outside 1900–2200 and durations
beyond 100 years are key errors in policy and campaign files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ritm.cli.common import STATE
from tests.cli_support import Invoke, root_app, worked_cli

AT = "2026-11-20T12:00:00+00:00"


@pytest.fixture
def cli(tmp_path: Path, worked_dir: Path) -> Iterator[Invoke]:
    invoke = worked_cli(tmp_path, worked_dir)
    assert invoke("team", "add", "1", "operator")[0] == 0
    yield invoke
    STATE.forget()


def one_sentence(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("error:") and err.count("\n") <= 2 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("(" * 400 + "all" + ")" * 400, ("nested too deeply",)),
        ("(" * 10_000 + "all" + ")" * 10_000, ("nested too deeply",)),
        ("NOT " * 10_000 + "all", ("nested too deeply",)),
        ("paid_total > 99999999999999999999", ("out of range",)),
        ("paid_total > -9223372036854775809", ("out of range",)),
        ("monetary > " + "9" * 400 + ".5", ("out of range",)),
        ("tag:funnel within ٧d", ("duration",)),
        ("tag:funnel within 999999999999d", ("too long",)),
        ("tag:x\x00", ("unexpected character",)),
        ("", ("empty",)),
    ],
)
def test_a_bad_expression_is_a_sentence(cli: Invoke, expression: str, words: tuple[str, ...]) -> None:
    code, _, err = cli("segment", "count", expression, "--at", AT)
    one_sentence(code, err, *words)


def test_a_64_bit_number_still_counts(cli: Invoke) -> None:
    code, out, err = cli("segment", "count", "paid_total < 9223372036854775807", "--at", AT, "--json")
    assert code == 0 and '"count"' in out, err


@pytest.mark.parametrize(
    ("at", "words"),
    [
        ("9999-12-31", ("year 9999 is outside 1900–2200",)),
        ("0001-01-01T00:00:00+00:00", ("year 1",)),
        ("10000-01-01", ("unparsable",)),
        ("", ("empty",)),
    ],
)
def test_an_absurd_at_is_a_sentence(cli: Invoke, at: str, words: tuple[str, ...]) -> None:
    code, _, err = cli("segment", "count", "all", "--at", at)
    one_sentence(code, err, "--at", *words)


POLICY_CHANGES = [
    (('after_payment = "24h"', 'after_payment = "999999999d"'), "silence.after_payment", "too long"),
    (('after_payment = "24h"', 'after_payment = "-1d"'), "silence.after_payment", "bad duration"),
    (('after_payment = "24h"', 'after_payment = ""'), "silence.after_payment", "bad duration"),
    (('after_payment = "24h"', 'after_payment = "٢٤h"'), "silence.after_payment", "bad duration"),
    (('after_payment = "24h"', 'after_payment = "24h"\nx = 99999999999999999999'), "silence.x", "range"),
    (('after_payment = "24h"', 'after_payment = "24h"\nx = nan'), "silence.x", "finite"),
    (('after_payment = "24h"', "after_payment = 9999-12-31T00:00:00"), "silence.after_payment", "9999"),
]


@pytest.mark.parametrize(("change", "key", "why"), POLICY_CHANGES)
def test_an_out_of_range_policy_value_is_a_key_error(
    tmp_path: Path, worked_dir: Path, change: tuple[str, str], key: str, why: str
) -> None:
    text = (worked_dir / "policy.toml").read_text(encoding="utf-8")
    assert change[0] in text
    policy = tmp_path / "bad-policy.toml"
    policy.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    code, _, err = _segment_count_with(tmp_path, worked_dir, policy)
    one_sentence(code, err, key, why)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        (b'default_timezone = "Europe/Moscow\x00"\n', "not valid TOML"),
        (b"x = " + b"[" * 10_000 + b"]" * 10_000, "nested"),
        (b"x = " + b"[" * 40 + b"]" * 40, "nested more than 16 levels"),
        (b"", "unknown segment"),  # the defaults protect segments that only a file can define
    ],
)
def test_a_binary_or_absurd_policy_file_is_a_sentence(
    tmp_path: Path, worked_dir: Path, content: bytes, why: str
) -> None:
    policy = tmp_path / "bad-policy.toml"
    policy.write_bytes(content)
    code, _, err = _segment_count_with(tmp_path, worked_dir, policy)
    one_sentence(code, err, why)


def _segment_count_with(tmp_path: Path, worked_dir: Path, policy: Path) -> tuple[int, str, str]:
    """`ritm segment count all` under `policy`, on an empty database."""
    result = CliRunner().invoke(
        root_app(), ["--db", str(tmp_path / "p.db"), "--policy", str(policy), "segment", "count", "all"]
    )
    STATE.forget()
    return result.exit_code, result.stdout, result.stderr


CAMPAIGN_CHANGES = [
    (('deadline = "2026-11-23T12:00:00+00:00"', 'deadline = "9999-12-31"'), "deadline", "year 9999"),
    (('deadline = "2026-11-23T12:00:00+00:00"', "deadline = 9999-12-31T00:00:00"), "deadline", "9999"),
    (('start = "2026-11-20T12:00:00+00:00"', 'start = "0001-01-01T00:00:00Z"'), "start", "year 1 "),
    (('start = "2026-11-20T12:00:00+00:00"', 'start = "10000-01-01"'), "start", "unparsable"),
    (("holdout = 0.1", "holdout = 99999999999999999999999"), "holdout", "out of range"),
    (("holdout = 0.1", "holdout = -99999999999999999999999"), "holdout", "out of range"),
    (("holdout = 0.1", "holdout = inf"), "holdout", "finite"),
    (('audience = "all"', 'audience = "' + "(" * 400 + "all" + ")" * 400 + '"'), "audience", "nested"),
    (('audience = "all"', 'audience = "paid_total > 1' + "0" * 30 + '"'), "audience", "out of range"),
    (('audience = "all"', 'audience = ""'), "audience", "empty"),
    (
        ('audience = "all"', 'audience = "all"\nx = ' + "[" * 10_000 + "]" * 10_000),
        "not valid TOML",
        "nested",
    ),
    (('audience = "all"', 'audience = "all"\nx = ' + "{a=" * 10_000 + "1" + "}" * 10_000), "TOML", "nested"),
    (('id = "worked-1"', 'id = ""'), "id", "not an id"),
]


@pytest.mark.parametrize(("change", "key", "why"), CAMPAIGN_CHANGES)
def test_an_out_of_range_campaign_value_is_a_key_error(
    cli: Invoke, worked_dir: Path, tmp_path: Path, change: tuple[str, str], key: str, why: str
) -> None:
    text = (worked_dir / "campaign.toml").read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    code, _, err = cli("campaign", "add", str(path), "--by", "1")
    one_sentence(code, err, key, why)
    assert cli("campaign", "list", "--json")[1].strip() == "[]"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00b\x00i\x00n", b'id = "x\x00"\n'])
def test_a_binary_campaign_file_is_a_sentence(cli: Invoke, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(content)
    code, _, err = cli("campaign", "add", str(path), "--by", "1")
    one_sentence(code, err)


def test_out_of_range_import_cells_are_line_errors(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "id,email,telegram_chat_id,created_at\n"
        "o1,o1@example.org,99999999999999999999999,2026-01-01\n"
        "o2,o2@example.org,٣,2026-01-01\n"
        "o3,o3@example.org,5,0001-01-01\n"
        "o4,o4@example.org,5,31.12.9999\n"
        "o5,o5@example.org,-1001234567890,2026-01-01\n",
        encoding="utf-8",
    )
    code, out, err = cli("import", "contacts", str(path), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["imported"] == 1 and report["rejected"] == 4
    reasons = {e["line"]: e["reason"] for e in report["errors"]}
    for line, why in ((2, "out of range"), (3, "not an integer"), (4, "year 1 is outside"), (5, "year 9999")):
        assert why in reasons[line], (line, reasons)
