"""The example campaigns `ritm demo` adds; they ship in `ritm/examples/` as documentation too."""

from __future__ import annotations

from importlib import resources

FILES = {
    "webinar-base-asset": "webinar.toml",
    "digest-48": "digest.toml",
    "digest-weekly": "digest_series.toml",
    "stream-moved-1127": "service.toml",
    "dunning": "dunning.toml",
    "marathon-deadline-sms": "sms_deadline.toml",
}


def campaign_text(campaign_id: str) -> str:
    """The TOML text of an example campaign, from the installed package."""
    return resources.files("ritm").joinpath("examples", FILES[campaign_id]).read_text(encoding="utf-8")
