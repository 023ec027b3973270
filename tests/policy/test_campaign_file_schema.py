"""The campaign file's schema: every broken key gets one sentence naming it; the rest of the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy.campaign import Campaign, CampaignError, parse_campaign
from policy.config import LocalWindow, PolicyError
from tests.render_support import BASE, campaign, policy

VERSION_AFTER_ALL = '\n[[versions]]\nsegment = "warm"\ntemplate = "digest_warm"\n'
STEP = '\n[[cascade]]\nchannel = "{}"\nafter = "12h"\n'

# (what is broken, text replaced in BASE, its replacement, the sentence expected)
BROKEN = [
    ("unknown key", 'name = "Test"', 'name = "Test"\ncolour = "red"', "colour: unknown key"),
    ("bad id", 'id = "t-1"', 'id = "Digest 48"', "id: 'Digest 48' is not an id: use lower-case letters"),
    (
        "bad priority",
        'priority = "mass"',
        'priority = "urgent"',
        "priority: must be service, scenario or mass",
    ),
    (
        "empty channels",
        'channels = ["email", "telegram"]',
        "channels = []",
        "channels: name at least one channel",
    ),
    (
        "unknown channel",
        'channels = ["email", "telegram"]',
        'channels = ["email", "fax"]',
        "channels.1: unknown channel",
    ),
    (
        "channel twice",
        'channels = ["email", "telegram"]',
        'channels = ["email", "email"]',
        "channels.1: channel 'email'",
    ),
    ("dsl typo", 'audience = "all"', 'audience = "tag:funnel ANDD segment:warm"', "audience: at column"),
    (
        "template path",
        'template = "digest_clients"',
        'template = "../secrets"',
        "versions.0.template: '../secrets'",
    ),
    (
        "unknown tag",
        'audience = "all"',
        'audience = "tag:course OR tag:gold"',
        "audience: at column 15: unknown tag",
    ),
    ("unknown segment", 'audience = "all"', 'audience = "segment:nope"', "audience: at column 1:"),
    (
        "unless unknown rfm",
        'unless = "event:open within 24h"',
        'unless = "rfm:stars"',
        "cascade.0.unless: at column 1:",
    ),
    (
        "unknown protect",
        "holdout = 0.1",
        'holdout = 0.1\nprotect = ["nope"]',
        "protect.0: 'nope' is not a segment",
    ),
    ("bad date", 'start = "2026-11-25T09:00:00+03:00"', 'start = "tomorrow"', "start: unparsable date"),
    (
        "deadline = start",
        'deadline = "2026-11-27T21:00:00+03:00"',
        'deadline = "2026-11-25T09:00:00+03:00"',
        "deadline: must be after start",
    ),
    (
        "deadline < start",
        'deadline = "2026-11-27T21:00:00+03:00"',
        'deadline = "2026-11-24T09:00:00+03:00"',
        "deadline: must be after start",
    ),
    ("holdout 0.7", "holdout = 0.1", "holdout = 0.7", "holdout: must be between 0 and 0.5"),
    ("holdout < 0", "holdout = 0.1", "holdout = -0.1", "holdout: must be between 0 and 0.5"),
    ("weight 0", 'name = "B"\nweight = 0.5', 'name = "B"\nweight = 0', "variants.1.weight: must be > 0"),
    (
        "weights sum",
        'name = "B"\nweight = 0.5',
        'name = "B"\nweight = 0.7',
        "variants: weights must add up to 1",
    ),
    ("variant twice", 'name = "B"', 'name = "A"', "variants.1.name: variant 'A' is defined twice"),
    (
        "bad window days",
        'windows = "policy"',
        'windows = { from = "10:00", to = "19:00", days = "mon-xyz" }',
        "windows.days: bad days 'mon-xyz'",
    ),
    (
        "bad window time",
        'windows = "policy"',
        'windows = { from = "25:00", to = "19:00" }',
        "windows.from: bad time",
    ),
    ("window word", 'windows = "policy"', 'windows = "sometimes"', 'windows: expected "policy" or a table'),
    (
        "unknown version segment",
        'segment = "rplus"',
        'segment = "vip_clients"',
        "versions.0.segment: 'vip_clients' is not 'all', a policy segment or an RFM segment",
    ),
    (
        "version after all",
        "[links]",
        VERSION_AFTER_ALL + "\n[links]",
        'versions.2.segment: a version after the one for "all" would never be used',
    ),
    (
        "template and inline",
        'template = "digest_clients"',
        'template = "digest_clients"\ntext = "x"',
        "versions.0.text: give either template or inline sources, not both",
    ),
    ("no content", 'text = "Текст"', "", "versions.1.text: required unless the version names a template"),
    (
        "version name twice",
        'segment = "rplus"',
        'segment = "rplus"\nname = "all"',
        "versions.1.name: version name 'all' is used twice",
    ),
    (
        "http link",
        'program = "https://school.example/program"',
        'program = "http://school.example/program"',
        "links.program: must be an https URL",
    ),
    (
        "link not a url",
        'program = "https://school.example/program"',
        'program = "school.example"',
        "links.program: must be an https URL",
    ),
    (
        "bad link name",
        'program = "https://school.example/program"',
        '"sign up" = "https://school.example/a"',
        "links.sign up: a link name is a letter",
    ),
    ("cascade after 2h", 'after = "12h"', 'after = "2h"', "cascade.0.after: must be between 12h and 24h"),
    ("cascade after 36h", 'after = "12h"', 'after = "36h"', "cascade.0.after: must be between 12h and 24h"),
    ("cascade same channel", 'channel = "sms"', 'channel = "email"', "cascade.0.channel: must differ"),
    (
        "cascade bad unless",
        'unless = "event:open within 24h"',
        'unless = "event:open within"',
        "cascade.0.unless:",
    ),
    (
        "connect_link on an sms step",
        'after = "12h"\nunless',
        'after = "12h"\nfallback = "connect_link"\nunless',
        "cascade.0.fallback: connect_link applies only to a telegram step: it emails the Telegram connect"
        " link to contacts without a bound chat",
    ),
    (
        "unknown fallback",
        'channel = "sms"\nafter = "12h"',
        'channel = "telegram"\nafter = "12h"\nfallback = "skip"',
        "cascade.0.fallback: unknown fallback 'skip': the only one is \"connect_link\"",
    ),
    (
        "fallback template without a fallback",
        'after = "12h"\nunless',
        'after = "12h"\nfallback_template = "telegram_connect"\nunless',
        'cascade.0.fallback_template: needs fallback = "connect_link"',
    ),
    (
        "a campaign link named telegram_connect",
        'program = "https://school.example/program"',
        'telegram_connect = "https://t.me/other_bot"',
        "links.telegram_connect: is each contact's own Telegram link",
    ),
    (
        "three cascade steps",
        "\n[event]",
        STEP.format("email") + STEP.format("sms") + "\n[event]",
        "cascade: at most 2 follow-up steps",
    ),
    (
        "4 reminders",
        'duration = "90m"',
        'duration = "90m"\nreminders = ["48h", "24h", "6h", "2h"]',
        "event.reminders: at most 3 reminders per event, got 4",
    ),
    (
        "reminder 72h",
        'duration = "90m"',
        'duration = "90m"\nreminders = ["72h", "2h"]',
        "event.reminders.0: must be between 2h and 48h before the start",
    ),
    (
        "reminder 1h",
        'duration = "90m"',
        'duration = "90m"\nreminders = ["24h", "1h"]',
        "event.reminders.1: must be between 2h and 48h",
    ),
    (
        "reminders twice",
        'duration = "90m"',
        'duration = "90m"\nreminders = ["24h", "1d"]',
        "event.reminders: reminder offsets must be distinct",
    ),
    (
        "event before start",
        'starts_at = "2026-11-28T19:00:00+03:00"',
        'starts_at = "2026-11-24T19:00:00+03:00"',
        "event.starts_at: must be after the campaign start",
    ),
    (
        "event http url",
        'url = "https://school.example/live"',
        'url = "http://school.example/live"',
        "event.url: must be an https URL",
    ),
    ("event no title", 'title = "Эфир"\n', "", "event.title: Field required"),
    ("source is ours", 'name = "Test"', 'name = "Test"\nsource = "x"', "source: unknown key"),
    ("not toml", 'name = "Test"', "name = ", "not valid TOML"),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_every_error_names_its_key_in_one_sentence(old: str, new: str, expected: str) -> None:
    assert old in BASE
    with pytest.raises(CampaignError) as caught:
        campaign(BASE.replace(old, new, 1))
    message = str(caught.value)
    assert message.startswith("campaign.toml: ")
    assert expected in message
    assert "\n" not in message
    assert isinstance(caught.value, PolicyError)


def test_the_base_campaign_parses_with_every_key() -> None:
    c = campaign()
    assert c.id == "t-1" and c.priority == "mass" and c.channels == ["email", "telegram"]
    assert [v.name for v in c.versions] == ["rplus", "all"]  # derived from the segment
    assert c.versions[0].template == "digest_clients" and c.versions[1].text == "Текст"
    assert [(v.name, v.weight) for v in c.variants] == [("A", 0.5), ("B", 0.5)]
    assert c.cascade[0].channel == "sms" and c.cascade[0].after == timedelta(hours=12)
    assert c.event is not None and c.event.duration == timedelta(minutes=90)
    assert c.event.ends_at == datetime(2026, 11, 28, 17, 30, tzinfo=UTC)
    assert c.links == {"program": "https://school.example/program"}
    assert c.windows == "policy"
    assert c.source == BASE


def test_aware_times_are_stored_in_utc() -> None:
    c = campaign()
    assert c.start == datetime(2026, 11, 25, 6, tzinfo=UTC)
    assert c.start.utcoffset() == timedelta(0)
    assert c.deadline == datetime(2026, 11, 27, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "start_utc"),
    [
        ("Europe/Moscow", datetime(2026, 11, 25, 6, tzinfo=UTC)),
        ("Asia/Vladivostok", datetime(2026, 11, 24, 23, tzinfo=UTC)),
    ],
)
@pytest.mark.parametrize("written", ['"2026-11-25T09:00:00"', "2026-11-25T09:00:00", '"2026-11-25 09:00"'])
def test_naive_times_are_read_in_the_policy_zone(zone: str, start_utc: datetime, written: str) -> None:
    pol = policy().model_copy(update={"default_timezone": zone})
    text = BASE.replace('start = "2026-11-25T09:00:00+03:00"', f"start = {written}")
    c = campaign(text, pol)
    assert c.start == start_utc
    assert c.start.tzinfo is not None


def test_explicit_window_and_narrowed_protect() -> None:
    text = BASE.replace(
        'windows = "policy"',
        'windows = { from = "10:00", to = "19:00", days = "mon-fri" }\nprotect = ["pending_order"]',
    )
    c = campaign(text)
    assert isinstance(c.windows, LocalWindow)
    assert (c.windows.from_min, c.windows.to_min, c.windows.weekdays) == (600, 1140, frozenset(range(5)))
    pol = policy()
    assert c.effective_protect(pol) == ["pending_order"]
    assert c.widened_protect(pol) == ["in_activity", "new_in_funnel"]


def test_default_protect_is_the_policys_and_widens_nothing() -> None:
    c, pol = campaign(), policy()
    assert c.protect is None
    assert c.effective_protect(pol) == pol.protect.mass
    assert c.widened_protect(pol) == []


def test_only_mass_campaigns_need_approval_and_widen() -> None:
    assert campaign().requires_approval is True
    service = campaign(
        BASE.replace('priority = "mass"', 'priority = "service"').replace("holdout = 0.1", "protect = []")
    )
    assert service.requires_approval is False
    assert service.widened_protect(policy()) == []
    scenario = campaign(BASE.replace('priority = "mass"', 'priority = "scenario"'))
    assert scenario.requires_approval is False


def test_reminders_default_to_the_policy_and_sort_latest_first() -> None:
    assert campaign().event is not None
    assert campaign().event.reminders == [timedelta(hours=h) for h in (48, 24, 2)]  # type: ignore[union-attr]
    pol = policy()
    own = pol.model_copy(
        update={"reminders": pol.reminders.model_copy(update={"offsets": [timedelta(hours=3)]})}
    )
    assert campaign(pol=own).event.reminders == [timedelta(hours=3)]  # type: ignore[union-attr]
    text = BASE.replace('duration = "90m"', 'duration = "90m"\nreminders = ["2h", "24h"]')
    assert campaign(text).event.reminders == [timedelta(hours=24), timedelta(hours=2)]  # type: ignore[union-attr]
    no_reminders = BASE.replace('duration = "90m"', 'duration = "90m"\nreminders = []')
    assert campaign(no_reminders).event.reminders == []  # type: ignore[union-attr]


def test_versions_may_name_rfm_segments_and_policy_segments() -> None:
    text = BASE.replace('segment = "rplus"', 'segment = "champions"\nname = "stars"')
    c = campaign(text)
    assert c.version("stars").segment == "champions"
    assert c.version("all").subject == "Привет, {{ contact.first_name }}"
    with pytest.raises(KeyError):
        c.version("nope")


def test_template_names_lists_every_named_template_once() -> None:
    text = BASE.replace(
        'name = "B"\nweight = 0.5', 'name = "B"\nweight = 0.5\ntemplate = "digest_warm"'
    ).replace(
        'unless = "event:open within 24h"', 'unless = "event:open within 24h"\ntemplate = "webinar_followup"'
    )
    assert campaign(text).template_names() == ["digest_clients", "digest_warm", "webinar_followup"]


def test_the_model_needs_the_policy_to_validate() -> None:
    with pytest.raises(TypeError, match="parse_campaign"):
        Campaign.model_validate({"id": "x", "versions": [{"segment": "all", "subject": "s", "text": "t"}]})


def test_parse_is_deterministic_and_keeps_the_source() -> None:
    pol = policy()
    first, second = parse_campaign(BASE, "a.toml", pol), parse_campaign(BASE, "b.toml", pol)
    assert first == second
    assert first.source == BASE
