"""The demo's VK moments: VK ids imported, consent from the community's Callback API, a cascade that
reaches by VK those who did not click the email — and one subscriber who denied VK messages first.

Everything goes over real HTTP: the stand-in plays VK (`messages.send`, and the Callback API events it
posts to our `/hooks/vk`), the dispatcher sends through the VK channel like any other.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dispatcher.campaigns import CampaignService
from policy.config import Policy
from policy.timeutil import iso_utc
from ritm.sandbox.vk_api import VkStandin
from storage.db import Database
from storage.importer import import_csv
from storage.outcomes import sent_per_channel
from storage.segments import reading

VK_CAMPAIGN = "community-vk"
FIRST_VK_ID = 880_001
PEOPLE = 4  # reached by email; those who do not click get the VK step, but the one who denied VK


def campaign_text(start: datetime, deadline: datetime) -> str:
    return f"""
id = "{VK_CAMPAIGN}"
name = "After the webinar: its recording in the VK community, by email, then by VK"
priority = "scenario"
channels = ["email"]
audience = "has:vk"
start = "{iso_utc(start)}"
deadline = "{iso_utc(deadline)}"

[[versions]]
segment = "all"
subject = "{{{{ contact.first_name }}}}, у школы есть сообщество ВКонтакте"
text = "Эфиры, разборы и записи — в сообществе: {{{{ links.community }}}}"
vk = "{{{{ contact.first_name }}}}, записи эфиров — в сообществе{{{{ button('Открыть', links.community) }}}}"

[links]
community = "https://vk.com/school.example"

[[cascade]]
channel = "vk"
after = "12h"
unless = "event:click within 12h"
"""


class VkScript:
    """Three moments the demo's loop calls: VK ids arrive, a subscriber denies, the cascade's result."""

    def __init__(
        self,
        db: Database,
        policy: Policy,
        service: CampaignService,
        vk: VkStandin,
        *,
        hook_url: str,
        secret: str,
        base: Path,
        notes: list[str],
        author: str,
    ) -> None:
        self.db, self.policy, self.service, self.vk = db, policy, service, vk
        self.hook_url, self.secret, self.base, self.notes = hook_url, secret, base, notes
        self.author = author
        self.people: list[str] = []
        self.denied: str | None = None

    async def add(self, now: datetime, deadline: datetime) -> None:
        """The school exports its VK community's members; they allow the community's messages in VK."""
        async with reading(self.db, self.policy, now) as ctx:
            self.people = await ctx.list("has:email AND NOT has:telegram", limit=PEOPLE)
        path = self.base / "vk.csv"
        lines = ["id,vk_id"] + [f"{cid},id{FIRST_VK_ID + n}" for n, cid in enumerate(self.people)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        await import_csv(self.db, "contacts", path, self.policy, now=now)
        for n, _ in enumerate(self.people):
            await self.vk.notify(self.hook_url, "message_allow", FIRST_VK_ID + n, secret=self.secret)
        await self.service.add(campaign_text(now, deadline), f"{VK_CAMPAIGN}.toml", by=self.author, at=now)
        await self.service.dry_run(VK_CAMPAIGN, at=now, by=self.author)
        await self.service.plan(VK_CAMPAIGN, at=now, by=self.author)  # scenario: no approval needed

    async def deny(self, now: datetime) -> None:
        """The last of them turns the community's messages off in VK before the VK step is due."""
        if not self.people:
            return
        self.denied = self.people[-1]
        await self.vk.notify(
            self.hook_url, "message_deny", FIRST_VK_ID + len(self.people) - 1, secret=self.secret
        )

    async def report(self) -> None:
        """One or two lines for the demo's notes."""
        if not self.people:
            return
        reached = len(self.vk.sent)
        self.notes.append(
            f"VK: {len(self.people)} contacts got VK ids by import and allowed the community's messages"
            f" (Callback API → /hooks/vk); the email → VK cascade reached {reached} of them by VK"
            f" ({(await sent_per_channel(self.db)).get('vk', 0)} VK messages sent)"
        )
        if self.denied is not None:
            self.notes.append(
                f"VK: {self.denied} denied the community's messages in VK before the VK step:"
                " consent revoked, never written to there (the stricter setting wins)"
            )
