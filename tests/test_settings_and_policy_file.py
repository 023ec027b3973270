"""Bad settings and bad policy files stop the program with one sentence that names the culprit."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy.config import PolicyError, parse_policy
from ritm.policy_file import default_policy_text, load_policy
from ritm.settings import SettingsError, load_settings


def test_settings_come_from_ritm_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("RITM_SMTP__PORT", "2525")
    monkeypatch.setenv("RITM_TELEGRAM__RATE_PER_S", "1000")
    settings = load_settings()
    assert settings.smtp.port == 2525 and settings.telegram.rate_per_s == 1000


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("RITM_SMTP__PORT", "seventy"),
        ("RITM_SMTP__TLS", "maybe"),
        ("RITM_HTTP_PORT", "-1"),
        ("RITM_EVENT_LOOP", "trio"),
    ],
)
def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{var}:")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('from = "21:00"', 'from = "25:00"'), "quiet_hours.from"),
        (('max = 1\nper = "1d"', 'max = 1\nper = "a day"'), "caps.0.per"),
        (("[protect]", "[protect]\nextra = 1"), "protect.extra"),
        (('default_timezone = "Europe/Moscow"', 'default_timezone = "Mars/Olympus"'), "default_timezone"),
        (('rplus = "paid_total >= 5000"', 'rplus = "paid_total >== 5000"'), "segments.rplus"),
    ],
)
def test_a_bad_policy_names_the_key(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    text = default_policy_text()
    assert change[0] in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert key in str(caught.value) and "\n" not in str(caught.value)


def test_the_shipped_default_policy_is_valid() -> None:
    policy = parse_policy(default_policy_text())
    assert policy.protect.mass == ["pending_order", "in_activity", "new_in_funnel"]
    assert [rule.name for rule in policy.rfm.segments][:2] == ["champions", "loyal"]
