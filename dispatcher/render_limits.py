"""How much one message may cost to render: a deadline and a size budget, checked inside the render.

A render runs on a worker thread, and a thread cannot be stopped from outside, so the sandbox stops
itself: every call, filter, loop step, string-building operator and output chunk asks the budget of
the message being rendered (a context variable of the rendering thread) whether there is time and room
left. Over a limit the render raises `RenderLimitExceeded`, which the renderer reports as a template
error ("took longer than 2 s", "produced more than 1 MB").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from time import monotonic
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MAX_BYTES = 1_000_000
LOOP_CHECK_EVERY = 64  # loop steps between two looks at the clock (a step costs well under 1 µs)


class RenderConfig(Protocol):
    """The limits the renderer reads (ritm.settings.RenderSettings has them)."""

    @property
    def timeout_s(self) -> float: ...
    @property
    def max_bytes(self) -> int: ...


@dataclass(frozen=True)
class RenderLimits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES


class RenderLimitExceeded(Exception):
    """A render went over its time or size limit; the message is the reason, ready for a sentence."""


def describe_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def describe_bytes(size: int) -> str:
    """`1 MB`, `512 KB`, `1500 bytes` (decimal units, as the settings are documented)."""
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


class RenderBudget:
    """The time and room left to one message; shared by all its parts (subject, text, html)."""

    __slots__ = ("deadline", "max_bytes", "output", "timeout_s")

    def __init__(self, limits: RenderConfig) -> None:
        self.timeout_s = limits.timeout_s
        self.max_bytes = limits.max_bytes
        self.deadline = monotonic() + limits.timeout_s
        self.output = 0  # bytes of rendered output so far, all parts

    def tick(self) -> None:
        if monotonic() > self.deadline:
            raise RenderLimitExceeded(f"took longer than {describe_seconds(self.timeout_s)}")

    def room(self, size: int) -> None:
        """Refuse to build (or keep) a value of `size` characters, items or bytes."""
        if size > self.max_bytes:
            raise RenderLimitExceeded(f"produced more than {describe_bytes(self.max_bytes)}")

    def collect(self, chunks: Iterable[str]) -> str:
        """A part's output, counted chunk by chunk in UTF-8 bytes against what is left of the budget:
        the render stops at the first chunk over it, before anything huge is joined."""
        left = self.max_bytes - self.output
        chunks = iter(chunks)  # the exact count below goes on where the cheap one stopped
        kept: list[str] = []
        append = kept.append
        # Characters are counted while even 4 bytes each (UTF-8's most) would fit: no encoding per
        # chunk. Near the limit every chunk is counted in bytes, so the render still stops at the
        # first chunk over it.
        chars = 0
        for chunk in chunks:
            append(chunk)
            chars += len(chunk)
            if chars * 4 > left:
                break
        else:
            text = "".join(kept)
            self.output += utf8_size(text)
            return text
        size = utf8_size("".join(kept))
        if size > left:
            self.room(self.max_bytes + 1)
        for chunk in chunks:
            size += utf8_size(chunk)
            if size > left:
                self.room(self.max_bytes + 1)
            append(chunk)
        self.output += size
        return "".join(kept)

    def value(self, value: T) -> T:
        """Check a value an operation just produced; return it unchanged."""
        self.room(size_of(value))
        return value

    def iterate(self, iterable: Iterable[T]) -> Iterable[T]:
        """`iterable`, looking at the clock at the start and every few steps (a loop body may do
        nothing else). A short sequence is returned as it is: the look at the start bounds its loop,
        and loops nested inside it look again at each of their own starts."""
        self.tick()
        if isinstance(iterable, _SHORT_CANDIDATES) and len(iterable) <= LOOP_CHECK_EVERY:
            return iterable
        return self._checked(iterable)

    def _checked(self, iterable: Iterable[T]) -> Iterator[T]:
        deadline = self.deadline
        for step, item in enumerate(iterable, start=1):
            if step % LOOP_CHECK_EVERY == 0 and monotonic() > deadline:
                self.tick()
            yield item


_SHORT_CANDIDATES = (list, tuple, str, dict, range)
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def size_of(value: Any) -> int:
    """What a value costs against the budget: characters, items, or the bytes of an integer."""
    if isinstance(value, _SIZED):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 8
    return 0


_current: ContextVar[RenderBudget | None] = ContextVar("ritm_render_budget", default=None)


# The budget of the render running on this thread (None outside a render). The context variable's own
# `get`, not a function around it: the sandbox asks at every attribute read, call and filter.
current_budget: Callable[[], RenderBudget | None] = _current.get


@contextmanager
def budget_scope(budget: RenderBudget) -> Iterator[RenderBudget]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)
