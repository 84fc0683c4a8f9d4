"""Labeldesk plugin ``sla``: business-hours deadlines, visible SLA labels, breach escalation.

Labels (under the root): ``Priority/<Level>``, ``SLA/At risk`` (at a share of the target, default
75%), ``SLA/Breached`` (red); removed when no longer true. ``SLA/Priority set by agent`` marks a
level chosen with the side-panel buttons (it then overrides the rules). A waiting/resolved label the
customer has written past is removed. The sweep finds candidates with Gmail
search (labels plus ``before:`` epoch bounds), so its cost grows with open tickets, not mailbox
size. Escalation ladder: at risk → the owner is notified (nobody owns it yet: the team lead, else the team's chat); breached → a Google Task for the team lead
and a notification (email or Google Chat webhook); still breached after ``second_step_after`` →
a second notification; answered or resolved → the breach task is completed, with a line why.
"""
from __future__ import annotations

import html

from plugin_host import hookimpl
from plugin_host.hours import local_text
from plugin_host.ticket import CardReply, Deadline

from . import escalation
from .clock import human_left, sla_state, stale_hold_labels
from .policy import AGENT_PRIORITY, PRIORITIES, SlaPolicy, validate

NAME = "sla"
AT_RISK, BREACHED = "SLA/At risk", "SLA/Breached"


def policy_of(settings) -> SlaPolicy:
    policy = settings.plugin(NAME)
    return policy if isinstance(policy, SlaPolicy) else validate(policy or {}, settings)


@hookimpl
def register_settings(register):
    register(NAME, validate)


@hookimpl
def owned_labels(settings):
    return [AT_RISK, BREACHED]  # claims about time nobody re-checks once sla is off; priorities stay


def record_state(ticket, actions, settings, now, swept: bool = False) -> None:
    policy = policy_of(settings)
    state = sla_state(ticket, policy, now)
    level = f"Priority/{state.priority.capitalize()}"
    others = [f"Priority/{p.capitalize()}" for p in PRIORITIES if p != state.priority]
    actions.add_labels(level)
    actions.remove_labels(*[o for o in others if ticket.has_label(o)])
    actions.add_labels(AT_RISK) if state.at_risk else actions.remove_labels(AT_RISK)
    settled = escalation.settle_breaches(ticket, state, policy, actions, settings, now, BREACHED, swept)
    if state.breached:
        actions.add_labels(BREACHED)
    elif not settled:  # else it comes off once the breach tasks are completed
        actions.remove_labels(BREACHED)
    stale = stale_hold_labels(ticket, policy)
    if stale:
        actions.remove_labels(*stale)
    escalation.ladder(ticket, state, policy, actions, settings, now)


@hookimpl
def on_ticket_opened(ticket, actions, settings, now):
    record_state(ticket, actions, settings, now)


@hookimpl
def on_customer_replied(ticket, actions, settings, now):
    record_state(ticket, actions, settings, now)


@hookimpl
def on_agent_replied(ticket, actions, settings, now):
    record_state(ticket, actions, settings, now)


@hookimpl
def on_sweep(ticket, actions, settings, now, completed_tasks):
    record_state(ticket, actions, settings, now, swept=True)
    escalation.close_the_loop(ticket, completed_tasks or frozenset(), actions, policy_of(settings))


@hookimpl
def google_scopes(settings):
    from plugin_host.scopes import TASKS, Scope

    return [Scope(TASKS, "breach and escalation tasks for the team lead, in Google Tasks", plugin="sla")]


@hookimpl
def sweep_tasklists(settings):
    return [policy_of(settings).tasklist]


def _q(settings, name: str) -> str:
    full = f"{settings.mailbox.label_root}/{name}" if settings.mailbox.label_root else name
    return "label:" + full.lower().replace("/", "-").replace(" ", "-")


@hookimpl
def sweep_queries(settings, now):
    """Open tickets old enough to be at risk, plus those already at risk or breached."""
    policy = policy_of(settings)
    earliest = policy.shortest_response_target() * policy.at_risk_share  # wall time ≥ business time
    bound = int((now - earliest).timestamp())
    return [f"{_q(settings, 'Awaiting reply')} before:{bound}", _q(settings, AT_RISK), _q(settings, BREACHED),
            _q(settings, "Escalated")]


@hookimpl
def ticket_deadline(ticket, settings, now):
    policy = policy_of(settings)
    state = sla_state(ticket, policy, now)
    if state.due is None:
        return None
    calendar, business = policy.calendar, policy.business(state.priority)  # 24/7 priorities: the team is there
    open_now = calendar.is_open(now) if business else True
    reopens = None if open_now else calendar.next_opening(now)
    return Deadline(due=state.due, target=state.kind, priority=state.priority, business_hours=business,
                    text=local_text(state.due, calendar.zone), open_now=open_now,
                    holiday=calendar.holiday_name(now.astimezone(calendar.zone).date(), ticket.language) if business else "",
                    back_at=local_text(reopens, calendar.zone) if reopens else "", zone=calendar.zone.key, reopens=reopens,
                    left=human_left(state.left, business))


@hookimpl
def ticket_sections(ticket, agent, settings, now, urls):
    policy = policy_of(settings)
    state = sla_state(ticket, policy, now)
    status = "Breached" if state.breached else "At risk" if state.at_risk else "Paused" if state.paused else \
        "Resolved" if state.resolved else "On track" if state.due else "No answer owed"
    widgets = [
        {"decoratedText": {"topLabel": "Priority", "text": html.escape(f"{state.priority.capitalize()} ({state.priority_reason})")}},
        {"decoratedText": {"topLabel": "SLA", "text": html.escape(status)}},
    ]
    # The deadline itself is the card's "Answer due" (from ``ticket_deadline``), beside the first message.
    if ticket.has_label("Fixed - tell customer"):
        widgets.append({"textParagraph": {"text": "<b>Fixed — tell the customer.</b>"}})
    buttons = [{"text": p.capitalize(), "onClick": {"action": {"function": urls("action"), "parameters": [
        {"key": "name", "value": "sla.set_priority"}, {"key": "priority", "value": p},
        {"key": "threadId", "value": ticket.thread_id}]}}} for p in PRIORITIES if p != state.priority]
    widgets.append({"textParagraph": {"text": "Set the priority:"}})  # the buttons alone read as bare words
    widgets.append({"buttonList": {"buttons": buttons}})
    widgets.append({"selectionInput": {"name": "team", "label": "Escalate to", "type": "DROPDOWN", "items": [
        {"text": team.capitalize(), "value": team, "selected": i == 0} for i, team in enumerate(policy.teams)]}})
    widgets.append({"buttonList": {"buttons": [{"text": "Escalate", "onClick": {"action": {
        "function": urls("action"), "parameters": [{"key": "name", "value": "sla.escalate"},
                                                   {"key": "threadId", "value": ticket.thread_id}]}}}]}})
    return [{"header": "Service level", "widgets": widgets}]


@hookimpl
def on_card_action(name, parameters, form_inputs, ticket, agent, actions, settings, now):
    if name not in ("sla.set_priority", "sla.escalate"):
        return None
    if ticket is None:
        return CardReply(notification="Open a ticket first.")
    policy = policy_of(settings)
    if name == "sla.set_priority":
        level = parameters.get("priority", "")
        if level not in PRIORITIES:
            return CardReply(notification="Unknown priority.")
        actions.remove_labels(*[f"Priority/{p.capitalize()}" for p in PRIORITIES if p != level])
        actions.add_labels(f"Priority/{level.capitalize()}", AGENT_PRIORITY)
        return CardReply(notification=f"Priority set to {level}.")
    team = (form_inputs.get("team") or [policy.teams[0] if policy.teams else "engineering"])[0]
    if team not in policy.teams:
        return CardReply(notification="Unknown team.")
    escalation.escalate(ticket, team, agent, policy, actions, now)
    return CardReply(notification=f"Escalated to {team}: a task was created.",
                     already=f"Already escalated to {team}: its open task stays, no second one was made.")


@hookimpl
def register_commands(cli):
    from .cli import register

    register(cli)
