"""Office hours for the out-of-hours acknowledgement when the SLA plugin is not enabled.

The shared business calendar (:mod:`plugin_host.calendar`, the SLA plugin's too): ``hours`` such as
``Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-15:00`` in a ``timezone``, public ``holidays`` of one or more
countries (the weekend days they make working days count as working days), the team's own ``days_off``
and extra ``working_days``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plugin_host.calendar import BusinessCalendar


@dataclass(frozen=True)
class OfficeHours(BusinessCalendar):
    @classmethod
    def parse(cls, spec: str = "Mon-Fri 09:00-18:00", timezone: str = "UTC", holidays: str | list = "",
              key: str = "plugins.autoreply.hours", days_off=None, working_days=None) -> "OfficeHours":
        prefix = key.rsplit(".", 1)[0] if key.endswith(".hours") else key
        calendar = BusinessCalendar.parse(spec, timezone, holidays, days_off, working_days, key=prefix)
        return cls(calendar.zone, calendar.week, calendar.regions, calendar.days_off, calendar.extra_working_days,
                   calendar.always_open)

    def holiday(self, when: datetime, language: str = "") -> str:
        """The public holiday or day off at ``when``, named in ``language`` when the calendar has it."""
        return "" if self.always_open else self.holiday_name(when.astimezone(self.zone).date(), language)

    def next_opening(self, when: datetime) -> datetime | None:
        """The first moment at or after ``when`` the office is open (None if it never opens)."""
        try:
            return super().next_opening(when)
        except ValueError:
            return None


def office_hours(settings) -> OfficeHours:
    """The office hours autoreply's settings describe."""
    return OfficeHours.parse(settings.hours, settings.timezone, settings.holidays, key="plugins.autoreply.hours",
                             days_off=settings.days_off, working_days=settings.working_days)
