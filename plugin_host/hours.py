"""Weekly working hours as admins write them, read one way for every plugin.

``"Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-15:00"``: clauses separated by ``;``, each a day or a
day range (wrapping over the weekend: ``Sun-Thu``) and one or more comma-separated periods; a period
may end at ``24:00``; ``24/7`` is every minute. A shift over midnight (``Mon-Fri 22:00-06:00``) is refused
with the exact per-day hours to write instead. A later clause replaces a day's hours (``Mon-Fri 09:00-18:00; Fri 09:00-15:00``
is a short Friday), and overlapping periods are joined so no minute counts twice. The SLA calendar
and the acknowledgement's office hours both use it, and both read public holidays here: from the
``holidays`` package, for a country (``PL``) or one of its regions (``DE-BY``, ``US-CA``, ISO 3166-2),
with the weekend days a country makes working days (Russia's moved Saturdays).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from .errors import ConfigError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_SPEC = re.compile(r"^(\w{3})(?:\s*-\s*(\w{3}))?\s+(.+)$")
PERIOD = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
ALWAYS = ("24/7", "always")
MAX_GAP_MINUTES = 3 * 60  # the longest a DST or zone change has made clocks jump (in minutes)
Week = tuple  # 7 tuples (Monday first) of sorted, disjoint (start, end) minutes after local midnight


def parse_week(hours: str, key: str) -> Week:
    """The working periods of each weekday; a ConfigError naming ``key`` says what to write instead."""
    if not isinstance(hours, str):
        raise ConfigError(key, f"must be a string like \"Mon-Fri 09:00-18:00\", got {hours!r}")
    if hours.strip().lower() in ALWAYS:
        return tuple(((0, 24 * 60),) for _ in range(7))
    week: list[list] = [[] for _ in range(7)]
    for chunk in filter(None, (c.strip() for c in str(hours).split(";"))):
        found = DAY_SPEC.match(chunk)
        if not found or found.group(1).lower() not in DAYS or (found.group(2) and found.group(2).lower() not in DAYS):
            raise ConfigError(key, f"cannot read {chunk!r}; write e.g. \"Mon-Fri 09:00-18:00\" or "
                                   f"\"Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-15:00\"")
        periods = [_period(p.strip(), chunk, key) for p in found.group(3).split(",")]
        for day in day_range(found.group(1), found.group(2) or found.group(1)):
            week[day] = list(periods)  # a later clause replaces a day's hours
    if any(end < start for periods in week for start, end in periods):
        raise ConfigError(key, f"{hours!r} has a shift over midnight, which belongs to two days (and a later clause "
                               f"replaces a day's hours): write \"{week_text(_split_at_midnight(week))}\"")
    if not any(week):
        raise ConfigError(key, "no working time at all")
    return tuple(_merged(p) for p in week)


def _split_at_midnight(week: list) -> Week:
    """Each day's own periods with a shift over midnight ("22:00-06:00") cut into its two days."""
    split: list[list] = [[] for _ in range(7)]
    for day, periods in enumerate(week):
        for start, end in periods:
            split[day].append((start, end if end > start else 24 * 60))
            if 0 < end < start:
                split[(day + 1) % 7].append((0, end))
    return tuple(_merged(p) for p in split)


def week_text(week: Week) -> str:
    """A week written back as ``hours``: "Mon 22:00-24:00; Tue-Fri 00:00-06:00,22:00-24:00; Sat 00:00-06:00"."""
    clauses, day = [], 0
    while day < 7:
        last = day
        while last + 1 < 7 and week[last + 1] == week[day]:
            last += 1
        if week[day]:
            days = DAYS[day].capitalize() + (f"-{DAYS[last].capitalize()}" if last > day else "")
            clauses.append(days + " " + ",".join(f"{_clock(a)}-{_clock(b)}" for a, b in week[day]))
        day = last + 1
    return "; ".join(clauses)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_range(first: str, last: str) -> list[int]:
    """Weekday indexes from ``first`` to ``last``, wrapping over the weekend ("Sun-Thu", "Fri-Mon")."""
    start, end = DAYS.index(first.lower()), DAYS.index(last.lower())
    return [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]


def _period(text: str, chunk: str, key: str) -> tuple[int, int]:
    """"09:00-18:00" as (start, end) minutes after local midnight; the end may be 24:00."""
    match = PERIOD.match(text)
    if not match:
        raise ConfigError(key, f"cannot read period {text!r} in {chunk!r}; write HH:MM-HH:MM")
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (m1 < 60 and m2 < 60 and start < 24 * 60 and end <= 24 * 60):
        raise ConfigError(key, f"{text!r} in {chunk!r} is not a time of day (00:00 to 24:00)")
    if end == start:
        raise ConfigError(key, f"{text!r} in {chunk!r} ends when it starts")
    return start, end  # may run over midnight: parse_week says how to write it


def _merged(periods: list) -> tuple:
    """A day's periods sorted, overlapping ones joined."""
    out: list[list[int]] = []
    for start, end in sorted(periods):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((start, end) for start, end in out)


def wall_clock(day: date, minutes: int, zone) -> datetime:
    """``minutes`` after local midnight of ``day`` in ``zone`` (24:00 is the next midnight) as an instant in UTC.

    A wall time the clocks skip (02:30 when they jump from 02:00 to 03:00) is the jump itself: a shift that
    starts then is at work at 03:00, one that ends then ends at 03:00. zoneinfo reads it in the old offset
    (03:30) and dateutil's ``resolve_imaginary`` moves it by the gap (03:30 too), so the first wall minute
    that exists is found here. A repeated wall time (the night clocks go back) is its first occurrence.
    """
    day, minutes = day + timedelta(days=minutes // (24 * 60)), minutes % (24 * 60)
    wall = datetime.combine(day, time(minutes // 60, minutes % 60))
    for step in range(MAX_GAP_MINUTES + 1):
        candidate = wall + timedelta(minutes=step)
        moment = candidate.replace(tzinfo=zone).astimezone(timezone.utc)
        if moment.astimezone(zone).replace(tzinfo=None) == candidate:
            return moment
    return wall.replace(tzinfo=zone).astimezone(timezone.utc)


def local_text(when, zone) -> str:
    """A moment as a customer reads it in an acknowledgement: "2026-11-23 12:00 (Europe/Warsaw)"."""
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


@lru_cache(maxsize=64)
def public_holidays(country: str, subdivision: str, year: int, language: str = ""):
    """The ``holidays`` calendar of one country and year: day → name, plus ``weekend_workdays``; names in
    ``language`` (ISO 639-1) when the package has them for that country, else in English."""
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision or None, years=year,
                                     language=holiday_language(country, language))


def holiday_language(country: str, language: str) -> str | None:
    """The ``holidays`` locale for a customer's language ("pl" → "pl", "en" → "en_US"): Polish and Russian
    customers read "Narodowe Święto Niepodległości" and "День народного единства" in their acknowledgement."""
    import holidays

    offered = holidays.list_localized_countries().get(country, [])
    wanted = next((code for code in offered if code.split("_")[0] == language), None)
    return wanted or ("en_US" if "en_US" in offered else None)


def worked_by_law(country: str, subdivision: str, day: date) -> bool:
    """Whether the country makes this weekend day a working day (a day off moved to another date)."""
    return day in getattr(public_holidays(country, subdivision, day.year), "weekend_workdays", ())


def read_region(code: str, key: str) -> tuple[str, str]:
    """``"PL"`` or ``"DE-BY"`` (any case) as (country, subdivision) of the ``holidays`` package; a
    ConfigError naming ``key`` says which codes exist."""
    country, _, subdivision = code.strip().partition("-")
    country = country.strip().upper()
    try:
        known = public_holidays(country, "", 2026).subdivisions
    except NotImplementedError:
        raise ConfigError(key, f"unknown country code {code.strip()!r} (write e.g. PL, or DE-BY for a region)") from None
    if not subdivision.strip():
        return country, ""
    found = next((s for s in known if s.lower() == subdivision.strip().lower()), None)
    if found is None:
        raise ConfigError(key, f"{country} has no subdivision {subdivision.strip().upper()!r}; use one of {list(known)}")
    return country, found
