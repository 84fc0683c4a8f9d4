"""An independent oracle for what Labeldesk reports about time: ``labeldesk report`` (JSON and HTML), the SLA labels,
``labeldesk sla due`` and the deadlines promised in acknowledgements.

A seeded random generator writes conversations whose every moment it knows: customers writing at any hour (nights,
weekends, public holidays, the nights the clocks change), acknowledgements, agents answering from the support address
or from their own mailboxes, customers' "thanks", follow-up questions, tickets resolved, reopened and resolved again,
tickets waiting on the customer, priorities from a label, a VIP domain and an urgency word, and tickets still open at
report time. The figures are then counted here from those known moments with the definitions of
/work/shared/reference/support-practice.md and docs/sla.md, in working minutes counted one by one by
:mod:`tests.calendar_oracle` (the ``holidays`` package and zoneinfo, no product code), so a disagreement is the
product's or this file's to explain.
"""
from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy

from tests.calendar_oracle import MINUTE, Oracle, regions

UTC = timezone.utc
SUPPORT = "support@example.com"
AGENTS = {"anna.kowalska@example.com": ("Anna", "Kowalska"), "john.smith@example.com": ("John", "Smith")}
HOURS = {"first_response": {"urgent": 60, "high": 240, "normal": 480, "low": 1440},
         "next_response": {"urgent": 120, "high": 240, "normal": 480, "low": 1440},
         "resolution": {"urgent": 480, "high": 1440, "normal": 2400, "low": 4800}}  # minutes, docs/sla.md "Targets"
CALENDAR_PRIORITIES = {"urgent"}  # targets.urgent.business_hours = false: round the clock
AT_RISK_SHARE = 0.75


@dataclass(frozen=True)
class Office:
    """One team's calendar and the period the generator fills."""

    name: str
    timezone: str
    holidays: str
    hours: str
    first: datetime  # the earliest customer message
    now: datetime  # report time

    def settings(self) -> dict:
        """``[plugins.sla]`` as the admin writes it."""
        targets = {p: {kind: f"{HOURS[kind][p]}m" for kind in HOURS} for p in HOURS["first_response"]}
        targets["urgent"]["business_hours"] = False
        return {"hours": self.hours, "timezone": self.timezone, "holidays": self.holidays, "targets": targets,
                "vip_domains": ["vip.example"], "label_priorities": {"Minor": "low"}}


def at(zone: str, *parts) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)


OFFICES = [
    # Clocks go back on 25 October; 1 November (All Saints, a Sunday) and 11 November (Independence Day) are off.
    Office("warsaw", "Europe/Warsaw", "PL", "Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-15:00",
           at("Europe/Warsaw", 2026, 10, 19, 0, 0), at("Europe/Warsaw", 2026, 11, 13, 16, 7)),
    # Clocks go back on 1 November; Veterans Day (11 November) and Thanksgiving (26 November) are off.
    Office("new_york", "America/New_York", "US", "Mon-Fri 09:00-17:00",
           at("America/New_York", 2026, 10, 27, 0, 0), at("America/New_York", 2026, 11, 27, 10, 23)),
]


@dataclass
class Said:
    """One message of a conversation: when, what (customer | thanks | agent) and which agent, how."""

    when: datetime
    kind: str
    agent: str = ""  # the agent's address
    own_mailbox: bool = False  # sent from the agent's own mailbox, copied to support


@dataclass
class Conversation:
    key: str
    customer: str
    priority: str
    said: list[Said] = field(default_factory=list)
    resolved_at: list[datetime] = field(default_factory=list)  # each time an agent labelled it Resolved
    waiting_at: datetime | None = None  # an agent labelled it Waiting on customer
    thread_id: str = ""
    continues: str = ""  # the key of the conversation this thread continues (Gmail split it off)

    def as_of(self, moment: datetime) -> "Conversation":
        """The conversation as it stood at ``moment``."""
        return Conversation(self.key, self.customer, self.priority, [s for s in self.said if s.when <= moment],
                            [t for t in self.resolved_at if t <= moment],
                            self.waiting_at if self.waiting_at and self.waiting_at <= moment else None,
                            self.thread_id, self.continues)

    @property
    def opened(self) -> datetime:
        return self.said[0].when

    def agent_replies(self) -> list[Said]:
        return [s for s in self.said if s.kind == "agent"]

    def owed(self) -> list[Said]:
        """The customer's messages after the last agent reply that ask for an answer (a thank-you does not)."""
        replies = self.agent_replies()
        after = [s for s in self.said if s.kind in ("customer", "thanks") and (not replies or s.when > replies[-1].when)]
        return [s for s in after if s.kind == "customer" or not replies]


# -- the generator ---------------------------------------------------------------------------------------------

def _some_minute(rng: random.Random, office: Office, oracle: Oracle, latest: datetime) -> datetime:
    """A moment for a new request: any minute, or one on a weekend or holiday night, or near the clock change."""
    span = int((latest - office.first) / MINUTE)
    roll = rng.random()
    if roll < 0.15:  # the night the clocks go back, either pass of the repeated hour
        change = next(t for t in _changes(office.timezone, office.first, latest))
        return change + MINUTE * rng.randrange(-180, 180)
    if roll < 0.3:  # a day off: a weekend or a public holiday
        while True:
            moment = office.first + MINUTE * rng.randrange(span)
            if not oracle.open_minutes(moment.astimezone(oracle.tz).date()):
                return moment
    return office.first + MINUTE * rng.randrange(span)


def _changes(zone: str, first: datetime, last: datetime):
    tz, moment = ZoneInfo(zone), first
    while moment < last:
        if (moment + timedelta(hours=1)).astimezone(tz).utcoffset() != moment.astimezone(tz).utcoffset():
            yield moment + timedelta(hours=1)
        moment += timedelta(hours=1)


def _later(rng: random.Random, after: datetime, clock: "Clock") -> datetime:
    """A moment after ``after``: minutes to days later, often in the next working hours."""
    if rng.random() < 0.4:
        return max(after + MINUTE, clock.next_opening(after) + MINUTE * rng.randint(0, 180))
    return after + MINUTE * rng.choice([1, 5, 29, 60, rng.randint(2, 600), rng.randint(60, 4000), rng.randint(1, 9000)])


def _story(rng: random.Random, c: Conversation, clock: "Clock") -> None:
    """Rounds of an answer and the customer's word back (thanks, a question, a reopened ticket), labels."""
    moment = c.opened
    for round_ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
        if rng.random() < 0.15:  # the customer adds something before the answer
            moment = _later(rng, moment, clock)
            c.said.append(Said(moment, "customer"))
        moment = _later(rng, moment, clock)
        if round_ == 0 and not c.continues and rng.random() < 0.2:  # an answer at the deadline, or a minute late
            moment = clock.due(c.opened, c.priority, "first_response") + MINUTE * rng.choice([0, 0, 1])
        agent = rng.choice(list(AGENTS))
        c.said.append(Said(moment, "agent", agent, own_mailbox=rng.random() < 0.35))
        if rng.random() < 0.35:
            moment = _later(rng, moment, clock)
            c.resolved_at.append(moment)
        roll = rng.random()
        if roll < 0.3:
            moment = _later(rng, moment, clock)
            c.said.append(Said(moment, "thanks"))
        elif roll < 0.75:  # a follow-up question, or a reopened ticket when it was resolved
            moment = _later(rng, moment, clock)
            c.said.append(Said(moment, "customer"))
        else:
            break
    if c.agent_replies() and c.said[-1].kind == "agent" and not c.resolved_at and rng.random() < 0.3:
        c.waiting_at = _later(rng, c.said[-1].when, clock)
    if not c.agent_replies() and rng.random() < 0.4:  # spam or a duplicate, resolved without an answer
        c.resolved_at.append(_later(rng, c.opened, clock))


def conversations(seed: int, office: Office, clock: "Clock", count: int) -> list[Conversation]:
    """``count`` conversations, and a few threads Gmail split off them (the customer answered the
    acknowledgement with a new subject: the host labels them Continued)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        priority = rng.choices(["normal", "urgent", "high", "low"], [5, 2, 2, 2])[0]
        domain = "vip.example" if priority == "high" else "example.org"
        c = Conversation(f"{office.name}{seed}.{n}", f"customer{n}@{domain}", priority)
        c.said.append(Said(_some_minute(rng, office, clock.oracle, office.now - timedelta(hours=2)), "customer"))
        if rng.random() < 0.1:  # the customer writes again in a thread of its own
            child = Conversation(c.key + "c", c.customer, "high" if priority == "high" else "normal", continues=c.key)
            child.said.append(Said(c.opened + MINUTE * rng.randint(1, 600), "customer"))
            _story(rng, child, clock)
            out.append(child)
        _story(rng, c, clock)
        out.append(c)
    out.append(_at_risk(rng, office, clock, f"{office.name}{seed}.{count}"))
    for c in out:
        c.said = [s for s in c.said if s.when < office.now - MINUTE]
        c.resolved_at = [t for t in c.resolved_at if t < office.now - MINUTE]
        if c.waiting_at and c.waiting_at >= office.now - MINUTE:
            c.waiting_at = None
    return [c for c in out if c.said]


def _at_risk(rng: random.Random, office: Office, clock: "Clock", key: str) -> Conversation:
    """A request nobody has answered yet that is at risk at report time."""
    for _ in range(10000):
        priority = rng.choice(["normal", "urgent", "low"])
        c = Conversation(key, f"late{key}@example.org", priority)
        c.said.append(Said(office.now - MINUTE * rng.randint(30, 3 * 1440), "customer"))
        if clock_now(c, clock, office.now)["at_risk"]:
            return c
    raise AssertionError("no moment puts a request at risk")


# -- the counting ----------------------------------------------------------------------------------------------

class Clock:
    """Targets and elapsed time of one office, in business minutes (or calendar minutes for 24/7 priorities)."""

    def __init__(self, office: Office):
        self.office = office
        self.oracle = Oracle(office.hours, office.timezone, regions(office.holidays))
        self.timeline = self.oracle.timeline(office.first - timedelta(days=1), 80)

    def due(self, start: datetime, priority: str, kind: str) -> datetime:
        minutes = HOURS[kind][priority]
        if priority in CALENDAR_PRIORITIES:
            return start + MINUTE * minutes
        return self.timeline.deadline(start, minutes)

    def elapsed(self, a: datetime, b: datetime, priority: str) -> timedelta:
        return b - a if priority in CALENDAR_PRIORITIES else self.timeline.elapsed(a, b)

    def next_opening(self, when: datetime) -> datetime:
        return self.timeline.deadline(when, 0)


def _written_past(c: Conversation, labelled: datetime) -> bool:
    """Whether the customer asked for more after an agent labelled the ticket at ``labelled``, once answered:
    the label is stale from then on and the plugin takes it off (docs/sla.md, "The clock")."""
    replies = c.agent_replies()
    return any(s.kind == "customer" and s.when > labelled and replies and replies[0].when < s.when for s in c.said)


def resolved(c: Conversation) -> bool:
    """The Resolved label holds: set, and the customer has not asked for more since."""
    return bool(c.resolved_at) and not _written_past(c, c.resolved_at[-1])


def waiting(c: Conversation) -> bool:
    return c.waiting_at is not None and not _written_past(c, c.waiting_at)


def clock_now(c: Conversation, clock: Clock, now: datetime) -> dict:
    """The running target at ``now`` and its labels: {"kind", "due", "at_risk", "breached"}."""
    if resolved(c) or waiting(c) or not c.owed():
        return {"kind": "", "due": None, "at_risk": False, "breached": False}
    kind = "next_response" if c.agent_replies() or c.continues else "first_response"
    start = c.owed()[0].when
    due = clock.due(start, c.priority, kind)
    breached = now > due
    at_risk = not breached and clock.elapsed(start, now, c.priority) >= MINUTE * HOURS[kind][c.priority] * AT_RISK_SHARE
    return {"kind": kind, "due": due, "at_risk": at_risk, "breached": breached}


def hours(delta: timedelta) -> float:
    return delta / timedelta(hours=1)


def percentile_90(values: list[float]) -> float:
    """The report's stated method (docs/sla.md, "Commands")."""
    return float(numpy.percentile(values, 90, method="nearest"))


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "mean_h": None, "median_h": None, "p90_h": None, "max_h": None}
    return {"count": len(values), "mean_h": sum(values) / len(values), "median_h": statistics.median(values), "p90_h": percentile_90(values),
            "max_h": max(values)}


def report(threads: list[Conversation], clock: Clock, now: datetime) -> dict:
    """``labeldesk report --json`` as the definitions give it."""
    convs = [c for c in threads if not c.continues]  # the customer's next message, not a ticket of its own
    first, waited, resolution, replies = [], [], [], []
    answers, resolutions, per_priority = Counter(), Counter(), {}
    unanswered = open_late = 0
    for c in convs:
        replies_ = c.agent_replies()
        done = resolved(c)
        due = clock.due(c.opened, c.priority, "first_response")
        if replies_:
            first.append(hours(clock.elapsed(c.opened, replies_[0].when, c.priority)))
            got = "met" if replies_[0].when <= due else "breached"
        elif not done:
            unanswered += 1
            waited.append(hours(clock.elapsed(c.opened, now, c.priority)))
            got = "breached" if now > due else "pending"
        else:
            got = None  # resolved before any answer: none was owed
        if got:
            answers[got] += 1
            per_priority.setdefault(c.priority, Counter())[got] += 1
        resolve_by = clock.due(c.opened, c.priority, "resolution")
        if done and replies_:
            last = replies_[-1].when
            resolution.append(hours(clock.elapsed(c.opened, last, c.priority)))
            resolutions["met" if last <= resolve_by else "breached"] += 1
            replies.append(len(replies_))
        elif not done:
            resolutions["breached" if now > resolve_by else "pending"] += 1
            open_late += now > resolve_by
    share = lambda c: c["met"] / (c["met"] + c["breached"]) if c["met"] + c["breached"] else None  # noqa: E731
    owners = Counter(f"{' '.join(AGENTS[c.agent_replies()[0].agent])}" for c in convs if c.agent_replies())
    return {
        "tickets": len(convs),
        "continued": len(threads) - len(convs),
        "first_response": {**summary(first), "within_target": share(answers), **_counts(answers),
                           "unanswered": unanswered, "longest_waiting_h": max(waited) if waited else None},
        "resolution": {**summary(resolution), "within_target": share(resolutions), **_counts(resolutions),
                       "open_past_target": open_late},
        "replies_until_resolved": statistics.mean(replies) if replies else None,
        "sla_attainment": {p: share(c) for p, c in sorted(per_priority.items()) if share(c) is not None},
        "volume_by_label": {label: n for label, n in (("Acknowledged", len(convs)),
                                                      ("Awaiting reply", sum(bool(c.owed()) for c in convs)),
                                                      ("Resolved", sum(resolved(c) for c in convs)),
                                                      ("Waiting on customer", sum(waiting(c) for c in convs)),
                                                      ("Minor", sum(c.priority == "low" for c in convs))) if n},
        "volume_by_agent": dict(owners),
    }


def _counts(counter: Counter) -> dict:
    return {k: counter[k] for k in ("met", "breached", "pending")}


def coverage(convs: list[Conversation], clock: Clock, now: datetime) -> Counter:
    """How many conversations of each kind the generator made: the test asks for every kind."""
    seen = Counter()
    for c in convs:
        replies = c.agent_replies()
        zone_day = c.opened.astimezone(clock.oracle.tz).date()
        seen["opened on a day off"] += not clock.oracle.open_minutes(zone_day)
        seen["opened the night the clocks changed"] += any(
            abs(c.opened - t) < timedelta(hours=3) for t in _changes(clock.office.timezone, clock.office.first, now))
        seen["continued"] += bool(c.continues)
        seen["resolved unanswered"] += bool(c.resolved_at) and not replies
        seen["reopened"] += any(_written_past(c, t) for t in c.resolved_at)
        seen["resolved again"] += len(c.resolved_at) > 1
        seen["thanks"] += any(s.kind == "thanks" for s in c.said)
        seen["answer from an own mailbox"] += any(s.own_mailbox for s in replies)
        seen["waiting on customer"] += waiting(c)
        seen["answered at the deadline"] += bool(replies) and replies[0].when == clock.due(c.opened, c.priority,
                                                                                           "first_response")
        seen["answered a minute late"] += bool(replies) and replies[0].when == clock.due(
            c.opened, c.priority, "first_response") + MINUTE
        seen["open at report time"] += not resolved(c) and bool(c.owed())
        state = clock_now(c, clock, now)
        seen["at risk"] += state["at_risk"]
        seen["breached"] += state["breached"]
        seen[c.priority] += 1
    return seen
