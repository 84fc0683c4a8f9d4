"""Office hours for the out-of-hours acknowledgement when the SLA plugin is not enabled.

``Mon-Fri 09:00-18:00; Sat 10:00-14:00`` in a time zone, with public holidays from the
``holidays`` package.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plugin_host.errors import ConfigError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SPEC = re.compile(r"^\s*(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


def weekdays(first: str, last: str) -> list[int]:
    """Weekday indexes from ``first`` to ``last`` inclusive, wrapping over the weekend ("Sun-Thu")."""
    start, stop = DAYS.index(first.lower()), DAYS.index(last.lower())
    return [(start + step) % 7 for step in range((stop - start) % 7 + 1)]


def clock(text: str, chunk: str, key: str) -> time:
    """A time of day from "HH:MM"; "24:00" is the end of the day (night shifts "22:00-24:00")."""
    if text.zfill(5) == "24:00":
        return time.max
    try:
        return time.fromisoformat(text.zfill(5))
    except ValueError:
        raise ConfigError(key, f"{text!r} in {chunk!r} is not a time of day (00:00 to 24:00)") from None


@dataclass(frozen=True)
class OfficeHours:
    periods: dict  # weekday index -> list of (start, end) times
    zone: ZoneInfo
    country: str = ""

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC", country: str = "", key: str = "hours") -> "OfficeHours":
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(key.replace("hours", "timezone"), f"unknown time zone {timezone!r}") from None
        periods: dict[int, list] = {}
        for chunk in filter(None, (c.strip() for c in spec.split(";"))):
            found = SPEC.match(chunk)
            if not found or found.group(1).lower() not in DAYS or (found.group(2) and found.group(2).lower() not in DAYS):
                raise ConfigError(key, f"cannot read {chunk!r}; write e.g. \"Mon-Fri 09:00-18:00\"")
            start, end = (clock(found.group(i), chunk, key) for i in (3, 4))
            if end <= start:
                raise ConfigError(key, f"{chunk!r} ends before it starts")
            for day in weekdays(found.group(1), found.group(2) or found.group(1)):
                periods.setdefault(day, []).append((start, end))
        country = country.strip().upper()
        if country:
            import holidays

            try:
                holidays.country_holidays(country)
            except NotImplementedError:
                raise ConfigError(key.replace("hours", "holidays"), f"unknown country code {country!r}") from None
        return cls(periods, zone, country)

    def holiday(self, when: datetime) -> str:
        if not self.country:
            return ""
        import holidays

        local = when.astimezone(self.zone).date()
        return holidays.country_holidays(self.country, years=local.year).get(local) or ""

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(self.zone)
        if self.holiday(when):
            return False
        return any(start <= local.time() < end for start, end in self.periods.get(local.weekday(), []))
