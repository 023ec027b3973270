"""The demo's simulated subscribers: they open, click, register, attend and pay — over real HTTP.

Who does what is drawn from a hash of their id (`policy.assign.unit_hash`), so every run tells the same
story. They act through the same doors real people and a school platform use: the open pixel and
click links found in the captured emails and Telegram buttons, and the signed webhook.
"""

from __future__ import annotations

import email
import itertools
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import Message

import aiohttp

from dispatcher.hooks import sign_hook
from policy.assign import unit_hash
from policy.timeutil import iso_utc, to_epoch
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin

PIXEL = re.compile(r"https?://[^\s\"'<>]+/o/[A-Za-z0-9_-]+\.gif")
CLICK = re.compile(r"https?://[^\s\"'<>]+/c/[A-Za-z0-9_-]+")
OPEN_SHARE, CLICK_SHARE, REGISTER_SHARE, ATTEND_SHARE = 0.45, 0.25, 0.5, 0.6


class Audience:
    """Reads what reached people since the last look and reacts like people would."""

    def __init__(
        self,
        base_url: str,
        secret: str,
        smtp: CapturingSmtpServer,
        telegram: TelegramStandin,
        contact_of: Callable[[int], Awaitable[str | None]],
    ) -> None:
        self.base_url = base_url
        self.contact_of = contact_of
        self.secret = secret
        self.deliveries = itertools.count(1)
        self.smtp = smtp
        self.telegram = telegram
        self._mail_seen = 0
        self._tg_seen = 0
        self.did: Counter[str] = Counter()
        self.registered: dict[str, str] = {}  # contact id → campaign id
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Audience:
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()

    async def react(self, now: datetime, registering_for: str | None) -> None:
        """Open / click what arrived since the last call; clicking the register link registers."""
        assert self.session is not None
        new_mail = self.smtp.messages[self._mail_seen :]
        self._mail_seen = len(self.smtp.messages)
        for captured in new_mail:
            # The stdlib's default (compat32) parser is ~10x cheaper than the modern one used by tests.
            message = email.message_from_bytes(captured.raw)
            outbox_id = str(message.get("X-Ritm-Outbox", ""))
            contact = await self.contact_of(int(outbox_id)) if outbox_id.isdigit() else None
            html = _html_of(message)
            campaign = str(message.get("X-Ritm-Campaign", ""))
            if unit_hash(f"open:{captured.rcpt_tos[0]}:{campaign}") < OPEN_SHARE:
                for url in PIXEL.findall(html)[:1]:
                    await self._get(url)
                    self.did["email opened"] += 1
                if unit_hash(f"click:{captured.rcpt_tos[0]}:{campaign}") < CLICK_SHARE / OPEN_SHARE:
                    for url in CLICK.findall(html)[:1]:
                        await self._get(url)
                        self.did["email link clicked"] += 1
            if registering_for and campaign == registering_for:
                await self._maybe_register(contact, campaign, now)
        new_tg = self.telegram.all_sent()[self._tg_seen :]
        self._tg_seen += len(new_tg)
        for sent in new_tg:
            buttons = [b for row in (sent.reply_markup or {}).get("inline_keyboard", []) for b in row]
            urls = [b["url"] for b in buttons if "url" in b and "/c/" in b["url"]]
            if urls and unit_hash(f"tgclick:{sent.chat_id}:{sent.message_id}") < CLICK_SHARE:
                await self._get(urls[0])
                self.did["telegram button pressed"] += 1

    async def _maybe_register(self, contact: str | None, campaign: str, now: datetime) -> None:
        if (
            contact is None
            or contact in self.registered
            or unit_hash(f"register:{contact}") >= REGISTER_SHARE
        ):
            return
        self.registered[contact] = campaign
        at = iso_utc(now)
        await self.hook(
            {
                "events": [
                    {"contact_id": contact, "type": "webinar_registered", "at": at, "campaign_id": campaign}
                ],
                "tags": [{"contact_id": contact, "tag": "webinar", "set_at": at}],
            },
            now,
        )
        self.did["registered for the webinar"] += 1

    async def attend(self, now: datetime) -> int:
        """Some of the registered show up (the platform reports it through the webhook)."""
        came = [c for c in sorted(self.registered) if unit_hash(f"attend:{c}") < ATTEND_SHARE]
        events = [
            {
                "contact_id": c,
                "type": "webinar_attended",
                "at": iso_utc(now),
                "campaign_id": self.registered[c],
            }
            for c in came
        ]
        if events:
            await self.hook({"events": events}, now)
        self.did["attended the webinar"] += len(came)
        return len(came)

    async def pay(self, contact: str, order_id: str, amount: int, now: datetime) -> dict[str, object]:
        self.did["paid an order"] += 1
        return await self.order(contact, order_id, amount, created=now, paid=now)

    async def order(
        self, contact: str, order_id: str, amount: int, *, created: datetime, paid: datetime | None = None
    ) -> dict[str, object]:
        """The platform reports an order — pending, or paid at `paid` — over the signed webhook."""
        order = {
            "id": order_id,
            "contact_id": contact,
            "amount": amount,
            "currency": "RUB",
            "status": "paid" if paid else "pending",
            "created_at": iso_utc(created),
            "paid_at": iso_utc(paid) if paid else "",
        }
        return await self.hook({"orders": [order]}, paid or created)

    async def hook(self, payload: dict[str, object], now: datetime) -> dict[str, object]:
        assert self.session is not None
        body = json.dumps(payload, ensure_ascii=False).encode()
        stamp = to_epoch(now)
        headers = {
            "X-Ritm-Timestamp": str(stamp),
            "X-Ritm-Signature": sign_hook(self.secret, body, stamp),
            "X-Ritm-Delivery": f"demo-{next(self.deliveries)}",
            "Content-Type": "application/json",
        }
        async with self.session.post(f"{self.base_url}/hooks/events", data=body, headers=headers) as response:
            answer: dict[str, object] = await response.json()
            if response.status != 200:
                raise RuntimeError(f"webhook refused: {answer}")
            return answer

    async def _get(self, url: str) -> None:
        assert self.session is not None
        async with self.session.get(url, allow_redirects=False) as response:
            await response.read()


def _html_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    return ""
