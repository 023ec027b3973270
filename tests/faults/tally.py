"""What a fault scenario measured: deliveries per outbox row and the figures line each test prints."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ritm.sandbox.telegram_api import TelegramStandin
from tests.faults.outbox_view import row_of_contact
from tests.faults.seed import Base
from tests.faults.world import Mailroom, telegram_per_chat

POLL_S = 0.05


async def poll(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Wait for a real process's effects (I/O we observe, not a schedule we fake); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


def deliveries(base: Base, mail: Mailroom, standin: TelegramStandin | None = None) -> Counter[int]:
    """How many times each outbox row arrived: emails by their X-Ritm-Outbox header, Telegram messages by
    chat (the base's campaign sends one message per contact)."""
    counts = mail.per_row()
    if standin is not None:
        row = row_of_contact(base.db, base.campaign)
        for chat, n in telegram_per_chat(standin).items():
            counts[row[base.chats[chat]]] += n
    return counts


@dataclass
class Figures:
    scenario: str
    delivered: int = 0  # rows that arrived at least once
    doubled: int = 0  # extra copies beyond the first
    lost: int = 0  # rows that should have arrived and never did
    uncertain: int = 0  # rows whose outcome the dispatcher does not know (in flight at a crash)
    count_429: int = 0
    seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    def count(self, arrived: Counter[int], expected: Iterable[int]) -> None:
        """Fill delivered / doubled / lost from the arrivals, against the rows that should arrive."""
        wanted = set(expected)
        self.delivered = sum(1 for r in wanted if arrived[r] > 0)
        self.doubled = sum(n - 1 for n in arrived.values() if n > 1)
        self.lost = len(wanted) - self.delivered

    def line(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (
            f"faults[{self.scenario}]: delivered={self.delivered} doubled={self.doubled} lost={self.lost}"
            f" uncertain={self.uncertain} 429s={self.count_429} seconds={self.seconds:.1f}{extra}"
        )
