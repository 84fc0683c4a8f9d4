"""A moment as a customer reads it: weekday, day, month and year in their language, 24-hour time, and the
time zone with its UTC offset at that moment ("Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)").

The weekday lets a customer see a long weekend at a glance; the offset lets one in another country work out
their own time, and it is the offset of the moment itself, so a promise across a DST change is right.
Month and weekday names are written here because no installed library has them in our languages (babel is not
a dependency and the C library's locales are not installed on every host); a language without names here is
told in English.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

WEEKDAYS = {  # Monday first
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ru": ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"),
    "pl": ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
}
MONTHS = {  # Russian and Polish in the genitive, as a date is written ("4 мая", "4 maja")
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря"),
    "pl": ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
           "października", "listopada", "grudnia"),
}
DATE_FORMAT = {
    "en": "{weekday}, {day} {month} {year}, {time}",
    "ru": "{day} {month} {year} г. ({weekday}), {time}",
    "pl": "{day} {month} {year} ({weekday}), {time}",
}


def customer_time(when: datetime, zone: ZoneInfo, language: str = "en") -> str:
    """``when`` in ``zone`` as a customer writing in ``language`` reads it."""
    language = language if language in DATE_FORMAT else "en"
    local = when.astimezone(zone)
    day = DATE_FORMAT[language].format(weekday=WEEKDAYS[language][local.weekday()], day=local.day,
                                       month=MONTHS[language][local.month - 1], year=local.year,
                                       time=f"{local:%H:%M}")
    return f"{day} ({zone_name(local, zone)})"


def zone_name(local: datetime, zone: ZoneInfo) -> str:
    """"Europe/Warsaw, UTC+02:00", or "UTC": the zone's name and its offset at that moment."""
    offset = local.strftime("%z")
    if zone.key in ("UTC", "Etc/UTC"):
        return "UTC"
    return f"{zone.key}, UTC{offset[:3]}:{offset[3:]}"
