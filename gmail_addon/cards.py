"""Card builders: small pure functions from tickets to Google Card v1 JSON, and response wrappers.

All customer text is HTML-escaped where Gmail reads a little HTML (section headers, text paragraphs,
decorated text), quotes excepted: they mean nothing outside a tag. The card header is plain text, shown
as typed, so it holds the text itself ("&amp;", "&lt;" or "&#x27;" would appear as such there);
links go only to https URLs we built. Cards stay within Google's limits: ≤100 sections, ≤100
widgets per section.
"""
from __future__ import annotations

import hashlib

import html
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plugin_host.text import shorten
from plugin_host.ticket import shown_address

MAX_SECTIONS = 100
MAX_WIDGETS = 100


def text(value: str, limit: int = 500) -> str:
    """Customer text for a card: cut between words (then escaped, so no entity is split), quotes as typed."""
    return html.escape(shorten(value or "", limit), quote=False)


def _capped(widgets: list[dict], total: int | None = None) -> list[dict]:
    """At most MAX_WIDGETS, the last saying how many more there are; ``total``: how many ``widgets`` stand for
    when only the first were built."""
    total = len(widgets) if total is None else total
    if total <= MAX_WIDGETS:
        return widgets
    return widgets[:MAX_WIDGETS - 1] + [{"textParagraph": {"text": f"… {total - MAX_WIDGETS + 1} more"}}]


def section(header: str, widgets: list[dict], collapsible: bool = False) -> dict:
    out = {"header": header, "widgets": _capped(widgets)}
    if collapsible:
        out["collapsible"] = True
        out["uncollapsibleWidgetsCount"] = 1
    return out


def card(title: str, subtitle: str, sections: list[dict]) -> dict:
    """A card of the non-empty sections, each held to the limits (plugins' sections included)."""
    sections = [{**s, "widgets": _capped(s["widgets"])} for s in sections if s.get("widgets")][:MAX_SECTIONS]
    header = {"title": shorten(title or "", 120), "subtitle": shorten(subtitle or "", 120)}  # plain text: not escaped
    return {"header": header, "sections": sections}


def button(label: str, url: str, name: str, **parameters) -> dict:
    params = [{"key": "name", "value": name}] + [{"key": k, "value": str(v)} for k, v in parameters.items()]
    return {"text": label, "onClick": {"action": {"function": url, "parameters": params}}}


def viewer_zone(time_zone) -> tzinfo | None:
    """The agent's own zone from the event (``commonEventObject.timeZone`` = ``{id, offset}``, offset in ms): the
    IANA zone of its id, else a fixed offset ("UTC+01:00"), else None (the card keeps the team's zone)."""
    if not isinstance(time_zone, dict):
        return None
    zone = _zone(time_zone.get("id"))
    if zone is not None:
        return zone
    offset = time_zone.get("offset")
    if isinstance(offset, (int, float)) and not isinstance(offset, bool) and abs(offset) < 86_400_000:
        return timezone(timedelta(minutes=round(offset / 60_000)))
    return None


def _zone(zone) -> tzinfo | None:
    """A zone given by IANA name (or already a tzinfo); None for nothing or a name not in the zone database."""
    if isinstance(zone, tzinfo) or not zone or not isinstance(zone, str):
        return zone if isinstance(zone, tzinfo) else None
    try:
        return ZoneInfo(zone)
    except (ValueError, OSError, ZoneInfoNotFoundError):  # a malformed name, or a folder of the database
        return None


def _when(value: datetime | None, zone: str | tzinfo | None = "") -> str:
    """A moment in one zone, named (the agent's, else the deadline's calendar), so the card's times compare at a glance."""
    if value is None:
        return "—"
    shown = _zone(zone)
    if shown is None:
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return f"{value.astimezone(shown):%Y-%m-%d %H:%M} ({getattr(shown, 'key', None) or shown.tzname(None)})"


def ticket_card(ticket, deadline, earlier: list, plugin_sections: list[dict], urls, zone: tzinfo | None = None) -> dict:
    """``zone``: the agent's own (:func:`viewer_zone`); times are in the team's calendar zone without it."""
    status = "Awaiting reply" if ticket.awaiting_reply else "Answered"
    if ticket.has_label("Resolved"):
        status = "Resolved"
    address = shown_address(ticket.customer.email)
    customer = [
        {"decoratedText": {"topLabel": "Customer", "text": text(ticket.customer.name or address, 120),
                           "bottomLabel": text(address, 120)}},
        {"decoratedText": {"topLabel": "Language · channel", "text": text(f"{ticket.language} · {ticket.channel}")}},
    ]
    others = [t for t in earlier if t.thread_id != ticket.thread_id]
    if others:
        customer.append({"decoratedText": {"topLabel": f"Earlier tickets ({len(others)})", "wrapText": True,
                                           "text": "<br>".join(text(t.subject, 80) for t in others[:5])}})
    state = [{"decoratedText": {"topLabel": "Status", "text": status}}]
    state += _unless_shown(plugin_sections, {
        "Owner": text(ticket.owner_name or "nobody yet"), "Priority": text((ticket.priority or "normal").capitalize())})
    state.append({"decoratedText": {"topLabel": "First message",
                                    "text": _when(ticket.first_customer_at, zone or (deadline.zone if deadline else ""))}})
    if deadline is not None:
        state.append({"decoratedText": {"topLabel": "Answer due", "text": text(_due(deadline, zone))}})
    forged = [m for m in ticket.messages if m.forged_from]
    if forged:  # someone wrote as one of us and Gmail did not vouch for it: read as a customer's message
        state.append({"decoratedText": {"topLabel": f"Not from us, read as a customer's ({len(forged)})",
                                        "text": text(forged[-1].forged_from, 300), "wrapText": True}})
    state.append({"buttonList": {"buttons": [button("Refresh", urls("action"), "ticket.refresh", threadId=ticket.thread_id)]}})
    sections = [section("Customer", customer), section("Ticket", state)] + list(plugin_sections)
    return card(ticket.subject, summary(ticket, deadline, zone), sections[:MAX_SECTIONS])


def _unless_shown(plugin_sections: list[dict], facts: dict[str, str]) -> list[dict]:
    """The ticket's facts that no plugin's section shows already (the owner beside "Take", the priority beside
    its buttons): each fact once on the card, and still there when that plugin is off."""
    shown = {w["decoratedText"].get("topLabel") for s in plugin_sections for w in s.get("widgets", [])
             if "decoratedText" in w}
    return [{"decoratedText": {"topLabel": label, "text": value}} for label, value in facts.items() if label not in shown]


def _due_at(deadline, zone: tzinfo | None = None) -> str:
    """When the answer is due: in the agent's zone when known, else as the deadline's plugin phrased it."""
    return _when(deadline.due, zone) if zone else deadline.text or _when(deadline.due, deadline.zone)


def _due(deadline, zone: tzinfo | None = None) -> str:
    when = _due_at(deadline, zone)
    return f"{when} — {deadline.left}" if deadline.left else when


def summary(ticket, deadline, zone: tzinfo | None = None) -> str:
    """The header's line, what an agent wants before anything else: who wrote, how long is left, whose it is."""
    parts = [ticket.customer.name or shown_address(ticket.customer.email)]
    if deadline is not None:
        parts.append(deadline.left or "due " + _due_at(deadline, zone))
    parts.append(f"owner {ticket.owner_name}" if ticket.owner_name else "no owner yet")
    return " · ".join(parts)


def homepage_card(agent, rows: list[tuple], counts: dict, plugin_sections: list[dict], urls,
                  zone: tzinfo | None = None) -> dict:
    """``rows``: (ticket, deadline) pairs already ordered (own tickets first, then by deadline); ``zone`` as for
    :func:`ticket_card`."""
    summary = [{"decoratedText": {"topLabel": "Awaiting reply", "text": str(counts.get("open", 0))}},
               {"decoratedText": {"topLabel": "At risk · breached",
                                  "text": f"{counts.get('at_risk', 0)} · {counts.get('breached', 0)}"}}]
    queue = []
    for ticket, deadline in rows[:MAX_WIDGETS]:
        mine = ticket.owner_name == agent.full_name
        queue.append({"decoratedText": {
            "topLabel": ("★ yours · " if mine else "") + text(shown_address(ticket.customer.email), 60),
            "text": text(ticket.subject, 80),
            "bottomLabel": text("due " + (_due(deadline, zone) if deadline else "—"), 80),
            "onClick": {"openLink": {"url": ticket.gmail_url}}}})
    if not queue:
        queue = [{"textParagraph": {"text": "Nothing is waiting for a reply. 🎉"}}]
    return card(f"Queue of {agent.full_name}", "Tickets awaiting a reply",
                [section("Today", summary), section("Queue", _capped(queue, max(len(rows), len(queue))))]
                + list(plugin_sections))


def insert_key(item: dict) -> str:
    """A compose item's identity: its button inserts exactly what it showed, even if the list changed since."""
    what = "\0".join((item["label"], item["content"], item.get("content_type", "TEXT")))
    return hashlib.sha256(what.encode()).hexdigest()[:16]


def compose_card(items: list[dict], urls) -> dict:
    buttons = [button(shorten(item["label"], 40), urls("action"), "compose.insert", key=insert_key(item)) for item in items]
    widgets = [{"buttonList": {"buttons": buttons}}] if buttons else [{"textParagraph": {"text": "Nothing to insert."}}]
    return card("Labeldesk", "Insert into your reply", [section("Insert", widgets)])


def message_card(title: str, message: str) -> dict:
    return card(title, "", [section("", [{"textParagraph": {"text": text(message)}}])])


def error_card() -> dict:
    return message_card("Something went wrong", "Labeldesk could not show this ticket right now. Try again in a "
                        "minute; if it keeps happening, tell your admin.")


def refused_card() -> dict:
    """Google refuses Labeldesk itself (credentials revoked, an API not enabled, a scope not granted): "try again
    in a minute" would not help, and the agent cannot fix it; the admin can, with what the log says."""
    return message_card("Labeldesk needs your admin", "Google refuses Labeldesk access to the support mailbox (its "
                        "credentials, an API or a permission), and this will not clear by itself. Tell your admin: "
                        "Labeldesk's log says what to change. Until then, answer in Gmail as usual.")


def button_error_card() -> dict:
    """A button failed midway (Gmail or Tasks down): what was asked may be partly done, so say so."""
    return message_card("Something went wrong", "What you asked may not have been done: Gmail or Google Tasks did "
                        "not answer. Go back and press Refresh to see where the ticket stands, then try again; if "
                        "it keeps happening, tell your admin.")


def not_agent_card(email: str, left: bool = False) -> dict:
    """For someone not on the team; ``left``: on the roster but marked as having left it (``active = false``),
    where "add you to [agents]" would send the admin looking for a name that is there."""
    if left:
        return message_card("Not a Labeldesk agent", f"{email} is marked as having left the support team "
                            "(active = false in [agents], as agents sync marks those the directory no longer lists). "
                            "If you are back on the team, ask your admin to set active = true.")
    return message_card("Not a Labeldesk agent", f"{email} is not configured as an agent. Ask your admin to add you "
                        "to [agents] in labeldesk.toml.")


# -- response wrappers --------------------------------------------------------------------------

def push_card(built: dict) -> dict:
    """A trigger's answer (homepage, contextual, compose): the card to show."""
    return {"action": {"navigations": [{"pushCard": built}]}}


def push_card_from_button(built: dict) -> dict:
    """A button's answer that opens a new card: Google's samples put every answer to an action
    callback in ``renderActions``, and only a trigger's in a bare ``action``."""
    return {"renderActions": {"action": {"navigations": [{"pushCard": built}]}}}


def update_card(built: dict) -> dict:
    return {"renderActions": {"action": {"navigations": [{"updateCard": built}]}}}


def notify(message: str, built: dict | None = None) -> dict:
    action = {"notification": {"text": shorten(message, 200)}}  # between words, as every card text
    if built is not None:
        action["navigations"] = [{"updateCard": built}]
    return {"renderActions": {"action": action}}


def open_draft(draft: dict) -> dict:
    """Open a draft the host created through the API (message context: Gmail inserts only in compose)."""
    return {"renderActions": {"hostAppAction": {"gmailAction": {"openCreatedDraftActionMarkup": {
        "draftId": draft["id"], "draftThreadId": (draft.get("message") or {}).get("threadId", "")}}}}}


def insert_into_draft(content: str, content_type: str = "TEXT") -> dict:
    return {"renderActions": {"hostAppAction": {"gmailAction": {"updateDraftActionMarkup": {"updateBody": {
        "insertContents": [{"content": content, "contentType": content_type}], "type": "IN_PLACE_INSERT"}}}}}}
