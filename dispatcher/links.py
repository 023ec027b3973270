"""The signed links we hand out and their verification (open, click, unsubscribe, ICS, /start)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from policy.campaign import Campaign
from policy.config import CHANNELS
from policy.tokens import MAX_START_ID_BYTES, fits_telegram_start, sign, verify


class ConnectLinkError(ValueError):
    """A Telegram connect link cannot be made; the message is one sentence saying why."""


@dataclass(frozen=True)
class UnsubscribeParts:
    contact_id: str
    channel: str
    campaign_id: str


class LinkSigner:
    """Builds absolute URLs under `public_url` and reads their tokens back (None when forged).

    New tokens are signed with `secret`; `previous` secrets (from before a rotation) still verify the
    links already in subscribers' mailboxes. `bot_username` (without "@") names the bot in Telegram
    connect links.
    """

    def __init__(
        self, secret: str, public_url: str, previous: Sequence[str] = (), bot_username: str | None = None
    ) -> None:
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.secrets = (secret, *(p for p in previous if p and p != secret))
        self.bot_username = bot_username

    def _verify(self, kind: str, token: str) -> tuple[str, ...] | None:
        for secret in self.secrets:
            parts = verify(secret, kind, token)
            if parts is not None:
                return parts
        return None

    def unsubscribe_url(self, contact_id: str, channel: str, campaign_id: str = "") -> str:
        return f"{self.public_url}/u/{sign(self.secret, 'u', contact_id, channel, campaign_id)}"

    def unsubscribe_parts(self, token: str) -> UnsubscribeParts | None:
        parts = self._verify("u", token)
        if parts is None or len(parts) != 3 or parts[1] not in CHANNELS:
            return None
        return UnsubscribeParts(*parts)

    def open_url(self, outbox_id: int) -> str:
        return f"{self.public_url}/o/{sign(self.secret, 'o', outbox_id)}.gif"

    def open_parts(self, token: str) -> int | None:
        parts = self._verify("o", token)
        return int(parts[0]) if parts and len(parts) == 1 and parts[0].isdigit() else None

    def click_url(self, outbox_id: int, link: str) -> str:
        return f"{self.public_url}/c/{sign(self.secret, 'c', outbox_id, link)}"

    def click_parts(self, token: str) -> tuple[int, str] | None:
        parts = self._verify("c", token)
        if parts is None or len(parts) != 2 or not parts[0].isdigit():
            return None
        return int(parts[0]), parts[1]

    def ics_url(self, campaign_id: str, contact_id: str) -> str:
        return f"{self.public_url}/e/{sign(self.secret, 'e', campaign_id, contact_id)}.ics"

    def ics_parts(self, token: str) -> tuple[str, str] | None:
        parts = self._verify("e", token)
        return (parts[0], parts[1]) if parts and len(parts) == 2 else None

    def start_token(self, contact_id: str) -> str:
        return sign(self.secret, "s", contact_id)

    def telegram_connect_url(self, contact_id: str) -> str:
        """`https://t.me/<bot>?start=<token>`: opening it in Telegram binds that chat to the contact;
        `ConnectLinkError` when there is no bot username or the id is too long for a start payload."""
        if not self.bot_username:
            raise ConnectLinkError(
                "the Telegram link needs the bot's username: set RITM_BOT_USERNAME"
                " (or RITM_BOT_TOKEN, to ask Telegram's getMe)"
            )
        token = self.start_token(contact_id)
        if not fits_telegram_start(token):
            raise ConnectLinkError(
                f"contact id {contact_id[:40]!r} is too long for a Telegram start link"
                f" (at most {MAX_START_ID_BYTES} bytes)"
            )
        return f"https://t.me/{self.bot_username}?start={token}"

    def start_contact(self, token: str) -> str | None:
        parts = self._verify("s", token)
        return parts[0] if parts and len(parts) == 1 else None

    def web_login_url(self, nonce: str, expires_at: datetime) -> str:
        """The dashboard's one-time sign-in link (the nonce's row makes it single-use)."""
        return f"{self.public_url}/app/login/{sign(self.secret, 'w', nonce, expires_at=expires_at)}"

    def web_login_nonce(self, token: str, now: datetime) -> str | None:
        for secret in self.secrets:
            parts = verify(secret, "w", token, now=now)
            if parts is not None:
                return parts[0] if len(parts) == 1 else None
        return None

    @staticmethod
    def link_target(campaign: Campaign, name: str) -> str | None:
        """Only a link the campaign registered may be a redirect target."""
        return campaign.links.get(name)
