"""Timezones as school platforms export them: `UTC+3`, `GMT+03:00`, `(GMT+03:00) Москва`.

A city that we know and whose zone has the given offset gives its IANA zone (DST and future changes
included); otherwise a whole-hour offset becomes the fixed zone `Etc/GMT∓N` (note POSIX's inverted sign)
and a half-hour one the zone that keeps it all year.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_OFFSET = re.compile(
    r"\(?\s*(?:UTC|GMT)\s*(?:(?P<sign>[+-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?\s*\)?\s*(?P<city>.*)",
    re.IGNORECASE,
)
# Cities the platforms print after the offset (Russian and CIS names first), by their IANA zone.
CITIES: dict[str, str] = {
    "москва": "Europe/Moscow", "санкт-петербург": "Europe/Moscow", "moscow": "Europe/Moscow",
    "st. petersburg": "Europe/Moscow", "калининград": "Europe/Kaliningrad", "самара": "Europe/Samara",
    "ижевск": "Europe/Samara", "волгоград": "Europe/Volgograd", "саратов": "Europe/Saratov",
    "ульяновск": "Europe/Ulyanovsk", "астрахань": "Europe/Astrakhan", "екатеринбург": "Asia/Yekaterinburg",
    "ekaterinburg": "Asia/Yekaterinburg", "омск": "Asia/Omsk", "новосибирск": "Asia/Novosibirsk",
    "барнаул": "Asia/Barnaul", "томск": "Asia/Tomsk", "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk", "чита": "Asia/Chita", "якутск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok", "магадан": "Asia/Magadan", "сахалин": "Asia/Sakhalin",
    "среднеколымск": "Asia/Srednekolymsk", "петропавловск-камчатский": "Asia/Kamchatka",
    "камчатка": "Asia/Kamchatka", "анадырь": "Asia/Anadyr", "минск": "Europe/Minsk",
    "киев": "Europe/Kyiv", "київ": "Europe/Kyiv", "kyiv": "Europe/Kyiv", "алматы": "Asia/Almaty",
    "астана": "Asia/Almaty", "ташкент": "Asia/Tashkent", "бишкек": "Asia/Bishkek",
    "душанбе": "Asia/Dushanbe", "тбилиси": "Asia/Tbilisi", "ереван": "Asia/Yerevan", "баку": "Asia/Baku",
    "кишинев": "Europe/Chisinau", "рига": "Europe/Riga", "вильнюс": "Europe/Vilnius",
    "таллин": "Europe/Tallinn", "london": "Europe/London", "berlin": "Europe/Berlin",
}  # fmt: skip
# Offsets that are not whole hours, each with a zone that keeps it all year.
_FRACTIONAL = {
    (3, 30): "Asia/Tehran", (4, 30): "Asia/Kabul", (5, 30): "Asia/Kolkata", (5, 45): "Asia/Kathmandu",
    (6, 30): "Asia/Yangon", (9, 30): "Australia/Darwin", (-3, -30): "America/St_Johns",
}  # fmt: skip


@lru_cache(maxsize=1024)
def offset_zone(text: str) -> str | None:
    """The IANA zone for an offset form, or None when `text` is not one (or the offset is impossible).

    A city counts when its zone has that offset today (cached per spelling: an import asks per row)."""
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return None
    sign = -1 if match["sign"] in ("-", "−") else 1
    hours, minutes = int(match["h"] or 0), int(match["m"] or 0)
    if hours > 14 or minutes >= 60:
        return None
    city = " ".join(match["city"].replace("ё", "е").split()).casefold()
    hours, minutes = sign * hours, sign * minutes
    named = CITIES.get(city)
    if named is not None and datetime.now(ZoneInfo(named)).utcoffset() == timedelta(
        hours=hours, minutes=minutes
    ):
        return named
    if minutes:
        return _FRACTIONAL.get((hours, minutes))
    return "UTC" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
