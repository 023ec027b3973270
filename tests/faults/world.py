"""The outside world of a `ritm run` under test: an SMTP server that can go down and come back, and the
Telegram stand-in — both real servers on loopback, served by the test's event loop, counting what
arrived per outbox row."""

from __future__ import annotations

import re
from collections import Counter

from ritm.sandbox.smtp_server import CapturedMessage, CapturingSmtpServer
from ritm.sandbox.telegram_api import TelegramStandin

# The email adapter stamps every message with its outbox row; reading the header off the raw bytes
# costs nothing, where parsing a thousand messages would cost seconds.
_OUTBOX_HEADER = re.compile(rb"^X-Ritm-Outbox:\s*(\d+)\r?$", re.MULTILINE | re.IGNORECASE)


class Mailroom:
    """A real aiosmtpd server on one loopback port that can be taken down (connections refused, open
    sessions cut) and brought back on the same port; it remembers what every incarnation accepted."""

    def __init__(self) -> None:
        self.port = 0
        self._server: CapturingSmtpServer | None = None
        self._earlier: list[CapturedMessage] = []

    async def up(self) -> None:
        server = CapturingSmtpServer(port=self.port)
        await server.start()
        self.port = server.port  # the first start picks a free port; later ones reuse it
        self._server = server

    async def down(self) -> None:
        if self._server is not None:
            self._earlier.extend(self._server.messages)
            await self._server.stop()
            self._server = None

    def messages(self) -> list[CapturedMessage]:
        return self._earlier + (self._server.messages if self._server is not None else [])

    def per_row(self) -> Counter[int]:
        """How many times each outbox row arrived."""
        found: Counter[int] = Counter()
        for message in self.messages():
            match = _OUTBOX_HEADER.search(message.raw)
            assert match is not None, "an email without its X-Ritm-Outbox header"
            found[int(match.group(1))] += 1
        return found

    def accepted(self) -> int:
        return len(self._earlier) + (len(self._server.messages) if self._server is not None else 0)


def telegram_per_chat(standin: TelegramStandin) -> Counter[int]:
    """How many messages the bot sent to each chat."""
    return Counter(message.chat_id for message in standin.all_sent())
