"""The email channel: a pool of reused SMTP connections and the adapter that maps SMTP answers to results.

`EmailChannel.send` builds the MIME message (dispatcher/mime.py), waits for the provider's rate limit,
sends it over a pooled connection and says what happened — nothing else: suppression and retry timing
are the worker's business. Mapping (RFC 5321 reply codes, RFC 3463 enhanced codes):

- accepted → "sent", provider_id = the Message-ID;
- any 4xx (also 421 and a refused or reset connection, a timeout) → "retry";
- 5xx on RCPT → "hard_bounce" (550/551/553, 5.1.x: the address is dead), except "mailbox full"
  (552 / 5.2.2, a soft bounce → "retry") and policy blocks (5.7.x: the sender or content was refused,
  the address is fine → "failed", never a suppression);
- 5xx on MAIL or DATA (552 size, 554 content), a refused login → "failed";
- an address SMTP cannot carry → "bad_address".
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, Protocol

import aiosmtplib

from dispatcher.channels.base import EmailMessage, SendResult
from dispatcher.channels.envelope import Envelope
from dispatcher.channels.smtp_wire import send_wire
from dispatcher.mime import envelope_address, render_email
from dispatcher.ratelimit import RateLimiter, RateLimits

log = logging.getLogger(__name__)

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_QUIT_TIMEOUT_S = 2.0


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class SmtpConfig(Protocol):
    """The SMTP settings this channel reads (ritm.settings.SmtpSettings has them)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str | None: ...
    @property
    def password(self) -> _Secret | None: ...
    @property
    def tls(self) -> Literal["none", "starttls", "tls"]: ...
    @property
    def sender(self) -> str: ...
    @property
    def pool_size(self) -> int: ...
    @property
    def rate_per_s(self) -> float: ...
    @property
    def timeout_s(self) -> float: ...


class SmtpPool:
    """Up to `pool_size` aiosmtplib connections, opened on first use and reused for every message.

    A connection the server closed while idle is noticed by aiosmtplib and reopened on the next use;
    one that dies under a command is reopened once and the message tried again. No NOOP probe
    before each message: that would cost a round trip on the hot path to save one on the rare one.
    """

    def __init__(
        self,
        settings: SmtpConfig,
        *,
        local_hostname: str = "localhost",
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.connects = 0  # how many times a connection was (re)opened
        self._closed = False
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        password = settings.password.get_secret_value() if settings.password is not None else None
        for _ in range(settings.pool_size):
            self._idle.put_nowait(
                aiosmtplib.SMTP(
                    hostname=settings.host,
                    port=settings.port,
                    username=settings.user,
                    password=password if settings.user else None,
                    local_hostname=local_hostname,
                    timeout=settings.timeout_s,
                    use_tls=settings.tls == "tls",
                    start_tls=settings.tls == "starttls",
                    tls_context=tls_context,
                )
            )

    async def send(self, sender: str, recipient: str, data: bytes, *, utf8: bool = False) -> None:
        """One SMTP transaction for a message from dispatcher/mime.py (dispatcher/channels/smtp_wire.py);
        raises aiosmtplib's exceptions (and OSError) as they come."""
        if self._closed:
            raise aiosmtplib.SMTPServerDisconnected("the SMTP pool is closed")
        client = await self._idle.get()
        try:
            reused = client.is_connected
            if not reused:
                await self._connect(client)
            try:
                await send_wire(client, sender, recipient, data, utf8=utf8)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                log.info("smtp reconnect", extra={"event": "smtp_reconnect"})
                client.close()
                await self._connect(client)
                await send_wire(client, sender, recipient, data, utf8=utf8)
        except aiosmtplib.SMTPResponseException:
            raise  # an answered command leaves the session usable: send_wire already sent RSET
        except BaseException:
            client.close()  # timeouts, cancellation, broken pipes: the session state is unknown
            raise
        finally:
            if self._closed:
                client.close()  # the pool closed while this message was in flight
            self._idle.put_nowait(client)

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        self.connects += 1
        await client.connect()

    async def close(self) -> None:
        """QUIT every open connection politely (briefly), then refuse further sends."""
        self._closed = True
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if not client.is_connected:
                continue
            try:
                await asyncio.wait_for(client.quit(), _QUIT_TIMEOUT_S)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


class EmailChannel:
    """The EmailSender port over SMTP: `await channel.send(message)` → SendResult; `await close()`.

    `clock` stamps the Date header; `limiter` replaces the default pacing at `settings.rate_per_s`
    (tests pass one with an injected clock); `envelope` sets a VERP return path and signs (DKIM)."""

    def __init__(
        self,
        settings: SmtpConfig,
        *,
        domain: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] | None = None,
        limiter: RateLimiter | None = None,
        envelope: Envelope | None = None,
    ) -> None:
        self.sender = settings.sender
        self.envelope = envelope  # VERP and DKIM when configured (dispatcher/channels/envelope.py)
        self.envelope_from = envelope_address(settings.sender)
        self.domain = domain or self.envelope_from.rpartition("@")[2]
        self.pool = SmtpPool(settings, local_hostname=self.domain, tls_context=tls_context)
        # The provider's messages/s, paced on our side so it never has to answer 421/451 for speed.
        self.limiter = limiter or RateLimiter(
            RateLimits(per_s=settings.rate_per_s, per_key_per_s=None, per_group_per_min=None)
        )
        self._clock = clock or (lambda: datetime.now(UTC))

    async def send(self, message: EmailMessage) -> SendResult:
        try:
            recipient = envelope_address(message.to)
        except ValueError as exc:
            return SendResult("bad_address", detail=str(exc))
        utf8 = not recipient.isascii()
        try:
            rendered = render_email(message, self.sender, domain=self.domain, now=self._clock(), utf8=utf8)
            sender, data = self.envelope_from, rendered.data
            if self.envelope is not None:
                sender, data = self.envelope.sender(message), self.envelope.sign(data)
        except (ValueError, UnicodeError) as exc:
            return SendResult("failed", detail=f"cannot build the message: {exc}")
        message_id = rendered.message_id
        await self.limiter.acquire()
        try:
            await self.pool.send(sender, recipient, data, utf8=utf8)
        except ValueError as exc:  # aiosmtplib refuses an address it cannot put on a command line
            return SendResult("bad_address", detail=str(exc))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            result = classify(exc)
            log.debug(  # the worker logs the outcome with the contact and campaign
                "email not sent",
                extra={"event": "email_result", "kind": result.kind, "message_id": message_id},
            )
            return result
        return SendResult("sent", provider_id=message_id)

    async def close(self) -> None:
        await self.pool.close()


def classify(exc: BaseException) -> SendResult:
    """Our result kind for an exception from an SMTP transaction (see the module docstring)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return _recipient_result(exc.code, exc.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = _detail(exc.code, exc.message)
        if 400 <= exc.code < 500:
            return SendResult("retry", detail=detail)
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return SendResult("failed", detail=f"{detail} (SMTP login refused: check the credentials)")
        return SendResult("failed", detail=detail)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return SendResult("failed", detail=str(exc))
    if isinstance(
        exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError | OSError | TimeoutError
    ):
        return SendResult("retry", detail=f"{type(exc).__name__}: {exc}")
    return SendResult("failed", detail=f"{type(exc).__name__}: {exc}")


def _recipient_result(code: int, message: str) -> SendResult:
    detail = _detail(code, message)
    if 400 <= code < 500:
        return SendResult("retry", detail=detail)
    enhanced = _ENHANCED.match(message)
    subject, status = (enhanced.group(2), enhanced.group(3)) if enhanced else ("", "")
    if code == 552 or (subject, status) == ("2", "2"):
        return SendResult("retry", detail=f"{detail} (mailbox full: a soft bounce)")
    if subject == "7":
        return SendResult("failed", detail=f"{detail} (refused by policy, the address itself is fine)")
    return SendResult("hard_bounce", detail=detail)


def _detail(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"[:300]
