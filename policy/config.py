"""The policy file's schema (SPEC §4): parsed from TOML text, validated with errors naming the key."""

from __future__ import annotations

import math
import re
import tomllib
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from policy.bounds import out_of_range
from policy.timeutil import TimeParseError, parse_duration, parse_hhmm, zone
from policy.toml_lines import key_lines, line_of

PRIORITIES = ("service", "scenario", "mass")
Channel = Literal["email", "telegram", "sms", "vk"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PolicyError(ValueError):
    """The policy (or a campaign) file is invalid; the message names the key."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a duration string such as '24h'")
    try:
        return parse_duration(value)
    except TimeParseError as exc:
        raise ValueError(str(exc)) from exc


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def parse_days(text: str) -> frozenset[int]:
    """`mon-sun`, `mon-fri`, `sat-sun` or a comma list (`mon,wed,fri`) → weekday numbers (Mon=0)."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAY_NAMES or last not in DAY_NAMES:
                raise ValueError(f"bad days {text!r}: use mon-sun, mon-fri, sat-sun or a list like mon,wed")
            start, end = DAY_NAMES.index(first), DAY_NAMES.index(last)
            span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
            days.update(span)
        elif part in DAY_NAMES:
            days.add(DAY_NAMES.index(part))
        else:
            raise ValueError(f"bad days {text!r}: use mon-sun, mon-fri, sat-sun or a list like mon,wed")
    return frozenset(days)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LocalWindow(_Strict):
    """A local-time window; `from > to` wraps midnight; the end is exclusive."""

    from_: str = Field(alias="from")
    """Local opening time, `HH:MM`."""
    to: str
    """Local closing time, `HH:MM` (exclusive; before `from` wraps midnight)."""
    days: str = "mon-sun"
    """Weekdays: `mon-sun`, `mon-fri`, `sat-sun` or a list such as `mon,wed,fri`."""

    @field_validator("from_", "to")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        try:
            parse_hhmm(value)
        except TimeParseError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @property
    def from_min(self) -> int:
        return parse_hhmm(self.from_)

    @property
    def to_min(self) -> int:
        return parse_hhmm(self.to)

    @property
    def weekdays(self) -> frozenset[int]:
        return parse_days(self.days)


class QuietHours(_Strict):
    from_: str = Field(default="21:00", alias="from")
    """Local time the quiet hours begin, `HH:MM`."""
    to: str = "08:00"
    """Local time they end (exclusive); `from` = `to` means no quiet hours."""

    @field_validator("from_", "to")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        try:
            parse_hhmm(value)
        except TimeParseError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def from_min(self) -> int:
        return parse_hhmm(self.from_)

    @property
    def to_min(self) -> int:
        return parse_hhmm(self.to)


class TagDef(_Strict):
    description: str
    """What the tag means (shown to the team)."""
    ttl: Duration | None = None
    """A tag set without an end expires this long after it was set."""
    activity: bool = False
    """The tag marks an activity (marathon, intensive): its end starts `after_activity` silence."""


class Cap(_Strict):
    max: int = Field(ge=0)
    """At most this many counted messages…"""
    per: Duration
    """…in any window of this length (`1d`, `7d`)."""
    channel: Literal[Channel, "any"] = "any"
    """The channel counted, or `any`."""
    scope: Literal["mass", "scenario", "nonservice"] = "mass"
    """Which priorities count: `mass`, `scenario` or `nonservice` (both)."""


class Protect(_Strict):
    mass: list[str] = Field(default_factory=lambda: ["pending_order", "in_activity", "new_in_funnel"])
    """Named segments every mass campaign excludes unless it says otherwise."""


class SilenceRules(_Strict):
    after_payment: Duration = timedelta(hours=24)
    """No mass message this long after a paid order."""
    after_activity: Duration = timedelta(hours=48)
    """No mass message this long after an activity tag ends."""
    after_offer_declined: Duration = timedelta(hours=72)
    """No mass message this long after an `offer_declined` event."""


class RfmRule(_Strict):
    name: str
    """The RFM segment's name (usable as `rfm:NAME` and in `[windows]`)."""
    r: tuple[int, int]
    """Inclusive range of R scores, e.g. `[4, 5]`."""
    f: tuple[int, int]
    """Inclusive range of F scores."""
    m: tuple[int, int] | None = None
    """Inclusive range of M scores (any when absent)."""


DEFAULT_RFM_RULES = [
    RfmRule(name="champions", r=(4, 5), f=(4, 5)),
    RfmRule(name="loyal", r=(3, 5), f=(3, 5)),
    RfmRule(name="new_customers", r=(4, 5), f=(1, 1)),
    RfmRule(name="potential_loyalists", r=(3, 5), f=(1, 2)),
    RfmRule(name="cant_lose", r=(1, 1), f=(4, 5)),
    RfmRule(name="at_risk", r=(1, 2), f=(3, 5)),
    RfmRule(name="hibernating", r=(2, 2), f=(1, 2)),
    RfmRule(name="lost", r=(1, 1), f=(1, 3)),
]


class RfmConfig(_Strict):
    period: Duration = timedelta(days=365)
    """The period frequency and monetary are counted over."""
    method: Literal["thresholds", "quantiles"] = "thresholds"
    """`thresholds` (the cut points below) or `quantiles` (20/40/60/80th percentiles of the base)."""
    recency_days: list[int] = Field(default_factory=lambda: [7, 30, 90, 180])
    """Four ascending day counts: R = 5 − how many of them the recency exceeds."""
    frequency: list[float] = Field(default_factory=lambda: [2.0, 4.0, 8.0, 16.0])
    """Four ascending cut points: F = 1 + how many the frequency reaches."""
    monetary: list[float] = Field(default_factory=lambda: [1000.0, 5000.0, 20000.0, 50000.0])
    """Four ascending cut points: M = 1 + how many the paid amount reaches."""
    segments: list[RfmRule] = Field(default_factory=lambda: list(DEFAULT_RFM_RULES))
    """Ordered rules; the first that matches names the contact's RFM segment."""

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _four_ascending(cls, value: list[float]) -> list[float]:
        if len(value) != 4 or list(value) != sorted(value):
            raise ValueError("expected four ascending cut points")
        return value


class Reminders(_Strict):
    offsets: list[Duration] = Field(default_factory=lambda: [timedelta(hours=h) for h in (48, 24, 2)])
    """Default reminder offsets before an event's start."""
    earliest: Duration = timedelta(hours=48)
    """No reminder earlier than this before the start."""
    latest: Duration = timedelta(hours=2)
    """No reminder later than this before the start."""
    max_per_event: int = 3
    """At most this many reminders per contact and event."""


class Money(_Strict):
    """`[money]`: the currency totals are kept in, and what one unit of each other currency is worth in
    it. An order in a currency without a rate is refused at import (a silent 1:1 would add tenge to
    roubles)."""

    currency: str = "RUB"
    """The currency totals are kept in (three letters)."""
    rates: dict[str, float] = Field(default_factory=dict)
    """What one unit of another currency is worth in `currency`, e.g. `{KZT = 0.19}`."""

    @field_validator("currency")
    @classmethod
    def _code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(f"expected a three-letter currency code such as RUB, got {value[:20]!r}")
        return value

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, float]) -> dict[str, float]:
        for code, rate in value.items():
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"expected three-letter currency codes such as KZT, got {code[:20]!r}")
            if not (math.isfinite(rate) and 0 < rate <= 1e9):
                raise ValueError(f"the rate of {code} must be a positive number, got {rate}")
        return value

    def to_base(self, amount: float, currency: str) -> float | None:
        """`amount` in the base currency, or None when the currency has no rate."""
        if currency == self.currency:
            return amount
        rate = self.rates.get(currency)
        return None if rate is None else round(amount * rate, 2)


class SmsChannel(_Strict):
    """`[channels.sms]`: who SMS is sent as, which priorities may use it and what a month may cost."""

    provider: Literal["smsru"] = "smsru"
    """The SMS gateway: `smsru` (SMS.ru's JSON API)."""
    sender: str = ""
    """The approved sender name (up to 11 Latin letters and digits); empty: the gateway's default."""
    priorities: list[Literal["service", "scenario", "mass"]] = ["service", "scenario"]
    """Priorities that may use SMS; mass SMS only when listed."""
    budget_per_month: float = Field(default=5000.0, ge=0)
    """What SMS may cost in a calendar month, in the `[money]` currency (a campaign over it fails its dry
    run)."""
    price_per_part: float = Field(default=4.0, ge=0)
    """What one SMS part costs, in the `[money]` currency (the gateway's price for the school's route)."""

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}", value):
            raise ValueError(f"a sender name is up to 11 Latin letters and digits, got {value[:20]!r}")
        return value


class Alerts(_Strict):
    """`[alerts]`: the over-mailing watch. Per segment × channel, the last `window` is compared with the
    `baseline_windows` before it; the approvers are told when a rate crosses its threshold."""

    enabled: bool = True
    """Whether the approvers are told at all."""
    window: Duration = timedelta(days=7)
    """The span watched (1d to 31d), compared with the same spans before it."""
    baseline_windows: int = Field(default=4, ge=1, le=26)
    """How many spans before it make the baseline."""
    unsubscribe_factor: float = Field(default=2.0, gt=1.0, le=100.0)
    """Alert when unsubscribes per 1 000 sends reach this many times the baseline's."""
    complaint_factor: float = Field(default=2.0, gt=1.0, le=100.0)
    """Alert when complaints per 1 000 sends reach this many times the baseline's."""
    open_rate_drop: float = Field(default=0.3, gt=0.0, lt=1.0)
    """Alert when the email open rate falls by this share of the baseline's (0.3 = by 30 %)."""
    min_sends: int = Field(default=200, ge=1)
    """A segment and channel with fewer sends in the span tell too little to alert on."""
    min_events: int = Field(default=3, ge=1)
    """Fewer unsubscribes (complaints) than this in the span never alert."""

    @field_validator("window")
    @classmethod
    def _window(cls, value: timedelta) -> timedelta:
        if not timedelta(days=1) <= value <= timedelta(days=31):
            raise ValueError("the window must be between 1d and 31d")
        return value


UnknownTags = Literal["skip", "reject_row", "add"]


class ImportRules(_Strict):
    """`[import]`: what an import does with a tag the dictionary lacks (SPEC §12.3)."""

    unknown_tags: UnknownTags = "skip"
    """A tag missing from `[tags]` in an import: `skip` it (warn), `reject_row` or `add` it."""


class VkChannel(_Strict):
    """`[channels.vk]`: the VK community whose messages we send (the token is a setting, RITM_VK__TOKEN)."""

    group_id: int | None = Field(default=None, gt=0)
    """The community's id; Callback API events for another community are refused."""
    rate_per_s: float = Field(default=20.0, gt=0, le=1000)
    """messages.send calls a second at most (VK allows a community token 20)."""


class Channels(_Strict):
    """`[channels.*]`: per-channel settings of the policy."""

    sms: SmsChannel = SmsChannel()
    """SMS (SPEC §12.5)."""
    vk: VkChannel = VkChannel()
    """VK community messages."""


class Policy(_Strict):
    default_timezone: str = "Europe/Moscow"
    """IANA zone of contacts without one, of naive times in files, and of the CLI's tables."""
    quiet_hours: QuietHours = QuietHours()
    """No mass or scenario message inside these local hours."""
    tags: dict[str, TagDef] = Field(default_factory=dict)
    """The tag dictionary: only these tags exist."""
    segments: dict[str, str] = Field(default_factory=dict)
    """Named segments in the DSL (`segment:NAME`)."""
    protect: Protect = Protect()
    """Segments protected from mass sends."""
    silence: SilenceRules = SilenceRules()
    """Silence windows derived from payments, activities and declined offers."""
    windows: dict[str, LocalWindow] = Field(default_factory=dict)
    """Local send windows by segment, in order: first segment holding the contact wins; else `default`."""
    caps: list[Cap] = Field(default_factory=list)
    """Frequency caps for everyone."""
    segment_caps: dict[str, list[Cap]] = Field(default_factory=dict)
    """Extra caps for the members of a named or RFM segment."""
    # Caps chosen by the subscriber ("how often" in the bot, stored as contacts.fields.frequency).
    frequency_caps: dict[str, list[Cap]] = Field(
        default_factory=lambda: {
            "weekly": [Cap(max=1, per=timedelta(days=7), channel="any", scope="nonservice")]
        }
    )
    """Caps a subscriber can choose in the bot ("how often"), by name."""
    rfm: RfmConfig = RfmConfig()
    """How R, F, M scores and RFM segments are computed."""
    reminders: Reminders = Reminders()
    """Bounds of event reminders."""
    alerts: Alerts = Alerts()
    """The over-mailing watch: when the approvers are told, per segment and channel."""
    import_: ImportRules = Field(default=ImportRules(), alias="import")
    """What imports do with unknown tags."""
    money: Money = Money()
    """The base currency and exchange rates."""
    channels: Channels = Channels()
    """Per-channel settings (`[channels.sms]`, `[channels.vk]`)."""

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zone(value)
        except TimeParseError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _names_resolve(self) -> Policy:
        known = set(self.segments) | {r.name for r in self.rfm.segments} | {"default", "all"}
        for name in self.protect.mass:
            if name not in self.segments:
                raise ValueError(f"protect.mass names unknown segment {name!r}")
        for name in self.windows:
            if name not in known:
                raise ValueError(f"windows.{name}: no segment or RFM segment has that name")
        for name in self.segment_caps:
            if name not in known:
                raise ValueError(f"segment_caps.{name}: no segment or RFM segment has that name")
        return self

    def all_caps(self) -> list[Cap]:
        """Every cap any contact may be under (the longest `per` bounds what planning must read)."""
        return [
            *self.caps,
            *(c for caps in self.segment_caps.values() for c in caps),
            *(c for caps in self.frequency_caps.values() for c in caps),
        ]

    def default_window(self) -> LocalWindow:
        return self.windows.get("default") or LocalWindow.model_validate({"from": "10:00", "to": "20:00"})


def format_validation_error(exc: ValidationError, source: str, text: str = "") -> str:
    """Every problem at once, each naming its key and line, e.g.
    `policy.toml: quiet_hours.from: bad time of day (line 4)`; several go one per line under a count."""
    lines = key_lines(text)
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        message = message.removeprefix("Value error, ")
        line = line_of(lines, error["loc"])
        problems.append(f"{key}: {message}" + (f" (line {line})" if line else ""))
    problems = list(dict.fromkeys(problems))
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    return f"{source}: {len(problems)} problems\n" + "\n".join(f"  {p}" for p in problems)


def load_toml(text: str, source: str, error: type[PolicyError]) -> dict[str, Any]:
    """The parsed TOML document, or `error` naming the file (and the key of an out-of-range value)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise error(f"{source}: not valid TOML: nested too deeply") from None
    found = out_of_range(data)
    if found is not None:
        raise error(f"{source}: {found[0]}: {found[1]}")
    return data


def parse_policy(text: str, source: str = "policy.toml") -> Policy:
    """Parse and validate the policy file's text; raise `PolicyError` with one clear sentence."""
    data = load_toml(text, source, PolicyError)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(format_validation_error(exc, source, text)) from exc
