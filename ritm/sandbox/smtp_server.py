"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests, the demo and benches.

It runs on the caller's event loop (no thread), binds 127.0.0.1 on an ephemeral port by default, and
stores every accepted message in memory (and as `.eml` files when given a directory). Failure injection
lets tests see every answer a real provider gives: per-recipient replies chosen by a substring of the
address ("bounce" → 550, "tempfail" → 451 ...), per-recipient DATA replies (content rejected), and a
switchable outage — "421" (the service greets and answers with 421 and hangs up) or "drop" (connections
are cut as soon as they open). AUTH and STARTTLS are off unless credentials / a TLS context are given.

Run alone: `python -m ritm.sandbox.smtp_server [--port N] [--dir DIR] [--discard]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import ssl
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

OutageMode = Literal["421", "drop"]

DEFAULT_RCPT_REPLIES: Mapping[str, str] = {
    "bounce": "550 5.1.1 No such user here",
    "tempfail": "451 4.3.0 Temporary failure, try again later",
    "greylist": "450 4.7.1 Greylisted, please retry",
    "mailbox-full": "552 5.2.2 Mailbox full",
    "policy-block": "550 5.7.1 Message rejected by policy",
}
DEFAULT_DATA_REPLIES: Mapping[str, str] = {
    "reject-content": "554 5.6.0 Message content rejected",
}
OUTAGE_REPLY = b"421 4.3.2 Service temporarily unavailable, closing transmission channel"


@dataclass(frozen=True)
class CapturedMessage:
    """One message the server accepted: the envelope, the bytes as received, and the parsed form.

    Parsing with the stdlib's modern policy costs ~10 ms a message, so it happens on first access:
    a demo or bench that only counts messages does not pay for it.
    """

    session: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    path: Path | None

    @cached_property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # policy.default always builds EmailMessage
        return parsed


class CapturingSmtpServer:
    """The loopback SMTP server; use as `async with CapturingSmtpServer() as smtp: ... smtp.port`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path | None = None,
        capture: bool = True,
        rcpt_replies: Mapping[str, str] = DEFAULT_RCPT_REPLIES,
        data_replies: Mapping[str, str] = DEFAULT_DATA_REPLIES,
        tls_context: ssl.SSLContext | None = None,
        credentials: Mapping[str, str] | None = None,
        data_size_limit: int | None = 32 * 1024 * 1024,
        hostname: str = "sandbox.ritm.local",
        smtputf8: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.directory = directory
        self.capture = capture
        self.rcpt_replies = dict(rcpt_replies)
        self.data_replies = dict(data_replies)
        self.tls_context = tls_context
        self.credentials = dict(credentials) if credentials is not None else None
        self.data_size_limit = data_size_limit
        self.hostname = hostname
        self.smtputf8 = smtputf8  # offer SMTPUTF8 (non-ASCII addresses)
        self.messages: list[CapturedMessage] = []
        self.accepted = 0  # counted even when capture is off (benchmarks)
        self.sessions = 0  # SMTP sessions served (connections that got a 220 greeting)
        self.refused_connections = 0
        self.outage_mode: OutageMode | None = None
        self._serial = 0  # names the .eml files; never reset, so `clear` cannot overwrite one
        self._holds: dict[str, asyncio.Event] = {}
        self.waiting: set[str] = set()  # held recipients whose DATA is waiting for `let_go`
        self._server: asyncio.Server | None = None
        self._live: weakref.WeakSet[SMTP] = weakref.WeakSet()

    async def start(self) -> None:
        """Bind and listen on the running loop; `port` is the bound port afterwards."""
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and cut every open session."""
        if self._server is None:
            return
        self._server.close()
        self.drop_sessions()
        await self._server.wait_closed()
        self._server = None
        # Let the sessions' connection_lost callbacks and cancelled handler tasks finish.
        for _ in range(3):
            await asyncio.sleep(0)

    async def __aenter__(self) -> CapturingSmtpServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def start_outage(self, mode: OutageMode = "421") -> None:
        """From now on every new connection and every MAIL command fails ("421") or is cut ("drop")."""
        self.outage_mode = mode
        if mode == "drop":
            self.drop_sessions()

    def end_outage(self) -> None:
        self.outage_mode = None

    def drop_sessions(self) -> None:
        """Close every open session from the server side (what an idle timeout or a restart does)."""
        for protocol in list(self._live):
            if protocol.transport is not None:
                protocol.transport.close()

    def hold(self, *addresses: str) -> None:
        """Keep the DATA of messages to these addresses unanswered until `let_go` (a slow provider)."""
        for address in addresses:
            self._holds[address] = asyncio.Event()

    def release(self, *addresses: str) -> None:
        """Stop holding these addresses (answering any of their messages that wait); others stay held."""
        for address in addresses:
            held = self._holds.pop(address, None)
            if held is not None:
                held.set()

    def let_go(self) -> None:
        """Answer every held message (and hold nothing more)."""
        for event in self._holds.values():
            event.set()
        self._holds.clear()

    def clear(self) -> None:
        """Forget the captured messages (the .eml files stay)."""
        self.messages.clear()
        self.accepted = 0

    def to(self, address: str) -> list[CapturedMessage]:
        """The captured messages whose envelope names `address`."""
        return [m for m in self.messages if address in m.rcpt_tos]

    # aiosmtpd handler hooks -------------------------------------------------------------------

    async def handle_MAIL(  # aiosmtpd finds hooks by these names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.outage_mode is not None:
            if server.transport is not None:
                asyncio.get_running_loop().call_soon(server.transport.close)
            return OUTAGE_REPLY.decode()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = _match(self.rcpt_replies, address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for address in envelope.rcpt_tos:
            held = self._holds.get(address)
            if held is not None:
                self.waiting.add(address)
                await held.wait()
                self.waiting.discard(address)
        for address in envelope.rcpt_tos:
            reply = _match(self.data_replies, address)
            if reply is not None:
                return reply
        self.accepted += 1
        self._serial += 1
        if self.capture:
            await self._store(envelope, session, self._serial)
        return "250 2.0.0 Message accepted for delivery"

    # internals --------------------------------------------------------------------------------

    async def _store(self, envelope: Envelope, session: Session, number: int) -> None:
        raw = envelope.original_content or b""
        path: Path | None = None
        if self.directory is not None:
            path = self.directory / f"{number:06d}.eml"  # numbered before any await: no two alike
            await asyncio.to_thread(path.write_bytes, raw)
        self.messages.append(
            CapturedMessage(
                session=getattr(session, "ritm_session", 0),
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                path=path,
            )
        )

    def _protocol(self) -> asyncio.BaseProtocol:
        if self.outage_mode is not None:
            self.refused_connections += 1
            return _Refuser(self.outage_mode)
        self.sessions += 1
        with warnings.catch_warnings():
            # aiosmtpd warns when AUTH is required without TLS; on loopback that is the point.
            warnings.simplefilter("ignore")
            protocol = _Session(
                self,
                self.sessions,
                data_size_limit=self.data_size_limit,
                hostname=self.hostname,
                ident="Ritm sandbox SMTP",
                enable_SMTPUTF8=self.smtputf8,
                tls_context=self.tls_context,
                auth_required=self.credentials is not None,
                auth_require_tls=self.tls_context is not None,
                authenticator=self._authenticate if self.credentials is not None else None,
                loop=asyncio.get_running_loop(),
            )
        self._live.add(protocol)
        return protocol

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.credentials is not None
            and self.credentials.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        # handled=False: aiosmtpd then answers 535 itself instead of leaving the client waiting.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class _Session(SMTP):
    """aiosmtpd's protocol, tagging its Session with the server-wide session number."""

    def __init__(self, handler: CapturingSmtpServer, number: int, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._number = number

    def _create_session(self) -> Session:
        session = super()._create_session()
        session.ritm_session = self._number  # type: ignore[attr-defined]
        return session


class _Refuser(asyncio.Protocol):
    """What a connection meets during an outage: a 421 greeting, or a cut before any greeting."""

    def __init__(self, mode: OutageMode) -> None:
        self.mode = mode

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        if self.mode == "421":
            transport.write(OUTAGE_REPLY + b"\r\n")
            transport.close()
        else:
            transport.abort()


def _match(replies: Mapping[str, str], address: str) -> str | None:
    lowered = address.lower()
    for needle, reply in replies.items():
        if needle in lowered:
            return reply
    return None


async def _serve(port: int, directory: Path | None, capture: bool) -> None:
    async with CapturingSmtpServer(port=port, directory=directory, capture=capture) as server:
        where = f", writing .eml files to {directory}" if directory else ""
        print(f"listening on {server.host}:{server.port}{where}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback SMTP server that captures what it receives.")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0 = any free port)")
    parser.add_argument("--dir", type=Path, default=None, help="also write each message as an .eml file")
    parser.add_argument("--discard", action="store_true", help="count messages but keep nothing")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how this is meant to stop
        asyncio.run(_serve(args.port, args.dir, capture=not args.discard))


if __name__ == "__main__":
    main()
