"""Labeldesk plugin ``autoreply``: acknowledge every request like a person would.

One acknowledgement per new ticket, in the customer's language, naming when to expect an answer
and signed with an agent's full name; full-name signatures and handover lines in compose;
ownership (``Owner/<Full Name>``) for the first agent who replies or presses "Take"; a warning
when an agent's reply goes out without a full-name sign-off.
"""
from __future__ import annotations

import html
import logging

from plugin_host import hookimpl, people
from plugin_host.ticket import CardReply

from . import acknowledgement
from .settings import validate

log = logging.getLogger(__name__)
NAME = "autoreply"
WARNING_LABEL = "Warning/No full name"


def _settings(config):
    settings = config.plugin(NAME)
    return settings if not isinstance(settings, dict) else validate(settings, config)


@hookimpl
def register_settings(register):
    register(NAME, validate, paths=("templates_dir",))


@hookimpl
def google_scopes(settings):
    from plugin_host.scopes import DIRECTORY, SEND_AS, Scope

    wanted = [Scope(SEND_AS, "agents' full-name signatures in Gmail's send-as settings", "signatures sync", NAME)]
    if getattr(_settings(settings), "directory_admin", "") and settings.mailbox.credentials:  # a service account
        wanted.append(Scope(DIRECTORY, "reading the agents from the Workspace directory", "agents sync", NAME))
    return wanted


@hookimpl
def on_ticket_opened(ticket, actions, settings, now):
    options = _settings(settings)
    reason = acknowledgement.skip_reason(ticket, options, settings, now)
    if reason:
        log.info("no acknowledgement for %s: %s", ticket.thread_id, reason)
        return
    owner, assigned = acknowledgement.owner_of(ticket, options, settings)
    ack = acknowledgement.compose(ticket, options, settings, now)
    actions.reply(in_reply_to=ticket.first_customer_message.id, to=ticket.customer.email, subject=ack["subject"],
                  text=ack["text"], key="ack", from_name=ack["from_name"], reply_kind="acknowledgement",
                  labels=("Acknowledged",))  # only once it went out: not when the loop guard holds it back
    if assigned and owner is not None:
        actions.add_labels(f"Owner/{owner.full_name}")


@hookimpl
def on_agent_replied(ticket, actions, settings, now):
    latest = ticket.agent_messages[-1] if ticket.agent_messages else None
    if latest is None:
        return
    agent = people.agent_for_message(latest, settings.agents)
    if agent is None:
        actions.add_labels(WARNING_LABEL)
        return
    if not ticket.owner_name:
        actions.add_labels(f"Owner/{agent.full_name}")
    if people.has_full_name_sign_off(latest.text, agent, latest.signature):
        actions.remove_labels(WARNING_LABEL)
    else:
        actions.add_labels(WARNING_LABEL)


@hookimpl
def compose_suggestions(ticket, agent, settings):
    if agent is None:
        return []
    language = ticket.language if ticket is not None else "en"
    items = [{"label": "Insert my signature", "content": people.signature(agent, language), "content_type": "TEXT"}]
    previous = handed_over_from(ticket, agent, settings.agents) if ticket is not None else ""
    if previous:
        items.insert(0, {"label": f"Handover from {previous}",
                         "content": people.handover_line(agent, previous, language), "content_type": "TEXT"})
    return items


def handed_over_from(ticket, agent, agents: dict) -> str:
    """Whose request ``agent`` takes over, or "": the owner when it is someone else; and, after ``agent`` took the
    ticket (Take), the colleague who answered the customer last, until ``agent`` has written in the thread —
    the new owner introduces themselves in their first words to the customer."""
    if ticket.owner_name and ticket.owner_name != agent.full_name:
        return ticket.owner_name
    writers = [people.agent_for_message(m, agents) for m in ticket.agent_messages]
    if any(w is not None and w.full_name == agent.full_name for w in writers):
        return ""
    previous = next((w for w in reversed(writers) if w is not None), None)
    return previous.full_name if previous is not None else ""


@hookimpl
def ticket_sections(ticket, agent, settings, now, urls):
    widgets = []
    if ticket.has_label(WARNING_LABEL):
        widgets.append({"decoratedText": {"topLabel": "Signature",
                                          "text": "A reply went out without the agent's first and last name."}})
    owner = ticket.owner_name
    widgets.append({"decoratedText": {"topLabel": "Owner", "text": html.escape(owner or "nobody yet")}})
    if agent is not None and owner != agent.full_name:
        widgets.append({"buttonList": {"buttons": [{"text": "Take", "onClick": {"action": {
            "function": urls("action"),
            "parameters": [{"key": "name", "value": "autoreply.take"}, {"key": "threadId", "value": ticket.thread_id},
                           {"key": "owner", "value": owner or ""}]}}}]}})  # who the agent saw owning it
    return [{"header": "Ownership", "widgets": widgets}]


@hookimpl
def on_card_action(name, parameters, form_inputs, ticket, agent, actions, settings, now):
    if name != "autoreply.take":
        return None
    if ticket is None or agent is None:
        return CardReply(notification="Open a ticket to take it.")
    current, shown = ticket.owner_name, parameters.get("owner")  # no "owner": a card from before it was sent
    if current == agent.full_name:
        return CardReply(notification="You own this ticket already.")
    if current and shown is not None and current != shown:  # a colleague took it after this card was shown
        return CardReply(notification=f"{current} took this ticket a moment ago; nothing was changed. "
                                      "Press Take again to take it over.")
    actions.remove_labels(*[f"Owner/{n}" for n in ticket.labels_under("Owner") if n != agent.full_name])
    actions.add_labels(f"Owner/{agent.full_name}")
    return CardReply(notification=f"{agent.full_name} now owns this ticket.")


@hookimpl
def register_commands(cli):
    from .cli import register

    register(cli)
