"""Durations of SLA targets ("4h", "2d"); the business calendar itself is shared (plugin_host.calendar)."""
from __future__ import annotations

import re
from datetime import timedelta

from plugin_host.calendar import BusinessCalendar  # noqa: F401 (the SLA plugin's calendar, re-exported)
from plugin_host.errors import ConfigError

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.I)


def parse_duration(text: str, key: str = "duration") -> timedelta:
    """"30m", "4h", "2d", "1w" as a timedelta. With a calendar it counts working time (1d = 24 working hours,
    not one business day: with 9-hour days "1d" lasts about 2.7 business days)."""
    found = DURATION.match(str(text))
    if not found:
        raise ConfigError(key, f"{text!r} is not a duration; write e.g. 30m, 4h, 2d")
    amount, unit = float(found.group(1)), found.group(2).lower()
    return timedelta(minutes=amount) if unit in ("m", "min") else timedelta(hours=amount) if unit == "h" \
        else timedelta(days=amount) if unit == "d" else timedelta(weeks=amount)
