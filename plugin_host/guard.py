"""The loop guard for outgoing automatic mail, decided from the mailbox itself.

Message-level rules (bounces, auto-replies, lists, robots, own addresses) live in
:mod:`plugin_host.loopguard` and already classified the ticket's messages. Here: only answer a
human customer, never our own addresses, once per thread, and at most one acknowledgement per
sender within the window (default 4 days, like Gmail's vacation responder) — found by searching
the mailbox's sent mail for our marked acknowledgements, so no separate database is needed (and, for
what search may not show yet, in the acknowledgements this process sent).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import Config
from .ticket import Ticket, is_plain_address


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


def unaddressable(recipient: str) -> str:
    """Why an automatic reply cannot be addressed to ``recipient``, or ""."""
    if not is_plain_address(recipient):
        return f"recipient {recipient!r} is not a plain email address"
    if not recipient.isascii():  # a non-ASCII local part (jän@…) needs SMTPUTF8; domains are A-labels already
        return f"recipient {recipient!r} is an internationalised address: answer it by hand"
    return ""


def reply_verdict(reply, ticket: Ticket, config: Config, client, now: datetime,
                  sent_here: dict[str, tuple[str, datetime]] | None = None, sent_before=None) -> Verdict:
    """May ``reply`` go out? ``sent_here``: address → (thread, time) of acknowledgements this process sent,
    which Gmail's search may not show yet; ``sent_before()``: the newest sent messages when this process started
    (``Executor.sent_before_start``), for what the process before it sent a moment ago."""
    recipient = (reply.to or "").lower()
    if not recipient or config.is_own_address(recipient) or config.agent(recipient):
        return Verdict(False, f"recipient {recipient or '(none)'} is our own address or an agent")
    refused = unaddressable(recipient)
    if refused:
        return Verdict(False, refused)
    answered = next((m for m in ticket.messages if m.id == reply.in_reply_to), None)
    if answered is None or answered.kind != "customer":
        why = answered.automatic_reason if answered is not None else "message not in thread"
        return Verdict(False, f"answered message is not from a customer ({why})")
    if recipient != answered.sender.email:
        return Verdict(False, f"recipient {recipient} did not write the answered message")
    if reply.reply_kind != "acknowledgement":
        return Verdict(True)
    if any(marker.startswith("ack") for marker in ticket.markers):
        return Verdict(False, "thread already holds an acknowledgement")
    window = timedelta(days=config.mailbox.ack_window_days)
    thread, when = (sent_here or {}).get(recipient, ("", None))
    earlier = thread if thread != ticket.thread_id and when and now - when < window else None
    earlier = earlier or recent_acknowledgement(recipient, ticket.thread_id, client, now, window)
    if not earlier and sent_before is not None and window.total_seconds() > 0:
        earlier = newest_acknowledgement(recipient, ticket.thread_id, sent_before(), now, window)
    if earlier:
        return Verdict(False, f"{recipient} was acknowledged within {config.mailbox.ack_window_days:g} days "
                              f"(thread {earlier})")
    return Verdict(True)


def recent_acknowledgement(address: str, thread_id: str, client, now: datetime, window: timedelta) -> str | None:
    """Thread id of an acknowledgement sent to ``address`` within ``window``, if any."""
    if window.total_seconds() <= 0:
        return None
    after = int((now - window).timestamp())
    for ref in client.list_message_ids(q=f"in:sent to:{address} after:{after}"):
        if ref["threadId"] == thread_id:
            continue
        message = client.get_message(ref["id"], format="metadata", metadata_headers=["X-Labeldesk"])
        headers = message.get("payload", {}).get("headers", [])
        if any(h["name"].lower() == "x-labeldesk" and h["value"].startswith("ack") for h in headers):
            return ref["threadId"]
    return None


def newest_acknowledgement(address: str, thread_id: str, newest_sent: list[dict], now: datetime,
                           window: timedelta) -> str | None:
    """Thread id of an acknowledgement to ``address`` within ``window`` among ``newest_sent``
    (``GmailClient.newest_sent``: what search may not show yet), if any."""
    from email.utils import getaddresses

    after = (now - window).timestamp() * 1000
    for message in newest_sent:
        headers = message["headers"]
        if message["threadId"] == thread_id or not headers.get("x-labeldesk", "").startswith("ack"):
            continue
        recipients = {a.lower() for _, a in getaddresses([headers.get("to", "")])}
        if address in recipients and message["internalDate"] > after:
            return message["threadId"]
    return None
