"""A seeded SQLite base for the fault scenarios: contacts, a policy without quiet hours, and one campaign
planned so that every one of its messages is due now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ritm.policy_file import load_policy
from ritm.services import campaign_service
from ritm.settings import Settings
from storage.db import Database
from storage.team import add_member
from tests.e2e.people import add_contacts, calm_policy, campaign_toml

AUTHOR, APPROVER = 1, 2
CAMPAIGN = "faults-1"


@dataclass(frozen=True)
class Base:
    db: Path
    policy: Path
    campaign: str
    rows: int  # outbox rows planned, all due now
    chats: dict[int, str]  # telegram chat id -> contact id


async def seed(
    directory: Path,
    *,
    email: int,
    telegram: int = 0,
    priority: str = "mass",
    campaign: str = CAMPAIGN,
) -> Base:
    """`email` contacts reachable by email only and `telegram` by Telegram only (interleaved, so both
    channels are busy at once), and one campaign to all of them planned due now."""
    db_path, policy_path = directory / "ritm.db", calm_policy(directory / "policy.toml")
    now = datetime.now(UTC).replace(microsecond=0)
    total = email + telegram
    every = total // telegram if telegram else 0
    ids = [f"k{i:05d}" for i in range(total)]
    by_telegram = [cid for i, cid in enumerate(ids) if every and i % every == 0][:telegram]
    by_email = sorted(set(ids) - set(by_telegram))
    db = await Database.open(db_path)
    try:
        await add_contacts(db, by_email, at=now)
        await add_contacts(db, by_telegram, at=now, email=False, telegram=True)
        await add_member(db, AUTHOR, "approver", by="test", at=now)
        await add_member(db, APPROVER, "approver", by="test", at=now)
        planned = await plan_campaign(db, policy_path, campaign, priority=priority, at=now)
        assert planned == total, f"planned {planned} of {total}"
        chats = {
            int(r[0]): str(r[1])
            for r in await db.fetchall(
                "SELECT telegram_chat_id, id FROM contacts WHERE telegram_chat_id IS NOT NULL"
            )
        }
    finally:
        await db.close()
    return Base(db_path, policy_path, campaign, total, chats)


async def plan_campaign(
    db: Database, policy_path: Path, campaign: str, *, priority: str, at: datetime
) -> int:
    """Add a campaign to everyone on both channels, approve it if it is mass, plan it; rows written."""
    service = campaign_service(db, load_policy(policy_path), Settings(db=db.path))
    text = campaign_toml(
        campaign,
        start=at - timedelta(minutes=1),
        deadline=at + timedelta(days=1),
        priority=priority,
        channels='["email", "telegram"]',
    )
    await service.add(text, f"{campaign}.toml", by=str(AUTHOR), at=at)
    if priority == "mass":
        await service.dry_run(campaign, at=at, by=str(AUTHOR))
        await service.approve(campaign, by=str(APPROVER), at=at)
    result = await service.plan(campaign, at=at, by=str(AUTHOR))
    return result.inserted
