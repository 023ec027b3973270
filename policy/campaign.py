"""The campaign file's schema (SPEC §6): TOML text in, a validated frozen `Campaign` out.

Validation needs the policy (named segments, the default timezone for naive datetimes, reminder
bounds), so `parse_campaign` passes it to pydantic as validation context. Every error becomes one
sentence naming the key, e.g. `campaign.toml: variants.1.weight: must be > 0` (list indices count
from 0, as in policy-file errors). Templates are not looked up here: this layer does no I/O, the
renderer checks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from policy.config import (
    CHANNELS,
    Channel,
    Duration,
    LocalWindow,
    Policy,
    PolicyError,
    format_validation_error,
    load_toml,
)
from policy.dsl import DslError
from policy.segment_names import resolve
from policy.series import SERIES_KEYS, Occurrence, Series, SeriesError, build_series
from policy.timeutil import TimeParseError, parse_instant, zone
from policy.triggers import MAX_STEPS, TriggerError, parse_reentry, parse_trigger

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")  # a directory under the template roots
LINK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # usable as `links.NAME` in a template
CASCADE_AFTER = (timedelta(hours=12), timedelta(hours=24))  # SPEC §4: the follow-up goes 12–24 h later
LOCALE = re.compile(r"[a-z]{2,3}")  # a language code: the base templates are written in it
TELEGRAM_CONNECT = "telegram_connect"  # `links.telegram_connect`: the contact's deep link, not a campaign's
CONNECT_LINK = "connect_link"  # a Telegram step's fallback: email the connect link to those without a chat
MAX_CASCADE_STEPS = 2
ALL = "all"


class CampaignError(PolicyError):
    """The campaign file is invalid; the message is one sentence naming the key."""


def _fail(loc: tuple[str | int, ...], message: str, value: Any) -> None:
    """Raise a validation error at `loc` below the current field (pydantic prefixes the field's path)."""
    error = PydanticCustomError("campaign", message.replace("{", "(").replace("}", ")"))
    raise ValidationError.from_exception_data(
        "campaign", [InitErrorDetails(type=error, loc=loc, input=value)]
    )


def _policy(info: ValidationInfo) -> Policy:
    policy = (info.context or {}).get("policy")
    if not isinstance(policy, Policy):
        raise TypeError("campaigns are validated with the policy: use parse_campaign()")
    return policy


def _instant(value: Any, info: ValidationInfo) -> datetime:
    """An aware UTC instant; naive text or TOML local datetimes are read in the policy's zone."""
    return _instant_in(value, _policy(info))


def _instant_in(value: Any, policy: Policy) -> datetime:
    tz = zone(policy.default_timezone)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError("expected a date and time such as '2026-11-25T09:00:00+03:00'")
    try:
        return parse_instant(value, tz)
    except TimeParseError as exc:
        raise ValueError(str(exc)) from exc


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}h"


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def _https(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"must be an https URL, got {value!r}")
    return value


def _dsl(value: str, info: ValidationInfo) -> str:
    """Check a segment DSL expression: its syntax, and that every tag, segment and RFM name exists."""
    try:
        resolve(value, _policy(info))
    except DslError as exc:
        raise ValueError(str(exc)) from exc
    return value


Name = Annotated[str, AfterValidator(_matching(NAME, "a name: use letters, digits, '_' or '-'"))]
TemplateName = Annotated[
    str, AfterValidator(_matching(TEMPLATE_NAME, "a template name: use letters, digits, '_' or '-'"))
]
HttpsUrl = Annotated[str, AfterValidator(_https)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
DslText = Annotated[str, AfterValidator(_dsl)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Variant(_Strict):
    """An A/B arm: contacts are split by weight (file order); may replace the subject or template."""

    name: Name
    """The arm's name in stats and the dry run (`A`, `B`, …)."""
    weight: float
    """Share of the eligible contacts this arm gets; the weights of all arms add up to 1."""
    subject: str | None = None
    """Jinja2 subject replacing the version's for this arm."""
    template: TemplateName | None = None
    """A template replacing the version's for this arm."""

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be > 0")
        return value


class Version(_Strict):
    """Content for one segment: a template NAME, or inline Jinja2 sources (subject, text, html, telegram).

    `subject` may also accompany `template`, where it replaces the template's subject.
    """

    segment: str
    """`all`, a policy segment or an RFM segment: the first version whose segment holds the contact wins."""
    name: Name
    """The version's name in stats and previews (default: the segment)."""
    template: TemplateName | None = None
    """A template directory under `templates/` or `RITM_TEMPLATES` (see docs/templates.md)."""
    subject: str | None = None
    """Inline Jinja2 subject (also replaces a template's subject)."""
    text: str | None = None
    """Inline Jinja2 plain-text body (email); required without `template`."""
    html: str | None = None
    """Inline Jinja2 HTML body (email); optional."""
    telegram: str | None = None
    """Inline Jinja2 Telegram message (HTML subset); default: the text body."""
    vk: str | None = None
    """Inline Jinja2 VK message (plain text, `button(label, url)` adds a link button); default: the text."""

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and isinstance(data.get("segment"), str):
            return {**data, "name": data["segment"]}
        return data

    @field_validator("segment")
    @classmethod
    def _segment(cls, value: str, info: ValidationInfo) -> str:
        policy = _policy(info)
        if (
            value != ALL
            and value not in policy.segments
            and value not in {r.name for r in policy.rfm.segments}
        ):
            raise ValueError(f"{value!r} is not 'all', a policy segment or an RFM segment")
        return value

    @model_validator(mode="after")
    def _content(self) -> Version:
        inline = [k for k in ("text", "html", "telegram", "vk") if getattr(self, k) is not None]
        if self.template is not None and inline:
            _fail((inline[0],), "give either template or inline sources, not both", getattr(self, inline[0]))
        if self.template is None and (self.subject is None or self.text is None):
            missing = "subject" if self.subject is None else "text"
            _fail((missing,), "required unless the version names a template", None)
        return self


class CascadeStep(_Strict):
    """A follow-up: `after` the previous step, on another channel, unless the DSL condition holds."""

    channel: Channel
    """The step's channel; it must differ from the step before's."""
    after: Duration
    """Delay after the previous step, between 12h and 24h."""
    unless: DslText | None = None
    """Segment DSL: contacts matching it at the step's time are skipped (opened, clicked, registered…)."""
    template: TemplateName | None = None
    """The step's template; default: the version's template, rendered for this channel."""
    fallback: str | None = None
    """`"connect_link"` (a telegram step only): a contact without a chat who never refused Telegram
    gets an email with their Telegram connect link instead of being skipped."""
    fallback_template: TemplateName | None = None
    """The template of that email; default `telegram_connect`."""

    @field_validator("fallback")
    @classmethod
    def _fallback(cls, value: str | None) -> str | None:
        if value is not None and value != CONNECT_LINK:
            raise ValueError(f'unknown fallback {value!r}: the only one is "{CONNECT_LINK}"')
        return value

    @model_validator(mode="after")
    def _fallback_channel(self) -> CascadeStep:
        if self.fallback is not None and self.channel != "telegram":
            _fail(
                ("fallback",),
                f"{CONNECT_LINK} applies only to a telegram step: it emails the Telegram connect link"
                " to contacts without a bound chat",
                self.fallback,
            )
        if self.fallback_template is not None and self.fallback is None:
            _fail(("fallback_template",), f'needs fallback = "{CONNECT_LINK}"', self.fallback_template)
        return self

    @field_validator("after")
    @classmethod
    def _after(cls, value: timedelta) -> timedelta:
        low, high = CASCADE_AFTER
        if not low <= value <= high:
            raise ValueError(f"must be between {_hours(low)} and {_hours(high)}")
        return value


class TriggerStep(_Strict):
    """A step of a trigger's scenario: `after` the step before (the first: after the start)."""

    after: Duration = timedelta(0)
    """The delay after the step before (the first step: after the trigger fired)."""
    channel: str
    """The channel of this step: email, telegram, sms or vk (with consent, as always)."""
    template: TemplateName
    """The template this step renders on its channel."""
    unless: DslText | None = None
    """A DSL condition checked when the step is due: if it holds, the step is cancelled."""

    @field_validator("after")
    @classmethod
    def _after(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"unknown channel {value!r}: the policy allows {', '.join(CHANNELS)}")
        return value


# A trigger file names its channels and templates in its steps; these keys get defaults from them.
_TRIGGER_DEFAULTS = {
    "priority": "scenario",
    "audience": ALL,
    "start": "1970-01-01T00:00:00Z",  # live from the moment it is planned
    "deadline": "2199-12-31T00:00:00Z",
}
_NOT_WITH_TRIGGER = ("cascade", "event", "variants", "holdout")


class Event(_Strict):
    """A webinar or live stream: reminders at `reminders` before `starts_at`, calendar links, ICS."""

    title: str
    """The event's title (calendar entries, templates: `event.title`)."""
    starts_at: Instant
    """When it starts; after the campaign's start."""
    duration: Duration = timedelta(hours=1)
    """How long it lasts (calendar entries, `event.ends_at`)."""
    url: HttpsUrl
    """The https join link (`event.url`, tracked)."""
    reminders: list[Duration]
    """Offsets before `starts_at` at which registered contacts are reminded; default: the policy's
    `[reminders] offsets`, each within its earliest/latest bounds."""
    reminder_template: TemplateName | None = None
    """The reminders' template; default: the version's template."""

    @model_validator(mode="before")
    @classmethod
    def _default_reminders(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and "reminders" not in data:
            return {**data, "reminders": list(_policy(info).reminders.offsets)}
        return data

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be > 0")
        return value

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: list[timedelta], info: ValidationInfo) -> list[timedelta]:
        rules = _policy(info).reminders
        if len(value) > rules.max_per_event:
            raise ValueError(f"at most {rules.max_per_event} reminders per event, got {len(value)}")
        if len(set(value)) != len(value):
            raise ValueError("reminder offsets must be distinct")
        for i, offset in enumerate(value):
            if not rules.latest <= offset <= rules.earliest:
                bounds = f"{_hours(rules.latest)} and {_hours(rules.earliest)}"
                _fail((i,), f"must be between {bounds} before the start", _hours(offset))
        return sorted(value, reverse=True)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.duration


class Campaign(_Strict):
    """One campaign file, validated against the policy (see the SPEC §6 example for every key)."""

    id: Annotated[str, AfterValidator(_matching(SLUG, "an id: use lower-case letters, digits, '_' or '-'"))]
    """The campaign's id: lower-case letters, digits, `_` or `-`; adding a file with a known id changes it."""
    name: str
    """A human name (approval cards, lists)."""
    priority: Literal["service", "scenario", "mass"]
    """`service` ignores caps, silences and quiet hours (SMS keeps quiet hours); `mass` needs four-eyes
    approval."""
    urgent: bool = False
    """A service campaign whose SMS may go out during quiet hours too (an access code, a moved stream)."""
    channels: list[str]
    """Channels in order: each contact gets the message on the first one they are reachable on."""
    audience: DslText
    """Who it is for, in the segment DSL (`all`, `tag:funnel within 7d AND has:email`, …)."""
    protect: list[str] | None = None
    """Protected segments excluded from a mass send; default: the policy's `[protect] mass`. Dropping one
    is shown in the dry run and needs approval."""
    start: Instant
    """Not before this instant (ISO-8601; without an offset, the policy's timezone)."""
    deadline: Instant
    """No message after this instant; a contact with no allowed time before it is excluded."""
    windows: Literal["policy"] | LocalWindow = "policy"
    """`"policy"` (each contact's segment window from the policy) or one local window for everyone."""
    holdout: float = 0.0
    """Share of the eligible kept as a control group (0–0.5) to measure uplift."""
    variants: list[Variant] = Field(default_factory=list)
    """Optional A/B arms (see `[[variants]]`)."""
    versions: list[Version]
    """Content per segment, first match wins; the last is usually `segment = "all"`."""
    links: dict[str, str] = Field(default_factory=dict)
    """The only https URLs click tracking may redirect to; templates use them as `links.NAME`."""
    cascade: list[CascadeStep] = Field(default_factory=list)
    """Follow-up steps on other channels (at most two)."""
    event: Event | None = None
    """A webinar or live stream: reminders, calendar links and an ICS file."""
    trigger: str | None = None
    """A scenario that starts for each contact on its own: `event:TYPE`, `tag:NAME`,
    `enter:segment:NAME` or `date:FIELD` (SPEC §12.4)."""
    until: str | None = None
    """A series: its last date. A trigger: its stop condition (DSL), read since the run started and
    checked before every step (`until = "order:paid"`)."""
    reentry: str = "never"
    """When a contact may start a trigger's scenario again: `never` or `after D`."""
    steps: list[TriggerStep] = Field(default_factory=list)
    """A trigger's steps: `after`, `channel`, `template`, optional `unless`."""
    locale: Annotated[str, AfterValidator(_matching(LOCALE, "a language code such as ru or en"))] = "ru"
    """The language of the base templates; a contact whose locale has a variant (`subject.en.j2`…) gets it."""
    source: str = Field(default="", exclude=True, repr=False)
    # A series (the `schedule` key and its bounds) and the occurrence this campaign stands for; set by
    # `_series_keys` only, never read from the file.
    series: SkipValidation[Series | None] = Field(default=None, exclude=True, repr=False)
    occurrence: SkipValidation[Occurrence | None] = Field(default=None, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _series(cls, data: Any, info: ValidationInfo) -> Any:
        return _series_keys(data, _policy(info)) if isinstance(data, dict) else data

    @model_validator(mode="before")
    @classmethod
    def _trigger_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "trigger" not in data:
            return data
        steps = data.get("steps")
        filled = {**_TRIGGER_DEFAULTS, **data}
        if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
            channels = [s["channel"] for s in steps if s.get("channel") in CHANNELS]
            filled.setdefault("channels", list(dict.fromkeys(channels)))
            first = steps[0].get("template")
            if isinstance(first, str):
                filled.setdefault("versions", [{"segment": ALL, "template": first}])
        return filled

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                parse_trigger(value, _policy(info))
            except TriggerError as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("until")
    @classmethod
    def _until(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _dsl(value, info)

    @field_validator("reentry")
    @classmethod
    def _reentry(cls, value: str) -> str:
        try:
            parse_reentry(value)
        except TriggerError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if value not in ("service", "scenario", "mass"):
            raise ValueError(f"must be service, scenario or mass, got {value!r}")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one channel")
        for i, channel in enumerate(value):
            if channel not in CHANNELS:
                _fail((i,), f"unknown channel {channel!r}: use {', '.join(CHANNELS)}", channel)
            if channel in value[:i]:
                _fail((i,), f"channel {channel!r} is listed twice", channel)
        return value

    @field_validator("protect")
    @classmethod
    def _protect(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        segments = _policy(info).segments
        for i, name in enumerate(value or ()):
            if name not in segments:
                _fail((i,), f"{name!r} is not a segment of the policy", name)
        return value

    @field_validator("windows", mode="wrap")
    @classmethod
    def _windows(cls, value: Any, handler: Any) -> Literal["policy"] | LocalWindow:
        # Validated by hand: a plain union would report both branches' errors under odd names.
        if value == "policy" or isinstance(value, LocalWindow):
            return value
        if isinstance(value, dict):
            return LocalWindow.model_validate(value)
        raise ValueError(
            'expected "policy" or a table such as {from = "10:00", to = "19:00", days = "mon-fri"}'
        )

    @field_validator("holdout")
    @classmethod
    def _holdout(cls, value: float) -> float:
        if not 0 <= value <= 0.5:
            raise ValueError(f"must be between 0 and 0.5, got {value}")
        return value

    @field_validator("variants")
    @classmethod
    def _variants(cls, value: list[Variant]) -> list[Variant]:
        for i, variant in enumerate(value):
            if variant.name in [v.name for v in value[:i]]:
                _fail((i, "name"), f"variant {variant.name!r} is defined twice", variant.name)
        total = sum(v.weight for v in value)
        if value and abs(total - 1) > 1e-6:
            raise ValueError(f"weights must add up to 1, they add up to {total:g}")
        return value

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: list[Version]) -> list[Version]:
        if not value:
            raise ValueError("give at least one version")
        for i, version in enumerate(value):
            if i and value[i - 1].segment == ALL:
                _fail(
                    (i, "segment"), 'a version after the one for "all" would never be used', version.segment
                )
            if version.name in [v.name for v in value[:i]]:
                _fail((i, "name"), f"version name {version.name!r} is used twice", version.name)
        return value

    @field_validator("links")
    @classmethod
    def _links(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not LINK_NAME.fullmatch(name):
                _fail((name,), "a link name is a letter then letters, digits or '_'", name)
            if name == TELEGRAM_CONNECT:
                _fail(
                    (name,), "is each contact's own Telegram link: name the campaign's link otherwise", name
                )
            try:
                _https(url)
            except ValueError as exc:
                _fail((name,), str(exc), url)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        if self.deadline <= self.start:
            _fail(("deadline",), "must be after start", self.deadline.isoformat())
        if len(self.cascade) > MAX_CASCADE_STEPS:
            _fail(("cascade",), f"at most {MAX_CASCADE_STEPS} follow-up steps", len(self.cascade))
        previous = set(self.channels)
        for i, step in enumerate(self.cascade):
            if step.channel in previous:
                _fail(("cascade", i, "channel"), "must differ from the step before's channel", step.channel)
            previous = {step.channel}
        self._trigger_keys()
        if self.event is not None and self.event.starts_at <= self.start:
            _fail(
                ("event", "starts_at"), "must be after the campaign start", self.event.starts_at.isoformat()
            )
        return self

    @model_validator(mode="after")
    def _sms_rules(self, info: ValidationInfo) -> Campaign:
        if self.urgent and self.priority != "service":
            _fail(("urgent",), "only a service campaign can be urgent", self.urgent)
        allowed = _policy(info).channels.sms.priorities
        uses = [*self.channels, *(s.channel for s in self.cascade), *(s.channel for s in self.steps)]
        if "sms" in uses and self.priority not in allowed:
            _fail(
                ("priority",),
                f"[channels.sms] priorities allow SMS only for {', '.join(allowed) or 'no campaign'}:"
                f" a {self.priority} campaign cannot use it",
                self.priority,
            )
        return self

    def _trigger_keys(self) -> None:
        given = self.model_fields_set
        if self.trigger is None:
            for key in ("until", "steps"):
                if key in given:
                    _fail((key,), "only a trigger campaign has this key: add trigger = ...", None)
            if "reentry" in given:
                _fail(("reentry",), "only a trigger campaign has this key: add trigger = ...", self.reentry)
            return
        if self.series is not None:
            _fail(("schedule",), "a trigger starts on its own: it cannot have a schedule", None)
        if not self.steps:
            _fail(("steps",), "a trigger needs at least one [[steps]]", None)
        if len(self.steps) > MAX_STEPS:
            _fail(("steps",), f"at most {MAX_STEPS} steps", len(self.steps))
        for key in _NOT_WITH_TRIGGER:
            if key in given:
                _fail((key,), "a trigger campaign cannot have this key (its steps are its scenario)", None)
        if self.trigger.startswith("date:") and parse_reentry(self.reentry) is not None:
            _fail(("reentry",), "a date trigger starts once a year: leave reentry out", self.reentry)

    @property
    def requires_approval(self) -> bool:
        """Mass campaigns need an approver who is not the author (four-eyes)."""
        return self.priority == "mass"

    def effective_protect(self, policy: Policy) -> list[str]:
        """The protected segments this campaign excludes: its own list, else the policy's."""
        return list(self.protect) if self.protect is not None else list(policy.protect.mass)

    def widened_protect(self, policy: Policy) -> list[str]:
        """Policy-protected segments this campaign drops: shown in the dry run, approval needed."""
        if self.priority != "mass":
            return []
        kept = set(self.effective_protect(policy))
        return [name for name in policy.protect.mass if name not in kept]

    def version(self, name: str) -> Version:
        for version in self.versions:
            if version.name == name:
                return version
        raise KeyError(f"campaign {self.id} has no version {name!r}")

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(f"campaign {self.id} has no variant {name!r}")

    def template_names(self) -> list[str]:
        """Every named template the campaign may render, in first-use order."""
        names = [v.template for v in self.versions]
        names += [v.template for v in self.variants]
        names += [s.template for s in self.cascade]
        names += [s.template for s in self.steps]
        names += [s.fallback_template for s in self.cascade]
        if self.event is not None:
            names.append(self.event.reminder_template)
        return list(dict.fromkeys(n for n in names if n))


def _series_keys(data: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A series is validated as its first occurrence: `start` and `deadline` come from its schedule."""
    for key in ("series", "occurrence"):
        if key in data:
            _fail((key,), "unknown key", data[key])
    if "schedule" not in data:
        stray = next((k for k in ("run_window", "count", "skip") if k in data), None)
        if stray is not None:
            _fail((stray,), "only a series has this key: give its schedule too", data[stray])
        return data
    if "deadline" in data:
        _fail(("deadline",), "a series gives run_window instead of deadline", data["deadline"])
    if "start" not in data:
        _fail(("start",), "a series needs start: its schedule runs from there", None)
    try:
        anchor = _instant_in(data["start"], policy)
        series = build_series(data, anchor, policy.default_timezone)
    except SeriesError as exc:
        loc = tuple(int(p) if p.isdigit() else p for p in exc.key.split("."))
        _fail(loc, str(exc), data.get(exc.key))
        raise
    except ValueError as exc:
        _fail(("start",), str(exc), data["start"])
        raise
    first = series.first()
    assert first is not None  # build_series refuses a series without one
    rest = {k: v for k, v in data.items() if k not in SERIES_KEYS}
    deadline = first.start + series.run_window
    return {**rest, "start": first.start, "deadline": deadline, "series": series, "occurrence": first}


def parse_campaign(text: str, source: str, policy: Policy) -> Campaign:
    """Parse and validate a campaign file's text; raise `CampaignError` with one clear sentence."""
    data = load_toml(text, source, CampaignError)
    if "source" in data:
        raise CampaignError(f"{source}: source: unknown key")
    try:
        campaign = Campaign.model_validate(data, context={"policy": policy})
    except ValidationError as exc:
        raise CampaignError(format_validation_error(exc, source, text)) from exc
    return campaign.model_copy(update={"source": text})
