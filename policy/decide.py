"""One decision per contact and step (SPEC §4, §7, §12.1): `decide(situation, step, policy, now)`.

The planner, the dry run, cascade steps, event reminders, the send-time re-check and `contact explain`
all ask this one function, so they cannot disagree. A `Situation` is what storage knows of one
contact (reachability per channel, protected and window segments, cap segments, silences, counted
messages, …); a `Step` is what is being sent (a campaign's first send, a cascade step, a reminder, or
a claimed row re-checked at its send time). The answer is `Send`, `Defer` (only at send time: the
instant fell outside the window or into quiet hours) or `Exclude`, each carrying its reason.

Order (SPEC §4): no_address, no_consent, protected:<segment>, then the due-time search's own verdict
(no_window, silence, cap). Follow-ups first honour their stop condition (`unless`, `attended`). At send
time the silences and caps are checked at `now` only (a message inside a silence or over a cap is
suppressed), and a message pushed outside its window is deferred to its next slot.

`Decider` is the same function for many situations of one step: what depends only on the step is
worked out once, and a contact without silences or counted messages shares its due time with every
contact of the same (zone, window segment, cap segments, channel) — most of a base falls in a handful
of such groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from policy.assign import Assigner
from policy.caps import Counted, binding_cap
from policy.config import Cap, LocalWindow, Policy
from policy.due import NO_WINDOW, Due, Excluded, due_time
from policy.rfm import NO_ACTIVITY
from policy.silence import SilenceInputs, SilenceWindow, blocks_priority, silences_from
from policy.sms import keeps_quiet_hours
from policy.timeutil import next_local_day, zone
from policy.windows import first_open, in_quiet, in_window

StepKind = Literal["first", "cascade", "reminder", "trigger", "send_time"]
Priority = Literal["service", "scenario", "mass"]

PREFERENCE = "pref:"  # a cap "segment" that is the subscriber's own frequency choice (fields.frequency)
# Reminders ignore the per-segment send windows (they are bound to the event), not quiet hours.
WHOLE_DAY = LocalWindow.model_validate({"from": "00:00", "to": "00:00"})
# How far ahead a row without a deadline is deferred to its next slot at send time.
REDEFER_HORIZON = timedelta(days=7)
MISSING = "contact missing"
OUTSIDE_WINDOW = "outside window"
QUIET_HOURS = "quiet hours"
DEADLINE = "deadline"


@dataclass(frozen=True, slots=True)
class Situation:
    """One contact's facts as storage reads them, for one step's channels (in the step's order)."""

    contact_id: str
    timezone: str | None
    has_address: tuple[bool, ...]
    reachable: tuple[bool, ...]  # address, consent granted, not suppressed
    protected_by: str | None = None  # the first protected segment of the step's list the contact is in
    window_segment: str | None = None  # the first policy window segment the contact is in
    cap_segments: tuple[str, ...] = ()  # segment caps (and `pref:` frequency choices) that apply
    silences: SilenceInputs | None = None
    counted: tuple[Counted, ...] = ()
    version_index: int | None = None  # the first version segment matched (a first send)
    rfm_segment: str = NO_ACTIVITY
    stopped: str | None = None  # a follow-up's stop condition that happened: "unless", "attended"
    previous_sent: datetime | None = None  # a cascade step: when the previous step went out
    inherited: tuple[str | None, str | None] | None = None  # (version, variant) of the first send
    exists: bool = True
    declined: frozenset[str] = frozenset()  # channels whose consent the contact revoked (fallbacks ask)

    @classmethod
    def gone(cls, contact_id: str) -> Situation:
        """A contact that storage no longer has (a row planned for them is still there)."""
        return cls(contact_id, None, (), (), exists=False)


@dataclass(frozen=True, slots=True)
class Step:
    """What is being sent; build it with `policy.steps`."""

    campaign_id: str
    kind: StepKind
    priority: Priority
    channels: tuple[str, ...]
    start: datetime
    deadline: datetime | None  # None only at send time for a row without one
    windows: LocalWindow | Literal["policy"] | None = "policy"  # None: the whole day (reminders)
    protect: tuple[str, ...] = ()  # the order decides which one is reported
    after: timedelta = timedelta(0)  # a cascade step: the delay after the previous step
    holdout: float = 0.0
    versions: tuple[str, ...] = ()  # names, indexed by Situation.version_index
    variants: tuple[tuple[str, float], ...] = ()
    # `connect_link` (a Telegram cascade step; channels are (telegram, email)): a contact without a
    # chat who never refused Telegram gets the email carrying their connect link instead.
    fallback: str | None = None
    urgent: bool = False  # a service campaign whose SMS may go out during quiet hours


@dataclass(frozen=True, slots=True)
class Send:
    """Send on `channel` at `due`; a holdout contact's row is kept as control and never sent."""

    due: datetime
    channel: str
    version: str | None = None
    variant: str | None = None
    holdout: bool = False


@dataclass(frozen=True, slots=True)
class Defer:
    """Not now: the row waits until `until` (send time only)."""

    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Exclude:
    """No message; `reason` is one of SPEC §4's exclusion reasons or a send-time one."""

    reason: str


Decision = Send | Defer | Exclude
NO_ADDRESS = Exclude("no_address")
NO_CONSENT = Exclude("no_consent")


def decide(situation: Situation, step: Step, policy: Policy, now: datetime) -> Decision:
    """The one decision for one contact and one step at `now`."""
    return Decider(step, policy, now).decide(situation)


def caps_for(policy: Policy, segments: tuple[str, ...]) -> list[Cap]:
    """The global caps plus those of every cap segment (and frequency choice) the contact is in."""
    caps = list(policy.caps)
    for name in segments:
        if name.startswith(PREFERENCE):
            caps.extend(policy.frequency_caps.get(name.removeprefix(PREFERENCE), ()))
        else:
            caps.extend(policy.segment_caps.get(name, ()))
    return caps


class Decider:
    """`decide` for many situations of one step at one instant (see the module docstring)."""

    def __init__(self, step: Step, policy: Policy, now: datetime) -> None:
        self.step = step
        self.policy = policy
        self.now = now
        self._default_tz = zone(policy.default_timezone)
        self._zones: dict[str | None, ZoneInfo] = {}
        self._caps: dict[tuple[str, ...], list[Cap]] = {}
        self._shared: dict[tuple[object, ...], Due | Excluded] = {}
        self._protected: dict[str, Exclude] = {}
        self._reasons: dict[str, Exclude] = {}
        self._channels: dict[tuple[bool, ...], str | None] = {}
        self._assigner = Assigner(step.campaign_id, step.holdout, step.variants or None)

    # -- what a situation means under this step --------------------------------------------------
    def zone(self, s: Situation) -> ZoneInfo:
        tz = self._zones.get(s.timezone)
        if tz is None:
            tz = self._zones[s.timezone] = zone(s.timezone) if s.timezone else self._default_tz
        return tz

    def window(self, s: Situation) -> LocalWindow:
        windows = self.step.windows
        if windows is None:
            return WHOLE_DAY
        if isinstance(windows, LocalWindow):
            return windows
        if s.window_segment is not None:
            return self.policy.windows[s.window_segment]
        return self.policy.default_window()

    def caps(self, s: Situation) -> list[Cap]:
        caps = self._caps.get(s.cap_segments)
        if caps is None:
            caps = self._caps[s.cap_segments] = caps_for(self.policy, s.cap_segments)
        return caps

    def silences(self, s: Situation) -> list[SilenceWindow]:
        return silences_from(self.policy.silence, s.silences) if s.silences is not None else []

    def channel(self, s: Situation) -> str | None:
        """The first of the step's channels the contact is reachable on (see `Step.fallback`)."""
        if self.step.fallback is not None:  # depends on more than reachability: not remembered
            (chat, _), (telegram, email) = s.has_address, s.reachable
            if telegram:
                return self.step.channels[0]
            invitable = not chat and self.step.channels[0] not in s.declined
            return self.step.channels[1] if invitable and email else None
        try:
            return self._channels[s.reachable]
        except (KeyError, TypeError):  # not seen yet, or a list rather than a tuple
            found = next((ch for ch, ok in zip(self.step.channels, s.reachable, strict=True) if ok), None)
            if isinstance(s.reachable, tuple):
                self._channels[s.reachable] = found
            return found

    # -- the decision ----------------------------------------------------------------------------
    def decide(self, s: Situation) -> Decision:
        step = self.step
        if not s.exists:
            return self._exclude(MISSING)
        if s.stopped is not None and step.kind in ("cascade", "reminder", "trigger"):
            return self._exclude(s.stopped)
        if not any(s.has_address):
            return NO_ADDRESS
        channel = self.channel(s)
        if channel is None:
            return NO_CONSENT
        if step.kind == "send_time":
            return self._at_send_time(s, channel)
        if s.protected_by is not None and step.priority != "service":
            return self._protected_by(s.protected_by)
        due = self._due(s, channel)
        if isinstance(due, Excluded):
            return self._exclude(due.reason)
        return self._send(s, channel, due.at)

    def _due(self, s: Situation, channel: str) -> Due | Excluded:
        step = self.step
        # Without silences or counted messages a first send's due time depends only on this key.
        # (A trigger step's start is its own too: one Decider per run and step.)
        plain = step.kind in ("first", "trigger") and s.silences is None and not s.counted
        key = (s.timezone, s.window_segment, s.cap_segments, channel)
        if plain:
            shared = self._shared.get(key)
            if shared is not None:
                return shared
        tz = self.zone(s)
        start = step.start
        if step.kind == "cascade" and s.previous_sent is not None:
            # Never on the local day of the previous step: one content, one channel per local day.
            start = max(s.previous_sent + step.after, next_local_day(s.previous_sent, tz))
        if self._quiet_service(channel):
            deadline = step.deadline if step.deadline is not None else self.now + REDEFER_HORIZON
            first = first_open(tz, WHOLE_DAY, self.policy.quiet_hours, max(start, self.now), deadline)
            due: Due | Excluded = Due(first) if first is not None else Excluded(NO_WINDOW)
            if plain:
                self._shared[key] = due
            return due
        due = due_time(
            priority=step.priority,
            channel=channel,
            tz=tz,
            window=self.window(s),
            quiet=self.policy.quiet_hours,
            silences=self.silences(s),
            caps=self.caps(s),
            counted=s.counted,
            start=start,
            deadline=step.deadline if step.deadline is not None else self.now + REDEFER_HORIZON,
            at=self.now,
        )
        if plain:
            self._shared[key] = due
        return due

    def _send(self, s: Situation, channel: str, due: datetime) -> Send:
        step = self.step
        if s.inherited is not None:
            version, variant = s.inherited
            return Send(due, channel, version, variant, self.holdout(s.contact_id))
        version = step.versions[s.version_index] if s.version_index is not None else None
        held, variant = self.assign(s.contact_id)
        return Send(due, channel, version, variant, held)

    # -- what depends on the contact's id alone ---------------------------------------------------
    # Two situations equal in all but the id (and without inherited assignment) get the same decision
    # but for these two hashes: a caller deciding many alike contacts decides one and asks these per id.
    def holdout(self, contact_id: str) -> bool:
        """Whether the contact is kept back as this step's control group."""
        return self._assigner.holdout(contact_id)

    def variant(self, contact_id: str) -> str | None:
        """The contact's A/B variant under this step (None without variants)."""
        return self._assigner.variant(contact_id)

    def assign(self, contact_id: str) -> tuple[bool, str | None]:
        """`holdout` and `variant` of one contact in one call."""
        return self._assigner.assign(contact_id)

    def _at_send_time(self, s: Situation, channel: str) -> Decision:
        """What was true at planning may not be true now (SPEC §7)."""
        step, now, policy = self.step, self.now, self.policy
        if step.priority == "service":
            if self._quiet_service(channel) and in_quiet(now, self.zone(s), policy.quiet_hours):
                deadline = step.deadline if step.deadline is not None else now + REDEFER_HORIZON
                opens = first_open(self.zone(s), WHOLE_DAY, policy.quiet_hours, now, deadline)
                return Defer(opens, QUIET_HOURS) if opens is not None else self._exclude(NO_WINDOW)
            return Send(now, channel)
        if step.deadline is not None and now >= step.deadline:
            return self._exclude(DEADLINE)
        if s.protected_by is not None:
            return self._protected_by(s.protected_by)
        if s.stopped is not None:
            return self._exclude(s.stopped)
        held = [w for w in self.silences(s) if blocks_priority(w, step.priority) and w.covers(now)]
        if held:
            return self._exclude(f"silence:{held[0].reason}")
        if binding_cap(self.caps(s), now, s.counted, step.priority, channel) is not None:
            return self._exclude("cap")
        tz, window = self.zone(s), self.window(s)
        if in_window(now, tz, window) and not in_quiet(now, tz, policy.quiet_hours):
            return Send(now, channel)
        # Silences and caps were checked at `now`; the next slot is a question of the window alone.
        later = due_time(
            priority=step.priority,
            channel=channel,
            tz=tz,
            window=window,
            quiet=policy.quiet_hours,
            silences=(),
            caps=(),
            counted=(),
            start=now,
            deadline=step.deadline if step.deadline is not None else now + REDEFER_HORIZON,
            at=now,
        )
        if isinstance(later, Due):
            return Defer(later.at, OUTSIDE_WINDOW)
        return self._exclude(later.reason)

    def _quiet_service(self, channel: str) -> bool:
        """A service message that still keeps quiet hours (a non-urgent SMS)."""
        return self.step.priority == "service" and keeps_quiet_hours("service", channel, self.step.urgent)

    def _exclude(self, reason: str) -> Exclude:
        found = self._reasons.get(reason)
        if found is None:
            found = self._reasons[reason] = Exclude(reason)
        return found

    def _protected_by(self, segment: str) -> Exclude:
        found = self._protected.get(segment)
        if found is None:
            found = self._protected[segment] = Exclude(f"protected:{segment}")
        return found
