"""A trigger file's bad keys are refused at `campaign add` with the key and one sentence (SPEC §12.4):
an unknown event type, tag or segment, a step without a channel the policy allows, a bad `until` or
`reentry` — and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ritm.cli.common import STATE
from tests.cli_support import Invoke, worked_cli

DUNNING = Path(__file__).resolve().parents[2] / "ritm" / "examples" / "dunning.toml"


@pytest.fixture
def cli(tmp_path: Path, worked_dir: Path) -> Iterator[Invoke]:
    invoke = worked_cli(tmp_path, worked_dir)
    assert invoke("team", "add", "1", "operator")[0] == 0
    yield invoke
    STATE.forget()


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            '"event:order_created"',
            '"event:order_craeted"',
            ("trigger:", "unknown event type 'order_craeted'"),
        ),
        ('"event:order_created"', '"enter:segment:nobody"', ("trigger:", "unknown segment 'nobody'")),
        ('"event:order_created"', '"tag:nonsense"', ("trigger:", "unknown tag 'nonsense'")),
        ('"event:order_created"', '"date:birthday"', ("trigger:", "unknown date 'birthday'")),
        ('"event:order_created"', '"order_created"', ("trigger:", "unknown trigger")),
        ('channel = "telegram"\n', "", ("steps.1.channel:",)),
        ('channel = "telegram"', 'channel = "pigeon"', ("steps.1.channel:", "unknown channel 'pigeon'")),
        ('until = "order:paid"', 'until = "order:payed"', ("until:",)),
        ('reentry = "after 30d"', 'reentry = "sometimes"', ("reentry:", "never")),
        ('reentry = "after 30d"', 'reentry = "after 0d"', ("reentry:", "> 0")),
        ('after = "24h"', 'after = "-1h"', ("steps.1.after:",)),
        ('name = "Неоплаченный заказ"', 'name = "x"\nholdout = 0.1', ("holdout:", "trigger campaign")),
    ],
)
def test_a_bad_trigger_file_is_one_sentence_and_stores_nothing(
    cli: Invoke, tmp_path: Path, old: str, new: str, words: tuple[str, ...]
) -> None:
    text = DUNNING.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, _, err = cli("campaign", "add", str(path), "--by", "1")
    assert code == 2, err
    assert err.startswith("error:") and err.count("\n") <= 2 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    assert cli("campaign", "list", "--json")[1].strip() == "[]"


def test_keys_of_a_trigger_in_a_campaign_without_one_are_refused(cli: Invoke, tmp_path: Path) -> None:
    text = DUNNING.read_text(encoding="utf-8").replace('trigger = "event:order_created"\n', "")
    path = tmp_path / "no-trigger.toml"
    path.write_text(text, encoding="utf-8")
    code, _, err = cli("campaign", "add", str(path), "--by", "1")
    assert code == 2 and "Traceback" not in err, err
    assert cli("campaign", "list", "--json")[1].strip() == "[]"


def test_the_shipped_dunning_file_is_added(cli: Invoke) -> None:
    code, _, err = cli("campaign", "add", str(DUNNING), "--by", "1")
    assert code == 0, err
    assert "dunning" in cli("campaign", "list", "--json")[1]
