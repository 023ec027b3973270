"""A policy or campaign file with several mistakes gets every one of them in one answer, each with its
key and line (one run, not seven rounds of "and 10 more problems")."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.campaign import CampaignError, parse_campaign
from policy.config import PolicyError, parse_policy
from policy.toml_lines import key_lines, line_of
from ritm.policy_file import default_policy_text, load_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "ritm" / "examples"


def test_key_lines_knows_tables_arrays_of_tables_inline_and_dotted_keys() -> None:
    text = (
        'id = "x"\n'  # 1
        'note = """\n'  # 2
        "fake = 1\n"  # 3: inside a string, not a key
        '"""\n'  # 4
        "[quiet_hours]\n"  # 5
        'from = "21:00"  # comment\n'  # 6
        "[[variants]]\n"  # 7
        "weight = 0.5\n"  # 8
        "[[variants]]\n"  # 9
        "weight = 2\n"  # 10
        "[windows]\n"  # 11
        'champions = { from = "08:00", to = "10:00" }\n'  # 12
        'event.title = "x"\n'  # 13
    )
    lines = key_lines(text)
    assert lines[("id",)] == 1 and ("fake",) not in lines
    assert lines[("quiet_hours", "from")] == 6
    assert lines[("variants", "0", "weight")] == 8 and lines[("variants", "1", "weight")] == 10
    assert lines[("windows", "champions", "to")] == 12
    assert lines[("windows", "event", "title")] == 13
    assert line_of(lines, ("variants", 1, "subject")) == 9  # missing key: its table's line
    assert line_of(lines, ("priority",)) is None


def test_a_campaign_with_four_mistakes_gets_four_lines() -> None:
    text = (EXAMPLES / "digest.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    bad = (
        text.replace('priority = "mass"', 'prio = "mass"')
        .replace('audience = "all"', 'audience = "ordr:pending"')
        .replace("holdout = 0.1", "holdout = 2")
        .replace("weight = 0.5", "weight = -1", 1)
    )
    with pytest.raises(CampaignError) as caught:
        parse_campaign(bad, "digest.toml", load_policy(None))
    message = str(caught.value)
    first, *problems = message.splitlines()
    assert first == "digest.toml: 5 problems"

    def line(prefix: str) -> int:
        return next(i for i, ln in enumerate(lines, 1) if ln.startswith(prefix))

    expected = {
        "priority: Field required",
        f"prio: unknown key (line {line('priority')})",
        f"holdout: must be between 0 and 0.5, got 2.0 (line {line('holdout')})",
        f"variants.0.weight: must be > 0 (line {line('weight')})",
    }
    assert expected <= {p.strip() for p in problems}
    assert any(
        p.strip().startswith("audience: at column 1") and p.endswith(f"(line {line('audience')})")
        for p in problems
    )


def test_a_policy_with_three_mistakes_gets_three_lines() -> None:
    text = default_policy_text()
    lines = text.splitlines()
    bad = text.replace('from = "21:00"', 'from = "25:00"', 1).replace(
        'default_timezone = "Europe/Moscow"', 'default_timezone = "Mars/Olympus"\nlanguage = "ru"', 1
    )
    assert bad != text
    with pytest.raises(PolicyError) as caught:
        parse_policy(bad, "policy.toml")
    first, *problems = str(caught.value).splitlines()
    assert first == "policy.toml: 3 problems"
    tz_line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("default_timezone"))
    assert any(
        p.strip().startswith("default_timezone:") and p.endswith(f"(line {tz_line})") for p in problems
    )
    assert any(p.strip() == f"language: unknown key (line {tz_line + 1})" for p in problems)
    assert any(p.strip().startswith("quiet_hours.from:") for p in problems)
