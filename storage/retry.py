"""Writes that must not be lost: retried while another process holds SQLite's write lock."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

WRITE_RETRY_S = 30.0
_FIRST_PAUSE_S = 0.05
_LONGEST_PAUSE_S = 1.0


class StillLocked(RuntimeError):
    """The write lock stayed taken for the whole retry budget; the write did not happen."""


def is_contention(exc: BaseException) -> bool:
    """SQLite's "database is locked/busy": another connection holds the write lock past the timeout."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


async def retry_while_locked(
    work: Callable[[], Awaitable[T]], *, what: str, timeout_s: float = WRITE_RETRY_S
) -> T:
    """Run `work` (one write transaction) until it commits; give up after `timeout_s` of contention.

    Each attempt already waits SQLite's busy timeout; between attempts the lock is free for this
    process's other writers, so a long outside lock delays this write without stalling them.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    pause = _FIRST_PAUSE_S
    attempt = 1
    while True:
        try:
            return await work()
        except sqlite3.OperationalError as exc:
            if not is_contention(exc):
                raise
            if loop.time() + pause >= deadline:
                raise StillLocked(f"{what}: the database stayed locked for {timeout_s:g} s") from exc
            log.warning(
                "write waits for the lock",
                extra={"event": "write_contention", "what": what, "attempt": attempt},
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE_S)
        attempt += 1
