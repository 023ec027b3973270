"""When a message is due, or why it is not (SPEC §4 "Due time and exclusion order").

The due time is the earliest instant t with max(start, at) ≤ t < deadline that is inside the contact's
send window, outside quiet hours, outside the silences blocking the priority, and under every applying
cap once the message is added. The search walks the open spans (window minus quiet hours, see
`policy.windows`) in order and, inside a span, jumps over silences to their ends and over full caps to
their release instants `m + per` — the SPEC's candidate instants — so the first instant that passes
every rule is the earliest one. Service messages skip all of this and are due at max(start, at).

Memoisation: with no silences and no counted messages the answer depends only on
(tz, window, quiet, start, deadline, at) and the caps with `max = 0`; `due_time` caches that case
itself, and `due_time_key` gives callers the same key for their own memo.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from policy.caps import CapLedger, Counted, applies, counts, violates
from policy.config import Cap, LocalWindow, QuietHours
from policy.silence import SilenceWindow, blocking, covering, silenced_until
from policy.timeutil import format_duration, iso_utc
from policy.windows import first_open, in_quiet, in_window, open_spans, quiet_span

NO_WINDOW, SILENCE, CAP = "no_window", "silence", "cap"


@dataclass(frozen=True, slots=True)
class Due:
    """The message goes out at `at` (UTC)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Excluded:
    """The contact gets no message; `reason` is one of the SPEC's exclusion reasons."""

    reason: str


def due_time_key(
    *, tz: ZoneInfo, window: LocalWindow, quiet: QuietHours, start: datetime, deadline: datetime, at: datetime
) -> Hashable:
    """A memo key for `due_time` that is valid when `silences` and `counted` are both empty and the
    applying caps are the same (only a cap with `max = 0` can then block)."""
    return (tz, window.from_, window.to, window.days, quiet.from_, quiet.to, max(start, at), deadline)


def due_time(
    *,
    priority: str,
    channel: str,
    tz: ZoneInfo,
    window: LocalWindow,
    quiet: QuietHours,
    silences: Sequence[SilenceWindow],
    caps: Sequence[Cap],
    counted: Sequence[Counted],
    start: datetime,
    deadline: datetime,
    at: datetime,
) -> Due | Excluded:
    """The earliest admissible send instant of one message, or the reason there is none."""
    begin = max(start, at).astimezone(UTC)
    end = deadline.astimezone(UTC)
    if priority == "service":
        return Due(begin) if begin < end else Excluded(NO_WINDOW)
    if begin >= end:
        return Excluded(NO_WINDOW)
    held = [w for w in blocking(silences, priority) if w.ends > begin and w.starts < end]
    if not held and not counted:
        # The common case: the first open instant, unless a `max = 0` cap forbids everything.
        first = first_open(tz, window, quiet, begin, end)
        if first is None:
            return Excluded(NO_WINDOW)
        shut = any(c.max <= 0 and applies(c, priority, channel) for c in caps)
        return Excluded(CAP) if shut else Due(first)
    ledger = CapLedger(caps, counted, priority, channel)
    if not held and ledger.idle:
        first = first_open(tz, window, quiet, begin, end)
        return Excluded(NO_WINDOW) if first is None else Due(first)
    return _search(tz, window, quiet, held, ledger, begin, end)


def _search(
    tz: ZoneInfo,
    window: LocalWindow,
    quiet: QuietHours,
    held: Sequence[SilenceWindow],
    ledger: CapLedger,
    begin: datetime,
    end: datetime,
) -> Due | Excluded:
    """Walk the open spans; skip silences and full caps; remember what blocked for the reason."""
    seen_open = seen_unsilenced = False
    for span_start, span_end in open_spans(tz, window, quiet, begin, end):
        seen_open = True
        t = span_start
        while t < span_end:
            after_silence = silenced_until(held, t)
            if after_silence is not None:
                t = after_silence
                continue
            seen_unsilenced = True
            free = ledger.next_free(t)
            if free is None:
                return Excluded(CAP)  # a cap with max = 0: nothing later can pass either
            if free == t:
                return Due(t)
            t = free
    if not seen_open:
        return Excluded(NO_WINDOW)
    return Excluded(CAP if seen_unsilenced else SILENCE)


def classify(
    *, has_address: bool, has_consent: bool, protected_by: str | None, due: Due | Excluded | None
) -> Due | Excluded:
    """Apply the exclusion order: no_address, no_consent, protected:<segment>, then the due's own verdict."""
    if not has_address:
        return Excluded("no_address")
    if not has_consent:
        return Excluded("no_consent")
    if protected_by is not None:
        return Excluded(f"protected:{protected_by}")
    if due is None:
        raise ValueError("a reachable, unprotected contact needs a due time to classify")
    return due


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """One rule's answer for one instant, for `ritm contact explain` and the bot's /contact."""

    rule: str  # period | window | quiet_hours | silence | cap | service
    ok: bool
    detail: str


def explain_at(
    t: datetime,
    *,
    priority: str,
    channel: str,
    tz: ZoneInfo,
    window: LocalWindow,
    quiet: QuietHours,
    silences: Sequence[SilenceWindow],
    caps: Sequence[Cap],
    counted: Sequence[Counted],
    start: datetime | None = None,
    deadline: datetime | None = None,
) -> list[RuleVerdict]:
    """Every rule's verdict at instant `t`: a message may go at `t` iff all of them are ok."""
    verdicts: list[RuleVerdict] = []
    if start is not None or deadline is not None:
        inside = (start is None or start <= t) and (deadline is None or t < deadline)
        span = f"{iso_utc(start) or '…'} – {iso_utc(deadline) or '…'}"
        verdicts.append(RuleVerdict("period", inside, f"campaign runs {span}"))
    if priority == "service":
        detail = "service messages ignore windows, quiet hours, silences and caps"
        return [*verdicts, RuleVerdict("service", True, detail)]
    local = t.astimezone(tz)
    where = f"local time {local:%a %H:%M} in {tz.key}"
    verdicts.append(
        RuleVerdict(
            "window", in_window(t, tz, window), f"{where}; window {window.from_}–{window.to} {window.days}"
        )
    )
    quiet_text = "no quiet hours" if quiet_span(quiet) is None else f"quiet hours {quiet.from_}–{quiet.to}"
    verdicts.append(RuleVerdict("quiet_hours", not in_quiet(t, tz, quiet), f"{where}; {quiet_text}"))
    held = covering(blocking(silences, priority), t)
    verdicts.extend(
        RuleVerdict("silence", False, f"{w.reason} silence (blocks {w.blocks}) until {iso_utc(w.ends)}")
        for w in held
    )
    if not held:
        verdicts.append(RuleVerdict("silence", True, f"no silence window blocks {priority} messages now"))
    for cap in caps:
        if not applies(cap, priority, channel):
            continue
        near = sum(1 for m in counted if counts(cap, m) and abs(m.at - t) < cap.per)
        rule = f"at most {cap.max} {cap.scope} per {format_duration(cap.per)} on {cap.channel}"
        verdicts.append(
            RuleVerdict(
                "cap",
                not violates(cap, t, counted),
                f"{rule}; {near} counted within {format_duration(cap.per)} of this instant",
            )
        )
    return verdicts
