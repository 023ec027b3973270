"""The urgent message's campaign file: TOML and Jinja carry the typed text exactly, whatever it holds."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from bot.urgent_campaign import jinja_literal, subject_of, toml_string, urgent_id, urgent_toml
from dispatcher.render import Renderer, sample_context
from dispatcher.render_env import TemplateEnvironments
from policy.campaign import parse_campaign
from ritm.policy_file import load_policy

NOW = datetime(2026, 11, 24, 9, 5, 30, tzinfo=UTC)
ENVS = TemplateEnvironments()
TRICKY = '{{ x }} {% raw %}{% endraw %} {# c #} "q" \\ <b>&</b>\n  {%- if -%}\ttab\x00\x7f'


@given(st.text())
def test_toml_string_round_trips(value: str) -> None:
    assert tomllib.loads(f"x = {toml_string(value)}")["x"] == value


@given(st.text(st.characters(blacklist_characters="\r")).filter(lambda t: not t.endswith("\n")))
def test_jinja_literal_renders_back_the_text(text: str) -> None:
    for kind in ("text", "markup"):
        template = ENVS.inline(kind, f"t-{kind}", jinja_literal(text))
        assert ENVS.render(template, "t", {}) == text


def test_subject_is_the_first_line_cut_short() -> None:
    assert subject_of("\n  Эфир   переносится \nвторая") == "Эфир переносится"
    long = subject_of("я" * 200)
    assert len(long) == 80 and long.endswith("…")


def test_urgent_ids_count_up_within_a_minute() -> None:
    assert urgent_id(NOW, set()) == "urgent-20261124-0905-1"
    assert urgent_id(NOW, {"urgent-20261124-0905-1", "urgent-20261124-0905-2"}) == "urgent-20261124-0905-3"


@settings(max_examples=30, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200).filter(str.strip))
def test_the_file_is_a_valid_service_campaign_rendering_the_text(text: str) -> None:
    policy = load_policy(None)
    source = urgent_toml(campaign_id="urgent-20261124-0905-1", name="Срочно", audience="segment:warm",
                         text=text, now=NOW)  # fmt: skip
    campaign = parse_campaign(source, "urgent", policy)
    assert campaign.priority == "service" and campaign.channels == ["telegram", "email"]
    assert campaign.deadline - campaign.start == timedelta(hours=24)
    message = Renderer().preview(campaign, "urgent", "telegram", sample_context(policy.default_timezone))
    assert message.telegram == str(escape(text.strip()))
    assert message.subject == subject_of(text)


def test_tricky_text_survives_the_whole_way() -> None:
    policy = load_policy(None)
    text = TRICKY.replace("\x00", "").replace("\x7f", "")
    source = urgent_toml(campaign_id="u-1", name=TRICKY, audience="all", text=text, now=NOW)
    campaign = parse_campaign(source, "urgent", policy)
    assert campaign.name == TRICKY
    email = Renderer().preview(campaign, "urgent", "email", sample_context(policy.default_timezone))
    assert email.text == text.strip()
