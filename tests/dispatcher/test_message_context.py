"""A recipient's message context: tracked links signed for this message, the same as before they were
signed on first read."""

from __future__ import annotations

import re

import pytest

from dispatcher.links import LinkSigner
from dispatcher.message_context import message_context
from dispatcher.render import Renderer, TemplateProblem
from dispatcher.render_context import MessageContext
from policy.campaign import Campaign
from storage.recipients import Recipient
from tests.render_support import inline_campaign

SIGNER = LinkSigner("test-secret", "https://ritm.school.example", bot_username="school_bot")
LINKS = 'program = "https://school.example/p"\nclub = "https://school.example/club"'
ANNA = Recipient(
    id="c-1",
    email="anna@example.com",
    name="Анна",
    telegram_chat_id=None,
    phone=None,
    timezone="Asia/Omsk",
    locale="ru",
    region=None,
    interest=None,
)


def context_for(text: str, outbox_id: int | None = 77) -> tuple[Campaign, MessageContext]:
    campaign = inline_campaign(text=text, links=LINKS)
    ctx = message_context(
        ANNA,
        campaign,
        outbox_id=outbox_id,
        channel="email",
        rfm_segment="loyal",
        signer=SIGNER,
        default_timezone="Europe/Moscow",
        school="Школа",
    )
    return campaign, ctx


def test_tracked_links_are_this_messages_click_urls() -> None:
    campaign, ctx = context_for("{{ links.program }} {{ links['program'] }} {{ unsubscribe_url }}")
    assert dict(ctx.links) == {name: SIGNER.click_url(77, name) for name in ("program", "club")}
    text = Renderer().render(campaign, version="all", variant=None, channel="email", ctx=ctx).text
    shown = re.findall(r"https://ritm\.school\.example/c/([A-Za-z0-9_-]+)", text)
    assert [SIGNER.click_parts(token) for token in shown] == [(77, "program"), (77, "program")]


def test_a_preview_shows_the_campaigns_own_urls() -> None:
    campaign, ctx = context_for("{{ links.club }} {{ unsubscribe_url }}", outbox_id=None)
    text = Renderer().render(campaign, version="all", variant=None, channel="email", ctx=ctx).text
    assert text.startswith("https://school.example/club ")


def test_an_undeclared_link_still_fails_the_render() -> None:
    campaign, ctx = context_for("{{ links.nope }}")
    with pytest.raises(TemplateProblem, match=r"unknown link 'nope'.*club, program"):
        Renderer().render(campaign, version="all", variant=None, channel="email", ctx=ctx)
