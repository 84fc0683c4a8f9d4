"""The SLA clock: a pure function of (ticket, policy, now).

First response runs from the customer's first message until the first human agent reply
(acknowledgements are automatic and don't count). Next response restarts when the customer writes
again after an agent, unless all they write is thanks (:mod:`plugin_host.thanks`), and runs from the
first message of a thread Gmail split off a conversation (the host labels it ``Continued``). The clock
pauses while the ticket waits on the customer (a label) and stops when it is resolved (a label, or
archived when configured). Both labels hold the clock only while the agent spoke last: once the
customer writes after the last agent reply they are stale, the next-response clock runs and the
plugin removes them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .policy import SlaPolicy, priority_of


@dataclass(frozen=True)
class SlaState:
    priority: str
    priority_reason: str
    kind: str  # first_response | next_response | "" when no answer is owed
    started_at: datetime | None
    due: datetime | None
    target: timedelta | None
    elapsed: timedelta
    at_risk: bool
    breached: bool
    paused: bool
    resolved: bool

    @property
    def left(self) -> timedelta | None:
        return None if self.target is None else self.target - self.elapsed


def clock_start(ticket) -> tuple[str, datetime | None]:
    """Which response target runs and since when, from the conversation alone. A thread that continues a
    conversation (Gmail split the customer's reply off, ``Ticket.continues_conversation``) starts after it:
    its first message is the customer writing again, so the next-response target runs from it."""
    last_agent = None
    for message in ticket.messages:
        if message.kind == "agent":
            last_agent = message
    if last_agent is None and not ticket.continues_conversation:
        return "first_response", ticket.first_customer_at
    waiting = [m for m in ticket.messages
               if (last_agent is None or m.sent_at > last_agent.sent_at) and ticket.owes_answer(m)]
    if not waiting:
        return "", None
    return "next_response", waiting[0].sent_at


def answered_clocks(ticket) -> list[tuple[datetime, object]]:
    """Each response clock of the thread that an agent has since answered: (its start, as :func:`clock_start` gave
    it while it ran, and the agent's message that stopped it), oldest first."""
    answered, start = [], None if ticket.continues_conversation else ticket.first_customer_at
    for message in ticket.messages:
        if message.kind == "agent":
            if start is not None and message.sent_at > start:
                answered.append((start, message))
            start = None
        elif start is None and ticket.owes_answer(message):
            start = message.sent_at
    return answered


def stale_hold_labels(ticket, policy: SlaPolicy) -> list[str]:
    """Waiting/resolved labels the customer has written past: set before their latest message.

    Gmail labels messages: a message that arrives after the label was set does not carry it, while
    an agent who marks the ticket after reading it ("Thanks!" → Resolved) labels that message too.
    Nothing else takes a stale label off, so it would hold the clock for good. Before any agent
    reply in the thread the labels stay in force (e.g. spam resolved without an answer, or a thread Gmail split
    off that an agent resolved after answering in the earlier thread).
    """
    if not ticket.agent_messages or clock_start(ticket)[0] != "next_response":
        return []
    latest = ticket.latest_customer_message
    return [label for label in (policy.waiting_label, policy.resolved_label)
            if ticket.has_label(label) and not ({ticket.full_label(label), label} & latest.labels)]


def _holds(ticket, policy: SlaPolicy, label: str) -> bool:
    """Whether ``label`` is on the ticket and still holds the clock."""
    return ticket.has_label(label) and label not in stale_hold_labels(ticket, policy)


def is_resolved(ticket, policy: SlaPolicy) -> bool:
    """The resolved label holds (the customer has not written past it), or archived with ``resolve_on_archive``."""
    return _holds(ticket, policy, policy.resolved_label) or (
        policy.resolve_on_archive and not any("INBOX" in m.label_ids for m in ticket.messages))


def sla_state(ticket, policy: SlaPolicy, now: datetime) -> SlaState:
    priority, why = priority_of(ticket, policy)
    resolved = is_resolved(ticket, policy)
    paused = _holds(ticket, policy, policy.waiting_label)
    kind, started = clock_start(ticket)
    if resolved or paused or not kind:
        return SlaState(priority, why, kind if not resolved else "", started, None, None, timedelta(0),
                        False, False, paused, resolved)
    target = policy.target(priority, kind, ticket.channel)
    due = policy.due(started, target, priority)
    elapsed = policy.elapsed(started, now, priority)
    breached = now > due  # at the deadline itself the answer is still in time (as the report counts it)
    at_risk = not breached and elapsed >= target * policy.at_risk_share
    return SlaState(priority, why, kind, started, due, target, elapsed, at_risk, breached, False, False)


def human_left(delta: timedelta | None, business: bool) -> str:
    if delta is None:
        return "no deadline"
    sign = "" if delta >= timedelta(0) else "overdue by "
    text = human_duration(abs(delta))
    suffix = " business time" if business else ""
    return f"{sign}{text}{suffix}" if sign else f"{text}{suffix} left"


def human_duration(delta: timedelta) -> str:
    """"4h 05m" or "35m"."""
    hours, minutes = divmod(int(delta.total_seconds() // 60), 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
