"""Tiny bases for dispatcher tests: contacts with addresses and consents, written as the importer would."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from policy.config import QuietHours
from policy.timeutil import to_epoch
from ritm.app import App
from ritm.policy_file import default_policy_text
from storage.db import Database
from tests.e2e.conftest import World


async def add_contacts(
    db: Database,
    ids: Iterable[str],
    *,
    at: datetime,
    email: bool = True,
    telegram: bool = False,
    timezone: str = "Europe/Moscow",
) -> list[str]:
    """Contacts `id` with `<id>@example.org` and/or chat id from the digits, consent granted."""
    made = list(ids)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, email, name, telegram_chat_id, timezone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    cid,
                    f"{cid}@example.org" if email else None,
                    f"Гость {cid}",
                    int("".join(ch for ch in cid if ch.isdigit()) or 0) + 10_000 if telegram else None,
                    timezone,
                    to_epoch(at),
                )
                for cid in made
            ],
        )
        channels = (["email"] if email else []) + (["telegram"] if telegram else [])
        await conn.executemany(
            "INSERT INTO consents (contact_id, channel, status, source, at)"
            " VALUES (?, ?, 'granted', 'test', ?)",
            [(cid, ch, to_epoch(at)) for cid in made for ch in channels],
        )
    return made


def campaign_toml(
    campaign_id: str,
    *,
    start: datetime,
    deadline: datetime,
    priority: str = "mass",
    channels: str = '["email"]',
    audience: str = "all",
) -> str:
    """A campaign that may go at any hour (explicit whole-day window), one inline version."""
    return f"""
id = "{campaign_id}"
name = "Test {campaign_id}"
priority = "{priority}"
channels = {channels}
audience = "{audience}"
start = "{start.isoformat()}"
deadline = "{deadline.isoformat()}"
windows = {{ from = "00:00", to = "00:00" }}

[[versions]]
segment = "all"
subject = "Здравствуйте, {{{{ contact.first_name }}}}"
text = "Новости школы. Отписаться: {{{{ unsubscribe_url }}}}"
"""


def calm_policy(path: Path) -> Path:
    """The shipped policy without quiet hours, written to `path`: for tests of a real `ritm run` on the
    real clock, which must not depend on the hour they run at."""
    text = default_policy_text().replace('from = "21:00"\nto = "08:00"', 'from = "00:00"\nto = "00:00"', 1)
    assert 'from = "00:00"' in text, "the shipped policy's quiet hours moved"
    path.write_text(text, encoding="utf-8")
    return path


def relax(world: World) -> None:
    """No quiet hours and no global or segment caps: for tests about the worker, not the calendar."""
    relax_app(world.app)


def relax_app(app: App) -> None:
    """`relax` for an App built outside the World fixture."""
    policy = app.policy.model_copy(
        update={
            "quiet_hours": QuietHours.model_validate({"from": "00:00", "to": "00:00"}),
            "caps": [],
            "segment_caps": {},
        }
    )
    holders = (app, app.worker, app.service, app.followups, app.campaigns)
    for holder in (*holders, app.triggers):
        holder.policy = policy  # type: ignore[attr-defined]
