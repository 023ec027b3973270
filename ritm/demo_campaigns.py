"""The example campaigns the demo adds (the same files `examples/campaigns/` documents)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

FILES = {
    "webinar-base-asset": "webinar.toml",
    "digest-48": "digest.toml",
    "stream-moved-1127": "service.toml",
}


def campaign_text(campaign_id: str) -> str:
    """The TOML text of an example campaign, from the installed package or the source tree."""
    name = FILES[campaign_id]
    packaged = resources.files("templates").joinpath("campaigns", name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[1] / "examples" / "campaigns" / name).read_text(encoding="utf-8")
