"""The escalation ladder and the "Escalate" button: notifications and Google Tasks, idempotent.

Keys include the thread and the start of the running clock, so each breach of each response
target escalates once, however often the sweep runs. "Escalate" makes one open task per team and
thread; once that is completed (the fix) a press makes a new one, and the ticket counts as fixed
again only when every task of the thread for that team is completed.
"""
from __future__ import annotations

from datetime import datetime

from .clock import SlaState, answered_clocks, human_duration


def summary(ticket, limit: int = 600) -> str:
    text = ticket.latest_customer_message.text.strip().replace("\r", "")
    return text[:limit] + ("…" if len(text) > limit else "")


def _owner_email(ticket, settings) -> str:
    """The owner's address, or "" when nobody owns the ticket or its owner left the team (``active = false``: their
    mailbox is suspended or nobody reads it), so that whoever hears of unowned tickets is told instead."""
    name = ticket.owner_name
    return next((a.email for a in settings.active_agents.values() if a.full_name == name), "") if name else ""


def _unowned(ticket, short: bool = False) -> str:
    """Why nobody is warned as the owner: the ticket has none yet, or its owner is no longer an active agent."""
    if ticket.owner_name:
        return (f"its owner {ticket.owner_name} left" if short else
                f"{ticket.owner_name}, who owns it, is no longer an active agent: give it to someone with Take.")
    return "nobody owns it yet" if short else "Nobody owns it yet."


def chat_text(text: str) -> str:
    """Text for a Google Chat message with its <…> markup shown, not obeyed: a customer's subject may not
    write <users/all> (which mentions everyone in the space) or <https://…|words> (a link showing only words)."""
    return text.replace("<", "‹").replace(">", "›")


def team_date(when: datetime, policy):
    """The date at ``when`` where the team works (the calendar's zone): a task made at 00:30 in Warsaw is due
    that Tuesday, not on Monday as UTC would have it."""
    return when.astimezone(policy.calendar.zone).date()


def team_time(when: datetime, policy) -> str:
    """A deadline as the team reads it in notices and tasks: "2026-11-24 00:00 CET", in the calendar's zone."""
    return f"{when.astimezone(policy.calendar.zone):%Y-%m-%d %H:%M %Z}"


def ladder(ticket, state: SlaState, policy, actions, settings, now: datetime) -> None:
    if state.started_at is None or not (state.at_risk or state.breached):
        return
    clock = breach_key(ticket, state.started_at).removeprefix("breach:")
    owner = _owner_email(ticket, settings)
    if state.at_risk and policy.notify_owner_at_risk:
        warn_at_risk(ticket, state, policy, actions, owner, f"atrisk:{clock}")
    if not state.breached or missed_before_switched_on(state, settings):
        return
    lead = policy.team_lead or owner
    actions.task(title=f"SLA breached: {ticket.subject}"[:1024], key=f"breach:{clock}", tasklist=policy.tasklist,
                 due=team_date(now, policy), notes=f"Customer: {ticket.customer.email}\nOwner: {ticket.owner_name or 'nobody yet'}\n"
                                                     f"Missed: {state.kind.replace('_', ' ')}\nPriority: {state.priority}\n"
                                                     f"Due: {team_time(state.due, policy)}\nThread: {ticket.gmail_url}\n\n"
                                       f"{summary(ticket)}")
    what = f"{state.priority}, {state.kind.replace('_', ' ')}"
    owned = f"{ticket.owner_name} owns it." if owner else _unowned(ticket)
    missed = f"The {state.kind.replace('_', ' ')} for {ticket.customer.email} was due {team_time(state.due, policy)}."
    text = f"SLA breached ({what}): {ticket.subject}\n{missed} {owned}\n{ticket.gmail_url}"
    atrisk, breach = f"atrisk:{clock}", f"breach:{clock}"
    overdue = policy.elapsed(state.due, now, state.priority)  # in the priority's hours, like its targets
    second_step = bool(lead) and overdue >= policy.second_step_after
    if policy.chat_webhook:
        actions.notify(to="team", channel=policy.chat_webhook, subject="SLA breached", text=chat_text(text),
                       key=f"breach:{clock}")
    elif lead and not second_step:  # a breach first seen long after (a backlog, sweeps down): one email, below
        actions.notify(to=lead, subject=notice_subject(ticket), text=text, key=breach, follows=(atrisk,))
    if second_step:
        late = human_duration(overdue) + (" business time" if policy.business(state.priority) else "")
        actions.notify(to=lead, subject=notice_subject(ticket), key=f"breach2:{clock}", follows=(atrisk, breach),
                       text=f"Still unanswered: breached {late} ago ({what}).\n{missed} {owned}\n{ticket.gmail_url}")


def missed_before_switched_on(state: SlaState, settings) -> bool:
    """Whether the deadline passed before the SLA plugin was switched on: a backlog's breach of weeks ago, or one
    of the days it was off. The label shows it; a task, a notice or a chat post for it would be news to nobody (a
    help desk applies a new SLA policy to what happens from then on). Plugins on from the start escalate all."""
    asked = getattr(settings, "switched_on_at", None)  # a test's stand-in settings may not know it
    switched_on = asked("sla") if asked else None
    return switched_on is not None and state.due is not None and state.due < switched_on


def notice_subject(ticket) -> str:
    """The one subject of every email notice about a ticket: Gmail threads a notice with the one before only when
    the subjects match, so what the notice says (at risk, breached, still unanswered) opens its text instead."""
    return f"SLA: {ticket.subject}"


def breach_key(ticket, started: datetime) -> str:
    return f"breach:{ticket.thread_id}:{int(started.timestamp())}"


def settle_breaches(ticket, state: SlaState, policy, actions, settings, now: datetime, label: str,
                    swept: bool = False) -> bool:
    """Complete the breach tasks of the clocks an agent has since answered, or all of them once the ticket is
    resolved, each with a line why in the team's zone; ``label`` (``SLA/Breached``) comes off once they are
    (a run that cannot reach Tasks leaves it on, so the sweep tries again). Only for a thread carrying
    ``label``: a ticket that never breached costs no Tasks call. In a sweep (``swept``), which reads the list
    once for every ticket, the label is not needed: versions before cef1b28 took it off and left the task open
    (the sweep visits the tickets of open tasks). Returns whether anything was recorded."""
    if not (swept or ticket.has_label(label)):
        return False
    reasons = {breach_key(ticket, start): f"Answered by {_agent_name(answer, settings)} on "
                                          f"{team_time(answer.sent_at, policy)}"
               for start, answer in answered_clocks(ticket)}
    if state.resolved and state.started_at is not None:
        reasons.setdefault(breach_key(ticket, state.started_at), f"Resolved as of {team_time(now, policy)}")
    if state.breached:
        reasons.pop(breach_key(ticket, state.started_at), None)  # the breach still running keeps its task open
    if not reasons:
        return False
    actions.complete_tasks(tasklist=policy.tasklist, reasons=tuple(reasons.items()),
                           remove_labels=() if state.breached else (label,))
    return True


def _agent_name(message, settings) -> str:
    agent = settings.agent(message.from_email or message.sender.email)
    return agent.full_name if agent else message.sender.name or message.sender.email


def warn_at_risk(ticket, state: SlaState, policy, actions, owner: str, key: str) -> None:
    """Warn the owner; before anyone owns the ticket, whoever hears of breaches: ``team_lead``, else the team's
    chat. One key for all of them, so each target of each ticket is warned about once, even when an agent
    takes the ticket after the lead was told."""
    target = state.kind.replace("_", " ")
    text = f"The {target} for {ticket.customer.email} is due {team_time(state.due, policy)}."
    if owner or policy.team_lead:
        nobody = "" if owner else " " + _unowned(ticket)
        actions.notify(to=owner or policy.team_lead, subject=notice_subject(ticket), key=key,
                       text=f"At risk: {text[0].lower()}{text[1:]}{nobody}\n{ticket.gmail_url}")
    elif policy.chat_webhook:
        actions.notify(to="team", channel=policy.chat_webhook, subject="SLA at risk", key=key,
                       text=chat_text(f"At risk ({state.priority}, {target}), {_unowned(ticket, short=True)}: "
                                      f"{ticket.subject}\n{text}\n{ticket.gmail_url}"))


def escalate(ticket, team: str, agent, policy, actions, now: datetime) -> None:
    who = agent.full_name if agent else "an agent"
    actions.task(title=f"[{team}] {ticket.subject}"[:1024], key=f"escalate:{team}:{ticket.thread_id}",
                 tasklist=f"{policy.tasklist} — {team}", due=team_date(now, policy), again_when_done=True,
                 notes=f"Escalated by {who}.\nCustomer: {ticket.customer.email}\nThread: {ticket.gmail_url}\n\n"
                       f"{summary(ticket)}")
    actions.add_labels("Escalated", f"Escalated/{team.capitalize()}")
    actions.remove_labels(FIXED_LABEL)  # escalated again: the earlier fix did not hold


FIXED_LABEL = "Fixed - tell customer"


def close_the_loop(ticket, completed_tasks: frozenset, actions, policy) -> None:
    """The escalation tasks are completed: the ticket now says "fixed — tell the customer". Escalated
    to several teams (``Escalated/<Team>``), it waits for every one of them."""
    if not ticket.has_label("Escalated"):
        return
    teams = [t for t in policy.teams if ticket.has_label(f"Escalated/{t.capitalize()}")]
    keys = {f"escalate:{team}:{ticket.thread_id}" for team in teams}
    done = keys <= completed_tasks if keys else any(
        key.startswith("escalate:") and key.endswith(":" + ticket.thread_id) for key in completed_tasks)
    if done:
        actions.add_labels(FIXED_LABEL)
        actions.remove_labels("Escalated")
