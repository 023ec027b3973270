"""`ritm demo`: the whole loop on embedded defaults, no token, no network (SPEC §10).

A synthetic base is imported into a fresh SQLite file; a real SMTP server (aiosmtpd) and the Telegram
Bot API stand-in listen on loopback; the dispatcher runs for five days of compressed time on an
injected clock: a webinar invitation (four-eyes approval, RFM send windows, an email → Telegram
cascade, reminders 48 h / 24 h / 2 h), the weekly digest with segment versions and a holdout, a
payment that opens a silence window, a global pause, and a service notice that goes through both.
Then ten more days on hourly steps: the digest as a series approved once (`ritm.demo_series`).
"""

from __future__ import annotations

import secrets
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from dispatcher.campaigns import CampaignRefused
from dispatcher.clock import ManualClock
from policy.config import Policy
from policy.dry_run import DryRunReport
from ritm.app import App
from ritm.demo_campaigns import campaign_text
from ritm.demo_people import Audience
from ritm.demo_series import SeriesScript
from ritm.demo_sms import SmsScript
from ritm.demo_vk import VkScript
from ritm.sandbox.loopback import loopback_app
from ritm.sandbox.smsru_api import SmsRuStandin
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.sandbox.telegram_limits import StandinLimits
from ritm.sandbox.vk_api import VkStandin
from ritm.synthetic import DEFAULT_ANCHOR, write_demo_base
from storage.campaigns import get_campaign
from storage.importer import import_csv
from storage.outcomes import contact_of_row, next_planned_contact
from storage.pause import set_paused
from storage.segments import reading
from storage.team import add_member

MSK = DEFAULT_ANCHOR.tzinfo
STEP = timedelta(minutes=15)
SERIES_STEP = timedelta(hours=1)
AUTHOR, APPROVER = "1001", "2002"
WEBINAR, DIGEST, NOTICE, DUNNING = "webinar-base-asset", "digest-48", "stream-moved-1127", "dunning"


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


def msk_dec(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=MSK)


@dataclass
class DemoStory:
    """What happened, for the report: dry runs, refusals, the payer, the pause."""

    out_dir: Path
    dry_runs: dict[str, DryRunReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    payer: str | None = None
    people: dict[str, int] = field(default_factory=dict)
    buyers: list[str] = field(default_factory=list)  # the dunning scenario's: the first one pays


def prepare(out_dir: Path, *, contacts: int, seed: int) -> dict[str, int]:
    """A fresh demo directory: the synthetic base's CSV files, no database, no mail from a previous run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (out_dir / f"ritm.db{suffix}").unlink(missing_ok=True)
    shutil.rmtree(out_dir / "mail", ignore_errors=True)
    return write_demo_base(out_dir / "base", contacts, seed, DEFAULT_ANCHOR)


async def run_demo(out_dir: Path, *, policy: Policy, say: Callable[[str], None]) -> DemoStory:
    """Run the story in a prepared `out_dir` (database, captured mail, Telegram transcript)."""
    story = DemoStory(out_dir)
    db_path = out_dir / "ritm.db"
    base = out_dir / "base"
    clock = ManualClock(msk(23, 7).astimezone(UTC))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    async with (
        CapturingSmtpServer(directory=out_dir / "mail") as smtp,
        TelegramStandin(limits=StandinLimits(per_bot_per_s=1000, per_chat_per_s=50, burst_s=2)) as standin,
        VkStandin() as vk,
        SmsRuStandin(balance=10_000.0) as sms,
    ):
        public_url = f"http://127.0.0.1:{port}"
        secret = secrets.token_urlsafe(48)  # fresh per run: the demo's links verify nowhere else
        vk_secret = secrets.token_urlsafe(24)
        app = await loopback_app(
            policy,
            clock,
            smtp,
            standin,
            db=db_path,
            public_url=public_url,
            secret=secret,
            vk=vk,
            vk_secret=vk_secret,
            sms=sms,
        )
        sms.callback_url = f"{public_url}/hooks/sms"
        runner = web.AppRunner(app.http, access_log=None)
        await runner.setup()
        await web.SockSite(runner, listener).start()
        try:
            for kind in ("contacts", "orders", "events"):
                report = await import_csv(app.db, kind, base / f"{kind}.csv", policy, now=clock())
                say(f"imported {kind}: {report.good_rows} rows, {report.rejected} rejected")
            await add_member(app.db, int(AUTHOR), "approver", by="demo", at=clock(), name="Мария (CRM)")
            await add_member(
                app.db, int(APPROVER), "approver", by="demo", at=clock(), name="Олег (head of base)"
            )
            async with Audience(public_url, secret, smtp, standin, _contact_lookup(app)) as people:
                vk_script = VkScript(
                    app.db,
                    policy,
                    app.service,
                    vk,
                    hook_url=f"{public_url}/hooks/vk",
                    secret=vk_secret,
                    base=base,
                    notes=story.notes,
                    author=AUTHOR,
                )
                await _story(app, clock, people, story, say, vk_script, sms)
                story.people = dict(people.did)
            write_transcript(standin, out_dir / "telegram.txt")
        finally:
            await runner.cleanup()
            await app.close()
    return story


def write_transcript(standin: TelegramStandin, path: Path) -> None:
    """Every Telegram message the bot sent, as the subscriber saw it, with its buttons."""
    lines = []
    for sent in standin.all_sent():
        buttons = [
            b.get("text", "") for row in (sent.reply_markup or {}).get("inline_keyboard", []) for b in row
        ]
        lines.append(f"--- to chat {sent.chat_id}\n{sent.text or ''}")
        if buttons:
            lines.append("[" + "] [".join(buttons) + "]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _contact_lookup(app: App) -> Callable[[int], Any]:
    async def lookup(outbox_id: int) -> str | None:
        return await contact_of_row(app.db, outbox_id)

    return lookup


async def _story(
    app: App,
    clock: ManualClock,
    people: Audience,
    story: DemoStory,
    say: Callable[[str], None],
    vk: VkScript,
    sms: SmsRuStandin,
) -> None:
    """Five days on a 15-minute step; the scripted moments happen when the clock reaches them."""
    script = Script(app, people, story)
    moments = [
        (msk(23, 7), script.webinar),
        (msk(23, 8), script.dunning_live),
        (msk(23, 12), script.orders_created),
        (msk(24, 11), script.first_buyer_pays),
        (msk(24, 12), script.digest),
        (msk(25, 9, 15), script.someone_pays),
        (msk(26, 11), script.notice_drafted),
        (msk(26, 11, 30), script.pause),
        (msk(26, 12), script.notice_sent),
        (msk(26, 13), script.resume),
        (msk(27, 19, 10), script.attendance),
    ]
    series = SeriesScript(
        app.service,
        app.db,
        people,
        notes=story.notes,
        dry_runs=story.dry_runs,
        author=AUTHOR,
        approver=APPROVER,
    )
    texts = SmsScript(app.service, app.policy, sms, notes=story.notes, dry_runs=story.dry_runs, author=AUTHOR)
    moments += [(msk(26, 17), texts.add), (msk(26, 21), texts.reports)]
    moments += [
        (datetime(2026, 11, 30, 10, tzinfo=MSK), series.add),
        (datetime(2026, 12, 7, 12, tzinfo=MSK), series.marathon),
        (msk_dec(3, 10), lambda now: vk.add(now, deadline=msk_dec(6, 21))),
        (msk_dec(3, 12), vk.deny),
    ]
    moments.sort(key=lambda moment: moment[0])
    week_end, end = msk(27, 22).astimezone(UTC), datetime(2026, 12, 10, 12, tzinfo=MSK).astimezone(UTC)
    say("running five days on a compressed clock (15-minute steps), then ten days of a series (hourly) …")
    while clock() < end:
        now = clock()
        while moments and moments[0][0] <= now:
            await moments.pop(0)[1](now)
        await script.reapprove_if_drifted(now)
        await series.watch(now)
        await app.plan_due(now)
        await app.follow_up(now)
        await app.fire_triggers(now)
        while (await app.dispatch(now)).claimed:
            pass
        await people.react(now, registering_for=WEBINAR)
        clock.advance(STEP if now < week_end else SERIES_STEP)
    await vk.report()


class Script:
    """The team's and the subscribers' scripted moments (each a method the loop calls once)."""

    def __init__(self, app: App, people: Audience, story: DemoStory) -> None:
        self.app, self.people, self.story = app, people, story
        self.service = app.service

    async def webinar(self, now: datetime) -> None:
        """Мария adds the invitation; she cannot approve it herself; Олег does."""
        await self.service.add(campaign_text(WEBINAR), f"{WEBINAR}.toml", by=AUTHOR, at=now)
        self.story.dry_runs[WEBINAR] = await self.service.dry_run(WEBINAR, at=now, by=AUTHOR)
        try:
            await self.service.approve(WEBINAR, by=AUTHOR, at=now)
        except CampaignRefused as exc:
            self.story.notes.append(f"Мария tried to approve her own campaign: refused — {exc}")
        await self.service.approve(WEBINAR, by=APPROVER, at=now)
        self.story.notes.append("Олег (approver) approved the webinar invitation; the scheduler planned it")

    async def digest(self, now: datetime) -> None:
        await self.service.add(campaign_text(DIGEST), f"{DIGEST}.toml", by=AUTHOR, at=now)
        self.story.dry_runs[DIGEST] = await self.service.dry_run(DIGEST, at=now, by=AUTHOR)
        await self.service.approve(DIGEST, by=APPROVER, at=now)
        self.story.notes.append("Олег approved the digest on Tuesday; it is planned an hour before its start")

    async def reapprove_if_drifted(self, now: datetime) -> None:
        """Planning found the count moved > 10 % from the approved dry run: Олег reads it and approves."""
        for campaign_id in (WEBINAR, DIGEST):
            record = await get_campaign(self.app.db, campaign_id)
            if record is None or record.status != "pending_approval" or record.planned_at is None:
                continue
            planned = record.dry_run.planned if record.dry_run else None
            await self.service.approve(campaign_id, by=APPROVER, at=now)
            self.story.notes.append(
                f"{campaign_id}: at planning the count had moved over 10 % from the approved dry run"
                f" (now {planned}); it went back to approval and Олег approved the new dry run"
            )

    async def dunning_live(self, now: datetime) -> None:
        """The abandoned-order scenario: a trigger, scenario priority, so no approval is needed."""
        await self.service.add(campaign_text(DUNNING), f"{DUNNING}.toml", by=AUTHOR, at=now)
        await self.service.dry_run(DUNNING, at=now, by=AUTHOR)
        await self.service.plan(DUNNING, at=now, by=AUTHOR)

    async def orders_created(self, now: datetime) -> None:
        async with reading(self.app.db, self.app.policy, now) as ctx:
            # In a marathon: protected from mass sends, so the webinar and digest leave their caps free.
            self.story.buyers = await ctx.list("has:email AND has:telegram AND segment:in_activity", limit=2)
        for n, buyer in enumerate(self.story.buyers):
            await self.people.order(buyer, f"demo-cart-{n}", 4900, created=now)
        self.story.notes.append(
            f"{' and '.join(self.story.buyers)} created orders at {now:%d.%m %H:%M} UTC and did not pay:"
            " the dunning trigger started its scenario for each (email in 1 h, Telegram a day later)"
        )

    async def first_buyer_pays(self, now: datetime) -> None:
        if not self.story.buyers:
            return
        self.people.did["paid an order"] += 1
        await self.people.order(self.story.buyers[0], "demo-cart-0", 4900, created=msk(23, 12), paid=now)
        self.story.notes.append(
            f"{self.story.buyers[0]} paid at {now:%d.%m %H:%M} UTC: the scenario stops before its next step"
        )

    async def someone_pays(self, now: datetime) -> None:
        payer = await next_planned_contact(self.app.db, DIGEST, "email", now + timedelta(hours=1))
        if payer is None:
            return
        self.story.payer = payer
        await self.people.pay(self.story.payer, "demo-order-1", 14900, now)
        self.story.notes.append(
            f"{self.story.payer} paid an order at {now:%d.%m %H:%M} UTC, shortly before their digest was due:"
            " the 24 h silence after a payment holds it back"
        )

    async def notice_drafted(self, now: datetime) -> None:
        await self.service.add(campaign_text(NOTICE), f"{NOTICE}.toml", by=AUTHOR, at=now)
        self.story.dry_runs[NOTICE] = await self.service.dry_run(NOTICE, at=now, by=AUTHOR)

    async def pause(self, now: datetime) -> None:
        await set_paused(self.app.db, True, by=APPROVER, at=now, source="demo")
        self.story.notes.append(
            f"Олег paused everything at {now:%d.%m %H:%M} UTC: only service messages flow"
        )

    async def notice_sent(self, now: datetime) -> None:
        await self.service.plan(NOTICE, at=now, by=AUTHOR)
        self.story.notes.append(
            f"the service notice (stream moved to 19:00) was planned at {now:%d.%m %H:%M} UTC,"
            " during the pause"
        )

    async def resume(self, now: datetime) -> None:
        await set_paused(self.app.db, False, by=APPROVER, at=now, source="demo")
        self.story.notes.append(f"resumed at {now:%d.%m %H:%M} UTC")

    async def attendance(self, now: datetime) -> None:
        came = await self.people.attend(now)
        self.story.notes.append(f"{came} registered contacts attended the webinar; their reminders stopped")
