"""Helpers shared by the campaign-file and renderer tests: a valid base campaign and quick builders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dispatcher.render_context import MessageContext, sample_context
from policy.campaign import Campaign, parse_campaign
from policy.config import Policy
from ritm.policy_file import load_policy

EXAMPLES = Path(__file__).resolve().parents[1] / "ritm" / "examples"

# A campaign that uses every key; the table-driven tests break it one key at a time.
BASE = """\
id = "t-1"
name = "Test"
priority = "mass"
channels = ["email", "telegram"]
audience = "all"
start = "2026-11-25T09:00:00+03:00"
deadline = "2026-11-27T21:00:00+03:00"
windows = "policy"
holdout = 0.1

[[variants]]
name = "A"
weight = 0.5

[[variants]]
name = "B"
weight = 0.5

[[versions]]
segment = "rplus"
template = "digest_clients"

[[versions]]
segment = "all"
subject = "Привет, {{ contact.first_name }}"
text = "Текст"

[links]
program = "https://school.example/program"

[[cascade]]
channel = "sms"
after = "12h"
unless = "event:open within 24h"

[event]
title = "Эфир"
starts_at = "2026-11-28T19:00:00+03:00"
duration = "90m"
url = "https://school.example/live"
"""


def policy() -> Policy:
    """The shipped policy, with mass SMS allowed: BASE is a mass campaign with an SMS cascade step."""
    shipped = load_policy(None)
    sms = shipped.channels.sms.model_copy(update={"priorities": ["service", "scenario", "mass"]})
    return shipped.model_copy(update={"channels": shipped.channels.model_copy(update={"sms": sms})})


def campaign(text: str = BASE, pol: Policy | None = None) -> Campaign:
    return parse_campaign(text, "campaign.toml", pol or policy())


def example(name: str) -> Campaign:
    """One of the shipped example campaigns, parsed against the default policy."""
    return campaign((EXAMPLES / name).read_text(encoding="utf-8"))


def inline_campaign(
    *, priority: str = "mass", links: str = "", event: bool = False, locale: str = "ru", **parts: str
) -> Campaign:
    """A one-version campaign whose parts are inline sources (`subject`, `text`, `html`, `telegram`),
    written in `locale`."""
    lines = [
        'id = "inline"',
        'name = "Inline"',
        f'locale = "{locale}"',
        f'priority = "{priority}"',
        'channels = ["email", "telegram"]',
        'audience = "all"',
        'start = "2026-11-25T09:00:00+03:00"',
        'deadline = "2026-11-27T21:00:00+03:00"',
        "[[versions]]",
        'segment = "all"',
    ]
    parts.setdefault("subject", "Тема")
    parts.setdefault("text", "Текст {{ unsubscribe_url }}")
    lines += [f"{key} = {_toml_string(value)}" for key, value in parts.items()]
    if links:
        lines += ["[links]", links]
    if event:
        lines += [
            "[event]",
            'title = "Эфир"',
            'starts_at = "2026-11-27T19:00:00+03:00"',
            'url = "https://school.example/live"',
        ]
    return campaign("\n".join(lines) + "\n")


def _toml_string(value: str) -> str:
    return '"""' + value.replace("\\", "\\\\").replace('"""', '\\"""') + '"""'


def ctx(**changes: Any) -> MessageContext:
    """The sample recipient (Анна, Moscow) with some fields changed."""
    return replace(sample_context("Europe/Moscow"), **changes)
