"""The add-on's HTTP endpoints: one per trigger, each verified before anything else.

POST /addon/homepage   the agent's queue
POST /addon/message    the ticket card for the opened message (contextual, unconditional)
POST /addon/compose    what the agent can insert into the draft
POST /addon/action     every button; routed by the parameter ``name`` to the owning plugin
"""
from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, abort, current_app, jsonify, request

from plugin_host.errors import GmailError, LabeldeskError, VerificationError
from plugin_host.refusals import level

from . import cards
from .verify import verify_system_token, verify_user
from .viewer import open_message_header_id

log = logging.getLogger(__name__)
addon = Blueprint("addon", __name__, url_prefix="/addon")
HEX_ID = re.compile(r"^[0-9a-f]{8,24}$")
GONE = "This conversation no longer exists (deleted?); nothing was changed."


class AddonError(Exception):
    """Something the agent should read on a card (not a bug)."""


def base_url() -> str:
    """Where Google reaches the add-on: ``[addon] base_url``. Only the demo trusts the Host header, because
    the audience Google signs must not be chosen by the caller (nor lose https behind a proxy)."""
    if current_app.config.get("LABELDESK_DEMO"):
        return request.host_url.rstrip("/")
    configured = current_app.extensions["labeldesk"].config.addon.base_url
    if not configured:
        log.error("add-on request refused: set [addon] base_url to the public https URL Google calls")
        abort(503)
    return configured.rstrip("/")


def _require_identities(settings) -> None:
    """Who may call (the add-on's service account) and whose agents (its OAuth client): without
    them no request can be verified, which is the operator's to fix, not a forged token."""
    for key in ("service_account_email", "oauth_client_id"):
        if not getattr(settings, key):
            log.error("add-on request refused: set [addon] %s (see docs/addon.md, Deploying)", key)
            abort(503)


def urls(name: str) -> str:
    return f"{base_url()}/addon/{name}"


def _verified():
    """The system token first (before the body is even parsed), then the body, then the agent's token."""
    host = current_app.extensions["labeldesk"]
    signer = current_app.extensions.get("labeldesk.demo_signer") if current_app.config.get("LABELDESK_DEMO") else None
    if signer is None:
        _require_identities(host.config.addon)
    try:
        verify_system_token(request.headers, base_url() + request.path, host.config.addon, signer)
    except VerificationError as exc:
        log.warning("add-on request to %s rejected: %s", request.path, exc)
        abort(401)
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to parse
        abort(400)
    if not isinstance(body, dict):
        abort(400)
    problem = event_shape_problem(body)
    if problem:  # signed by Google, so not an attack: a shape this add-on was not written for
        log.warning("add-on request to %s answered 400: the event's %s", request.path, problem)
        abort(400)
    try:
        caller = verify_user(body, host.config.addon, signer)
    except VerificationError as exc:
        log.warning("add-on request to %s rejected: %s", request.path, exc)
        abort(401)
    return host, body, caller


def event_shape_problem(body: dict) -> str:
    """What in an event object is not of the shape the add-on protocol gives it ("" when all is): objects where
    objects go, text ids, and form inputs as ``{name: {stringInputs: {value: [text, …]}}}``."""
    common, gmail = body.get("commonEventObject", {}), body.get("gmail", {})
    if not isinstance(common, dict) or not isinstance(gmail, dict):
        return "commonEventObject or gmail is not an object"
    parameters = common.get("parameters", {})
    if not isinstance(parameters, dict) or any(isinstance(v, (dict, list)) for v in parameters.values()):
        return "commonEventObject.parameters is not an object of texts"
    inputs = common.get("formInputs", {})
    if not isinstance(inputs, dict):
        return "commonEventObject.formInputs is not an object"
    for name, value in inputs.items():
        strings = value.get("stringInputs", {}) if isinstance(value, dict) else None
        values = strings.get("value", []) if isinstance(strings, dict) else None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return f"form input {name[:40]!r} is not {{stringInputs: {{value: [text]}}}}"
    if any(not isinstance(gmail.get(key, ""), str) for key in ("messageId", "threadId", "accessToken")):
        return "gmail.messageId, threadId or accessToken is not text"
    return ""


def _handle(handler, push=cards.push_card, failed=cards.error_card):
    """Verify, then build the answer; ``push`` wraps the cards shown instead (a trigger's or a button's way),
    ``failed`` is the card for an unexpected failure."""
    host, body, caller = _verified()
    agent = host.config.agent(caller.email)
    if agent is None or not agent.active:  # one who left the team (active = false) is no agent any more
        return jsonify(push(cards.not_agent_card(caller.email, left=agent is not None)))
    try:
        return jsonify(handler(host, body, agent))
    except AddonError as exc:
        return jsonify(push(cards.message_card("Labeldesk", str(exc))))
    except LabeldeskError as exc:  # Gmail down or out of quota: the message says it all, a traceback would not
        log.log(level(exc), "add-on %s failed: %s", request.path, exc)
        return jsonify(push(cards.refused_card() if getattr(exc, "refusal", None) else failed()))
    except Exception:  # a bug: the agent sees a friendly card; the details go to the log
        log.exception("add-on %s failed", request.path)
        return jsonify(push(failed()))


def _event(body: dict) -> tuple[dict, dict, dict]:
    common = body.get("commonEventObject") or {}
    parameters = {str(k): str(v) for k, v in (common.get("parameters") or {}).items()}
    inputs = {name: list(((value or {}).get("stringInputs") or {}).get("value") or [])
              for name, value in (common.get("formInputs") or {}).items()}
    return body.get("gmail") or {}, parameters, inputs


def thread_id_of(host, gmail: dict, parameters: dict, user_token: str = "") -> str | None:
    """The API thread id for the event: hex ids as they are, else resolved through the message: the support
    mailbox's own, or the agent's copy of it in their own mailbox (found by its Message-ID header)."""
    for candidate in (parameters.get("threadId"), gmail.get("threadId")):
        if candidate and HEX_ID.match(candidate):
            return candidate
    message_id = gmail.get("messageId")
    if message_id:
        try:
            return host.client.get_message(message_id, format="minimal")["threadId"]
        except GmailError as exc:
            if getattr(exc, "status", 0) not in (400, 404):  # busy or failing: the "try again" card
                raise
        return _thread_of_copy(host, gmail, user_token)
    return None


def _thread_of_copy(host, gmail: dict, user_token: str) -> str:
    """The support mailbox's thread of the message the agent opened in their own mailbox (a Google Group's copy)."""
    header_id = open_message_header_id(gmail.get("messageId", ""), user_token, gmail.get("accessToken", ""),
                                       host.client.root, current_app.extensions.get("labeldesk.viewer_http"))
    found = host.client.list_message_ids(q=f"rfc822msgid:{header_id}", max_results=1) if header_id else []
    if not found:
        raise AddonError(f"Labeldesk did not find this message in the support mailbox ({host.client.address}), "
                         "so it shows no ticket for it.")
    return found[0]["threadId"]


def _user_token(body: dict) -> str:
    """The agent's OAuth token for the open message (``authorizationEventObject.userOAuthToken``), or ""."""
    event = body.get("authorizationEventObject")
    token = event.get("userOAuthToken") if isinstance(event, dict) else None
    return token if isinstance(token, str) else ""


def _ticket(host, gmail, parameters, user_token=""):
    thread_id = thread_id_of(host, gmail, parameters, user_token)
    return host.ticket(thread_id) if thread_id else None


def _zone(body: dict):
    """The agent's own time zone, when Gmail sent it (``commonEventObject.timeZone``), for the card's times."""
    return cards.viewer_zone((body.get("commonEventObject") or {}).get("timeZone"))


def _ticket_card(host, ticket, agent, zone=None):
    deadline = host.deadline(ticket)
    earlier = host.customer_history(ticket.customer.email, exclude_thread=ticket.thread_id)
    return cards.ticket_card(ticket, deadline, earlier, host.side_panel_sections(ticket, agent, urls), urls, zone)


@addon.post("/homepage")
def homepage():
    """The agent's queue: tickets awaiting a reply, own first, then by deadline."""
    def build(host, body, agent):
        rows, counts = [], {"open": 0, "at_risk": 0, "breached": 0}
        tickets = host.open_tickets()
        for ticket in tickets:
            rows.append((ticket, host.deadline(ticket)))
            counts["open"] += 1
            counts["at_risk"] += ticket.has_label("SLA/At risk")
            counts["breached"] += ticket.has_label("SLA/Breached")
        rows.sort(key=lambda row: (row[0].owner_name != agent.full_name,
                                   row[1].due.timestamp() if row[1] else float("inf")))
        return cards.push_card(cards.homepage_card(agent, rows, counts, host.homepage_sections(agent, tickets, urls), urls,
                                                      _zone(body)))
    return _handle(build)


@addon.post("/message")
def message():
    """The ticket card for the opened message."""
    def build(host, body, agent):
        gmail, parameters, _ = _event(body)
        ticket = _ticket(host, gmail, parameters, _user_token(body))
        if ticket is None:
            return cards.push_card(cards.message_card("Not a ticket", "This thread has no customer message to a "
                                                      "support address (internal or automatic mail)."))
        return cards.push_card(_ticket_card(host, ticket, agent, _zone(body)))
    return _handle(build)


@addon.post("/compose")
def compose():
    """Text to insert into the draft: signature, handover line, articles…"""
    def build(host, body, agent):
        gmail, parameters, _ = _event(body)
        try:
            ticket = (_ticket(host, gmail, parameters, _user_token(body))
                      if (gmail.get("threadId") or gmail.get("messageId")) else None)
        except AddonError:  # a reply to mail the support mailbox does not have: what needs no ticket still helps
            ticket = None
        return cards.push_card(cards.compose_card(host.compose_suggestions(ticket, agent), urls))
    return _handle(build)


def _insert_from_message_card(host, thread_id, agent, reply) -> dict:
    """A side-panel button's text: Gmail inserts into a draft only from compose, so the text becomes a
    new reply draft that Gmail opens; an agent's draft already in the thread is never overwritten. Looking for
    a draft and making one happen under the thread's lock: two presses at once (a double click, or two agents
    on one ticket) make one draft, not two replies to the same customer."""
    if not thread_id:
        raise AddonError("Open a ticket first.")
    with host.thread_lock(thread_id):
        fresh = host.ticket(thread_id)
        if fresh is None:
            raise AddonError("Open a ticket first.")
        if fresh.drafts:
            return cards.notify("This thread has a draft already: open it and insert from Labeldesk's compose panel.")
        return cards.open_draft(host.reply_draft(fresh, agent, reply.insert_text, reply.insert_type, reply.insert_plain))


@addon.post("/action")
def action():
    """Every button: built-ins here, the rest routed to the plugin that owns it."""
    def build(host, body, agent):
        gmail, parameters, inputs = _event(body)
        name = parameters.get("name", "")
        thread_id = (thread_id_of(host, gmail, parameters, _user_token(body))
                     if (parameters.get("threadId") or gmail) else None)
        if name not in ("compose.insert", "ticket.refresh"):  # a plugin's button: the host reads the thread once
            return _plugin_button(host, name, parameters, inputs, thread_id, agent, _zone(body))
        ticket = host.ticket(thread_id) if thread_id else None
        if ticket is None and HEX_ID.match(parameters.get("threadId", "")):  # the card's ticket, deleted since
            raise AddonError(GONE)
        if name == "compose.insert":
            wanted = parameters.get("key", "")
            item = next((i for i in host.compose_suggestions(ticket, agent) if cards.insert_key(i) == wanted), None)
            if item is None:  # the ticket changed since the panel opened (new owner, new message)
                raise AddonError("That text is no longer available; reopen the panel.")
            return cards.insert_into_draft(item["content"], item.get("content_type", "TEXT"))
        if ticket is None:
            raise AddonError("Open a ticket first.")
        return cards.update_card(_ticket_card(host, ticket, agent, _zone(body)))
    return _handle(build, push=cards.push_card_from_button, failed=cards.button_error_card)


def _plugin_button(host, name, parameters, inputs, thread_id, agent, zone=None) -> dict:
    """The plugin decides from the thread the host reads under its lock; the card after it shows the thread
    as the action left it (two reads, none before)."""
    reply = host.card_action(name, parameters, inputs, thread_id, agent)
    if reply is None:
        raise AddonError("This button is not available any more.")
    if reply.insert_text:
        return _insert_from_message_card(host, thread_id, agent, reply)
    if reply.card:
        return cards.update_card(reply.card)
    fresh = host.ticket(thread_id) if thread_id else None
    if fresh is None and HEX_ID.match(parameters.get("threadId", "")):  # the card's ticket, deleted since
        raise AddonError(GONE)
    return cards.notify(reply.notification or "Done.", _ticket_card(host, fresh, agent, zone) if fresh else None)
