"""Factories for the services the CLI, the bot and `ritm run` share (nothing connects at import)."""

from __future__ import annotations

from dispatcher.campaigns import CampaignService
from dispatcher.channels.envelope import Envelope, build_envelope
from dispatcher.links import LinkSigner
from dispatcher.mime import envelope_address
from dispatcher.ports import ReportStore
from dispatcher.render import Renderer
from policy.config import Policy
from ritm.settings import Settings
from storage.campaign_store import SqliteCampaigns
from storage.db import Database
from storage.report_store import SqliteReports


def link_signer(settings: Settings) -> LinkSigner:
    previous = settings.secret_previous.get_secret_value() if settings.secret_previous else ""
    return LinkSigner(
        settings.secret.get_secret_value(), settings.public_url, (previous,), settings.bot_username
    )


def email_envelope(settings: Settings) -> Envelope | None:
    """VERP and DKIM of outgoing email when configured; raises EnvelopeError (one sentence)."""
    smtp = settings.smtp
    return build_envelope(
        envelope_address(smtp.sender),
        return_path=smtp.return_path,
        dkim_key=smtp.dkim_key.get_secret_value() if smtp.dkim_key is not None else None,
        dkim_selector=smtp.dkim_selector,
    )


def renderer(settings: Settings, *, pinned: bool = False) -> Renderer:
    """`pinned` for the long-running process (see dispatcher.render_env.TemplateEnvironments)."""
    return Renderer(settings.templates, settings.render, pinned=pinned)


def campaign_service(
    db: Database, policy: Policy, settings: Settings, render: Renderer | None = None
) -> CampaignService:
    return CampaignService(
        db,
        policy,
        render or renderer(settings),
        link_signer(settings),
        store=SqliteCampaigns(db),
        school=settings.school_name,
    )


def report_store(db: Database) -> ReportStore:
    """The store behind stats and the calendar (SQLite; another implementation plugs in here)."""
    return SqliteReports(db)
