"""What the bot's handlers need, in one frozen object injected through the dispatcher's workflow data.

Handlers declare a `services: BotServices` parameter; aiogram passes it by name. Nothing here is global:
`ritm` (or a test) builds one from the running application with `services_from(host)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aiogram import Bot

from bot.i18n import Catalogs, shipped_catalogs
from dispatcher.campaign_cache import CampaignCache
from dispatcher.campaigns import CampaignService
from dispatcher.clock import Clock
from dispatcher.links import LinkSigner
from dispatcher.ports import ReportStore
from policy.config import Policy
from storage.db import Database


class BotHost(Protocol):
    """The parts of the running application the bot uses (`ritm.app.App` has them all)."""

    @property
    def db(self) -> Database: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def service(self) -> CampaignService: ...

    @property
    def campaigns(self) -> CampaignCache: ...

    @property
    def bot(self) -> Bot | None: ...

    @property
    def reports(self) -> ReportStore: ...


@dataclass(frozen=True)
class BotServices:
    """Storage, policy, time and the campaign service, shared by every handler of one bot."""

    db: Database
    policy: Policy
    clock: Clock
    campaigns: CampaignService
    cache: CampaignCache
    signer: LinkSigner
    catalogs: Catalogs
    reports: ReportStore
    default_locale: str = "ru"  # for messages we start (approval cards) to members with no known locale


def services_from(host: BotHost, *, catalogs: Catalogs | None = None) -> BotServices:
    return BotServices(
        db=host.db,
        policy=host.policy,
        clock=host.clock,
        campaigns=host.service,
        cache=host.campaigns,
        signer=host.service.signer,
        catalogs=catalogs or shipped_catalogs(),
        reports=host.reports,
    )
