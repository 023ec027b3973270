"""Triggered scenarios (SPEC §12.4), the pure part: what a `trigger`, `until` and `reentry` mean.

A trigger starts a scenario for one contact on its own: on an event (`event:order_created`), a tag being
set (`tag:funnel`), entering a named segment (`enter:segment:sleeping_30d`) or a yearly date
(`date:first_paid_at`, `date:fields.birthday`). Each start is a *run*; its steps go `after` the step
before (the first one `after` the start), every one decided by `policy.decide` like any scenario
message, and none once the run's `until` holds (`suppressed: trigger_stopped`).

`until` is read "since the run started": `order:paid` stops a dunning run on a payment made after the
order that started it, not on one from last year. Predicates that name their own `within` keep it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from policy.config import Policy
from policy.dsl import And, Event, Expr, Not, Or, Order, Tag
from policy.timeutil import TimeParseError, parse_duration

TriggerKind = Literal["event", "tag", "enter", "date"]

# Event types a trigger may wait for: SPEC §3's list and the order changes the feed records itself.
EVENT_TYPES = (
    "open",
    "click",
    "visit",
    "webinar_registered",
    "webinar_attended",
    "reply",
    "login",
    "lesson_done",
    "offer_declined",
    "order_created",
    "order_paid",
)
DATE_FIELDS = ("first_paid_at", "created_at")  # and any custom `fields.NAME` holding a date
FIELD_PREFIX = "fields."
MAX_STEPS = 10
RUN_STRIDE = 100  # the outbox `step` of run r's step i is r * RUN_STRIDE + i
# A step may wait this long past its earliest moment for a window, quiet hours, a silence or a cap.
STEP_SPAN = timedelta(days=3)
# A change read more than this after it happened (a late import of history) starts nothing.
STALE_AFTER = timedelta(days=1)
# `enter:` re-reads the whole segment (time alone moves people into it) and `date:` scans its dates
# at most this often; between those, a tick reads only the contacts the feed says changed.
FULL_EVERY = timedelta(hours=1)


class TriggerError(ValueError):
    """A trigger, until or reentry value that cannot be used; one sentence."""


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: TriggerKind
    name: str  # event type, tag, segment, or date field (`first_paid_at`, `fields.birthday`)

    @property
    def feed_kind(self) -> str | None:
        """The feed rows that start this trigger directly (`enter:` and `date:` read them otherwise)."""
        return self.kind if self.kind in ("event", "tag") else None


def parse_trigger(text: str, policy: Policy) -> Trigger:
    """`event:TYPE`, `tag:NAME`, `enter:segment:NAME` or `date:FIELD`, checked against the policy."""
    kind, _, name = text.strip().partition(":")
    if kind == "event":
        if name not in EVENT_TYPES:
            raise TriggerError(f"unknown event type {name!r}: use one of {', '.join(EVENT_TYPES)}")
        return Trigger("event", name)
    if kind == "tag":
        if name not in policy.tags:
            raise TriggerError(f"unknown tag {name!r}: the policy's [tags] dictionary has no such tag")
        return Trigger("tag", name)
    if kind == "enter":
        scope, _, segment = name.partition(":")
        if scope != "segment" or not segment:
            raise TriggerError("expected enter:segment:NAME")
        if segment not in policy.segments:
            raise TriggerError(f"unknown segment {segment!r}: the policy's [segments] has no such segment")
        return Trigger("enter", segment)
    if kind == "date":
        custom = name.removeprefix(FIELD_PREFIX) if name.startswith(FIELD_PREFIX) else None
        if name not in DATE_FIELDS and not custom:
            raise TriggerError(f"unknown date {name!r}: use {', '.join(DATE_FIELDS)} or fields.NAME")
        return Trigger("date", name)
    raise TriggerError(
        f"unknown trigger {text!r}: use event:TYPE, tag:NAME, enter:segment:NAME or date:FIELD"
    )


def parse_reentry(text: str) -> timedelta | None:
    """`never` → None; `after D` → D (a contact may start again D after its previous start)."""
    words = text.split()
    if words == ["never"]:
        return None
    if len(words) == 2 and words[0] == "after":
        try:
            delay = parse_duration(words[1])
        except TimeParseError as exc:
            raise TriggerError(str(exc)) from exc
        if delay <= timedelta(0):
            raise TriggerError("the delay must be > 0")
        return delay
    raise TriggerError(f'expected "never" or "after D" such as "after 30d", got {text!r}')


def may_start(last_start: datetime | None, reentry: timedelta | None, now: datetime) -> bool:
    """Whether a contact whose previous run started at `last_start` may start a new one at `now`."""
    if last_start is None:
        return True
    return reentry is not None and now - last_start >= reentry


def outbox_step(run: int, index: int) -> int:
    return run * RUN_STRIDE + index


def run_and_index(step: int) -> tuple[int, int]:
    """(run id, step index) of a trigger campaign's outbox row."""
    return divmod(step, RUN_STRIDE)


def step_offsets(afters: list[timedelta]) -> list[timedelta]:
    """Each step's earliest moment after the run's start: the delays add up."""
    total, offsets = timedelta(0), []
    for after in afters:
        total += after
        offsets.append(total)
    return offsets


def since_start(expr: Expr, elapsed: timedelta) -> Expr:
    """`expr` with every event, order and tag predicate that has no `within` bounded to `elapsed`
    (rounded up to a minute): what happened since the run started."""
    within = timedelta(minutes=max(1, math.ceil(elapsed.total_seconds() / 60)))
    if isinstance(expr, Event | Order | Tag):
        return expr if expr.within is not None else dataclasses.replace(expr, within=within)
    if isinstance(expr, Not):
        return Not(since_start(expr.item, elapsed))
    if isinstance(expr, And):
        return And(tuple(since_start(i, elapsed) for i in expr.items))
    if isinstance(expr, Or):
        return Or(tuple(since_start(i, elapsed) for i in expr.items))
    return expr


def anniversary(origin: date, today: date) -> bool:
    """Whether `today` is a yearly return of `origin` (29 February falls on the 28th in other years)."""
    if today.year <= origin.year:
        return False
    try:
        return origin.replace(year=today.year) == today
    except ValueError:  # 29 February in a common year
        return today == date(today.year, 2, 28)


def local_day(now: datetime, tz: ZoneInfo) -> tuple[date, datetime]:
    """The contact's local date at `now` and the instant that day ends (a date step's deadline)."""
    today = now.astimezone(tz).date()
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    return today, end
