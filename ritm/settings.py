"""One settings root (pydantic-settings): `RITM_*` environment variables and `.env`."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatcher.channels.vk import DEFAULT_API_URL as DEFAULT_VK_API_URL
from dispatcher.render_limits import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S
from ritm.event_loop import DEFAULT_EVENT_LOOP, EventLoopName

# Shipped so that `ritm demo`-style local runs parse; `ritm run` refuses to start with it.
PLACEHOLDER_SECRET = "change-me-in-production"
MIN_SECRET_BYTES = 32
BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    tls: Literal["none", "starttls", "tls"] = "none"
    sender: str = "Ritm <noreply@school.example>"
    pool_size: int = Field(default=4, ge=1, le=64)
    rate_per_s: float = Field(default=50.0, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)
    # VERP: each message's envelope sender becomes local+<outbox id>@domain of this address.
    return_path: str | None = None
    # DKIM (dkimpy): a PEM private key or its file, and the selector its public key is published under.
    dkim_key: SecretStr | None = None
    dkim_selector: str | None = None


class BouncesSettings(BaseModel):
    """The bounce/feedback mailbox read by IMAP (DSNs, ARF complaints, List-Unsubscribe mails)."""

    imap_host: str | None = None  # unset: no mailbox is read (the /hooks/bounces webhook still works)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_tls: Literal["none", "tls"] = "tls"  # "tls": implicit TLS (port 993)
    imap_mailbox: str = "INBOX"
    poll_s: float = Field(default=60.0, gt=0)


class TelegramSettings(BaseModel):
    rate_per_s: float = Field(default=25.0, gt=0)
    per_chat_per_s: float = Field(default=1.0, gt=0)
    per_group_per_min: float = Field(default=20.0, gt=0)
    # Messages handed to the Bot API and not yet answered: the most a crash can leave `uncertain`.
    in_flight: int = Field(default=16, ge=1, le=256)


class VkSettings(BaseModel):
    """The VK community: its token (messages.send) and what its Callback API server settings say."""

    token: SecretStr | None = None  # a community token with the messages right; unset: no VK channel
    api_url: str = DEFAULT_VK_API_URL
    secret: SecretStr | None = None  # the Callback API's "secret key": /hooks/vk refuses events without it
    confirmation: str | None = None  # the string the Callback API's `confirmation` event must get back
    in_flight: int = Field(default=8, ge=1, le=256)  # messages.send calls not yet answered
    timeout_s: float = Field(default=10.0, gt=0)


class SmsSettings(BaseModel):
    """SMS.ru: the account's api_id (also what its delivery callbacks are signed with) and the API's URL."""

    api_id: SecretStr | None = None
    api_url: str = "https://sms.ru"
    timeout_s: float = Field(default=15.0, gt=0)
    # Messages handed to SMS.ru and not yet answered: the most a crash can leave `uncertain`.
    in_flight: int = Field(default=4, ge=1, le=64)


class RenderSettings(BaseModel):
    """Limits of one message's render: over either, the template fails (dispatcher.render_limits)."""

    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)


class Settings(BaseSettings):
    """Everything `ritm` reads from its environment; `RITM_SMTP__HOST` sets `smtp.host`."""

    model_config = SettingsConfigDict(
        env_prefix="RITM_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    db: Path = Path("ritm.db")
    policy: Path | None = None
    templates: Path | None = None
    bot_token: SecretStr | None = None
    # The bot's @username for Telegram connect links (t.me/<username>?start=…); else asked of getMe.
    bot_username: str | None = None
    telegram_api_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # The secret before a rotation: links and tokens it signed still verify; nothing new is signed with it.
    secret_previous: SecretStr | None = None
    school_name: str = "Онлайн-школа"
    # SIGTERM/SIGINT: how long the sends in flight may take to finish and be recorded.
    shutdown_grace_s: float = Field(default=20.0, ge=0)
    # The loop of `ritm run` and `ritm demo`: uvloop, or asyncio's own should uvloop ever misbehave.
    event_loop: EventLoopName = DEFAULT_EVENT_LOOP
    smtp: SmtpSettings = SmtpSettings()
    bounces: BouncesSettings = BouncesSettings()
    telegram: TelegramSettings = TelegramSettings()
    render: RenderSettings = RenderSettings()
    vk: VkSettings = VkSettings()
    sms: SmsSettings = SmsSettings()

    @field_validator("bot_username")
    @classmethod
    def _bot_username(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        name = value.strip().removeprefix("@")
        if not BOT_USERNAME.fullmatch(name):
            raise ValueError(f"{value!r} is not a bot username such as school_bot (5–32 letters, digits, _)")
        return name


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value becomes one sentence naming its `RITM_*` variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        var = "RITM_" + "__".join(str(p).upper() for p in first["loc"])
        raise SettingsError(f"{var}: {first['msg'].removeprefix('Value error, ')}") from exc


def secret_problem(settings: Settings) -> str | None:
    """Why the configured secrets cannot protect signed links and webhooks, or None when they can."""
    named = [("RITM_SECRET", settings.secret)]
    if settings.secret_previous is not None and settings.secret_previous.get_secret_value():
        named.append(("RITM_SECRET_PREVIOUS", settings.secret_previous))
    for var, value in named:
        text = value.get_secret_value()
        if not text.strip():
            why = "is empty"
        elif text == PLACEHOLDER_SECRET:
            why = "is the shipped placeholder"
        elif len(text.encode("utf-8")) < MIN_SECRET_BYTES:
            why = f"is shorter than {MIN_SECRET_BYTES} bytes"
        else:
            continue
        return (
            f"{var} {why}: anyone could forge unsubscribe links, /start tokens and webhooks; "
            f"set it to a random value of at least {MIN_SECRET_BYTES} bytes, e.g. the output of {MAKE_SECRET}"
        )
    return None


def public_url_warning(settings: Settings) -> str | None:
    """A warning sentence when RITM_PUBLIC_URL cannot serve subscribers (not https, or loopback)."""
    parts = urlsplit(settings.public_url)
    host = (parts.hostname or "").lower()
    try:
        loopback = (
            host == "localhost" or host.endswith(".localhost") or ipaddress.ip_address(host).is_loopback
        )
    except ValueError:
        loopback = False
    if loopback:
        return (
            f"RITM_PUBLIC_URL {settings.public_url} is a loopback address: links in messages will not open "
            "for subscribers; set it to the public https address of this server"
        )
    if parts.scheme != "https":
        return (
            f"RITM_PUBLIC_URL {settings.public_url} is not https: mail clients' one-click unsubscribe "
            "(RFC 8058) needs https"
        )
    return None
