"""A whole Ritm with the VK stand-in beside the SMTP sandbox and the Telegram stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dispatcher.clock import ManualClock
from policy.timeutil import to_epoch
from ritm.app import App
from ritm.policy_file import load_policy
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.sandbox.vk_api import VkStandin
from storage.db import Database
from storage.team import add_member
from tests.e2e.conftest import APPROVER, AUTHOR
from tests.secret_support import TEST_SECRET

VK_SECRET = "community-callback-secret"
VK_OFFSET = 70_000  # a contact's VK id: this plus the digits of its id


@dataclass
class VkWorld:
    app: App
    smtp: CapturingSmtpServer
    vk: VkStandin
    clock: ManualClock


async def vk_world(tmp_path: Path, *, policy_text: str | None = None) -> AsyncIterator[VkWorld]:
    if policy_text is not None:
        (tmp_path / "policy.toml").write_text(policy_text, encoding="utf-8")
    policy = load_policy(tmp_path / "policy.toml" if policy_text is not None else None)
    clock = ManualClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    async with (
        CapturingSmtpServer(directory=tmp_path / "mail") as smtp,
        TelegramStandin() as telegram,
        VkStandin() as vk,
    ):
        app = await loopback_app(
            policy,
            clock,
            smtp,
            telegram,
            db=tmp_path / "ritm.db",
            public_url="https://ritm.school.example",
            secret=TEST_SECRET,
            vk=vk,
            vk_secret=VK_SECRET,
        )
        await add_member(app.db, int(AUTHOR), "approver", by="test", at=clock())
        await add_member(app.db, int(APPROVER), "approver", by="test", at=clock())
        try:
            yield VkWorld(app, smtp, vk, clock)
        finally:
            await app.close()


def vk_id_of(contact_id: str) -> int:
    return VK_OFFSET + int("".join(ch for ch in contact_id if ch.isdigit()) or 0)


async def add_vk_contacts(
    db: Database, ids: Iterable[str], *, at: datetime, vk_consent: str | None = "granted"
) -> list[str]:
    """Contacts with `<id>@example.org` (email consent granted) and a VK id (`vk_consent` as given)."""
    made = list(ids)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO contacts (id, email, name, vk_id, timezone, created_at)"
            " VALUES (?, ?, ?, ?, 'Europe/Moscow', ?)",
            [(c, f"{c}@example.org", f"Гость {c}", vk_id_of(c), to_epoch(at)) for c in made],
        )
        rows = [(c, "email", "granted") for c in made]
        rows += [(c, "vk", vk_consent) for c in made if vk_consent is not None]
        await conn.executemany(
            "INSERT INTO consents (contact_id, channel, status, source, at) VALUES (?, ?, ?, 'test', ?)",
            [(*r, to_epoch(at)) for r in rows],
        )
    return made
