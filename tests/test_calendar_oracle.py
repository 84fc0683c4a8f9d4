"""The business calendar against a minute-by-minute oracle (tests/calendar_oracle.py), over seeded random
calendars (zones with and without DST, a half-hour offset, several periods a day, days ending at 24:00,
holidays of PL, RU, US-CA and DE-BY, days off and working days) and random starts (openings, closings, clock
changes, holidays, the Christmas and New Year run). A bigger run by hand: ``python -m tests.test_calendar_oracle
5000`` (calendars; about 60 queries each)."""
from __future__ import annotations

import random
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from plugin_host.calendar import BusinessCalendar
from tests.calendar_oracle import (HOLIDAYS, MINUTE, UTC, ZONES, Oracle, anchors, random_hours, regions,
                                   transitions)

WINDOW_DAYS = 75


def same_instant(a: datetime, b: datetime) -> bool:
    """Equal instants. (``!=`` between zones calls any time in a repeated hour unequal: PEP 495.)"""
    return a.timestamp() == b.timestamp()


def random_case(rng: random.Random):
    """A random calendar (settings as an admin writes them), its oracle and product, and the window to test."""
    zone = rng.choice(ZONES)
    codes = rng.choice(HOLIDAYS)
    year = rng.choice([2024, 2025, 2026, 2027])
    first = rng.choice(anchors(zone, year)) - timedelta(days=rng.randrange(25))
    first = first.replace(hour=rng.randrange(24), minute=0, second=0, microsecond=0)
    days = [first.date() + timedelta(days=rng.randrange(WINDOW_DAYS)) for _ in range(rng.choice([0, 0, 1, 3]))]
    days_off = sorted({d.isoformat() for d in days})
    extra = [first.date() + timedelta(days=rng.randrange(WINDOW_DAYS)) for _ in range(rng.choice([0, 0, 1, 2]))]
    working_days = sorted({d.isoformat() for d in extra if d.isoformat() not in days_off})
    hours = random_hours(rng)
    settings = dict(hours=hours, timezone=zone, holidays=codes, days_off=days_off, working_days=working_days)
    oracle = Oracle(hours, zone, regions(codes), {date.fromisoformat(d) for d in days_off},
                    {date.fromisoformat(d) for d in working_days})
    return settings, oracle, BusinessCalendar.parse(**settings), first


def random_starts(rng: random.Random, timeline, zone: str, count: int) -> list[datetime]:
    """Starts on any minute, exactly at openings and closings, at and around clock changes, at local midnight."""
    span = len(timeline.flags) // 2  # leave room for the deadline
    edges = [e for e in timeline.edges() if e < timeline.first + span * MINUTE]
    changes = [t for year in {timeline.first.year, timeline.first.year + 1} for t in transitions(zone, year)
               if timeline.first + MINUTE * 60 <= t < timeline.first + span * MINUTE]
    tz = ZoneInfo(zone)
    starts = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.35 and edges:
            starts.append(rng.choice(edges))
        elif kind < 0.5 and changes:
            starts.append(rng.choice(changes) + MINUTE * rng.choice([-60, -30, -1, 0, 1, 30, 59, 60]))
        elif kind < 0.6:
            day = (timeline.first + MINUTE * rng.randrange(span)).astimezone(tz).date()
            starts.append(datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC))
        else:
            starts.append(timeline.first + MINUTE * rng.randrange(span))
    return [s for s in starts if timeline.first <= s < timeline.first + span * MINUTE]


def random_minutes(rng: random.Random) -> int:
    """1 minute to four weeks of working time, most of them short."""
    return rng.choice([1, 2, 30, 60, 240, 480, 540, 1440, 2880, 10080, rng.randint(1, 4 * 10080),
                       int(10 ** rng.uniform(0, 4.6))])


def compare(seed: int, queries: int = 40) -> tuple[int, list[str]]:
    """(queries made, differences) for one random calendar."""
    rng = random.Random(seed)
    settings, oracle, calendar, first = random_case(rng)
    timeline = oracle.timeline(first, WINDOW_DAYS)
    found, made = [], 0
    say = lambda what, got, want: found.append(f"seed {seed} {settings}: {what}: product {got}, oracle {want}")  # noqa: E731
    for start in random_starts(rng, timeline, settings["timezone"], queries):
        local = start.astimezone(calendar.zone)
        if calendar.is_open(local) != timeline.is_open(start):
            say(f"is_open({local.isoformat()})", calendar.is_open(local), timeline.is_open(start))
        opening = timeline.deadline(start, 0)
        if opening is not None and not same_instant(calendar.next_opening(local), opening):
            say(f"next_opening({local.isoformat()})", calendar.next_opening(local), opening)
        minutes = random_minutes(rng)
        due = timeline.deadline(start, minutes)
        made += 3
        if due is None:  # past the window: the oracle cannot tell
            continue
        got = calendar.add_business_time(local, timedelta(minutes=minutes))
        if not same_instant(got, due):
            say(f"{local.isoformat()} + {minutes} min", got.astimezone(calendar.zone), due.astimezone(calendar.zone))
        later = start + MINUTE * rng.randrange(1, int((due - start) / MINUTE) + 2)
        for end in (due, later):
            if calendar.business_time_between(local, end) != timeline.elapsed(start, end):
                say(f"between({local.isoformat()}, {end.astimezone(calendar.zone).isoformat()})",
                    calendar.business_time_between(local, end), timeline.elapsed(start, end))
        made += 2
    return made, found


def test_calendar_agrees_with_a_minute_by_minute_oracle():
    made, found = 0, []
    for seed in range(12):
        count, differences = compare(seed)
        made, found = made + count, found + differences
    assert made > 300
    assert not found, "\n".join(found[:20])


if __name__ == "__main__":  # python -m tests.test_calendar_oracle 5000 [first seed]
    total, first_seed = int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 0
    made, found = 0, []
    for seed in range(first_seed, first_seed + total):
        count, differences = compare(seed, 60)
        made, found = made + count, found + differences
        for line in differences[:3]:
            print(line, flush=True)
    print(f"{total} calendars, {made} queries, {len(found)} differences")
