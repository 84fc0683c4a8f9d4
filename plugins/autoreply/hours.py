"""Office hours for the out-of-hours acknowledgement when the SLA plugin is not enabled.

``Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-15:00`` in a time zone (the syntax of
``plugin_host.hours``, shared with the SLA calendar), with public holidays from the ``holidays`` package
and the weekend days it makes working days.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plugin_host.errors import ConfigError
from plugin_host.hours import parse_week, wall_clock, public_holidays, read_region, worked_by_law


@dataclass(frozen=True)
class OfficeHours:
    periods: dict  # weekday index -> (start, end) minutes after local midnight; days off are left out
    zone: ZoneInfo
    region: tuple[str, str] = ("", "")  # (country, subdivision) whose public holidays apply

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC", country: str = "", key: str = "hours") -> "OfficeHours":
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(key.replace("hours", "timezone"), f"unknown time zone {timezone!r}") from None
        periods = {day: spans for day, spans in enumerate(parse_week(spec, key)) if spans}
        region = read_region(country, key.replace("hours", "holidays")) if country.strip() else ("", "")
        return cls(periods, zone, region)

    def holiday(self, when: datetime, language: str = "") -> str:
        """The public holiday at ``when``, named in ``language`` when the calendar has it (else English)."""
        if not self.region[0]:
            return ""
        local = when.astimezone(self.zone).date()
        return public_holidays(*self.region, local.year, language).get(local) or ""

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(self.zone)
        if self.holiday(when):
            return False
        minute = local.hour * 60 + local.minute + local.second / 60
        return any(start <= minute < end for start, end in self.day_periods(local.date()))

    def next_opening(self, when: datetime) -> datetime | None:
        """The first moment at or after ``when`` the office is open (None if not within a year)."""
        local = when.astimezone(self.zone)
        for offset in range(366):
            day = local.date() + timedelta(days=offset)
            if self.holiday(datetime.combine(day, time(12), self.zone)):
                continue
            for start, end in self.day_periods(day):
                opens, closes = _at(day, start, self.zone), _at(day, end, self.zone)
                if closes > local:
                    return max(opens, local)
        return None

    def day_periods(self, day) -> tuple:
        """A date's working periods: its weekday's, or a working day's on a weekend day worked by law."""
        spans = self.periods.get(day.weekday(), ())
        if not spans and self.region[0] and worked_by_law(*self.region, day):
            spans = next(iter(self.periods.values()), ())
        return spans


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Minutes after local midnight of ``day`` as an aware time in ``zone`` (24:00 is the next midnight; a time
    the clocks skip is the moment they jump, as in the SLA calendar)."""
    return wall_clock(day, minutes, zone).astimezone(zone)
