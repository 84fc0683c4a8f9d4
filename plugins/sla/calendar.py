"""Durations of SLA targets ("4h", "2d"); the business calendar itself is shared (plugin_host.calendar)."""
from __future__ import annotations

import re
from datetime import timedelta

from plugin_host.calendar import BusinessCalendar  # noqa: F401 (the SLA plugin's calendar, re-exported)
from plugin_host.errors import ConfigError

PART = r"(\d+(?:\.\d+)?)\s*(min|m|h|d|w)"
DURATION = re.compile(rf"^\s*{PART}(\s*{PART})*\s*$", re.I)
UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str, key: str = "duration") -> timedelta:
    """"30m", "4h", "2d", "1w", or several of them ("1h30m", "2d 4h") as a timedelta. With a calendar it counts
    working time (1d = 24 working hours, not one business day: with 9-hour days "1d" lasts about 2.7 business
    days)."""
    if not DURATION.match(str(text)):
        raise ConfigError(key, f"{text!r} is not a duration; write e.g. 30m, 4h, 1h30m, 2d")
    return sum((timedelta(**{UNITS[unit.lower()]: float(amount)}) for amount, unit in re.findall(PART, str(text), re.I)),
               timedelta())
