"""A whole Ritm wired to the local SMTP server and the Telegram, VK and SMS.ru stand-ins (the demo and the
tests)."""

from __future__ import annotations

from pathlib import Path

from dispatcher.channels.email import EmailChannel
from dispatcher.channels.telegram import TelegramChannel
from dispatcher.channels.vk import VkChannel
from dispatcher.clock import Clock
from dispatcher.ratelimit import RateLimits
from policy.config import Policy
from ritm.app import App, create_app
from ritm.sandbox.smsru_api import SmsRuStandin
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.sandbox.vk_api import VkStandin
from ritm.services import email_envelope
from ritm.settings import Settings, SmsSettings, SmtpSettings, VkSettings


async def loopback_app(
    policy: Policy,
    clock: Clock,
    smtp: CapturingSmtpServer,
    standin: TelegramStandin,
    *,
    db: Path,
    public_url: str,
    secret: str,
    send_per_s: float = 1000.0,
    templates: Path | None = None,
    vk: VkStandin | None = None,
    vk_secret: str = "standin-callback-secret",
    return_path: str | None = None,
    sms: SmsRuStandin | None = None,
) -> App:
    """An App whose channels talk to `smtp` and `standin` at `send_per_s` (time is compressed, so the
    real-world rate limits would only slow the run down); `App.close()` closes them too."""
    settings = Settings(
        db=db,
        public_url=public_url,
        secret=secret,  # type: ignore[arg-type]
        templates=templates,
        smtp=SmtpSettings(port=smtp.port, rate_per_s=send_per_s, pool_size=4, return_path=return_path),
        bot_username=standin.bot_username,
        vk=VkSettings(
            token=vk.token if vk is not None else None,  # type: ignore[arg-type]
            api_url=vk.url if vk is not None else "http://127.0.0.1:9",
            secret=vk_secret,  # type: ignore[arg-type]
            confirmation="standin-confirmation",
        ),
        sms=SmsSettings(api_id=sms.api_id, api_url=sms.url) if sms is not None else SmsSettings(),  # type: ignore[arg-type]
    )
    bot = standin.bot()
    email = EmailChannel(settings.smtp, clock=clock, envelope=email_envelope(settings))
    telegram = TelegramChannel(bot, RateLimits(per_s=send_per_s, per_key_per_s=None, per_group_per_min=None))
    vk_channel = None
    if vk is not None:
        vk_channel = VkChannel(vk.token, api_url=vk.url, rate_per_s=send_per_s)
    app = await create_app(
        settings, policy, clock=clock, email=email, telegram=telegram, bot=bot, vk=vk_channel
    )
    app.email = email  # so that App.close() closes the pool it did not create
    app.vk = vk_channel
    return app
