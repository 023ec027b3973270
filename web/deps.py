"""What the dashboard's handlers share: the running application's services, under one app key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from dispatcher.campaign_cache import CampaignCache
from dispatcher.campaigns import CampaignService
from dispatcher.clock import Clock
from dispatcher.links import LinkSigner
from dispatcher.ports import ReportStore
from policy.config import Policy
from storage.campaigns import CampaignRecord
from storage.db import Database
from storage.team import Member

# Told after a decision taken on the dashboard (the bot closes the approval cards in the chat).
Decided = Callable[[CampaignRecord, str, Member, datetime], Awaitable[None]]


@dataclass
class WebDeps:
    db: Database
    policy: Policy
    reports: ReportStore
    service: CampaignService
    campaigns: CampaignCache
    signer: LinkSigner
    clock: Clock
    decided: Decided | None = None

    @property
    def secure_cookie(self) -> bool:
        return self.signer.public_url.startswith("https://")


WEB = web.AppKey("web", WebDeps)


@dataclass(frozen=True)
class Visitor:
    """The signed-in member of the request being handled, and their forms' anti-forgery token."""

    member: Member
    form: str


# Set by the session gate for the request's own task (aiohttp runs each request in a task of its own).
VISITOR: ContextVar[Visitor | None] = ContextVar("web_visitor", default=None)


def visitor() -> Visitor:
    found = VISITOR.get()
    if found is None:
        raise RuntimeError("no signed-in member: this handler must run behind the session gate")
    return found
