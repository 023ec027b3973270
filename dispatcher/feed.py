"""The rows a worker has claimed and decided to send, queued per channel for the channel's lanes.

The worker's feeder puts each decided batch in and lanes take rows out. When a channel's queue runs low
the feeder claims and re-checks the next batch while the lanes are still busy with this one, so the
channels never stand idle waiting for a claim (pipelining). Every claimed row stays in `unhanded` until
it is settled or handed to its channel: that set is what a stop or a failure gives back.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from dispatcher.delivery import Prepared
from storage.outbox import ClaimedRow


@dataclass(frozen=True, slots=True)
class Queued:
    """A row decided to go now, with its batch's clock reading and prepared data."""

    row: ClaimedRow
    now: datetime
    prepared: Prepared


class Feed:
    def __init__(self, low_water: int) -> None:
        self.low_water = low_water  # queued rows at or under which the next batch is claimed
        self.unhanded: set[int] = set()
        self._queues: dict[str, deque[Queued]] = defaultdict(deque)
        self._arrived = asyncio.Event()
        self._low = asyncio.Event()
        self._closed = False
        self._halted = False

    def claimed(self, ids: Iterable[int]) -> None:
        self.unhanded.update(ids)

    def settled(self, row_id: int) -> None:
        """The row has an outcome, is `sending`, or was given back by the hand-off: not ours to release."""
        self.unhanded.discard(row_id)

    def put(self, items: Iterable[Queued]) -> set[str]:
        """Queue rows for their channels; returns the channels that had no queue before."""
        new = set()
        for item in items:
            if item.row.channel not in self._queues:
                new.add(item.row.channel)
            self._queues[item.row.channel].append(item)
        self._arrived.set()
        return new

    def close(self) -> None:
        """No more batches: lanes finish what is queued and end."""
        self._closed = True
        self._arrived.set()

    def halt(self) -> None:
        """Stop now (SIGTERM): lanes take nothing more, the feeder claims nothing more."""
        self._halted = True
        self.close()
        self._low.set()

    @property
    def halted(self) -> bool:
        return self._halted

    def queued(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def take(self, channel: str) -> Queued | None:
        """The next row of `channel`, waiting for the feeder if its queue is empty; None once closed."""
        queue = self._queues[channel]
        while not queue or self._halted:
            if self._closed:
                return None
            self._arrived.clear()
            await self._arrived.wait()
        item = queue.popleft()
        if self.queued() <= self.low_water:
            self._low.set()
        return item

    async def running_low(self) -> None:
        """Return once the queues hold `low_water` rows or fewer (the time to claim the next batch)."""
        while self.queued() > self.low_water and not self._halted:
            self._low.clear()
            await self._low.wait()
