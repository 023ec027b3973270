"""The bounce/feedback mailbox, read over IMAP (aioimaplib): every message not read yet is applied.

A message we have handled gets the keyword `$RitmRead` (and `\\Seen`); a round searches for the
messages without it, so a person reading the mailbox by hand hides nothing from us. A message is
marked only after its report is committed: a crash in between makes the next round read it again,
which the report's key turns into a no-op. A connection or login failure ends the round with the
reason logged; the next round tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import aioimaplib

from dispatcher.feedback import apply_feedback
from storage.db import Database

log = logging.getLogger(__name__)

READ_KEYWORD = "$RitmRead"
MAX_PER_ROUND = 500  # a flooded mailbox is worked through over several rounds, each one short


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class MailboxConfig(Protocol):
    """The settings this reader uses (ritm.settings.BouncesSettings has them)."""

    @property
    def imap_host(self) -> str | None: ...
    @property
    def imap_port(self) -> int: ...
    @property
    def imap_user(self) -> str | None: ...
    @property
    def imap_password(self) -> _Secret | None: ...
    @property
    def imap_tls(self) -> Literal["none", "tls"]: ...
    @property
    def imap_mailbox(self) -> str: ...
    @property
    def poll_s(self) -> float: ...


class MailboxError(RuntimeError):
    """The mailbox could not be read this round (connection, login, a refused command)."""


@dataclass
class RoundReport:
    """One round: how many messages were read and what they were."""

    read: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    error: str | None = None


class FeedbackMailbox:
    def __init__(
        self,
        db: Database,
        config: MailboxConfig,
        *,
        clock: Callable[[], datetime],
        return_path: str | None,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.return_path = return_path
        self.ssl_context = ssl_context
        self.timeout_s = timeout_s

    async def read_once(self) -> RoundReport:
        """Read and apply every message not handled yet (up to MAX_PER_ROUND); never raises for
        the mailbox's sake: the error is in the report."""
        report = RoundReport()
        client: aioimaplib.IMAP4 | None = None
        try:
            client = await self._open()
            for uid in (await self._unread(client))[:MAX_PER_ROUND]:
                raw = await self._fetch(client, uid)
                if raw is not None:
                    applied = await apply_feedback(
                        self.db, raw, source="imap", now=self.clock(), return_path=self.return_path
                    )
                    report.kinds[applied.kind] += 1
                await self._command(client.uid("store", uid, "+FLAGS", f"({READ_KEYWORD} \\Seen)"), "STORE")
                report.read += 1
        except (MailboxError, OSError, TimeoutError, aioimaplib.Abort, aioimaplib.CommandTimeout) as exc:
            report.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, MailboxError) else str(exc)
            log.warning(
                "feedback mailbox not read",
                extra={"event": "feedback_mailbox_error", "error": report.error, "read": report.read},
            )
        finally:
            if client is not None:
                with contextlib.suppress(Exception):  # the server may already have gone
                    await asyncio.wait_for(client.logout(), 2)
        if report.read:
            log.info(
                "feedback mailbox read",
                extra={"event": "feedback_mailbox_read", "read": report.read, "kinds": dict(report.kinds)},
            )
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """A round every `poll_s` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.read_once()
            except Exception:  # the database, not the mailbox: this round is lost, the next may not be
                log.exception("feedback round failed", extra={"event": "feedback_mailbox_crash"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_s)

    async def _open(self) -> aioimaplib.IMAP4:
        c = self.config
        if not c.imap_host or not c.imap_user or c.imap_password is None:
            raise MailboxError("RITM_BOUNCES__IMAP_HOST, __IMAP_USER and __IMAP_PASSWORD are all needed")
        client: aioimaplib.IMAP4
        if c.imap_tls == "tls":
            context = self.ssl_context or ssl.create_default_context()
            client = aioimaplib.IMAP4_SSL(
                c.imap_host, c.imap_port, timeout=self.timeout_s, ssl_context=context
            )
        else:
            client = aioimaplib.IMAP4(c.imap_host, c.imap_port, timeout=self.timeout_s)
        await asyncio.wait_for(client.wait_hello_from_server(), self.timeout_s)
        if client.protocol is None or client.protocol.state != aioimaplib.NONAUTH:
            raise MailboxError(f"the IMAP server at {c.imap_host}:{c.imap_port} did not greet us")
        await self._command(client.login(c.imap_user, c.imap_password.get_secret_value()), "LOGIN")
        await self._command(client.select(c.imap_mailbox), f"to open the mailbox {c.imap_mailbox!r}")
        return client

    async def _unread(self, client: aioimaplib.IMAP4) -> list[str]:
        response = await self._command(client.uid_search("UNKEYWORD", READ_KEYWORD, charset=None), "SEARCH")
        uids: list[str] = []
        for line in response.lines[:-1]:  # the last line is the tagged completion
            uids += [w for w in bytes(line).decode("ascii", "replace").split() if w.isdigit()]
        return uids

    async def _fetch(self, client: aioimaplib.IMAP4, uid: str) -> bytes | None:
        response = await self._command(client.uid("fetch", uid, "(BODY.PEEK[])"), "FETCH")
        # aioimaplib hands the message literal as the one bytearray among the response lines.
        literal = next((line for line in response.lines if isinstance(line, bytearray)), None)
        return bytes(literal) if literal is not None else None  # None: expunged meanwhile

    async def _command(self, call: Awaitable[aioimaplib.Response], what: str) -> aioimaplib.Response:
        response = await asyncio.wait_for(call, self.timeout_s)
        if response.result != "OK":
            detail = b" ".join(bytes(x) for x in response.lines[-1:]).decode("utf-8", "replace")
            raise MailboxError(f"the IMAP server refused {what}: {detail[:200]}")
        return response
