"""The composition root of one process: storage, policy, dispatcher, channels, HTTP (and the bot).

`create_app(settings, policy)` builds everything without starting anything; `serve(app)` runs it until
SIGTERM. Tests and the demo build an `App` with their own clock and adapters and call its ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata

from aiogram import Bot
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import run_bot
from bot.services import services_from
from bot.team_approvals import cards_closer, send_cards
from bot.team_notices import TeamNotices
from dispatcher.campaign_cache import CampaignCache
from dispatcher.campaigns import CampaignRefused, CampaignService, PlanResult
from dispatcher.channels.base import EmailSender, SmsSender, TelegramSender, VkSender
from dispatcher.channels.email import EmailChannel
from dispatcher.channels.sms import SmsRuChannel
from dispatcher.channels.telegram import TelegramChannel
from dispatcher.channels.vk import VkChannel
from dispatcher.charts import warm_up
from dispatcher.clock import Clock, system_clock
from dispatcher.delivery import ChannelDelivery, DeliverySettings
from dispatcher.dispatch_loop import DispatchLoop
from dispatcher.followups import FollowUpReport, FollowUps
from dispatcher.http_app import HttpDeps, create_http_app
from dispatcher.imap_feedback import FeedbackMailbox
from dispatcher.metrics import Metrics, metrics_handler
from dispatcher.mime import envelope_address
from dispatcher.ports import ReportStore
from dispatcher.scheduler import build_scheduler
from dispatcher.sms_hooks import add_sms_routes
from dispatcher.triggers import TriggerReport, Triggers
from dispatcher.vk_callback import VkCallbackConfig, mount_vk_callback
from dispatcher.worker import OutboxWorker, TickReport
from policy.campaign import CampaignError
from policy.config import Policy
from policy.lifecycle import PLAN_AHEAD
from policy.occurrences import is_series
from policy.timeutil import from_epoch, to_epoch
from ritm.event_loop import loop_name
from ritm.instance import InstanceLease
from ritm.services import campaign_service, email_envelope, link_signer, renderer, report_store
from ritm.settings import Settings
from ritm.telegram_bot import make_bot
from storage.campaigns import get_campaign, list_campaigns
from storage.db import Database, sqlite_version_warning
from storage.outbox import next_due_at, recover_in_flight
from web.app import mount_dashboard
from web.deps import WebDeps

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    policy: Policy
    db: Database
    clock: Clock
    campaigns: CampaignCache
    service: CampaignService
    worker: OutboxWorker
    loop: DispatchLoop
    followups: FollowUps
    triggers: Triggers
    http: web.Application
    reports: ReportStore
    email: EmailChannel | None = None
    bot: Bot | None = None
    sms: SmsRuChannel | None = None
    metrics: Metrics = field(default_factory=Metrics)
    vk: VkChannel | None = None

    async def dispatch(self, now: datetime | None = None) -> TickReport:
        """One worker tick (the loop's lock lets shutdown wait for the sends in hand)."""
        return await self.loop.drain(now or self.clock())

    async def plan_due(self, now: datetime | None = None) -> list[str]:
        """Plan approved campaigns whose start is near; returns the ids planned."""
        moment = now or self.clock()
        planned = []
        for record in await list_campaigns(self.db, ("approved",)):
            try:
                await self.service.open_occurrences(record.id, at=moment, ahead=PLAN_AHEAD)
            except (CampaignRefused, CampaignError) as exc:
                log.warning(
                    "no occurrence opened",
                    extra={"event": "occurrence_refused", "campaign": record.id, "why": str(exc)},
                )
        for record in await list_campaigns(self.db, ("approved",)):
            try:
                _, campaign = await self.service.load(record.id)
                if is_series(campaign) or campaign.start - PLAN_AHEAD > moment:
                    continue
                result = await self.service.plan(record.id, at=moment, by="scheduler", source="scheduler")
            except (CampaignRefused, CampaignError) as exc:
                log.warning(
                    "not planned", extra={"event": "plan_refused", "campaign": record.id, "why": str(exc)}
                )
                continue
            planned.append(record.id)
            self.loop.wake()
            log.info("planned", extra={"event": "planned", "campaign": record.id, "status": result.status})
            if result.status == "pending_approval":
                await self._ask_approvers(record.id, result, moment)
        return planned

    async def _ask_approvers(self, campaign_id: str, result: PlanResult, now: datetime) -> None:
        """Planning sent the campaign back to approval: the approvers get a card with the new dry run."""
        record = await get_campaign(self.db, campaign_id)
        if self.bot is None or record is None:
            return
        sent = await send_cards(self.bot, services_from(self), record, result.report, now)
        log.info("approval cards sent", extra={"event": "cards_sent", "campaign": campaign_id, "cards": sent})

    async def follow_up(self, now: datetime | None = None) -> FollowUpReport:
        return await self.followups.run_once(now or self.clock())

    async def fire_triggers(self, now: datetime | None = None) -> TriggerReport:
        return await self.triggers.run_once(now or self.clock())

    async def recover(self) -> dict[str, int]:
        """Under the instance lease, rows other (dead) holders left: `sending` mass/scenario become
        `uncertain`, service is re-queued, claims on rows never handed over are released."""
        found = await recover_in_flight(self.db, holder=self.worker.holder, now=to_epoch(self.clock()))
        if any(found.values()):
            log.warning("recovered in-flight rows", extra={"event": "recover", **found})
        return found

    async def close(self) -> None:
        self.service.renderer.close()
        if self.email is not None:
            await self.email.close()
        if self.sms is not None:
            await self.sms.close()
        if self.bot is not None:
            await self.bot.session.close()
        if self.vk is not None:
            await self.vk.close()
        await self.db.close()


async def create_app(
    settings: Settings,
    policy: Policy,
    *,
    clock: Clock = system_clock,
    email: EmailSender | None = None,
    telegram: TelegramSender | None = None,
    sms: SmsSender | None = None,
    bot: Bot | None = None,
    vk: VkSender | None = None,
) -> App:
    """Open the database (migrating it) and wire every service; nothing starts running here."""
    bot = bot if bot is not None else make_bot(settings)  # a malformed token stops us before the database
    warning = sqlite_version_warning()
    if warning:
        log.warning(warning, extra={"event": "sqlite_version", "version": sqlite3.sqlite_version})
    db = await Database.open(settings.db)
    render = renderer(settings, pinned=True)
    campaigns = CampaignCache(db, policy, render.fingerprint)
    signer = link_signer(settings)
    email_channel = None
    if email is None:
        email_channel = EmailChannel(settings.smtp, clock=clock, envelope=email_envelope(settings))
        email = email_channel
    if telegram is None and bot is not None:
        telegram = TelegramChannel(bot, settings.telegram)
    vk_channel = None
    if vk is None and settings.vk.token is not None:
        vk = vk_channel = VkChannel(
            settings.vk.token.get_secret_value(),
            api_url=settings.vk.api_url,
            rate_per_s=policy.channels.vk.rate_per_s,
            timeout_s=settings.vk.timeout_s,
        )
    sms_channel = None
    if sms is None and settings.sms.api_id is not None:
        sms_channel = SmsRuChannel(
            settings.sms.api_url,
            settings.sms.api_id.get_secret_value(),
            policy.channels.sms.sender,
            timeout_s=settings.sms.timeout_s,
        )
        sms = sms_channel
    sender = envelope_address(settings.smtp.sender)
    mail_domain = sender.rpartition("@")[2]
    delivery = ChannelDelivery(
        db,
        policy,
        campaigns,
        render,
        signer,
        DeliverySettings(
            school=settings.school_name,
            mail_domain=mail_domain,
            unsubscribe_mailto=f"mailto:{sender}?subject=unsubscribe",
        ),
        email=email,
        telegram=telegram,
        vk=vk,
        sms=sms,
    )
    # A channel's slots bound how many of its rows are `sending` without an answer (SPEC §12.2).
    slots = {
        "email": settings.smtp.pool_size,
        "telegram": settings.telegram.in_flight,
        "vk": settings.vk.in_flight,
        "sms": settings.sms.in_flight,
    }
    worker = OutboxWorker(db, policy, delivery, campaigns, slots=slots)

    async def next_due(now: datetime) -> datetime | None:
        due = await next_due_at(db, after=to_epoch(now))
        return from_epoch(due) if due is not None else None

    http = create_http_app(
        HttpDeps(
            db=db,
            policy=policy,
            campaigns=campaigns,
            signer=signer,
            clock=clock,
            mail_domain=mail_domain,
            return_path=settings.smtp.return_path,
        )
    )
    add_sms_routes(http, db, settings.sms.api_id.get_secret_value() if settings.sms.api_id else None)
    metrics = Metrics()
    service = campaign_service(db, policy, settings, render)
    reports = report_store(db)
    dashboard = WebDeps(db, policy, reports, service, campaigns, signer, clock)
    mount_dashboard(http, dashboard)
    vk_settings = settings.vk
    mount_vk_callback(
        http,
        VkCallbackConfig(
            db,
            clock,
            secret=vk_settings.secret.get_secret_value() if vk_settings.secret is not None else None,
            confirmation=vk_settings.confirmation,
            group_id=policy.channels.vk.group_id,
        ),
    )
    application = App(
        settings=settings,
        policy=policy,
        db=db,
        clock=clock,
        campaigns=campaigns,
        service=service,
        worker=worker,
        loop=DispatchLoop(worker, clock, next_due, observe=metrics.observe_tick),
        followups=FollowUps(db, policy, campaigns),
        triggers=Triggers(db, policy, campaigns),
        http=http,
        reports=reports,
        email=email_channel,
        bot=bot,
        metrics=metrics,
        vk=vk_channel,
        sms=sms_channel,
    )
    http.router.add_get("/metrics", metrics_handler(db, application.metrics))
    if bot is not None:  # a decision on the dashboard closes the approval cards in the chat too
        dashboard.decided = cards_closer(bot, services_from(application))
    return application


async def serve(
    app: App,
    *,
    stop: asyncio.Event | None = None,
    dispatch_every_s: float = 2.0,
    standby: bool = False,
) -> None:
    """Run HTTP, the scheduler (and the bot) until SIGTERM/SIGINT or `stop` is set.

    Raises LeaseHeld, before anything starts, when another live `ritm run` holds the database.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    lease = InstanceLease(app.db, app.worker.holder, app.clock)
    await lease.take(standby=standby)
    heartbeat = asyncio.create_task(lease.keep(stop.set), name="lease-heartbeat")
    try:
        await _serve_leased(app, stop, dispatch_every_s)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await lease.give_up()


async def _serve_leased(app: App, stop: asyncio.Event, dispatch_every_s: float) -> None:
    await app.recover()
    runner = web.AppRunner(app.http, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, app.settings.http_host, app.settings.http_port).start()
    scheduler = build_scheduler(
        app.clock,
        plan_campaigns=app.plan_due,
        followups=app.follow_up,
        notices=None if app.bot is None else TeamNotices(app.bot, services_from(app)).run_once,
        triggers=app.fire_triggers,
    )
    scheduler.start()
    app.loop.poll_s = dispatch_every_s
    dispatching = asyncio.create_task(app.loop.run(stop), name="dispatch")
    bot_task = asyncio.create_task(run_bot(app, stop), name="bot")  # returns at once without a bot
    charts = asyncio.create_task(asyncio.to_thread(warm_up), name="charts")  # the first /stats is quick
    mailbox = asyncio.create_task(_read_feedback(app, stop), name="feedback-mailbox")
    await _log_start(app, runner)
    try:
        await stop.wait()
    finally:
        await _stop_dispatch(app, scheduler, dispatching)
        with contextlib.suppress(Exception):  # run_bot logged a crash itself ("bot_crashed")
            await bot_task
        await charts
        mailbox.cancel()  # a report in hand is rolled back and stays unread in the mailbox for next time
        with contextlib.suppress(asyncio.CancelledError):
            await mailbox
        await runner.cleanup()
        log.info("ritm stopped", extra={"event": "stop"})


async def _read_feedback(app: App, stop: asyncio.Event) -> None:
    """Poll the bounce/feedback mailbox (RITM_BOUNCES__IMAP_*) until `stop`; nothing without a host."""
    if app.settings.bounces.imap_host is None:
        return
    mailbox = FeedbackMailbox(
        app.db, app.settings.bounces, clock=app.clock, return_path=app.settings.smtp.return_path
    )
    await mailbox.run(stop)


async def _log_start(app: App, runner: web.AppRunner) -> None:
    """The start-up line: what this process serves, where it sends, and as whom."""
    s = app.settings
    host, port = runner.addresses[0][:2] if runner.addresses else (s.http_host, s.http_port)
    username = None
    if app.bot is not None:
        with contextlib.suppress(Exception):  # the token was checked; an unwell Bot API must not stop us
            username = (await asyncio.wait_for(app.bot.me(), 2)).username
    fields = {
        "version": ritm_version(),
        "db": str(s.db),
        "policy": str(s.policy) if s.policy else "shipped default",
        "http": f"http://{host}:{port}",
        "smtp": f"{s.smtp.host}:{s.smtp.port} ({s.smtp.tls})",
        "bot": f"@{username}" if username else ("token set" if app.bot is not None else "off"),
        "public_url": s.public_url,
        "loop": loop_name(),
    }
    f = fields
    log.info(
        f"ritm running: version {f['version']}, database {f['db']}, policy {f['policy']},"
        f" HTTP {f['http']}, SMTP {f['smtp']}, bot {f['bot']}, public URL {f['public_url']},"
        f" event loop {f['loop']}",
        extra={"event": "start", **fields},
    )


def ritm_version() -> str:
    try:
        return metadata.version("ritm")
    except metadata.PackageNotFoundError:
        return "unknown"


async def _stop_dispatch(app: App, scheduler: AsyncIOScheduler, dispatching: asyncio.Task[None]) -> None:
    """Claim nothing more, let the sends in flight finish and be recorded, then stop the jobs.

    The dispatch loop and APScheduler's shutdown are cancelled only after the drain has returned (or
    the grace ran out: then the sends still in flight are cut and recovered as after a crash).
    """
    app.worker.stop()
    scheduler.pause()
    grace_s = app.settings.shutdown_grace_s
    try:
        await asyncio.wait_for(app.loop.lock.acquire(), grace_s)
    except TimeoutError:
        log.warning("sends still in flight at the end of the grace", extra={"event": "grace_exceeded"})
    else:
        app.loop.lock.release()
    dispatching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await dispatching
    scheduler.shutdown(wait=False)
