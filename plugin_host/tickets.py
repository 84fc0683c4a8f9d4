"""Deriving a :class:`~plugin_host.ticket.Ticket` from a Gmail thread: a pure function.

Classification of each message: *automatic* when Labeldesk sent it (``X-Labeldesk`` header with
``Auto-Submitted``; a draft Labeldesk prepared carries the header without it, and once an agent sends
it, it is the agent's) or the loop guard recognises a bounce, auto-reply, list or robot; *agent* when
a configured agent or the support address itself (agents sending as support@) wrote it, or it
carries the SENT label; *internal* when such a message went to none of the thread's customers nor
anyone they copied; *customer* otherwise. A received message whose From is an agent's or ours but whose Gmail
``Authentication-Results`` does not vouch for it is a customer's (``TicketMessage.forged_from`` says why;
:mod:`plugin_host.authenticity`). A thread without a customer message is not a ticket. A thread
that starts with an agent forwarding a customer's mail into the inbox is that customer's request
(:func:`forwarded_in`).
"""
from __future__ import annotations

import dataclasses

import re
import email
import email.header
import email.policy
from datetime import datetime, timezone
from email.utils import getaddresses, parseaddr

from .authenticity import gmail_verdict, sender_doubt
from .config import Config, own_address_in
from .forwards import forwarded_message
from .language import customer_language
from .loopguard import ROBOT_LOCAL, automatic_reason, form_visitor, own_group, unwrap_own_group
from .mailbox.mime import decode_header_value, guess_text, parse_raw, payload_to_email
from .text import customer_text, one_line, signature_block
from .ticket import CONTINUED, Person, Ticket, TicketMessage, canonical_address, is_plain_address

MARKER_HEADER = "X-Labeldesk"


def header(msg, name: str) -> str:
    try:
        value = msg.get(name)
        if isinstance(value, email.header.Header):  # raw 8-bit bytes in the header (RFC 6532 mail)
            # compat32 wraps such a header whole as one "unknown-8bit" chunk of bytes: UTF-8 when it is, else guessed
            value = "".join(guess_text(chunk) for chunk, _ in email.header.decode_header(value))
    except Exception:  # malformed header: treat as absent
        return ""
    return str(value or "").strip()


ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>\s*$")


def person(value: str) -> Person:
    """Name and address from a From header; an encoded word cannot smuggle in another address."""
    value = value or ""
    found = ANGLE_ADDRESS.search(value)
    if found:  # "Name <addr>": trust only the final angle-bracket address
        name, address = value[:found.start()], found.group(1)
    else:
        name, address = parseaddr(value)
    name = decode_header_value(name.strip().strip('"'))
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    return Person(name=name, email=canonical_address(address))


def _addresses(msg, *names: str) -> tuple[str, ...]:
    values = [header(msg, n) for n in names]
    return tuple(canonical_address(a) for _, a in getaddresses([v for v in values if v]) if a)


def writer(msg, kind: str, own_addresses: frozenset[str]) -> Person:
    """Who wrote a message: for a customer's, the one Reply-To person when there is one (a web form's
    visitor, a customer's other address: where Gmail's Reply goes too), else the From person."""
    sender = person(header(msg, "From"))
    reply_to = _addresses(msg, "Reply-To")
    if kind != "customer" or len(reply_to) != 1 or reply_to[0] == sender.email:
        return sender
    if own_address_in(reply_to[0], own_addresses):
        return sender
    if ROBOT_LOCAL.match(reply_to[0].split("@")[0]):
        return sender
    return person(header(msg, "Reply-To"))


def forged_from(msg, label_ids: set[str], config: Config, group: str = "") -> str:
    """Why a received message's From, an agent's or one of our addresses, is not believed: Gmail's
    Authentication-Results does not vouch for it. "" when it does, when Gmail gave no verdict, when the From
    claims neither, and for what this mailbox sent itself (SENT, DRAFT). ``group``: our own Google Group that
    delivered it (its From is then the writer the group named)."""
    if {"SENT", "DRAFT"} & label_ids:
        return ""
    sender = person(header(msg, "From")).email
    if config.agent(sender) is None and not config.is_own_address(sender):
        return ""
    if config.agent(sender) is None and form_visitor(msg, config.mailbox.own_addresses):
        return ""  # a web form mailing support@ as support@: its visitor is the customer, nothing of ours is claimed
    return sender_doubt(msg, sender, gmail_verdict(msg), group)


def classify(msg, label_ids: set[str], config: Config, forged: str = "") -> tuple[str, str, bool, str]:
    """(kind, automatic reason, ours, marker) for one message. ``forged``: why its From, ours or an agent's,
    is not believed (:func:`forged_from`): then it is judged as a customer's, its marker counting for nothing."""
    if forged:
        reason = automatic_reason(msg, frozenset())  # a bounce or auto-reply still is one; our address is not ours
        return ("automatic", f"{reason}; {forged}", False, "") if reason else ("customer", "", False, "")
    marker = header(msg, MARKER_HEADER)
    sender = person(header(msg, "From")).email
    ours = config.agent(sender) is not None or config.is_own_address(sender) or bool({"SENT", "DRAFT"} & label_ids)
    if ours and not marker and config.agent(sender) is None and "DRAFT" not in label_ids \
            and form_visitor(msg, config.mailbox.own_addresses):
        ours = False  # a web form mailing support@ as support@ (and so also in Sent): the visitor asks
    if marker and (header(msg, "Auto-Submitted") or not ours):
        return "automatic", f"Labeldesk automatic message ({marker})", True, marker
    if ours:
        reason = automatic_reason(msg, frozenset())
        if reason and not config.agent(sender) and not marker:
            return "automatic", reason, False, ""
        return "agent", "", False, marker
    reason = automatic_reason(msg, config.mailbox.own_addresses)
    if reason:
        return "automatic", reason, False, ""
    return "customer", "", False, ""


def ticket_message(gmail_message: dict, config: Config) -> tuple[TicketMessage, object]:
    """One Gmail message resource (format=full) as a classified :class:`TicketMessage`."""
    # compat32: lenient with hostile headers (policy.default raises on CR/LF in a display name).
    msg = payload_to_email(gmail_message.get("payload") or {}, policy=email.policy.compat32)
    # Our group among the List-Ids, even beside one the poster wrote: its post's writer needs the ARC record.
    group = own_group(msg, config.mailbox.own_addresses, among_others=True)
    msg = unwrap_own_group(msg, config.mailbox.own_addresses)  # a post to our own Google Group: its writer's
    labels = set(gmail_message.get("labelIds", []))
    forged = forged_from(msg, labels, config, group)
    kind, reason, ours, marker = classify(msg, labels, config, forged)
    sent_at = datetime.fromtimestamp(int(gmail_message.get("internalDate", "0")) / 1000, timezone.utc)
    from_email = person(header(msg, "From")).email
    message = TicketMessage(
        id=gmail_message["id"], thread_id=gmail_message.get("threadId", ""),
        message_id=header(msg, "Message-ID"), sender=writer(msg, kind, config.mailbox.own_addresses),
        from_email=from_email if kind != "customer" or not config.is_own_address(from_email) else "",
        to=_addresses(msg, "To"), cc=_addresses(msg, "Cc"),
        subject=one_line(decode_header_value(header(msg, "Subject"))), sent_at=sent_at, kind=kind,
        text=customer_text(msg) if kind != "automatic" or not ours else "",
        label_ids=frozenset(labels), references=header(msg, "References"), in_reply_to=header(msg, "In-Reply-To"),
        automatic_reason=reason, ours=ours, marker=marker, forged_from=forged,
        signature=signature_block(msg) if kind == "agent" else "")
    return message, msg


def support_address_of(msg, config: Config) -> str:
    """Which of our addresses the customer wrote to, so the answer comes from it (as Gmail's "reply from the
    same address the message was sent to"): the visible To and Cc first — a group alias such as help@ that
    delivers into support@ has support@ in Delivered-To — then the delivery headers (Bcc'd mail)."""
    for address in _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To"):
        ours = own_address_in(address, config.mailbox.own_addresses)
        if ours:  # the configured spelling: replies are sent from it (never from a +tag)
            return ours
    return config.mailbox.address


def build_ticket(thread: dict, config: Config, label_names: dict[str, str] | None = None) -> Ticket | None:
    """The ticket a Gmail thread (``threads.get`` format=full) represents, or None if it is none."""
    label_names = label_names or {}
    conversation, drafts, originals, binned = [], [], {}, []
    for raw in sorted(thread.get("messages", []), key=lambda m: (int(m.get("internalDate", "0")), m["id"])):
        if "CHAT" in raw.get("labelIds", []):
            continue  # chat history kept in Gmail: no mail to answer by mail (a full sync lists -in:chats too)
        message, msg = ticket_message(raw, config)
        if {"SPAM", "TRASH"} & message.label_ids:
            binned.append(message)  # still sent: an acknowledgement an agent deleted must not go out again
            continue  # spam and trash are never part of a ticket (answering them would be backscatter)
        if "DRAFT" in message.label_ids:
            drafts.append(message)
        else:
            conversation.append(message)
            originals[message.id] = msg
    conversation[:1] = [forwarded_in(m, originals[m.id], config) for m in conversation[:1]]
    customers = [m for m in conversation if m.kind == "customer"]
    if not customers or (conversation[0].marker or "").startswith("notify:"):
        return None  # no customer; or our alert to the team (a team lead's answer to it is no request)
    conversation = internal_notes_marked(conversation, customers, originals, config.mailbox.own_addresses,
                                         copied=copied_by_customers(customers, config))
    first = customers[0]
    first_agent = next((m for m in conversation if m.kind == "agent" and m.sent_at >= first.sent_at), None)
    humans = [m for m in conversation if m.kind in ("customer", "agent")]
    # A message that arrives later does not carry the labels already on its thread: keep each one's own.
    conversation = [dataclasses.replace(m, labels=frozenset(label_names.get(l, l) for l in m.label_ids))
                    for m in conversation]
    labels = frozenset(label_names.get(l, l) for m in conversation + drafts for l in m.label_ids)
    sample = f"{first.subject}\n{first.text}"
    root = config.mailbox.label_root
    return Ticket(
        thread_id=thread.get("id", first.thread_id), subject=first.subject or "(no subject)",
        customer=first.sender, support_address=support_address_of(originals[first.id], config),
        messages=tuple(conversation), language=customer_language(sample, first.sender.name, first.sender.email),
        labels=labels, first_customer_at=first.sent_at,
        first_agent_reply_at=first_agent.sent_at if first_agent else None,
        last_speaker=humans[-1].kind if humans else "customer",
        label_root=config.mailbox.label_root,
        markers=frozenset(m.marker for m in conversation + drafts + binned if m.marker),
        drafts=tuple(drafts),
        continues_conversation=(f"{root}/{CONTINUED}" if root else CONTINUED) in labels,
        channel=channel_of(labels, root),
        mailbox=config.mailbox.delegated_user or config.mailbox.address,
    )


def channel_of(labels, root: str) -> str:
    """Where the request came from: the network of a ``<root>/Channel/<Network>`` label, lower-cased ("mastodon":
    a social channel's import labels its threads so, DESIGN.md), else "email"."""
    prefix = f"{root}/Channel/" if root else "Channel/"
    names = sorted(label[len(prefix):].strip().lower() for label in labels if label.startswith(prefix))
    return next((name for name in names if name and name != "email"), "email")


def forwarded_in(message: TicketMessage, msg, config: Config) -> TicketMessage:
    """A thread's first message as the customer's request when an agent forwarded the customer's mail into
    the support inbox (to our own addresses only): its writer is the forwarded message's sender, its text
    their words, and ``forwarded_by`` the agent (see :mod:`plugin_host.forwards`)."""
    recipients = set(message.to) | set(message.cc) | set(_addresses(msg, "Bcc"))
    if message.kind != "agent" or message.marker or not recipients \
            or not all(config.is_own_address(a) for a in recipients):
        return message
    forwarded = forwarded_message(msg, message.subject)
    customer = person(forwarded.sender) if forwarded else None
    if customer is None or not is_plain_address(customer.email) or config.is_own_address(customer.email) \
            or config.agent(customer.email) is not None:
        return message
    return dataclasses.replace(message, kind="customer", sender=customer, text=forwarded.text,
                               from_email=customer.email, forwarded_by=person(header(msg, "From")).email)


def copied_by_customers(customers: list, config: Config) -> set[str]:
    """Whom the customers' messages went to besides us and our agents: colleagues they copied are on the
    customer's side of the conversation (an answer to them is an answer)."""
    return {a for m in customers if not m.forwarded_by for a in (*m.to, *m.cc)
            if not config.is_own_address(a) and config.agent(a) is None}


def internal_notes_marked(conversation: list, customers: list, originals: dict,
                          own_addresses: frozenset[str] = frozenset(), copied: set[str] = frozenset()) -> list:
    """Agent messages sent to none of the thread's customers nor anyone they copied (a forward to
    engineering, a note to a colleague) become ``internal``: they answer nobody, so they stop no clock and
    count as no reply."""
    customer_addresses = {m.sender.email for m in customers} | set(copied)
    for m in customers:  # the writer is the Reply-To person when there is one: the From address is theirs too,
        # unless it is ours (a web form mailing support@ as support@: a note to support@ answers no customer)
        customer_addresses.update(a for a in _addresses(originals[m.id], "From", "Reply-To")
                                  if not own_address_in(a, own_addresses))

    def internal(m) -> bool:
        recipients = set(m.to) | set(m.cc) | set(_addresses(originals[m.id], "Bcc"))
        return m.kind == "agent" and bool(recipients) and not recipients & customer_addresses

    return [dataclasses.replace(m, kind="internal") if internal(m) else m for m in conversation]


def gmail_message_from_raw(raw: bytes, message_id: str = "eml", thread_id: str = "eml",
                           label_ids: tuple[str, ...] = ("INBOX", "UNREAD")) -> dict:
    """A Gmail-shaped message resource for a raw .eml (previews, ``inspect``)."""
    parsed = parse_raw(raw)
    when = parsed.date or datetime.now(timezone.utc)
    return {"id": message_id, "threadId": thread_id, "labelIds": list(label_ids),
            "internalDate": str(int(when.timestamp() * 1000)), "payload": parsed.payload}


def ticket_from_eml(raw: bytes, config: Config) -> Ticket | None:
    """The ticket a single raw customer email would open (None if it is no customer mail)."""
    return build_ticket({"id": "eml", "messages": [gmail_message_from_raw(raw)]}, config)
