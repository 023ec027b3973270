"""ICS files and "add to calendar" links: parsed back, times in UTC, text escaped correctly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from dispatcher.calendar import event_ics, google_calendar_url, outlook_calendar_url

MOSCOW = ZoneInfo("Europe/Moscow")
START = datetime(2026, 11, 27, 19, 0, tzinfo=MOSCOW)  # 16:00 UTC
STAMP = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
TITLE = "Эфир: база как актив; вопросы, ответы"


def the_event(ics: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_ics_parses_back_with_utc_times_and_fields() -> None:
    ics = event_ics(
        uid="digest-48-c1@school.example",
        title=TITLE,
        starts_at=START,
        duration=timedelta(minutes=90),
        url="https://school.example/live?utm_source=email&x=1",
        description="Ссылка придёт за час.\nДо встречи!",
        organizer_email="team@school.example",
        stamp=STAMP,
    )
    calendar, event = the_event(ics)
    assert calendar["method"] == "PUBLISH"
    assert calendar["version"] == "2.0"
    assert "Ritm" in str(calendar["prodid"])
    assert event.decoded("dtstart") == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert event.decoded("dtend") == datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    assert event.decoded("dtstamp") == STAMP  # type: ignore[attr-defined]
    assert str(event["uid"]) == "digest-48-c1@school.example"  # type: ignore[index]
    assert str(event["summary"]) == TITLE  # type: ignore[index]
    assert str(event["description"]) == "Ссылка придёт за час.\nДо встречи!"  # type: ignore[index]
    assert str(event["url"]) == "https://school.example/live?utm_source=email&x=1"  # type: ignore[index]
    assert str(event["organizer"]) == "mailto:team@school.example"  # type: ignore[index]
    # Written in UTC ("Z"), so no VTIMEZONE is needed and no client guesses a zone.
    assert b"DTSTART:20261127T160000Z" in ics
    assert b"VTIMEZONE" not in ics
    # The special characters of the title are escaped on the wire, not lost.
    assert "SUMMARY:Эфир: база как актив\\; вопросы\\, ответы".encode() in ics.replace(b"\r\n ", b"")


def test_ics_has_a_display_alarm_fifteen_minutes_before() -> None:
    ics = event_ics(
        uid="u1", title="Эфир", starts_at=START, duration=timedelta(hours=1), url=None, stamp=STAMP
    )
    alarms = Calendar.from_ical(ics).walk("VALARM")
    assert len(alarms) == 1
    assert str(alarms[0]["action"]) == "DISPLAY"
    assert alarms[0].decoded("trigger") == timedelta(minutes=-15)


def test_ics_lines_are_crlf_and_folded() -> None:
    ics = event_ics(
        uid="u2",
        title="Очень длинное название эфира " * 5,
        starts_at=START,
        duration=timedelta(hours=1),
        url=None,
        stamp=STAMP,
    )
    lines = ics.split(b"\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b"")
    assert max(len(line) for line in lines) <= 75


def test_request_needs_organizer_and_attendee() -> None:
    with pytest.raises(ValueError, match="attendee"):
        event_ics(
            uid="u", title="t", starts_at=START, duration=timedelta(hours=1), url=None, method="REQUEST"
        )
    ics = event_ics(
        uid="u",
        title="t",
        starts_at=START,
        duration=timedelta(hours=1),
        url=None,
        method="REQUEST",
        organizer_email="team@school.example",
        attendee_email="ivan@example.com",
        sequence=2,
        stamp=STAMP,
    )
    calendar, event = the_event(ics)
    assert calendar["method"] == "REQUEST"
    assert str(event["attendee"]) == "mailto:ivan@example.com"  # type: ignore[index]
    assert event["sequence"] == 2  # type: ignore[index]


def test_bad_times_are_clear_errors() -> None:
    naive = datetime(2026, 11, 27, 19, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        event_ics(uid="u", title="t", starts_at=naive, duration=timedelta(hours=1), url=None)
    with pytest.raises(ValueError, match="positive"):
        event_ics(uid="u", title="t", starts_at=START, duration=timedelta(0), url=None)


def test_google_link_carries_utc_dates_and_encoded_text() -> None:
    url = google_calendar_url(
        title="Эфир & ответы",
        starts_at=START,
        duration=timedelta(minutes=90),
        details="Ссылка: https://school.example/live?a=1&b=2",
        location="https://school.example/live",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "calendar.google.com", "/calendar/render")
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["text"] == ["Эфир & ответы"]
    assert query["dates"] == ["20261127T160000Z/20261127T173000Z"]
    assert query["details"] == ["Ссылка: https://school.example/live?a=1&b=2"]
    assert " " not in url and "+" not in url


def test_outlook_links_for_outlook_com_and_microsoft_365() -> None:
    url = outlook_calendar_url(
        title="Эфир", starts_at=START, duration=timedelta(minutes=90), location="онлайн"
    )
    parts = urlsplit(url)
    assert parts.netloc == "outlook.live.com"
    query = parse_qs(parts.query)
    assert query["path"] == ["/calendar/action/compose"]
    assert query["rru"] == ["addevent"]
    assert query["subject"] == ["Эфир"]
    assert query["startdt"] == ["2026-11-27T16:00:00Z"]
    assert query["enddt"] == ["2026-11-27T17:30:00Z"]
    assert query["location"] == ["онлайн"]
    assert "body" not in query  # empty fields are left out
    office = outlook_calendar_url(title="Эфир", starts_at=START, duration=timedelta(hours=1), office365=True)
    assert urlsplit(office).netloc == "outlook.office.com"
