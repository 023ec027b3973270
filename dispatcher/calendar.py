"""Calendar files and "add to calendar" links for webinars and live streams.

`event_ics` builds an iCalendar object (RFC 5545) with `icalendar`; the email attaches it and the
`/e/{token}.ics` endpoint serves it. `google_calendar_url` and `outlook_calendar_url` build the links
behind the "Add to calendar" buttons in Telegram and in emails.

METHOD: PUBLISH by default. A school announces an event to thousands of people and tracks
registration itself; it does not want RSVP replies. RFC 5546 says a REQUEST must name an ORGANIZER and
the ATTENDEE it invites, and clients answer it with REPLY mail to the organizer (Gmail and Outlook also
drop it straight into the calendar), which is wrong for a bulk send. PUBLISH is what a downloaded .ics
is too, so the attachment and the link give the same bytes. REQUEST stays available for a personal
invitation (`method="REQUEST"` with both addresses). Re-sending with the same UID and a higher
`sequence` moves an event already in the calendar ("the stream moved to 19:00").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlencode

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

PRODID = "-//Ritm//Ritm dispatcher//RU"
ALARM_BEFORE = timedelta(minutes=15)
GOOGLE_URL = "https://calendar.google.com/calendar/render"
OUTLOOK_LIVE_URL = "https://outlook.live.com/calendar/0/deeplink/compose"
OUTLOOK_365_URL = "https://outlook.office.com/calendar/0/deeplink/compose"

Method = Literal["PUBLISH", "REQUEST"]


def event_uid(campaign_id: str, contact_id: str, domain: str) -> str:
    """One UID per (event, subscriber) for the attachment and the /e/ download alike: a client that
    gets both keeps one event, and a re-sent invitation updates it instead of adding another."""
    return f"{campaign_id}-{contact_id}@{domain}"


def event_ics(
    *,
    uid: str,
    title: str,
    starts_at: datetime,
    duration: timedelta,
    url: str | None,
    description: str = "",
    organizer_email: str | None = None,
    organizer_name: str | None = None,
    attendee_email: str | None = None,
    method: Method = "PUBLISH",
    sequence: int = 0,
    stamp: datetime | None = None,
) -> bytes:
    """One VEVENT in a VCALENDAR, times in UTC, with a display alarm 15 minutes before the start.

    `stamp` is DTSTAMP (when this copy was made); tests pass it, callers may leave it to now.
    """
    start = _utc(starts_at, "starts_at")
    if duration <= timedelta(0):
        raise ValueError("event duration must be positive")
    if method == "REQUEST" and not (organizer_email and attendee_email):
        raise ValueError("a METHOD:REQUEST invitation needs organizer_email and attendee_email")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", _utc(stamp, "stamp") if stamp is not None else datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + duration)
    event.add("summary", title)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
        # Most clients show LOCATION but hide URL; for an online event the link is the place.
        event.add("location", url)
    if organizer_email:
        organizer = vCalAddress(f"mailto:{organizer_email}")
        if organizer_name:
            organizer.params["cn"] = vText(organizer_name)
        event.add("organizer", organizer)
    if attendee_email:
        attendee = vCalAddress(f"mailto:{attendee_email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")

    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", -ALARM_BEFORE)
    event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def google_calendar_url(
    *,
    title: str,
    starts_at: datetime,
    duration: timedelta,
    details: str = "",
    location: str = "",
) -> str:
    """A Google Calendar "create event" link prefilled with the event (times in UTC)."""
    start = _utc(starts_at, "starts_at")
    end = start + duration
    query = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{_basic(start)}/{_basic(end)}",
        "details": details,
        "location": location,
    }
    return f"{GOOGLE_URL}?{_encode({k: v for k, v in query.items() if v})}"


def outlook_calendar_url(
    *,
    title: str,
    starts_at: datetime,
    duration: timedelta,
    details: str = "",
    location: str = "",
    office365: bool = False,
) -> str:
    """An Outlook "add event" deep link: outlook.com by default, Microsoft 365 with `office365`."""
    start = _utc(starts_at, "starts_at")
    end = start + duration
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": title,
        "startdt": _extended(start),
        "enddt": _extended(end),
        "body": details,
        "location": location,
    }
    base = OUTLOOK_365_URL if office365 else OUTLOOK_LIVE_URL
    return f"{base}?{_encode({k: v for k, v in query.items() if v})}"


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0)


def _basic(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _extended(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(query: dict[str, str]) -> str:
    # %20 rather than "+": Outlook shows a literal "+" for spaces in some of its web clients.
    return urlencode(query, quote_via=quote, safe="")
