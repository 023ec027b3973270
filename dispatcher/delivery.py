"""Turns a claimed outbox row into a message on its channel: recipient, template, tracked links, adapter.

The worker calls `prepare(rows)` once per claimed batch (one batched read of recipients, their RFM
segment and the batch's campaigns), then `compose(row, prepared)` per row — everything before the
channel call, done outside the channel's slot — and calls what it returns once the row holds a slot and
is marked `sending`. Each batch keeps its own `Prepared`, so the next batch can be prepared while this
one is still being sent. Adapters only move bytes;
everything the subscriber sees is decided here and in the templates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from dispatcher.calendar import event_ics, event_uid
from dispatcher.campaign_cache import CampaignCache, LoadedCampaign
from dispatcher.channels.base import (
    Attachment,
    Button,
    EmailMessage,
    EmailSender,
    SendResult,
    SmsMessage,
    SmsSender,
    TelegramMessage,
    TelegramSender,
    VkMessage,
    VkSender,
)
from dispatcher.channels.envelope import outbox_message_id
from dispatcher.channels.vk import random_id_of
from dispatcher.links import LinkSigner
from dispatcher.message_context import message_context
from dispatcher.mime import list_headers, unsubscribe_headers
from dispatcher.render import RenderedMessage, Renderer, TemplateProblem
from policy.campaign import Campaign
from policy.config import Policy
from policy.rfm import NO_ACTIVITY
from policy.timeutil import from_epoch
from storage.db import Database
from storage.outbox import REMINDER_STEP, ClaimedRow
from storage.recipients import Recipient, load_recipients
from storage.segments import SegmentContext

log = logging.getLogger(__name__)

# One channel call, composed and not yet made.
Send = Callable[[], Awaitable[SendResult]]


@dataclass(frozen=True)
class Prepared:
    """What one batch's rows need beyond themselves, read once for the whole batch."""

    recipients: dict[str, Recipient] = field(default_factory=dict)
    rfm: dict[str, str] = field(default_factory=dict)
    # Read once per batch: a status change after this is caught by the hand-off mark (storage.handoff).
    campaigns: dict[str, LoadedCampaign | None] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliverySettings:
    school: str
    mail_domain: str
    unsubscribe_mailto: str | None = None


class ChannelDelivery:
    """The worker's `Delivery` port over the email, Telegram, VK and SMS adapters."""

    def __init__(
        self,
        db: Database,
        policy: Policy,
        campaigns: CampaignCache,
        renderer: Renderer,
        signer: LinkSigner,
        settings: DeliverySettings,
        *,
        email: EmailSender | None,
        telegram: TelegramSender | None,
        vk: VkSender | None = None,
        sms: SmsSender | None = None,
    ) -> None:
        self.db = db
        self.policy = policy
        self.campaigns = campaigns
        self.renderer = renderer
        self.signer = signer
        self.settings = settings
        self.email = email
        self.telegram = telegram
        self.vk = vk
        self.sms = sms

    async def prepare(
        self, rows: Sequence[ClaimedRow], now: datetime, rfm: Mapping[str, str] | None = None
    ) -> Prepared:
        """`rfm`: the contacts' RFM segments at `now` when the caller read them already (the send-time
        re-check did); otherwise they are scored here."""
        ids = sorted({r.contact_id for r in rows})
        prepared = Prepared(recipients=await load_recipients(self.db, ids))
        if rfm is not None:
            prepared.rfm.update((cid, rfm[cid]) for cid in ids if cid in rfm)
        else:
            # RFM of the batch's contacts only: one aggregate over their own rows, scored as segments
            # score it (the policy's thresholds, or the base's quantile cut points of the hour).
            async with SegmentContext(self.db, self.policy, now, scope=ids) as segments:
                prepared.rfm.update(await segments.rfm_segments())
        for campaign_id in sorted({r.campaign_id for r in rows}):
            prepared.campaigns[campaign_id] = await self.campaigns.get(campaign_id)
        return prepared

    async def deliver(self, row: ClaimedRow, now: datetime) -> SendResult:
        """Compose and send at once (callers without channel slots)."""
        ready = await self.compose(row, now, await self.prepare([row], now))
        return ready if isinstance(ready, SendResult) else await ready()

    async def compose(self, row: ClaimedRow, now: datetime, prepared: Prepared) -> Send | SendResult:
        """The channel call for this row, ready to make; or the result when it cannot be made at all
        (template error, no address): such a row was never handed to a channel."""
        loaded = prepared.campaigns.get(row.campaign_id)
        recipient = prepared.recipients.get(row.contact_id)
        if loaded is None or recipient is None:
            return SendResult("failed", detail="campaign or contact vanished")
        campaign = loaded.campaign
        ctx = message_context(
            recipient,
            campaign,
            outbox_id=row.id,
            channel=row.channel,
            rfm_segment=prepared.rfm.get(row.contact_id, NO_ACTIVITY),
            signer=self.signer,
            default_timezone=self.policy.default_timezone,
            school=self.settings.school,
        )
        version = row.version or campaign.versions[-1].name
        try:
            message = await self.renderer.render_async(
                campaign, version=version, variant=row.variant, channel=row.channel, ctx=ctx, step=row.step
            )
        except (TemplateProblem, ValueError) as exc:
            return SendResult("failed", detail=f"template: {exc}")
        if row.channel == "email":
            return self._email(row, campaign, recipient, message, ctx.unsubscribe_url)
        if row.channel == "telegram":
            return self._telegram(row, campaign, recipient, message)
        if row.channel == "vk":
            return self._vk(row, recipient, message)
        if row.channel == "sms":
            if self.sms is None or not recipient.phone or not message.text:
                return SendResult("failed", detail="no SMS adapter, phone or text")
            return partial(self.sms.send, SmsMessage(to=recipient.phone, text=message.text))
        return SendResult("failed", detail=f"no adapter for channel {row.channel}")

    def _email(
        self,
        row: ClaimedRow,
        campaign: Campaign,
        recipient: Recipient,
        message: RenderedMessage,
        unsubscribe_url: str,  # the body's own (signed for this contact, email and campaign)
    ) -> Send | SendResult:
        if self.email is None or not recipient.email:
            return SendResult("failed", detail="no email adapter or address")
        headers = {
            "X-Ritm-Campaign": campaign.id,
            "X-Ritm-Outbox": str(row.id),
        }
        if campaign.priority != "service":
            headers.update(unsubscribe_headers(unsubscribe_url, self.settings.unsubscribe_mailto))
            headers.update(
                list_headers(campaign.id, self.settings.mail_domain, bulk=campaign.priority == "mass")
            )
        attachments: tuple[Attachment, ...] = ()
        if campaign.event is not None and (row.step == 0 or row.step >= REMINDER_STEP):
            event = campaign.event
            ics = event_ics(
                uid=event_uid(campaign.id, recipient.id, self.settings.mail_domain),
                title=event.title,
                starts_at=event.starts_at,
                duration=event.duration,
                url=event.url,
                stamp=row_stamp(row),
            )
            attachments = (Attachment("event.ics", "text/calendar", ics),)
        return partial(
            self.email.send,
            EmailMessage(
                to=recipient.email,
                subject=message.subject,
                text=message.text,
                html=message.html,
                message_id=outbox_message_id(row.id, campaign.id, self.settings.mail_domain),
                headers=headers,
                attachments=attachments,
            ),
        )

    def _telegram(
        self, row: ClaimedRow, campaign: Campaign, recipient: Recipient, message: RenderedMessage
    ) -> Send | SendResult:
        if self.telegram is None or recipient.telegram_chat_id is None or message.telegram is None:
            return SendResult("failed", detail="no Telegram adapter, chat or text")
        buttons = tuple((Button(label, url=url),) for label, url in message.buttons)
        return partial(
            self.telegram.send,
            TelegramMessage(chat_id=recipient.telegram_chat_id, text=message.telegram, buttons=buttons),
        )

    def _vk(self, row: ClaimedRow, recipient: Recipient, message: RenderedMessage) -> Send | SendResult:
        if self.vk is None or recipient.vk_id is None:
            return SendResult("failed", detail="no VK adapter or VK id")
        return partial(
            self.vk.send,
            VkMessage(
                peer_id=recipient.vk_id,
                text=message.text,
                random_id=random_id_of(row.id, row.campaign_id, row.contact_id, row.step),
                buttons=tuple((Button(label, url=url),) for label, url in message.buttons),
            ),
        )


def row_stamp(row: ClaimedRow) -> datetime:
    """DTSTAMP of an ICS copy: the row's due time, so a resend of the same row is byte-identical."""
    return from_epoch(row.due_at)
