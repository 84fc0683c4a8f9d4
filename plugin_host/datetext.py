"""A moment as a customer reads it: weekday, day, month and year in their language, 24-hour time, and the
time zone with its UTC offset at that moment ("Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)").

The weekday lets a customer see a long weekend at a glance; the offset lets one in another country work out
their own time, and it is the offset of the moment itself, so a promise across a DST change is right.
Names come from Babel (the Unicode CLDR data): Russian and Polish months in the genitive a date needs
("4 мая", "4 maja"); a language an admin adds gets its own full date; one CLDR does not know, English.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime

PATTERNS = {  # the phrasing of our own templates; CLDR patterns (LDML) with the time in 24 hours
    "en": "EEEE, d MMMM y, HH:mm",
    "ru": "d MMMM y 'г.' (EEEE), HH:mm",
    "pl": "d MMMM y (EEEE), HH:mm",
}


def customer_time(when: datetime, zone: ZoneInfo, language: str = "en") -> str:
    """``when`` in ``zone`` as a customer writing in ``language`` reads it."""
    local = when.astimezone(zone)
    return f"{_date_and_time(local, language)} ({zone_name(local, zone)})"


def _date_and_time(local: datetime, language: str) -> str:
    language = language or "en"
    if language in PATTERNS:
        return format_datetime(local, PATTERNS[language], tzinfo=local.tzinfo, locale=language)
    try:
        locale = Locale.parse(language or "en")
    except (UnknownLocaleError, ValueError, TypeError):
        return format_datetime(local, PATTERNS["en"], tzinfo=local.tzinfo, locale="en")
    return f"{format_date(local, 'full', locale=locale)}, {local:%H:%M}"


def zone_name(local: datetime, zone: ZoneInfo) -> str:
    """"Europe/Warsaw, UTC+02:00", or "UTC": the zone's name and its offset at that moment."""
    offset = local.strftime("%z")
    if zone.key in ("UTC", "Etc/UTC"):
        return "UTC"
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
