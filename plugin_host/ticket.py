"""The Ticket: everything a support request *is*, derived again from its Gmail thread.

There is no ticket database. :func:`plugin_host.tickets.build_ticket` turns a Gmail thread
(``threads.get`` in ``full`` format) plus configuration into a :class:`Ticket`; doing it twice
gives the same answer, so a crash or a replay never does harm.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import idna

from .thanks import says_only_thanks

# Reply and forward prefixes of a subject, in the clients' languages (repeated: "Re: Fwd: …").
REPLY_PREFIX = re.compile(r"^(\s*(re|fw|fwd|aw|wg|odp|pd|tr|sv|vs|ответ|отв|пересл)(\[\d+\])?\s*:\s*)+", re.I)
# A subject that already answers something, in the customer's client's language ("Odp:", "Отв:", "RE: AW:", "Re[2]:").
ANSWERED = re.compile(r"^\s*(re|aw|odp|sv|vs|ответ|отв)(\[\d+\]|\(\d+\))?\s*:", re.I)

# "internal": an agent's message to none of the customers (a forward to engineering); it answers nobody.
# An address as mail and Gmail's search both take it: no spaces, quotes, braces or a leading "-".
PLAIN_ADDRESS = re.compile(r"[\w.%+'=!#$&*/?^`|~][\w.%+'=!#$&*/?^`|~-]*@[\w-]+(\.[\w-]+)+")


def is_plain_address(email: str) -> bool:
    return bool(PLAIN_ADDRESS.fullmatch(email or ""))


def canonical_address(email: str) -> str:
    """``email`` lower-cased with its domain in ASCII (IDNA 2008 A-labels, UTS 46 mapping: jan@exämple.org is
    jan@xn--exmple-cua.org), so a customer writing from an internationalised domain has one spelling in search,
    the acknowledgement window and our replies; unchanged when the domain is not valid IDNA."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or domain.isascii():
        return email
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except (idna.IDNAError, UnicodeError):
        return email


def shown_address(email: str) -> str:
    """``email`` as people read it: an A-label domain back in its own script (jan@exämple.org), as Gmail shows it;
    kept in A-labels when its script could pass for another name's (:func:`readable_label`)."""
    local, at, domain = (email or "").rpartition("@")
    if not at or "xn--" not in domain:
        return email
    try:
        shown = idna.decode(domain)
    except (idna.IDNAError, UnicodeError):
        return email
    return f"{local}@{shown}" if all(readable_label(label) for label in shown.split(".")) else email


# Cyrillic and Greek letters that look like Latin ones (Chrome's whole-script confusables, in part).
LATIN_LOOKALIKES = frozenset("асԁеһіјӏорԛѕԝхуъьҽпгѵѡвкмнтзыαικνορτυχ")
# Scripts written together with Latin and each other in one name (Japanese, Chinese, Korean domains).
EAST_ASIAN = {"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "LATIN"}


def readable_label(label: str) -> bool:
    """Whether a domain label can be shown in its own script without passing for another domain, as browsers
    judge it: one script (Latin with East Asian ones allowed), and not Cyrillic or Greek letters that all look
    Latin ("аррӏе" is not apple). Otherwise the agent is shown its A-label (xn--80ak6aa92e)."""
    letters = [ch for ch in label if ch.isalpha()]
    scripts = {unicodedata.name(ch, "UNKNOWN").split()[0] for ch in letters}
    if len(scripts) > 1 and not scripts <= EAST_ASIAN:
        return False  # mixed scripts: "pаypal" with a Cyrillic "а"
    return not (letters and scripts & {"CYRILLIC", "GREEK"} and all(ch in LATIN_LOOKALIKES for ch in letters))


MessageKind = Literal["customer", "agent", "internal", "automatic"]

# The host's label on a thread Gmail split off a customer's conversation (a reply with a new subject, a thread
# past 100 messages): the record, kept in Gmail, that its first message is the customer writing again.
CONTINUED = "Continued"
# The "Thread:" line of a task's notes (a Ticket.gmail_url): the ticket it is about, for the sweep.
THREAD_LINK = re.compile(r"^Thread: https://mail\.google\.com/mail/u/[^/\s]+/#all/([0-9A-Za-z]+)$", re.M)
# The "Customer:" line of a task's notes: whose ticket it is, for ``labeldesk forget`` once the thread is deleted.
CUSTOMER_LINE = re.compile(r"^Customer: (\S+)$", re.M)


@dataclass(frozen=True)
class Person:
    """Someone on a thread: display name (may be empty) and lower-cased address."""

    name: str
    email: str

    @property
    def first_name(self) -> str:
        """The first word of the display name, or the address's local part as a fallback."""
        if self.name.strip():
            return self.name.split()[0]
        return ""


@dataclass(frozen=True)
class TicketMessage:
    """One message of a ticket, classified and reduced to what plugins need."""

    id: str
    thread_id: str
    message_id: str  # the RFC 5322 Message-ID header, with angle brackets
    sender: Person
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    sent_at: datetime  # Gmail's internalDate, timezone-aware UTC
    kind: MessageKind
    text: str  # plain text, quoted history and signature stripped, at most 20,000 characters
    label_ids: frozenset[str] = frozenset()
    references: str = ""
    in_reply_to: str = ""  # the In-Reply-To header: the message this one answers
    automatic_reason: str = ""  # why kind == "automatic" (bounce, auto-reply, list, ours…)
    ours: bool = False  # an automatic message Labeldesk itself sent (acknowledgement etc.)
    marker: str = ""  # value of our X-Labeldesk header when ours
    labels: frozenset[str] = frozenset()  # label *names* on this message (Gmail labels messages, not threads)
    # The From address (``sender`` is the one human Reply-To of a customer's message); "" on a customer's
    # message from our own address (a web form mailing support@ as support@): opt-outs must not match us.
    from_email: str = ""
    # The agent who forwarded this customer's mail into the support inbox ("": the customer wrote to us).
    forwarded_by: str = ""
    # Why the From, an agent's or one of our addresses, is not believed: Gmail's Authentication-Results did not
    # vouch for it, so the message is a customer's ("": believed, or nothing to doubt).
    forged_from: str = ""
    # An agent's signature below a "-- " line (Gmail's send-as signature), which ``text`` leaves out: where the
    # full-name sign-off of a reply may stand ("" for other messages, or without one).
    signature: str = ""


@dataclass(frozen=True)
class Ticket:
    """A support request: a thread holding a message from a customer to a support address."""

    thread_id: str
    subject: str
    customer: Person
    support_address: str
    messages: tuple[TicketMessage, ...]
    language: str  # ISO 639-1 of the customer's writing ("en", "ru", "pl", …)
    labels: frozenset[str]  # label *names* on any message of the thread
    first_customer_at: datetime
    first_agent_reply_at: datetime | None
    last_speaker: MessageKind
    channel: str = "email"
    label_root: str = "Helpdesk"
    markers: frozenset[str] = frozenset()  # X-Labeldesk keys already on the thread (sent or drafted)
    drafts: tuple[TicketMessage, ...] = ()  # unsent drafts in the thread, not part of the conversation
    # The thread continues an earlier conversation of the same customer's (``CONTINUED`` label): its first
    # message is their next message, no new request; what came before it is in the other thread.
    continues_conversation: bool = False
    # The address of the Gmail account the thread is in (the support mailbox): links open that account.
    mailbox: str = ""

    def has_marker(self, key: str) -> bool:
        """Whether Labeldesk already sent or drafted the automatic message with this key."""
        return key in self.markers

    # -- derived views -------------------------------------------------------------------

    @property
    def customer_messages(self) -> tuple[TicketMessage, ...]:
        return tuple(m for m in self.messages if m.kind == "customer")

    @property
    def agent_messages(self) -> tuple[TicketMessage, ...]:
        return tuple(m for m in self.messages if m.kind == "agent")

    @property
    def first_customer_message(self) -> TicketMessage:
        return self.customer_messages[0]

    @property
    def latest_customer_message(self) -> TicketMessage:
        return self.customer_messages[-1]

    @property
    def latest_message(self) -> TicketMessage:
        return self.messages[-1]

    @property
    def customer_addresses(self) -> tuple[str, ...]:
        """The customer's address and the one their first message came from, when it has a Reply-To: what
        opt-outs and VIP lists name."""
        return tuple(dict.fromkeys(a for a in (self.customer.email, self.first_customer_message.from_email) if a))

    @property
    def reply_subject(self) -> str:
        """The customer's own subject with "Re: ", once: Gmail threads a reply only when the subjects match,
        so never the "(no subject)" placeholder and never shortened. No subject stays no subject; one that
        already carries a reply prefix in the customer's client's language ("Odp:", "Отв:", "RE: AW:") stays as
        the customer wrote it, without "Re: " stacked on it."""
        raw = " ".join(self.first_customer_message.subject.split())
        if not raw or ANSWERED.match(raw):
            return raw
        return f"Re: {raw}"

    @property
    def question(self) -> str:
        """What the customer asks: the subject plus their latest message that asks something, without
        greeting, form labels or sign-off."""
        from .text import strip_form_fields, strip_greeting, strip_sign_off

        # The subject as the customer wrote it: never the "(no subject)" placeholder, without "Re:"/"Fwd:".
        subject = REPLY_PREFIX.sub("", self.first_customer_message.subject.strip())
        asking = self.asking_message
        words = strip_sign_off(strip_greeting(strip_form_fields(asking.text)), name=asking.sender.name)
        return f"{subject}\n{words}".strip()

    @property
    def asking_message(self) -> TicketMessage:
        """The customer's latest message that asks for something: a later thank-you asks nothing."""
        asking = [m for m in self.customer_messages if self.owes_answer(m)]
        return asking[-1] if asking else self.latest_customer_message

    @property
    def awaiting_reply(self) -> bool:
        """True while the customer spoke last among humans, with more than a thank-you to an answer."""
        return any(self.owes_answer(m) for m in self.messages_since_agent)

    @property
    def messages_since_agent(self) -> tuple[TicketMessage, ...]:
        """The messages after the latest agent reply (all of them before any)."""
        last = max((i for i, m in enumerate(self.messages) if m.kind == "agent"), default=-1)
        return self.messages[last + 1:]

    def owes_answer(self, message: TicketMessage) -> bool:
        """Whether a customer's message asks for an answer: all do but a thank-you after an agent's
        reply ("Thanks, that worked!", see :mod:`plugin_host.thanks`)."""
        if message.kind != "customer":
            return False
        if not self.agent_messages or message.sent_at < self.agent_messages[0].sent_at:
            return True
        names = tuple(m.sender.name for m in self.messages)
        return not says_only_thanks(message.text, names)

    def has_label(self, name: str) -> bool:
        """Whether the thread carries ``<root>/<name>`` (or the exact full name)."""
        return self.full_label(name) in self.labels or name in self.labels

    def full_label(self, name: str) -> str:
        """``name`` under the configured root, e.g. ``SLA/Breached`` → ``Helpdesk/SLA/Breached``."""
        if not self.label_root or name.startswith(self.label_root + "/"):
            return name
        return f"{self.label_root}/{name}"

    def labels_under(self, prefix: str) -> list[str]:
        """Label names below ``<root>/<prefix>/``, without that prefix (e.g. owner names)."""
        start = self.full_label(prefix) + "/"
        return sorted(label[len(start):] for label in self.labels if label.startswith(start))

    @property
    def owner_name(self) -> str | None:
        owners = self.labels_under("Owner")
        return owners[0] if owners else None

    @property
    def priority(self) -> str | None:
        levels = self.labels_under("Priority")
        return levels[0].lower() if levels else None

    @property
    def gmail_url(self) -> str:
        """The thread in Gmail's web app, in the support mailbox's account: a team lead reads notices in their
        own mailbox, where ``/u/0/`` (the first signed-in account) would look for the thread in the wrong one."""
        from urllib.parse import quote

        account = quote(self.mailbox, safe="@") if self.mailbox else "0"
        return f"https://mail.google.com/mail/u/{account}/#all/{self.thread_id}"


@dataclass(frozen=True)
class Deadline:
    """When the next answer is due (answer of the ``ticket_deadline`` hook)."""

    due: datetime
    target: str  # "first_response", "next_response", "resolution"
    priority: str
    business_hours: bool
    text: str = ""  # human phrasing, e.g. "within 4 business hours (by Tue 11:00)"
    open_now: bool | None = None  # whether the team is at work now, by the same calendar (None: not known)
    holiday: str = ""  # today's public holiday or day off by the same calendar, "" on other days
    back_at: str = ""  # when the team is next at work by the same calendar, as text ("" while at work)
    zone: str = ""  # the calendar's IANA zone: acknowledgements tell ``due`` and ``reopens`` to customers in it
    reopens: datetime | None = None  # when the team is next at work by the same calendar (None while at work)
    left: str = ""  # how long until ``due`` for an agent ("3h 20m business time left", "overdue by 1h 05m")


@dataclass(frozen=True)
class Suggestion:
    """A help article suggested for a question (answer of the ``suggest_articles`` hook)."""

    article_id: str
    title: str
    url: str
    snippet: str
    score: float
    reason: str
    body: str = ""
    confident: bool = True  # False: offered as a close runner-up, below the confidence gate itself
    for_customers: bool = True  # confident enough to be sent to a customer unasked (acknowledgements' links)
    language: str = ""
    link: str = ""  # where agents open the article, when only they can (an internal Doc); ``url`` is for customers


@dataclass
class CardReply:
    """What a button handler wants shown: a toast, a new card, and/or text for the draft."""

    notification: str | None = None
    card: dict | None = None
    insert_text: str | None = None
    insert_type: str = "TEXT"
    insert_plain: str | None = None  # an HTML insert as plain text, for a new draft's text part (links written out)
    already: str | None = None  # the toast instead when the press made no task, mail or post (pressed before)
    extra: dict = field(default_factory=dict)
