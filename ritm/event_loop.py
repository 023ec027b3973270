"""The event loop the long-running commands (`ritm run`, `ritm demo`) run on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

EventLoopName = Literal["uvloop", "asyncio"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
DEFAULT_EVENT_LOOP: EventLoopName = "uvloop"


def loop_factory(name: EventLoopName) -> LoopFactory | None:
    """uvloop's loop when asked for and installed; None means asyncio's own.

    A send crosses the loop about a dozen times (socket reads and writes, SMTP answers, the slot's
    commit): uvloop's C loop does that work for about 0.2 ms less CPU a message, which is most of
    what one process can send in a second on a CPU-bound machine.
    """
    if name == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:  # uvloop has no Windows build; asyncio's loop does the same work, slower
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    """The running loop's family, for the start-up line: "uvloop" or "asyncio"."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]
