"""Local stand-ins for the outside world, used by tests and `ritm demo`: no token, no network."""

from __future__ import annotations

from ritm.sandbox.telegram_api import DEFAULT_TOKEN, TelegramStandin
from ritm.sandbox.telegram_limits import StandinLimits
from ritm.sandbox.telegram_records import SentMessage

__all__ = ["DEFAULT_TOKEN", "SentMessage", "StandinLimits", "TelegramStandin"]
