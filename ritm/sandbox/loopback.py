"""A whole Ritm wired to the local SMTP server and the Telegram stand-in (the demo and the tests)."""

from __future__ import annotations

from pathlib import Path

from dispatcher.channels.email import EmailChannel
from dispatcher.channels.telegram import TelegramChannel
from dispatcher.clock import Clock
from dispatcher.ratelimit import RateLimits
from policy.config import Policy
from ritm.app import App, create_app
from ritm.sandbox.smtp_server import CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin
from ritm.settings import Settings, SmtpSettings


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
) -> App:
    """An App whose channels talk to `smtp` and `standin` at `send_per_s` (time is compressed, so the
    real-world rate limits would only slow the run down); `App.close()` closes them too."""
    settings = Settings(
        db=db,
        public_url=public_url,
        secret=secret,  # type: ignore[arg-type]
        templates=templates,
        smtp=SmtpSettings(port=smtp.port, rate_per_s=send_per_s, pool_size=4),
        bot_username=standin.bot_username,
    )
    bot = standin.bot()
    email = EmailChannel(settings.smtp, clock=clock)
    telegram = TelegramChannel(bot, RateLimits(per_s=send_per_s, per_key_per_s=None, per_group_per_min=None))
    app = await create_app(settings, policy, clock=clock, email=email, telegram=telegram, bot=bot)
    app.email = email  # so that App.close() closes the pool it did not create
    return app
