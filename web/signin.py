"""Sign-in to the dashboard: a one-time link the bot sends to a team member (`/web`), then a session.

The link carries a signed nonce with a short expiry; its database row makes it single-use. Following it
(GET) only shows a button, since Telegram and mail scanners fetch links for previews; the POST spends it
and opens a 12-hour session (cookie: HttpOnly, SameSite=Strict, Secure when the public URL is https).
Forms carry a token derived from the session, so a page of another site can post nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatcher.links import LinkSigner
from storage.db import Database
from storage.web_auth import new_login

LOGIN_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
COOKIE = "ritm_session"


@dataclass(frozen=True)
class LoginLink:
    url: str
    expires_at: datetime


async def issue_login_link(db: Database, signer: LinkSigner, user_id: int, now: datetime) -> LoginLink:
    """A fresh one-time sign-in link for `user_id` (the caller has checked they are in the team)."""
    nonce = secrets.token_urlsafe(18)
    expires_at = now + LOGIN_TTL
    await new_login(db, nonce, user_id, now, LOGIN_TTL)
    return LoginLink(signer.web_login_url(nonce, expires_at), expires_at)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def form_token(secret: str, session_id: str) -> str:
    """The anti-forgery token of a session's forms."""
    return hmac.new(
        secret.encode("utf-8"), b"form\x00" + session_id.encode("utf-8"), hashlib.sha256
    ).hexdigest()
