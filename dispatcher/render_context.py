"""What a message template sees: the recipient, the campaign, links, the event in local time.

The dispatcher fills a `MessageContext` per recipient (tracked URLs included); `build_context` turns it
into the template variables below. Every template renders with `StrictUndefined`, so a misspelt name is
an error at the dry run, never a blank in a sent message.

    contact         id, name, first_name, email, region, interest, timezone, locale, rfm, fields
                    (`name` and `first_name` fall back to «друг» / "friend" when the name is empty;
                    `locale` is the message's language — the template variant chosen, see
                    `dispatcher.render`; `rfm` is the RFM segment name, `fields` the custom fields:
                    `contact.fields.city`)
    campaign        id, name
    version         the version's name (e.g. "warm")
    variant         the A/B arm's name, or None without variants
    subject         the rendered subject (the variant's subject wins over the version's)
    links           the campaign's `[links]` by name, as tracked URLs: `links.program`;
                    a name the campaign does not declare is an error, not an empty href;
                    `links.telegram_connect` is the contact's own Telegram deep link
                    (t.me/<bot>?start=<signed token>, untracked: it binds the chat that opens it)
    unsubscribe_url one-click unsubscribe page for this contact and channel
    school          the sender's display name
    event           None, or: title, url (join link), starts_at / ends_at (UTC), duration_minutes,
                    local_start («27 ноября в 19:00 (МСК)», "November 27 at 7:00 PM (GMT+3)" —
                    in the message's language and the contact's zone), local_date, local_time, tz_label,
                    google_url, outlook_url, ics_url (None when the dispatcher has no ICS endpoint)
    reminder        only in event reminders: offset (timedelta), hours, phrase («через 2 часа»)
    occurrence      only in a series: number (1, 2, …), date (ISO, the id's), local_date («8 декабря»)
    open_pixel_url  only in email html (may be empty: guard with `{% if open_pixel_url %}`)
    button(label, url)  only in Telegram: adds an inline button, prints nothing
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, format_timedelta

from dispatcher.calendar import google_calendar_url, outlook_calendar_url
from policy.campaign import TELEGRAM_CONNECT, Campaign, Event
from policy.series import Occurrence
from policy.timeutil import TimeParseError, zone

FALLBACK_NAME = {"ru": "друг", "en": "friend"}
MOSCOW = ZoneInfo("Europe/Moscow")
_LANGUAGE = re.compile(r"[a-z]{2,3}")


@dataclass(frozen=True)
class MessageContext:
    """One recipient as the dispatcher knows them, plus the URLs minted for this message.

    `links` maps the campaign's link names to tracked URLs; a name missing here falls back to the
    campaign's own URL (previews). `event_url` is the tracked join link (default: the event's url).
    """

    contact_id: str
    name: str = ""
    email: str | None = None
    region: str | None = None
    interest: str | None = None
    timezone: str | None = None
    locale: str = ""  # the contact's own; empty: the campaign's
    rfm_segment: str = "no_activity"
    fields: Mapping[str, Any] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)
    unsubscribe_url: str = ""
    open_pixel_url: str | None = None
    event_url: str | None = None
    ics_url: str | None = None
    default_timezone: str = "Europe/Moscow"
    school: str = "Онлайн-школа"
    telegram_connect: str | None = None  # None: no bot username known, or the id is too long for one


def sample_context(policy_default_tz: str) -> MessageContext:
    """A plausible fake recipient for dry-run previews and `Renderer.check`."""
    return MessageContext(
        contact_id="sample",
        name="Анна Смирнова",
        email="anna@example.com",
        region="Москва",
        interest="как вернуть учеников, которые перестали открывать письма",
        timezone=policy_default_tz,
        locale="ru",
        rfm_segment="loyal",
        fields={"course": "Email-маркетинг для школ"},
        unsubscribe_url="https://school.example/u/sample",
        open_pixel_url="https://school.example/o/sample.gif",
        ics_url="https://school.example/e/sample.ics",
        default_timezone=policy_default_tz,
        telegram_connect="https://t.me/school_bot?start=sample",
    )


class UnknownLink(Exception):
    """A template asked for a link the campaign does not declare (not a LookupError on purpose:
    Jinja would turn that into an undefined value; this must fail the render)."""

    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"unknown link {name!r}: the campaign's [links] declares {listed}")
        self.name = name


class NoConnectLink(Exception):
    """`links.telegram_connect` without a bot username to put in it (not a LookupError: see UnknownLink)."""


class Links:
    """`links.NAME` / `links["NAME"]` in templates: the tracked URL of a declared link, and the
    contact's `telegram_connect` deep link."""

    _label: ClassVar[str] = "links"

    def __init__(
        self, declared: Mapping[str, str], tracked: Mapping[str, str], connect: str | None = None
    ) -> None:
        self._urls = declared
        self._tracked = tracked  # read only for the links a template shows (tracked URLs are signed)
        self._connect = connect

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> str:
        if name == TELEGRAM_CONNECT:
            if self._connect is None:
                raise NoConnectLink(
                    "links.telegram_connect needs the bot's username: set RITM_BOT_USERNAME"
                    " (or RITM_BOT_TOKEN, and the bot must answer getMe at start)"
                )
            return self._connect
        if name not in self._urls:
            raise UnknownLink(name, sorted(self._urls))
        return self._tracked.get(name, self._urls[name])

    def __contains__(self, name: object) -> bool:
        return name in self._urls or (name == TELEGRAM_CONNECT and self._connect is not None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._urls)


class Fields(dict[str, Any]):
    """`contact.fields`: a dict that names itself in undefined-value errors."""

    _label: ClassVar[str] = "contact.fields"


@dataclass(frozen=True)
class ContactView:
    _label: ClassVar[str] = "contact"
    id: str
    name: str
    first_name: str
    email: str | None
    region: str | None
    interest: str | None
    timezone: str
    locale: str
    rfm: str
    fields: Fields


@dataclass(frozen=True)
class CampaignView:
    _label: ClassVar[str] = "campaign"
    id: str
    name: str


@dataclass(frozen=True)
class EventView:
    _label: ClassVar[str] = "event"
    title: str
    url: str
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    local_start: str
    local_date: str
    local_time: str
    tz_label: str
    google_url: str
    outlook_url: str
    ics_url: str | None


@dataclass(frozen=True)
class OccurrenceView:
    """`occurrence.number` (1, 2, …), `.date` (ISO) and `.local_date` («8 декабря», `December 8`)."""

    _label: ClassVar[str] = "occurrence"
    number: int
    date: str
    local_date: str


@dataclass(frozen=True)
class ReminderView:
    _label: ClassVar[str] = "reminder"
    offset: timedelta
    hours: int
    phrase: str


def language(locale: str | None, default: str = "ru") -> str:
    """`ru_RU`, `ru-RU`, `RU` → `ru`; `default` when the locale names no language."""
    lang = (locale or "").replace("-", "_").split("_")[0].strip().lower()
    return lang if _LANGUAGE.fullmatch(lang) else default


def contact_zone(ctx: MessageContext) -> ZoneInfo:
    try:
        return zone(ctx.timezone or ctx.default_timezone)
    except TimeParseError:
        return zone(ctx.default_timezone)


def tz_label(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    """«МСК», «МСК+7», «МСК-1» for Russian readers; `GMT+3`, `GMT+5:30` for English ones."""
    offset = moment.astimezone(tz).utcoffset() or timedelta(0)
    if lang == "ru":
        offset -= moment.astimezone(MOSCOW).utcoffset() or timedelta(0)
        base = "МСК"
    else:
        base = "GMT"
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return base
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{base}{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_start(moment: datetime, tz: ZoneInfo, lang: str) -> tuple[str, str, str, str]:
    """(full phrase, date, time, zone label) of an instant in the reader's zone and language."""
    label = tz_label(moment, tz, lang)
    if lang == "en":
        date = format_datetime(moment, day_month(lang), tzinfo=tz, locale="en")
        time = format_datetime(moment, "h:mm a", tzinfo=tz, locale="en")
        return f"{date} at {time} ({label})", date, time, label
    if lang == "ru":
        date = format_datetime(moment, day_month(lang), tzinfo=tz, locale="ru")
        time = format_datetime(moment, "HH:mm", tzinfo=tz, locale="ru")
        return f"{date} в {time} ({label})", date, time, label
    # Another language a school wrote templates in: Babel's own day-month and short time for it.
    known = _babel_locale(lang)
    date = format_datetime(moment, day_month(lang), tzinfo=tz, locale=known)
    time = format_time(moment, "short", tzinfo=tz, locale=known)
    return f"{date}, {time} ({label})", date, time, label


def day_month(lang: str) -> str:
    """The pattern of "27 November" in `lang` (Babel's own for languages other than ru and en)."""
    if lang == "en":
        return "MMMM d"
    if lang == "ru":
        return "d MMMM"
    skeleton = _babel_locale(lang).datetime_skeletons.get("MMMMd")
    return str(skeleton.pattern) if skeleton is not None else "d MMMM"


@functools.lru_cache(maxsize=64)
def _babel_locale(lang: str) -> Locale:
    """Babel's data for `lang`; English for a code Babel does not know."""
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def event_view(event: Event, ctx: MessageContext, lang: str) -> EventView:
    full, date, time, label = local_start(event.starts_at, contact_zone(ctx), lang)
    join = ctx.event_url or event.url
    return EventView(
        title=event.title,
        url=join,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        duration_minutes=int(event.duration.total_seconds()) // 60,
        local_start=full,
        local_date=date,
        local_time=time,
        tz_label=label,
        google_url=google_calendar_url(
            title=event.title, starts_at=event.starts_at, duration=event.duration, location=join
        ),
        outlook_url=outlook_calendar_url(
            title=event.title, starts_at=event.starts_at, duration=event.duration, location=join
        ),
        ics_url=ctx.ics_url,
    )


def reminder_view(offset: timedelta, lang: str) -> ReminderView:
    phrase = format_timedelta(offset, add_direction=True, threshold=2, locale=_babel_locale(lang))
    return ReminderView(offset=offset, hours=int(offset.total_seconds()) // 3600, phrase=phrase)


def occurrence_view(occurrence: Occurrence, lang: str) -> OccurrenceView:
    return OccurrenceView(
        number=occurrence.number,
        date=occurrence.date.isoformat(),
        local_date=format_date(occurrence.date, day_month(lang), locale=_babel_locale(lang)),
    )


def contact_view(ctx: MessageContext, lang: str) -> ContactView:
    full = " ".join(ctx.name.split())
    fallback = FALLBACK_NAME.get(lang, FALLBACK_NAME["en"])
    return ContactView(
        id=ctx.contact_id,
        name=full or fallback,
        first_name=full.split(" ")[0] if full else fallback,
        email=ctx.email,
        region=ctx.region or None,
        interest=ctx.interest or None,
        timezone=str(contact_zone(ctx)),
        locale=lang,
        rfm=ctx.rfm_segment,
        fields=Fields(ctx.fields),
    )


def build_context(
    campaign: Campaign,
    ctx: MessageContext,
    *,
    version: str,
    variant: str | None,
    lang: str,
    reminder: timedelta | None = None,
) -> dict[str, Any]:
    """The variables every part of one message shares (the renderer adds subject, pixel, button);
    `lang` is the language of the template chosen: every date, phrase and fallback name speaks it."""
    return {
        "contact": contact_view(ctx, lang),
        "campaign": CampaignView(id=campaign.id, name=campaign.name),
        "version": version,
        "variant": variant,
        "links": Links(campaign.links, ctx.links, ctx.telegram_connect),
        "unsubscribe_url": ctx.unsubscribe_url,
        "school": ctx.school,
        "event": event_view(campaign.event, ctx, lang) if campaign.event is not None else None,
        "reminder": reminder_view(reminder, lang) if reminder is not None else None,
        "occurrence": occurrence_view(campaign.occurrence, lang) if campaign.occurrence else None,
    }
