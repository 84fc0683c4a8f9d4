"""The demo's add-on preview: the thread beside its side panel, rendered from the very card JSON
the add-on endpoints return (requests signed by the demo signer), with working buttons.

Registered only when the app runs in demo mode.
"""
from __future__ import annotations

import html
import json
from html.parser import HTMLParser

from flask import Blueprint, abort, current_app, render_template, request

from plugin_host.errors import GmailError
from plugin_host.language import detect_language
from plugin_host.text import customer_text

preview = Blueprint("preview", __name__, url_prefix="/preview", template_folder="templates")
ALLOWED = {"b", "i", "u", "br", "font"}


class _CardText(HTMLParser):
    """Gmail renders a small HTML subset in card text; everything else is shown as text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ALLOWED:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag):
        if tag in ALLOWED and tag != "br":
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        self.out.append(html.escape(data))


def card_text(value) -> str:
    parser = _CardText()
    parser.feed(str(value or ""))
    parser.close()
    return "".join(parser.out)


def _agents(host) -> list:
    """The agents the preview can act as: those on the team (one who left would only see "Not a Labeldesk agent")."""
    return list(host.config.active_agents.values())


def _agent(host):
    """The agent asked for (``?agent=``), else the first on the team."""
    wanted = request.args.get("agent") or request.form.get("agent")
    agents = _agents(host)
    return next((a for a in agents if a.email == wanted), agents[0] if agents else None)


def _call(path: str, body: dict, agent) -> dict:
    signer = current_app.extensions["labeldesk.demo_signer"]
    url = request.host_url.rstrip("/") + path
    body = {**body, "authorizationEventObject": {"userIdToken": signer.token(signer.client_id, agent.email)}}
    client = current_app.test_client()
    response = client.post(path, json=body, headers={"Authorization": "Bearer " + signer.token(url, signer.service_account)},
                           base_url=request.host_url)
    if response.status_code != 200:
        abort(response.status_code)
    return response.get_json()


def _card_from(response: dict) -> tuple[dict | None, str, str]:
    """(card, notification, text inserted into the draft) from any add-on response shape."""
    action = response.get("action") or (response.get("renderActions") or {}).get("action") or {}
    card = None
    for navigation in action.get("navigations", []):
        card = navigation.get("pushCard") or navigation.get("updateCard") or card
    note = (action.get("notification") or {}).get("text", "")
    gmail_action = ((response.get("renderActions") or {}).get("hostAppAction") or {}).get("gmailAction") or {}
    inserted = ""
    markup = gmail_action.get("updateDraftActionMarkup")
    if markup:
        inserted = "\n".join(c["content"] for c in markup["updateBody"]["insertContents"])
    return card, note, inserted


@preview.get("/")
def index():
    """Tickets of the demo mailbox, newest first."""
    host = current_app.extensions["labeldesk"]
    tickets = host.search_tickets(host.newer_than(30), limit=100)
    return render_template("preview_index.html", tickets=tickets, agent=_agent(host),
                           agents=_agents(host))


def _same_origin() -> bool:
    """A button press from the preview page itself: browsers send Sec-Fetch-Site and Origin on form
    posts, and another site's page cannot forge them. Clients that send neither (scripts) are allowed."""
    from urllib.parse import urlsplit

    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def _ticket_or_none(host, thread_id: str):
    """The thread's ticket; None when there is none, or when ``thread_id`` is no Gmail id at all (Gmail's 400)."""
    try:
        return host.ticket(thread_id)
    except GmailError as exc:
        if getattr(exc, "status", 0) != 400:
            raise
        return None


@preview.route("/<thread_id>", methods=["GET", "POST"])
def thread(thread_id):
    """A thread beside its side panel; POST presses a card button."""
    host = current_app.extensions["labeldesk"]
    agent = _agent(host)
    if agent is None:
        abort(404)
    note = inserted = ""
    if _ticket_or_none(host, thread_id) is None:
        abort(404)  # not a ticket of this mailbox
    if request.method == "POST":
        if not _same_origin():
            abort(403)  # another site's page posting into the demo (CSRF)
        try:
            parameters = json.loads(request.form.get("parameters", "{}"))
        except ValueError:
            abort(400)
        if not isinstance(parameters, dict):
            abort(400)
        inputs = {k: {"stringInputs": {"value": [v]}} for k, v in request.form.items()
                  if k not in ("parameters", "agent")}
        card, note, inserted = _card_from(_call("/addon/action", {"commonEventObject": {
            "hostApp": "GMAIL", "parameters": parameters, "formInputs": inputs},
            "gmail": {"threadId": thread_id}}, agent))
    card, _, _ = _card_from(_call("/addon/message", {"commonEventObject": {"hostApp": "GMAIL"},
                                                      "gmail": {"threadId": thread_id}}, agent))
    compose, _, _ = _card_from(_call("/addon/compose", {"commonEventObject": {"hostApp": "GMAIL"},
                                                        "gmail": {"threadId": thread_id}}, agent))
    ticket = host.ticket(thread_id)
    from plugin_host.mailbox.mime import payload_to_email

    raw_thread = host.client.get_thread(thread_id)
    names = host.executor.label_names()
    messages = []
    for m in raw_thread.get("messages", []):
        msg = payload_to_email(m.get("payload") or {})
        text = customer_text(msg)
        messages.append({"from": str(msg.get("From", "")), "subject": str(msg.get("Subject", "")), "text": text,
                         "lang": detect_language(text, default=ticket.language),  # read aloud in its language
                         "labels": [names.get(l, l) for l in m.get("labelIds", [])]})
    return render_template("preview_thread.html", card=card, compose=compose, note=note, inserted=inserted,
                           ticket=ticket, messages=messages, agent=agent, agents=_agents(host),
                           thread_id=thread_id, card_text=card_text, json=json)
