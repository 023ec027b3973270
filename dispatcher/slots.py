"""A channel's slots: at most `size` of its rows are `sending` without a committed outcome.

A row is marked `sending` only while it holds a slot, and a slot holds at most one row whose outcome
is not yet on disk. To spend one commit per message instead of two, a slot given back carries its
row's outcome, and the next row to take the slot commits that outcome with its own mark, in one
transaction. If no row takes the slot soon (`flush_after_s`), the outcome is committed alone, so an
answer is on disk well within a second of the channel giving it.
"""

from __future__ import annotations

import asyncio
import contextlib

from storage.handoff import Answered, Handoff, HandoffCommitter


class Slot:
    """One place in the channel's hands; `pending` is the outcome of its last row, not yet written."""

    def __init__(self) -> None:
        self.pending: Answered | None = None

    def take(self) -> Answered | None:
        pending, self.pending = self.pending, None
        return pending


class ChannelSlots:
    def __init__(self, size: int, committer: HandoffCommitter, *, flush_after_s: float = 0.05) -> None:
        self.committer = committer
        self.flush_after_s = flush_after_s
        self._slots = [Slot() for _ in range(size)]
        self._free: asyncio.Queue[Slot] = asyncio.Queue()
        for slot in self._slots:
            self._free.put_nowait(slot)
        self._timers: dict[Slot, asyncio.TimerHandle] = {}  # at most one per slot: its latest answer
        self._flushers: set[asyncio.Task[bool]] = set()

    async def acquire(self) -> Slot:
        return await self._free.get()

    async def mark(self, slot: Slot, handoff: Handoff) -> bool:
        """Commit the slot's previous outcome and this row's `sending` mark in one transaction."""
        return await self.committer.commit(answered=slot.take(), handoff=handoff)

    def release(self, slot: Slot, answered: Answered | None) -> None:
        """Give the slot back, carrying `answered` until the next mark (or the flush delay) writes it.

        A slot given back without a new answer (the row was not handed) keeps what it carried."""
        if answered is not None:
            slot.pending = answered
            # A latency bound on an answer already in hand, not scheduling logic. A timer, not a task
            # per message: the next row nearly always takes the slot (and the answer) first.
            timer = self._timers.pop(slot, None)
            if timer is not None:
                timer.cancel()
            loop = asyncio.get_running_loop()
            self._timers[slot] = loop.call_later(self.flush_after_s, self._flush, slot, answered)
        self._free.put_nowait(slot)

    def _flush(self, slot: Slot, answered: Answered) -> None:
        self._timers.pop(slot, None)
        if slot.pending is answered:
            flusher = asyncio.create_task(self.committer.commit(answered=slot.take()), name="outcome-flush")
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushed)

    def _flushed(self, flusher: asyncio.Task[bool]) -> None:
        self._flushers.discard(flusher)
        if not flusher.cancelled():
            flusher.exception()  # a failed write was logged by the committer; the row's lease runs out

    async def close(self) -> None:
        """Write every outcome still carried, and wait until everything queued is committed."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for flusher in list(self._flushers):
            with contextlib.suppress(Exception):  # its failure was logged by the committer
                await flusher
        carried = [a for a in (slot.take() for slot in self._slots) if a is not None]
        await asyncio.gather(*(self.committer.commit(answered=a) for a in carried))
        await self.committer.commit()  # a barrier: commits come in order, so all before it are written
