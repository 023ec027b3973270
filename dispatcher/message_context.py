"""Fills the renderer's `MessageContext` for one recipient of one outbox row (tracked URLs minted here)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from dispatcher.links import ConnectLinkError, LinkSigner
from dispatcher.render_context import MessageContext
from policy.campaign import Campaign
from storage.recipients import Recipient


def message_context(
    recipient: Recipient,
    campaign: Campaign,
    *,
    outbox_id: int | None,
    channel: str,
    rfm_segment: str,
    signer: LinkSigner,
    default_timezone: str,
    school: str,
) -> MessageContext:
    """Tracked links, pixel and unsubscribe URL for a real send; plain URLs for a preview (no outbox id)."""
    links: Mapping[str, str] = {}
    pixel = None
    unsubscribe = f"{signer.public_url}/u/preview"
    if outbox_id is not None:
        links = TrackedLinks(signer, outbox_id, campaign.links)
        unsubscribe = signer.unsubscribe_url(recipient.id, channel, campaign.id)
        pixel = signer.open_url(outbox_id) if channel == "email" else None
    return MessageContext(
        contact_id=recipient.id,
        name=recipient.name,
        email=recipient.email,
        region=recipient.region,
        interest=recipient.interest,
        timezone=recipient.timezone,
        locale=recipient.locale or "",
        rfm_segment=rfm_segment,
        fields=recipient.fields,
        links=links,
        unsubscribe_url=unsubscribe,
        open_pixel_url=pixel,
        ics_url=signer.ics_url(campaign.id, recipient.id) if campaign.event is not None else None,
        default_timezone=default_timezone,
        school=school,
        telegram_connect=_connect(signer, recipient.id),
    )


def _connect(signer: LinkSigner, contact_id: str) -> str | None:
    """The contact's Telegram connect link; None lets `links.telegram_connect` fail with the reason."""
    try:
        return signer.telegram_connect_url(contact_id)
    except ConnectLinkError:
        return None


class TrackedLinks(Mapping[str, str]):
    """The message's tracked click URL of each of the campaign's links, signed when first read: a
    template that shows two of the campaign's five links signs two."""

    def __init__(self, signer: LinkSigner, outbox_id: int, names: Mapping[str, str]) -> None:
        self._signer = signer
        self._outbox_id = outbox_id
        self._names = names
        self._urls: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        try:
            return self._urls[name]
        except KeyError:
            if name not in self._names:
                raise
        url = self._urls[name] = self._signer.click_url(self._outbox_id, name)
        return url

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
