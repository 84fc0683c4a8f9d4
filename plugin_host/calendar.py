"""Business calendars: time zone, working periods per weekday, public holidays, custom days off.

Shared by the SLA plugin (deadlines in working time) and the acknowledgements' office hours (the
out-of-hours variant when the SLA plugin is off), so both read ``hours``, ``holidays``, ``days_off``
and ``working_days`` alike.

``add_business_time`` and ``business_time_between`` walk the calendar day by day in local time,
so DST changes, weekends and holidays are counted right. Holidays come from the ``holidays``
package by country code (PL, RU, US, DE, …) plus custom dates; extra working days are allowed too,
and so are the weekend days a country's calendar makes working days (Russia's transferred Saturdays).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import read_list
from .errors import ConfigError
from .hours import ALWAYS, parse_week, public_holidays, read_region, wall_clock, worked_by_law

DAY_OFF = {"en": "day off", "ru": "выходной день", "pl": "dzień wolny"}

MAX_DAYS = 3660  # never walk more than ten years looking for working time


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    week: tuple  # 7 tuples of (start, end) time pairs, Monday first
    regions: tuple[tuple[str, str], ...] = ()  # (country, subdivision) whose public holidays apply
    days_off: frozenset = frozenset()
    extra_working_days: frozenset = frozenset()
    always_open: bool = False

    @classmethod
    def parse(cls, hours: str = "Mon-Fri 09:00-18:00", timezone: str = "UTC", holidays: str | list = "",
              days_off: list | None = None, working_days: list | None = None, key: str = "plugins.sla") -> "BusinessCalendar":
        zone = _zone(timezone, f"{key}.timezone")
        if not isinstance(hours, str):
            raise ConfigError(f"{key}.hours", f"must be a string like \"Mon-Fri 09:00-18:00\", got {hours!r}")
        if hours.strip().lower() in ALWAYS:  # open through holidays too
            return cls(zone, tuple(((time(0), None),) for _ in range(7)), always_open=True)
        week = parse_week(hours, f"{key}.hours")
        regions = tuple(read_region(code, f"{key}.holidays")
                        for code in read_list(holidays, f"{key}.holidays", "country codes") if code.strip())
        parse_days = lambda given, k: frozenset(_date(d, f"{key}.{k}") for d in _dates(given, f"{key}.{k}"))  # noqa: E731
        return cls(zone, week, regions, days_off=parse_days(days_off, "days_off"),
                   extra_working_days=parse_days(working_days, "working_days"))

    # -- what a day looks like ----------------------------------------------------------------

    def holiday_name(self, day: date, language: str = "") -> str:
        """The public holiday or day off on ``day`` in ``language`` (English when the calendar has no such names)."""
        if day in self.days_off:
            return DAY_OFF.get(language, DAY_OFF["en"])
        for country, subdivision in self.regions:
            name = public_holidays(country, subdivision, day.year, language).get(day)
            if name:
                return name
        return ""

    def worked_by_law(self, day: date) -> bool:
        return any(worked_by_law(country, subdivision, day) for country, subdivision in self.regions)

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working periods of a local date as aware datetimes (empty on weekends and holidays)."""
        if self.always_open:
            return [(_local(day, 0, self.zone), _local(day, 24 * 60, self.zone))]
        minutes = self.week[day.weekday()]
        if not minutes and (day in self.extra_working_days or self.worked_by_law(day)):
            minutes = next((w for w in self.week if w), ())
        if not minutes or (self.holiday_name(day) and day not in self.extra_working_days):
            return []
        out = []
        for start, end in minutes:
            out.append((_local(day, start, self.zone), _local(day, end, self.zone)))
        return out

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(self.zone)
        return any(a <= local < b for a, b in self.periods(local.date()))

    def next_opening(self, when: datetime) -> datetime:
        """The first working moment at or after ``when``."""
        return self.add_business_time(when, timedelta(0))

    # -- arithmetic ---------------------------------------------------------------------------

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``start``."""
        if self.always_open:
            return (start.astimezone(UTC) + duration).astimezone(start.tzinfo)
        remaining = duration
        original_zone = start.tzinfo or UTC
        start = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            for a, b in self.periods(day):
                a = max(a, start)
                if b <= a:
                    continue
                if b - a >= remaining:
                    return (a + remaining).astimezone(original_zone)
                remaining -= b - a
            day += timedelta(days=1)
        raise ValueError("calendar has no working time in the next ten years")

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from ``a`` to ``b`` (zero if ``b`` is not after ``a``)."""
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b <= a:
            return timedelta(0)
        if self.always_open:
            return b - a
        total = timedelta(0)
        day, last = a.astimezone(self.zone).date(), b.astimezone(self.zone).date()
        while day <= last:
            for start, end in self.periods(day):
                lo, hi = max(start, a), min(end, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total


def _zone(name, key: str) -> ZoneInfo:
    """The IANA time zone called ``name``."""
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(key, f"unknown time zone {name!r} (use e.g. Europe/Warsaw)") from None


def _dates(value, key: str) -> list:
    """Dates as a list; a single date or string is a one-item (or comma-separated) list."""
    if value is None:
        return []
    if isinstance(value, date):
        return [value]
    if isinstance(value, str):
        return read_list(value, key, "dates (YYYY-MM-DD)")
    if not isinstance(value, (list, tuple)):
        raise ConfigError(key, f"must be a list of dates (YYYY-MM-DD), got {value!r}")
    return list(value)


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """A local wall time as UTC (arithmetic between aware datetimes of one zone ignores DST); a time the
    clocks skip is the moment they jump."""
    return wall_clock(day, minutes, zone)


def _date(value, key: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a date (YYYY-MM-DD)") from None
