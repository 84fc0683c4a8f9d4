"""A deliberately simple, slow business calendar to check plugin_host.calendar against (no code shared with it).

It reads ``hours`` itself, asks the ``holidays`` package directly, and decides minute by minute, in UTC,
whether the office is open: the calendar's wall clock is read in its zone with zoneinfo and never goes back
(the hour the clocks repeat is read as its first pass, so a period ends when the clock first shows its
end), and a wall time the clocks skip is passed at the jump. An open minute is one whose wall clock lies in
a working period of its local date (docs/sla.md, "Calendar"). Deadlines, elapsed working time and the next
opening are counted from the list of open minutes; ``python -m tests.calendar_oracle 5000`` runs a big
comparison by hand.
"""
from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays

UTC = timezone.utc
NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MINUTE = timedelta(minutes=1)


def read_hours(hours: str) -> list[set]:
    """The open wall minutes (0..1439) of each weekday, Monday first, from ``hours`` as docs/sla.md writes it."""
    week: list[set | None] = [None] * 7
    for clause in hours.split(";"):
        if not clause.strip():
            continue
        days, periods = clause.strip().split(None, 1)
        first, _, last = days.partition("-")
        i, j = NAMES.index(first.lower()), NAMES.index((last or first).lower())
        minutes = set()
        for period in periods.split(","):
            begin, end = (int(t[:2]) * 60 + int(t[3:]) for t in (p.strip() for p in period.split("-")))
            minutes |= set(range(begin, end))
        while True:
            week[i] = minutes  # a later clause replaces the day
            if i == j:
                break
            i = (i + 1) % 7
    return [w or set() for w in week]


@dataclass
class Oracle:
    hours: str
    zone: str
    regions: list = field(default_factory=list)  # [("PL", None), ("DE", "BY")]
    days_off: set = field(default_factory=set)
    working_days: set = field(default_factory=set)

    def __post_init__(self):
        self.tz = ZoneInfo(self.zone)
        self.always = self.hours.strip() == "24/7"
        self.week = [set(range(1440))] * 7 if self.always else read_hours(self.hours)
        self.first_working = next(w for w in self.week if w)  # the hours a moved working day keeps
        self._days: dict = {}

    def _calendars(self, year: int):
        return [holidays.country_holidays(country, subdiv=sub, years=year) for country, sub in self.regions]

    def open_minutes(self, day: date) -> set:
        if day not in self._days:
            self._days[day] = self._open_minutes(day)
        return self._days[day]

    def _open_minutes(self, day: date) -> set:
        if self.always:
            return self.week[0]
        minutes = self.week[day.weekday()]
        calendars = self._calendars(day.year)
        if day in self.working_days:
            return minutes or self.first_working
        if day in self.days_off or any(day in c for c in calendars):
            return set()
        if not minutes and any(day in getattr(c, "weekend_workdays", ()) for c in calendars):
            return self.first_working
        return minutes

    def timeline(self, first: datetime, days: int) -> "Timeline":
        """Open/closed for every minute of ``days`` days from ``first`` (UTC, on a whole minute)."""
        moment = first - timedelta(hours=6)  # the wall clock's high-water mark needs some past
        highest = None
        flags = bytearray()
        while moment < first + timedelta(days=days):
            wall = moment.astimezone(self.tz).replace(tzinfo=None)
            highest = wall if highest is None or wall > highest else highest
            if moment >= first:
                flags.append(highest.hour * 60 + highest.minute in self.open_minutes(highest.date()))
            moment += MINUTE
        return Timeline(first, flags)


@dataclass
class Timeline:
    first: datetime
    flags: bytearray

    def __post_init__(self):
        self.counted = [0, *itertools.accumulate(self.flags)]  # open minutes before each minute

    def index(self, when: datetime) -> int:
        offset = when - self.first
        assert offset % MINUTE == timedelta(0) and timedelta(0) <= offset < MINUTE * len(self.flags), when
        return offset // MINUTE

    def is_open(self, when: datetime) -> bool:
        return bool(self.flags[self.index(when)])

    def deadline(self, start: datetime, minutes: int):
        """The end of the ``minutes``-th open minute from ``start`` (``minutes`` = 0: the next open minute),
        None past the timeline."""
        i = self.index(start)
        j = bisect.bisect_left(self.counted, self.counted[i] + minutes, lo=i)
        if minutes == 0:
            j = next((k for k in range(i, len(self.flags)) if self.flags[k]), None)
        return None if j is None or j > len(self.flags) - 1 else self.first + j * MINUTE

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        return MINUTE * max(0, self.counted[self.index(b)] - self.counted[self.index(a)])

    def edges(self) -> list[datetime]:
        """Every opening and closing moment."""
        return [self.first + k * MINUTE for k in range(1, len(self.flags)) if self.flags[k] != self.flags[k - 1]]


# -- random calendars within the syntax of docs/sla.md ------------------------------------------------------

ZONES = ["Europe/Warsaw", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Asia/Tokyo", "Europe/Moscow",
         "UTC"]
HOLIDAYS = ["", "PL", "pl", "RU", "US-CA", "us-ca", "DE-BY", "de-by", "PL,DE-BY", "RU, PL"]
TIMES = [0, 60, 90, 120, 150, 180, 210, 480, 510, 540, 600, 720, 780, 840, 900, 1020, 1080, 1320, 1440]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def random_hours(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return "24/7"
    clauses = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        first = rng.randrange(7)
        last = (first + rng.choice([0, 0, 1, 2, 3, 4, 4, 5, 6])) % 7
        days = NAMES[first].capitalize() + ("" if last == first else "-" + NAMES[last].capitalize())
        periods = []
        for _ in range(rng.choice([1, 1, 2, 2, 3])):
            a, b = sorted(rng.sample(TIMES if rng.random() < 0.7 else range(0, 1441, rng.choice([1, 5, 15])), 2))
            periods.append(f"{_clock(a)}-{_clock(b)}")
        clauses.append(f"{days} {','.join(periods)}")
    return "; ".join(clauses)


def regions(codes: str) -> list:
    out = []
    for code in filter(None, (c.strip() for c in codes.split(","))):
        country, _, sub = code.upper().partition("-")
        out.append((country, sub or None))
    return out


def transitions(zone: str, year: int) -> list[datetime]:
    """The UTC moments the zone's clocks change in ``year`` (found hour by hour)."""
    tz, out = ZoneInfo(zone), []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        if (moment + timedelta(hours=1)).astimezone(tz).utcoffset() != moment.astimezone(tz).utcoffset():
            out.append(moment + timedelta(hours=1))
        moment += timedelta(hours=1)
    return out


def anchors(zone: str, year: int) -> list[datetime]:
    """Moments worth a window: clock changes, the Christmas and New Year run, and any day."""
    out = transitions(zone, year)
    out += [datetime(year, 12, 20, tzinfo=UTC), datetime(year, 12, 30, tzinfo=UTC), datetime(year, 4, 28, tzinfo=UTC)]
    out.append(datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=random.Random(year).randrange(365)))
    return out
