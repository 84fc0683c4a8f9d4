"""The loop guard for outgoing automatic mail, decided from the mailbox itself.

Message-level rules (bounces, auto-replies, lists, robots, own addresses) live in
:mod:`plugin_host.loopguard` and already classified the ticket's messages. Here: only answer a
human customer, never our own addresses, once per thread, and at most one acknowledgement per
sender within the window (default 4 days, like Gmail's vacation responder) — found among the mailbox's
sent mail by :class:`~plugin_host.sent.SentLedger` (what this process sent, Gmail's search, and what the search
may not show yet), so no separate database is needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .config import Config
from .ticket import Ticket, is_plain_address


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


def unaddressable(recipient: str) -> str:
    """Why an automatic reply cannot be addressed to ``recipient``, or "". The reasons name no customer: they are
    logged, and the log outlives a customer who asked to be forgotten (the thread's id names the ticket)."""
    if not is_plain_address(recipient):
        return "the recipient is not a plain email address"
    if not recipient.isascii():  # a non-ASCII local part (jän@…) needs SMTPUTF8; domains are A-labels already
        return "the recipient has an internationalised address: answer it by hand"
    return ""


def reply_verdict(reply, ticket: Ticket, config: Config, ledger) -> Verdict:
    """May ``reply`` go out? ``ledger``: the mailbox's :class:`~plugin_host.sent.SentLedger`, for the per-sender
    acknowledgement window."""
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
        return Verdict(False, "the recipient did not write the answered message")
    if reply.reply_kind != "acknowledgement":
        return Verdict(True)
    if any(marker.startswith("ack") for marker in ticket.markers):
        return Verdict(False, "thread already holds an acknowledgement")
    earlier = ledger.acknowledgement_to(recipient, ticket.thread_id, timedelta(days=config.mailbox.ack_window_days))
    if earlier:
        return Verdict(False, f"the customer was acknowledged within {config.mailbox.ack_window_days:g} days "
                              f"(thread {earlier})")
    return Verdict(True)
