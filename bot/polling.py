"""Long polling that never stops for good: Bot API outages are waited out with a capped backoff.

aiogram's own polling asks `getMe` once before its loop — one network error there ends polling while
the process runs on — and it logs two lines per failed attempt. Here every Bot API call the bot makes
to get going (`getMe`, then `getUpdates` in a loop) is retried after 1 s, 2 s, 4 s … at most 60 s, and
an outage is logged once: a warning when calls start failing, an info line when one works again.
Updates are handed to the aiogram Dispatcher (`feed_update`), as its polling would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_TIMEOUT_S = 10  # Telegram holds a getUpdates open this long when there is nothing to deliver
HANDLERS_GRACE_S = 5.0  # on stop, updates being handled get this long to finish


@dataclass(frozen=True)
class Backoff:
    """How long to wait after the n-th failure in a row: first_s, doubling, never more than max_s."""

    first_s: float = 1.0
    max_s: float = 60.0
    factor: float = 2.0

    def delay_s(self, failures: int) -> float:
        if failures < 1:
            return 0.0
        return min(self.max_s, self.first_s * self.factor ** min(failures - 1, 64))


class Outage:
    """Counts failures in a row; logs the first (warning) and the first success after them (info)."""

    def __init__(self, backoff: Backoff, clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff
        self.clock = clock
        self.failures = 0
        self.outages = 0
        self._since = 0.0

    def failed(self, exc: BaseException) -> float:
        """Record a failed call; return how long to wait before the next one."""
        self.failures += 1
        if self.failures == 1:
            self.outages += 1
            self._since = self.clock()
            log.warning(
                "Telegram Bot API unreachable; retrying with backoff",
                extra={"event": "bot_api_down", "why": f"{type(exc).__name__}: {exc}"},
            )
        return self.backoff.delay_s(self.failures)

    def recovered(self) -> None:
        if self.failures:
            log.info(
                "Telegram Bot API reachable again",
                extra={
                    "event": "bot_api_up",
                    "failed_calls": self.failures,
                    "down_s": round(self.clock() - self._since, 1),
                },
            )
        self.failures = 0


async def _until_stopped(call: Awaitable[T], stop: asyncio.Event) -> T | None:
    """Await `call` unless `stop` is set first (then the call is cancelled and None returned)."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def call_until_ok(call: Callable[[], Awaitable[T]], stop: asyncio.Event, outage: Outage) -> T | None:
    """Call until it succeeds (None if `stop` is set first), backing off between failures."""
    while not stop.is_set():
        try:
            result = await _until_stopped(call(), stop)
        except Exception as exc:  # any failure is an outage to wait out: the bot must not stop for good
            await _pause(stop, outage.failed(exc))
            continue
        if not stop.is_set():
            outage.recovered()
        return result
    return None


async def poll(
    dp: Dispatcher, bot: Bot, stop: asyncio.Event, outage: Outage, *, handle_as_tasks: bool = True
) -> None:
    """Fetch updates and feed them to `dp` until `stop` is set; outages are retried, never fatal."""
    request = GetUpdates(timeout=POLL_TIMEOUT_S, allowed_updates=dp.resolve_used_update_types())
    request_timeout = int(bot.session.timeout + POLL_TIMEOUT_S)  # longer than the server holds the poll
    handling: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            updates = await call_until_ok(lambda: bot(request, request_timeout=request_timeout), stop, outage)
            for update in updates or ():
                request.offset = update.update_id + 1  # the next getUpdates confirms this one
                if handle_as_tasks:
                    task = asyncio.create_task(_handle(dp, bot, update))
                    handling.add(task)
                    task.add_done_callback(handling.discard)
                else:
                    await _handle(dp, bot, update)
    finally:
        if handling:
            _, late = await asyncio.wait(handling, timeout=HANDLERS_GRACE_S)
            for task in late:
                task.cancel()


async def _handle(dp: Dispatcher, bot: Bot, update: Update) -> None:
    try:
        response = await dp.feed_update(bot, update)
        if isinstance(response, TelegramMethod):
            await bot(response)
    except Exception:  # handlers' errors go to the dispatcher's error handler; this is what escapes it
        log.exception("update not handled", extra={"event": "bot_update_failed", "update": update.update_id})
