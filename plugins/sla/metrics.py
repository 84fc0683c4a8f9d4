"""Support metrics from tickets: response and resolution times (in each priority's business or calendar
hours), SLA attainment, volume per label and per agent. Averages hide the worst cases, so the tail (p90,
max) is shown too.

Each target's tickets are met, breached (late, or open past the target) or pending (open inside it); the
share within target is met of met + breached. A thread that continues a conversation (Gmail split a customer's
reply off, labelled ``Continued``) is no ticket of its own: it is counted apart, in none of the ticket figures,
as Zendesk and Freshdesk merge such a reply into its ticket. Resolution targets are measured here, not alerted: Gmail
keeps no record of how long a ticket waited on the customer, so a live resolution clock could not pause
fairly."""
from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta

import numpy
from jinja2 import Environment, select_autoescape

from .clock import is_resolved
from .policy import PRIORITIES, priority_of


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _summary(values: list[float]) -> dict:
    """Count, mean, median (the middle value, the mean of the two middle ones for an even count: ``statistics.median``),
    p90 (the observed value nearest the 90th percentile: ``numpy.percentile(method="nearest")``) and max."""
    if not values:
        return {"count": 0, "mean_h": None, "median_h": None, "p90_h": None, "max_h": None}
    p90 = float(numpy.percentile(values, 90, method="nearest"))
    return {"count": len(values), "mean_h": round(statistics.mean(values), 2),
            "median_h": round(statistics.median(values), 2), "p90_h": p90, "max_h": max(values)}


MET, BREACHED, PENDING = "met", "breached", "pending"


def outcome(ended: datetime, due: datetime, done: bool) -> str:
    """Met or breached once the answer came at ``ended`` (at the deadline itself is in time); still open at
    ``ended`` (now), breached once past the deadline, else pending: whether it will be met is not known yet, so it
    counts neither way. Judged by the deadline, as the clock's labels are: a deadline at closing time on Friday is
    passed on Saturday, though no business time has gone by since."""
    if ended > due:
        return BREACHED
    return MET if done else PENDING


def attainment(counts: Counter) -> float | None:
    """The share met of the tickets whose outcome is known (met or breached); None when none is."""
    decided = counts[MET] + counts[BREACHED]
    return round(counts[MET] / decided, 3) if decided else None


def compute(tickets, policy, config, now: datetime) -> dict:
    continued = sum(1 for t in tickets if t.continues_conversation)
    tickets = [t for t in tickets if not t.continues_conversation]  # the customer's next message, not a new ticket
    first, waiting, resolution, replies = [], [], [], []
    answers, resolutions, open_overdue = Counter(), Counter(), 0
    per_priority: dict[str, Counter] = {}
    labels, agents = Counter(), Counter()
    root = config.mailbox.label_root + "/" if config.mailbox.label_root else ""
    for ticket in tickets:
        priority, _ = priority_of(ticket, policy)
        target = policy.target(priority, "first_response", ticket.channel)
        resolved = is_resolved(ticket, policy)  # as the clock sees it: archived too with resolve_on_archive
        answered = ticket.first_agent_reply_at is not None
        if answered or not resolved:  # resolved without an answer (spam, a duplicate): no answer owed, as the clock has it
            taken = policy.elapsed(ticket.first_customer_at, ticket.first_agent_reply_at or now, priority)
            (first if answered else waiting).append(_hours(taken))
            got = outcome(ticket.first_agent_reply_at or now, policy.due(ticket.first_customer_at, target, priority),
                          answered)
            answers[got] += 1
            per_priority.setdefault(priority, Counter())[got] += 1
        resolve_by = policy.due(ticket.first_customer_at, policy.target(priority, "resolution", ticket.channel), priority)
        if resolved and ticket.agent_messages:
            last = ticket.agent_messages[-1].sent_at
            resolution.append(_hours(policy.elapsed(ticket.first_customer_at, last, priority)))
            resolutions[outcome(last, resolve_by, True)] += 1
            replies.append(len(ticket.agent_messages))
        elif not resolved:
            got = outcome(now, resolve_by, False)
            resolutions[got] += 1
            open_overdue += got == BREACHED
        for label in ticket.labels:
            if label.startswith(root) and not label.startswith((root + "SLA/", root + "Owner/", root + "Priority/")):
                labels[label[len(root):]] += 1
        for owner in ticket.labels_under("Owner"):
            agents[owner] += 1
    counts = lambda c: {MET: c[MET], BREACHED: c[BREACHED], PENDING: c[PENDING]}  # noqa: E731
    return {
        "tickets": len(tickets),
        "continued": continued,
        "business_hours": policy.business_hours,
        "calendar_hours": policy.calendar_priorities(),  # each ticket is measured in its priority's hours
        "first_response": {**_summary(first), "within_target": attainment(answers), **counts(answers),
                           "unanswered": len(waiting), "longest_waiting_h": max(waiting) if waiting else None},
        "resolution": {**_summary(resolution), "within_target": attainment(resolutions), **counts(resolutions),
                       "open_past_target": open_overdue},
        "replies_until_resolved": round(statistics.mean(replies), 2) if replies else None,
        "sla_attainment": {p: share for p, c in sorted(per_priority.items()) if (share := attainment(c)) is not None},
        "volume_by_label": dict(labels.most_common()),
        "volume_by_agent": dict(agents.most_common()),
    }


def hours_phrase(metrics: dict) -> str:
    """In which hours the times count: "business hours", "business hours; urgent in calendar hours", …"""
    calendar = metrics.get("calendar_hours") or []
    if metrics["business_hours"]:
        return "business hours" + (f"; {', '.join(calendar)} in calendar hours" if calendar else "")
    business = [p for p in PRIORITIES if p not in calendar]
    return "calendar hours" + (f"; {', '.join(business)} in business hours" if business else "")


def outcomes(part: dict) -> str:
    """" (met 3, breached 1, pending 2)": what the share within target is made of, and what is still open."""
    if MET not in part:
        return ""
    return f" (met {part[MET]}, breached {part[BREACHED]}, pending {part[PENDING]})"


def continued_phrase(metrics: dict) -> str:
    """"; 2 continued conversations not counted": threads Gmail split off a conversation, left out of the figures."""
    count = metrics.get("continued", 0)
    if not count:
        return ""
    return f"; {count} continued conversation{'s' if count > 1 else ''} (a reply in a thread of its own) not counted"


def percent(share: float | None) -> str:
    """A share as the report shows it ("75%"; "–" for none), as SLA attainment is."""
    return "–" if share is None else f"{share:.0%}"


def listed(volumes: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in volumes.items()) or "–"


def render_text(metrics: dict) -> str:
    fr, rs = ({k: percent(v) if k == "within_target" else "–" if v is None else v for k, v in metrics[part].items()}
              for part in ("first_response", "resolution"))
    replies = "–" if metrics["replies_until_resolved"] is None else metrics["replies_until_resolved"]
    lines = [f"Tickets: {metrics['tickets']}{continued_phrase(metrics)}",
             f"First response (h, {hours_phrase(metrics)}): mean {fr['mean_h']}, median {fr['median_h']}, "
             f"p90 {fr['p90_h']}, max {fr['max_h']}; within target {fr['within_target']}{outcomes(fr)}; "
             f"unanswered {fr['unanswered']} (longest waiting {fr.get('longest_waiting_h', '–')})",
             f"Resolution (h): mean {rs['mean_h']}, median {rs['median_h']}, p90 {rs['p90_h']}, max {rs['max_h']}; within target "
             f"{rs['within_target']}{outcomes(rs)}; open past target {rs['open_past_target']}",
             f"Replies until resolved: {replies}",
             "SLA attainment: " + listed({p: percent(v) for p, v in metrics["sla_attainment"].items()}),
             "By label: " + listed(metrics["volume_by_label"]),
             "By agent: " + listed(metrics["volume_by_agent"])]
    return "\n".join(lines)


# A file opened from disk: no script runs in it and it loads nothing (styles inline: the bars' widths).
TEMPLATE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
form-action 'none'"><title>Labeldesk report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}th[scope=row]{text-align:left;font-weight:normal}
.bar{background:#4a86e8;height:12px}</style></head><body><main>
<h1>Support report</h1><p>{{ m.tickets }} tickets{{ continued }}.</p>
<h2>First response{{ hours }}</h2>
<table><tr><th>mean h</th><th>median h</th><th>p90 h</th><th>max h</th><th>within target</th><th>met</th><th>breached</th><th>pending</th>
<th>unanswered</th><th>longest waiting h</th></tr>
<tr><td>{{ m.first_response.mean_h }}</td><td>{{ m.first_response.median_h }}</td><td>{{ m.first_response.p90_h }}</td><td>{{ m.first_response.max_h }}</td>
<td>{{ m.first_response.within_target|percent }}</td><td>{{ m.first_response.met }}</td><td>{{ m.first_response.breached }}</td>
<td>{{ m.first_response.pending }}</td><td>{{ m.first_response.unanswered }}</td>
<td>{{ m.first_response.longest_waiting_h }}</td></tr></table>
<h2>Resolution{{ hours }}</h2>
<table><tr><th>mean h</th><th>median h</th><th>p90 h</th><th>max h</th><th>within target</th><th>met</th><th>breached</th><th>pending</th>
<th>open past target</th></tr>
<tr><td>{{ m.resolution.mean_h }}</td><td>{{ m.resolution.median_h }}</td><td>{{ m.resolution.p90_h }}</td><td>{{ m.resolution.max_h }}</td>
<td>{{ m.resolution.within_target|percent }}</td><td>{{ m.resolution.met }}</td><td>{{ m.resolution.breached }}</td>
<td>{{ m.resolution.pending }}</td><td>{{ m.resolution.open_past_target }}</td></tr></table>
<h2>First-response SLA attainment per priority</h2><table>
<tr><th scope="col">priority</th><th scope="col" colspan="2">within target</th></tr>{% for p, v in m.sla_attainment.items() %}
<tr><th scope="row">{{ p }}</th><td>{{ (v * 100)|round(1) }}%</td><td><div class="bar" aria-hidden="true" style="width:{{ (v * 300)|int }}px"></div></td></tr>{% endfor %}</table>
{% set top = [m.tickets, 1]|max %}
<h2>Volume per label</h2><table><tr><th scope="col">label</th><th scope="col" colspan="2">tickets</th></tr>
{% for k, v in m.volume_by_label.items() %}<tr><th scope="row">{{ k }}</th><td>{{ v }}</td><td><div class="bar" aria-hidden="true" style="width:{{ (v / top * 300)|int }}px"></div></td></tr>{% endfor %}</table>
<h2>Volume per agent</h2><table><tr><th scope="col">agent</th><th scope="col" colspan="2">tickets</th></tr>
{% for k, v in m.volume_by_agent.items() %}<tr><th scope="row">{{ k }}</th><td>{{ v }}</td><td><div class="bar" aria-hidden="true" style="width:{{ (v / top * 300)|int }}px"></div></td></tr>{% endfor %}</table>
</main></body></html>"""


def render_html(metrics: dict) -> str:
    # finalize: a value not measured (None) reads as "–" in every cell, as in the text report; 0 stays 0
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True),
                      finalize=lambda value: "–" if value is None else value)
    env.filters["percent"] = percent
    return env.from_string(TEMPLATE).render(m=metrics, hours=f" ({hours_phrase(metrics)})", continued=continued_phrase(metrics))
