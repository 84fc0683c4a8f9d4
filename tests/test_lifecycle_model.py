"""A model-based (stateful) test of the ticket lifecycle, through the real sync against the local mailbox.

Hypothesis drives a support inbox as people do: customers write new requests and reply in their threads (English,
Russian, Polish; some under quoted history, some only "Thanks, that worked!"), agents answer from the support
address or from their own mailboxes with support on copy, people add and remove Helpdesk labels by hand, archive,
trash, mark spam and untrash, bounces and out-of-office replies arrive, the clock moves over working hours, nights
and weekends, the SLA sweep runs, syncs run (incremental, and a full one once Gmail expired the history id), a
sync is broken at one of its Gmail calls (the process killed, an answer lost, Gmail down) and run again, and the
admin switches the autoreply and sla plugins on and off.

The machine keeps its own record of what happened (:class:`Thread`, :class:`Message`) and, after every step,
checks what the docs promise (docs/architecture.md, docs/autoreply.md, docs/sla.md), not what the code does:

- an acknowledgement goes only to the customer who opened the thread, never to our addresses, agents, bounces or
  auto-replies; at most one a thread and one a sender within ``ack_window_days``; and after a sync that ended well,
  exactly one for every request that was eligible when that sync read it;
- ``Awaiting reply`` is on a ticket iff the customer spoke last with more than a thank-you to an answer;
- after a sweep with sla on, ``SLA/At risk`` and ``SLA/Breached`` agree with the deadline recomputed from the
  business calendar; with sla off, the sweep removes both;
- no step raises but the faults the machine injects itself; after a broken sync and its re-run nothing is lost.

Three rules only steer towards what random steps rarely reach: the clock moving to a ticket's at-risk point or
deadline, the week moving on to a Friday, the weekend or Monday, and a sync killed right after a Gmail call.

``LABELDESK_LIFECYCLE=long`` selects a slower profile for exploration by hand, ``LABELDESK_LIFECYCLE_EXAMPLES``
examples (300 unless set): ``LABELDESK_LIFECYCLE=long python -m pytest tests/test_lifecycle_model.py
--hypothesis-show-statistics`` shows how often each state came up.
"""
from __future__ import annotations

import email
import email.policy
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("hypothesis", reason="install the test extras: pip install -e '.[test]'")

from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import b64
from .crash_sweep import Injector, ProcessKilled, quick_restarts
from .inbox_simulation import AGENT_TEXT, FOLLOW_UP, THANKS  # the customers' and agents' words, shared

WAW = ZoneInfo("Europe/Warsaw")
START = datetime(2026, 12, 7, 8, 30, tzinfo=WAW)  # a Monday morning, before opening time
SUPPORT, ALIAS = "support@example.com", "help@example.com"
OURS = {SUPPORT, ALIAS}
AGENTS = {"anna.kowalska@example.com": ("Anna", "Kowalska"), "ivan.petrov@example.com": ("Ivan", "Petrov")}
LEAD = "lead@example.com"
ROOT = "Helpdesk"
ACK_WINDOW = timedelta(days=4)
MAX_AGE = timedelta(hours=24)
TARGETS = {"normal": {"first_response": "2h", "next_response": "3h"}}
SLA = {"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw", "team_lead": LEAD, "targets": TARGETS}

CUSTOMERS = [("Jane Cooper", "jane@example.org", "en"), ("Tom Baker", "tom@example.net", "en"),
             ("Мария Иванова", "maria@example.ru", "ru"), ("Zofia Nowak", "zofia@example.pl", "pl")]
REQUESTS = {
    "en": [("Order {n} has not arrived", "Hello, my order {n} has not arrived yet. Can you check where it is?"),
           ("Cannot change my password", "Hi, the password form keeps rejecting my new password. What should I do?")],
    "ru": [("Заказ {n} не пришёл", "Здравствуйте, мой заказ {n} до сих пор не пришёл. Проверьте, пожалуйста."),
           ("Вопрос по счёту {n}", "Добрый день, в счёте {n} указана неверная сумма. Исправьте, пожалуйста.")],
    "pl": [("Zamówienie {n} nie dotarło",
            "Dzień dobry, moje zamówienie {n} jeszcze nie dotarło. Czy możecie sprawdzić?"),
           ("Pytanie o fakturę {n}", "Dzień dobry, na fakturze {n} jest zła kwota. Proszę o korektę.")],
}
# Gmail's own attribution line above quoted history, in the customer's language.
ATTRIBUTION = {"en": "On Mon, 7 Dec 2026 at 10:05, Support <support@example.com> wrote:",
               "ru": "пн, 7 дек. 2026 г. в 10:05, Support <support@example.com>:",
               "pl": "pon., 7 gru 2026 o 10:05 Support <support@example.com> napisał(a):"}
HOLDS = ("Waiting on customer", "Resolved")
FAULTS = ("killed_before", "killed_after", "lost", "error", "outage")

if os.environ.get("LABELDESK_LIFECYCLE") == "long":
    PROFILE = settings(max_examples=int(os.environ.get("LABELDESK_LIFECYCLE_EXAMPLES", "300")),
                       stateful_step_count=60, deadline=None, derandomize=False, database=None,
                       suppress_health_check=list(HealthCheck))
else:
    PROFILE = settings(max_examples=12, stateful_step_count=40, deadline=None, derandomize=True, database=None,
                       suppress_health_check=list(HealthCheck))


@dataclass
class Message:
    """One message as the machine remembers it, independently of the product."""

    gmail_id: str
    message_id: str
    kind: str  # request | follow-up | thanks | agent | automatic
    sender: str
    at: datetime
    binned: bool = False  # in Trash or Spam: no part of the ticket (docs/architecture.md)
    ever_binned: bool = False

    @property
    def customer(self) -> bool:
        return self.kind in ("request", "follow-up", "thanks")


@dataclass
class Thread:
    thread_id: str
    subject: str
    customer: str = ""  # "" for a thread no customer opened (a bounce)
    name: str = ""
    language: str = "en"
    to: str = SUPPORT
    messages: list[Message] = field(default_factory=list)
    continues: str = ""  # the thread Gmail split this one off (the customer changed the subject in a reply)
    # that thread was the same customer's, by a message of theirs (docs/architecture.md): Continued, next-response
    # clock; None when all their messages there were in Trash or Spam (the docs leave it open: not checked)
    continued: bool | None = False
    holds: dict = field(default_factory=dict)  # hold label → when a person set it
    read_stale: bool = False  # a person changed Awaiting reply or took messages out of Trash/Spam since the last mail

    def conversation(self) -> list[Message]:
        return [m for m in self.messages if not m.binned]

    def customer_messages(self) -> list[Message]:
        return [m for m in self.conversation() if m.customer]

    def agent_messages(self) -> list[Message]:
        return [m for m in self.conversation() if m.kind == "agent"]

    def awaiting(self) -> bool:
        """docs/architecture.md: the customer spoke last with more than a thank-you to an agent's answer."""
        agents = self.agent_messages()
        last = agents[-1].at if agents else None
        return any(m.kind != "thanks" or not agents or m.at < agents[0].at
                   for m in self.customer_messages() if last is None or m.at > last)


class Lifecycle(RuleBasedStateMachine):
    """The inbox, the product working on it, and the machine's own record of both."""

    def __init__(self):
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.now = START.astimezone(timezone.utc)
        self.local = LocalMailbox(SUPPORT, clock=lambda: self.now.timestamp())
        self.local.mailbox.add_send_as(ALIAS)
        for address, (first, last) in AGENTS.items():
            self.local.mailbox.add_send_as(address, f"{first} {last}")
        self.injector = Injector(self.local)
        self.gmail = self.local.gmail()
        self.threads: dict[str, Thread] = {}
        self.enabled = ["autoreply", "sla"]
        self.autoreply_since = None  # when the admin last switched autoreply on (None: on from the first run)
        self.unsynced: set[str] = set()  # gmail ids delivered since the last sync that ended well
        self.swept = False  # a sweep ran since the last change the SLA labels depend on
        self.n = 100
        self.log: list[str] = []
        self.restart()

    # -- the product -----------------------------------------------------------------------------

    def restart(self) -> None:
        """A new process on the same mailbox and state folder, with the plugins now enabled."""
        data = {"mailbox": {"address": SUPPORT, "aliases": [ALIAS]},
                "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
                "plugins": {"enabled": list(self.enabled), "sla": SLA},
                "host": {"state_dir": str(self.workdir / "state"), "timezone": "Europe/Warsaw"}}
        config = load_config(self.workdir / "labeldesk.toml", data=data, environ={})
        self.host = build_host(config, http=self.local.http, now=lambda: self.now)
        self.host.client.sleep = lambda seconds: None
        self.feed = ChangeFeed(self.host)

    def say(self, text: str) -> None:
        self.log.append(f"{self.now.astimezone(WAW):%a %d %H:%M} {text}")

    def teardown(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    @initialize()
    def first_sync(self):
        """The first (full) sync of an empty mailbox sets the cursor."""
        assert self.feed.sync().ok

    # -- the world: customers, robots, agents ---------------------------------------------------------

    def next_id(self, domain: str) -> str:
        self.n += 1
        return f"<lc{self.n}@{domain}>"

    def mail(self, sender: str, to: str, subject: str, body: str, *, cc: str = "", in_reply_to: str = "",
             headers: dict | None = None) -> tuple[bytes, str]:
        self.now += timedelta(seconds=30)  # people take a moment to write; no two messages share a second
        msg = email.message.EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, to, subject
        if cc:
            msg["Cc"] = cc
        msg["Date"] = format_datetime(self.now)
        message_id = self.next_id(parseaddr(sender)[1].rsplit("@", 1)[-1])
        msg["Message-ID"] = message_id
        if in_reply_to:
            msg["In-Reply-To"] = msg["References"] = in_reply_to
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        return msg.as_bytes(), message_id

    def deliver(self, thread: Thread | None, kind: str, sender: str, raw: bytes, message_id: str) -> Thread:
        body = {"raw": b64(raw), "labelIds": ["INBOX", "UNREAD"], **({"threadId": thread.thread_id} if thread else {})}
        ref = self.gmail.users().messages().insert(userId="me", body=body).execute()
        if thread is not None and ref["threadId"] != thread.thread_id:
            # Gmail threads a reply only under the same subject: "Automatic reply: …" starts a thread of its own
            assert kind == "automatic", f"a reply landed in another thread than {thread.thread_id}"
            thread = None
        if thread is None:
            thread = self.threads.setdefault(ref["threadId"], Thread(ref["threadId"], ""))
        thread.messages.append(Message(ref["id"], message_id, kind, parseaddr(sender)[1].lower(), self.now))
        thread.read_stale = False
        self.unsynced.add(ref["id"])
        self.swept = False
        return thread

    def pick(self, data, threads) -> Thread:
        return data.draw(st.sampled_from(sorted(threads, key=lambda t: t.thread_id)))

    def tickets(self) -> list[Thread]:
        return [t for t in self.threads.values() if t.customer]

    def latest_incoming(self, thread: Thread) -> Message:
        return next(m for m in reversed(thread.messages) if m.kind != "automatic")

    @rule(who=st.sampled_from(CUSTOMERS), which=st.integers(0, 1), to_alias=st.booleans())
    def customer_opens(self, who, which, to_alias):
        name, address, language = who
        subject, body = (text.format(n=self.n) for text in REQUESTS[language][which])
        to = ALIAS if to_alias else SUPPORT
        raw, message_id = self.mail(f"{name} <{address}>", to, subject, body)
        thread = self.deliver(None, "request", address, raw, message_id)
        thread.subject, thread.customer, thread.name, thread.language, thread.to = subject, address, name, language, to
        self.say(f"{address} opens {thread.thread_id} ({language}) to {to}")

    @precondition(lambda self: self.tickets())
    @rule(data=st.data(), thanks=st.booleans(), quoted=st.booleans())
    def customer_replies(self, data, thanks, quoted):
        thread = self.pick(data, self.tickets())
        answered = self.latest_incoming(thread)
        body = THANKS[thread.language] if thanks else FOLLOW_UP[thread.language]
        if quoted:
            body += f"\n\n{ATTRIBUTION[thread.language]}\n> " + "\n> ".join(REQUESTS[thread.language][0][1].split(". "))
        raw, message_id = self.mail(f"{thread.name} <{thread.customer}>", thread.to, "Re: " + thread.subject, body,
                                    in_reply_to=answered.message_id)
        self.deliver(thread, "thanks" if thanks else "follow-up", thread.customer, raw, message_id)
        self.say(f"{thread.customer} replies in {thread.thread_id}: {'thanks' if thanks else 'follow-up'}"
                 f"{' under quoted history' if quoted else ''}")

    @precondition(lambda self: self.tickets())
    @rule(data=st.data(), agent=st.sampled_from(sorted(AGENTS)), own_mailbox=st.booleans())
    def agent_replies(self, data, agent, own_mailbox):
        """As the support address from the shared inbox (Sent), or from the agent's own mailbox with support on Cc
        (it arrives in the inbox)."""
        thread = self.pick(data, self.tickets())
        first, last = AGENTS[agent]
        answered = self.latest_incoming(thread)
        text = AGENT_TEXT[thread.language].format(name=f"{first} {last}")
        if own_mailbox:
            raw, message_id = self.mail(f"{first} {last} <{agent}>", thread.customer, "Re: " + thread.subject, text,
                                        cc=SUPPORT, in_reply_to=answered.message_id)
            self.deliver(thread, "agent", agent, raw, message_id)
        else:
            raw, message_id = self.mail(f"{first} {last} <{thread.to}>", thread.customer, "Re: " + thread.subject,
                                        text, in_reply_to=answered.message_id)
            self.sent(thread, raw, message_id)
        self.say(f"{first} answers {thread.thread_id} {'from her/his own mailbox' if own_mailbox else 'as support'}")

    @rule(who=st.sampled_from(CUSTOMERS), agent=st.sampled_from(sorted(AGENTS)), own_mailbox=st.booleans())
    def agent_writes_first(self, who, agent, own_mailbox):
        """An agent starts a conversation with a customer (a callback, a follow-up on a call): no request of
        theirs, so the customer's answer is acknowledged by nobody."""
        name, address, language = who
        first, last = AGENTS[agent]
        subject = {"en": "Your call today", "ru": "Ваш звонок сегодня", "pl": "Pana/Pani telefon dzisiaj"}[language]
        text = AGENT_TEXT[language].format(name=f"{first} {last}")
        if own_mailbox:
            raw, message_id = self.mail(f"{first} {last} <{agent}>", f"{name} <{address}>", subject, text, cc=SUPPORT)
            thread = self.deliver(None, "agent", agent, raw, message_id)
        else:
            raw, message_id = self.mail(f"{first} {last} <{SUPPORT}>", f"{name} <{address}>", subject, text)
            thread = self.sent(None, raw, message_id)
        thread.subject, thread.customer, thread.name, thread.language = subject, address, name, language
        self.say(f"{first} writes first to {address} in {thread.thread_id}")

    @precondition(lambda self: any(self.ours_in(t) for t in self.tickets()))
    @rule(data=st.data())
    def customer_changes_the_subject(self, data):
        """The customer answers our latest message under a new subject: Gmail starts a thread of its own, which
        continues the conversation (no new request, docs/autoreply.md)."""
        thread = self.pick(data, [t for t in self.tickets() if self.ours_in(t)])
        answered = self.ours_in(thread)[-1]
        subject = {"en": "One more question", "ru": "Ещё вопрос", "pl": "Jeszcze jedno pytanie"}[thread.language]
        raw, message_id = self.mail(f"{thread.name} <{thread.customer}>", thread.to, subject,
                                    FOLLOW_UP[thread.language], in_reply_to=answered)
        new = self.deliver(None, "follow-up", thread.customer, raw, message_id)
        new.subject, new.customer, new.name, new.language, new.to = (subject, thread.customer, thread.name,
                                                                     thread.language, thread.to)
        new.continues = thread.thread_id
        theirs = [m for m in thread.messages if m.customer]
        new.continued = None if theirs and all(m.binned for m in theirs) else bool(theirs)
        self.say(f"{thread.customer} answers {thread.thread_id} under a new subject: {new.thread_id}")

    def ours_in(self, thread: Thread) -> list[str]:
        """Message-IDs of what we sent in a thread (agents' answers, acknowledgements), oldest first."""
        box = self.local.mailbox
        return [str(email.message_from_bytes(m.raw, policy=email.policy.default)["Message-ID"])
                for m in box.thread_messages(thread.thread_id) if "SENT" in m.label_ids and "TRASH" not in m.label_ids]

    def sent(self, thread: Thread | None, raw: bytes, message_id: str) -> Thread:
        """An agent sends from the shared inbox (as the support address, or an alias)."""
        body = {"raw": b64(raw), **({"threadId": thread.thread_id} if thread else {})}
        ref = self.gmail.users().messages().send(userId="me", body=body).execute()
        if thread is None:
            thread = self.threads.setdefault(ref["threadId"], Thread(ref["threadId"], ""))
        thread.messages.append(Message(ref["id"], message_id, "agent", parseaddr(
            email.message_from_bytes(raw)["From"])[1].lower(), self.now))
        thread.read_stale = False
        self.unsynced.add(ref["id"])
        self.swept = False
        return thread

    @rule(data=st.data(), kind=st.sampled_from(["bounce", "out of office"]))
    def robot_writes(self, data, kind):
        """A bounce of one of our messages, or a customer's out-of-office reply in their thread."""
        tickets = self.tickets()
        if kind == "out of office" and tickets:
            thread = self.pick(data, tickets)
            raw, message_id = self.mail(f"{thread.name} <{thread.customer}>", thread.to,
                                        "Automatic reply: " + thread.subject,
                                        "I am out of the office until Monday with limited access to email.",
                                        in_reply_to=thread.messages[-1].message_id,
                                        headers={"Auto-Submitted": "auto-replied"})
            self.deliver(thread, "automatic", thread.customer, raw, message_id)
            self.say(f"out-of-office reply in {thread.thread_id}")
            return
        raw, message_id = self.mail("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", SUPPORT,
                                    "Delivery Status Notification (Failure)",
                                    "Your message wasn't delivered to nobody@gone.example because the address "
                                    "couldn't be found.")
        thread = self.deliver(None, "automatic", "mailer-daemon@googlemail.com", raw, message_id)
        thread.subject = "Delivery Status Notification (Failure)"
        self.say(f"a bounce opens {thread.thread_id}")

    # -- people's hands on labels ----------------------------------------------------------------

    def label_id(self, name: str) -> str:
        labels = self.gmail.users().labels().list(userId="me").execute().get("labels", [])
        found = next((label["id"] for label in labels if label["name"] == name), None)
        return found or self.gmail.users().labels().create(userId="me", body={"name": name}).execute()["id"]

    def modify(self, thread: Thread, add=(), remove=()) -> None:
        self.gmail.users().threads().modify(userId="me", id=thread.thread_id, body={
            "addLabelIds": list(add), "removeLabelIds": list(remove)}).execute()

    @precondition(lambda self: self.tickets())
    @rule(data=st.data(), label=st.sampled_from([*HOLDS, "Awaiting reply"]), add=st.booleans())
    def person_labels(self, data, label, add):
        thread = self.pick(data, self.tickets())
        self.modify(thread, **{"add" if add else "remove": [self.label_id(f"{ROOT}/{label}")]})
        if label == "Awaiting reply":
            thread.read_stale = True
        elif add:
            thread.holds[label] = self.now
        else:
            thread.holds.pop(label, None)
        self.swept = False
        self.say(f"a person {'adds' if add else 'removes'} {label} {'on' if add else 'from'} {thread.thread_id}")

    @precondition(lambda self: self.threads)
    @rule(data=st.data(), what=st.sampled_from(["archive", "trash", "spam", "untrash", "not spam"]))
    def person_moves(self, data, what):
        thread = self.pick(data, self.threads.values())
        threads = self.gmail.users().threads()
        if what == "archive":
            self.modify(thread, remove=["INBOX"])
        elif what == "trash":
            threads.trash(userId="me", id=thread.thread_id).execute()
        elif what == "untrash":
            threads.untrash(userId="me", id=thread.thread_id).execute()
        elif what == "spam":
            self.modify(thread, add=["SPAM"], remove=["INBOX"])
        else:
            self.modify(thread, add=["INBOX"], remove=["SPAM"])
        box = self.local.mailbox
        for message in thread.messages:
            if message.gmail_id in box.messages:
                message.binned = bool({"SPAM", "TRASH"} & set(box.messages[message.gmail_id].label_ids))
                message.ever_binned |= message.binned
        # Untrashing is no new message: the next sync reads the thread again (history: labelRemoved), judging it
        # from the thread alone; until that sync what the host decided without the binned messages stands.
        thread.read_stale |= what in ("untrash", "not spam")
        self.swept = False
        self.say(f"a person does {what} on {thread.thread_id}")

    # -- time, sweeps, syncs, the admin ----------------------------------------------------------------

    @rule(minutes=st.sampled_from([5, 30, 60, 95, 150, 400, 60 * 14, 60 * 24, 60 * 62]), serve=st.booleans())
    def time_passes(self, minutes, serve):
        """Minutes to a weekend; ``serve``: then ``labeldesk serve`` polls and sweeps, as it does on its own."""
        self.now += timedelta(minutes=minutes)
        self.swept = False
        self.say(f"{minutes} minutes pass")
        if serve:
            self.sync()
            self.sweep()

    @precondition(lambda self: self.tickets())
    @rule(data=st.data(), point=st.sampled_from(["at risk", "due"]), off=st.sampled_from([-10, 1, 20]),
          serve=st.booleans())
    def time_to_a_deadline(self, data, point, off, serve):
        """The clock moves to ``off`` minutes around a ticket's at-risk point or deadline (if still ahead): random
        minutes rarely land in the at-risk window, which is a quarter of a target."""
        thread = self.pick(data, self.tickets())
        customers = thread.customer_messages()
        if not customers:
            return
        policy = self.policy()
        owing = [m for m in customers if not thread.agent_messages() or m.at > thread.agent_messages()[-1].at]
        started = (owing or customers)[0].at
        kind = "next_response" if thread.agent_messages() or thread.continued else "first_response"
        target = policy.target("normal", kind, "email")
        share = policy.at_risk_share if point == "at risk" else 1
        moment = policy.calendar.add_business_time(started, target * share) + timedelta(minutes=off)
        if moment > self.now:
            self.now = moment
            self.swept = False
            self.say(f"the clock moves to {off} minutes around {thread.thread_id}'s {point} point")
            event(f"clock to a ticket's {point} point")
        if serve:
            self.sync()
            self.sweep()

    @rule(day=st.sampled_from([4, 5, 6, 7]), hour=st.sampled_from([8, 15, 16, 17, 22]))
    def the_week_moves_on(self, day, hour):
        """The clock moves to the coming Friday (4), Saturday, Sunday or Monday (7) at ``hour``: random minutes
        rarely reach a weekend within an example."""
        local = self.now.astimezone(WAW)
        days = (day - local.weekday()) % 7 or 7
        moment = (local + timedelta(days=days)).replace(hour=hour, minute=30, second=0, microsecond=0)
        self.now = max(self.now, moment.astimezone(timezone.utc))
        self.swept = False
        self.say(f"the clock moves to {self.now.astimezone(WAW):%A %H:%M}")
        event(f"the clock moves to a {self.now.astimezone(WAW):%A}")

    def policy(self):
        from plugins.sla import policy_of

        return policy_of(self.host.config)

    @rule()
    def sweep(self):
        self.host.sweep()
        self.swept = not self.unsynced
        self.say("sweep")

    @rule()
    def sync(self):
        self.synced(self.feed.sync(), "sync")

    @rule()
    def history_expires(self):
        """Gmail keeps history for a limited time: the next sync is a full one."""
        self.local.mailbox.expire_history()
        self.synced(self.feed.sync(), "sync after the history id expired")

    @rule(fault=st.sampled_from(FAULTS), at=st.integers(1, 12), restart=st.booleans())
    def sync_is_broken(self, fault, at, restart):
        """A sync broken at its ``at``-th HTTP request or Gmail call, then run again (by a new process when the
        old one was killed, or when ``restart``)."""
        self.injector.arm(fault, at)
        previous = threading.excepthook
        try:
            self.feed.sync()
        except ProcessKilled:
            restart = True
        except Exception as exc:  # Gmail refused: ``serve`` logs it, the next poll syncs again
            self.say(f"the broken sync raised {type(exc).__name__}")
        finally:
            self.injector.disarm()
            threading.excepthook = previous
        self.say(f"a sync broken ({fault} at {at}{'' if self.injector.fired else ', never reached'})")
        event(f"sync broken: {fault}, {'fired' if self.injector.fired else 'never reached'}")
        if restart:
            self.restart()
        self.synced(self.feed.sync(), "sync after the broken one")

    @rule(at=st.integers(1, 12), restart=st.booleans())
    def sync_is_killed_after_a_call(self, at, restart):
        """The process killed right after a Gmail call took effect, before it recorded so: the fault the rest of
        the rules reach least often, hence a rule of its own."""
        self.sync_is_broken("killed_after", at, restart)

    @rule(autoreply=st.booleans(), sla=st.booleans())
    def admin_switches_plugins(self, autoreply, sla):
        was_on = "autoreply" in self.enabled
        self.enabled = [name for name, on in (("autoreply", autoreply), ("sla", sla)) if on]
        self.restart()
        self.host.state_dir  # the new process records at once which plugins are on (plugins-on.json)
        if autoreply and not was_on:
            self.autoreply_since = self.now
        self.swept = False
        self.say(f"the admin enables {self.enabled or 'no plugin'}")

    # -- what a sync that ended well must have done ------------------------------------------------

    def synced(self, report, what: str) -> None:
        """A sync that ended well read every message delivered before it: each request it had to acknowledge now
        holds an acknowledgement ("exactly once": the invariants say "at most")."""
        assert report.ok, f"{what} failed: {report.failed}"
        self.say(f"{what}: {len(report.threads)} thread(s){' (full)' if report.full else ''}")
        event(f"{'full' if report.full else 'incremental'} sync of {min(len(report.threads), 3)}+ thread(s)")
        if "autoreply" in self.enabled:
            missing = self.unacknowledged(report.full)
            if missing:
                self.fail(f"after the {what}, no acknowledgement for {sorted(missing)}")
        self.unsynced.clear()
        self.swept = False

    def unacknowledged(self, full: bool) -> list[list[str]]:
        """Groups of threads of one sender, one of which this sync had to acknowledge and none of which was
        (docs/autoreply.md, "When no acknowledgement is recorded", and the loop guard): a customer's request read
        as new (an incremental sync's new first message, or any thread on a full sync, which judges from the
        thread alone), no agent wrote in the thread, at most ``max_age_hours`` old and not older than the admin's
        switching autoreply on, its sender not acknowledged within ``ack_window_days``."""
        acks = self.acknowledgements()
        acked = {thread_id for thread_id, _, _, _ in acks}
        candidates: dict[str, list[str]] = {}
        for thread in self.tickets():
            customers = thread.customer_messages()
            if not customers or customers[0].kind != "request" or thread.agent_messages():
                continue
            first = customers[0]
            if (not full and first.gmail_id not in self.unsynced) or self.now - first.at > MAX_AGE:
                continue
            if self.autoreply_since is not None and first.at < self.autoreply_since:  # came while it was off
                continue
            if thread.thread_id not in acked:
                candidates.setdefault(thread.customer, []).append(thread.thread_id)
        return [sorted(threads) for sender, threads in candidates.items()
                if not any(to == sender and self.now - at < ACK_WINDOW for _, to, at, _ in acks)]

    # -- what the mailbox holds ---------------------------------------------------------------------

    def acknowledgements(self) -> list[tuple[str, str, datetime, email.message.Message]]:
        """Every acknowledgement the mailbox holds (Trash and Spam too): (thread, recipient, when, headers)."""
        found = []
        for message in self.local.mailbox.messages.values():
            if "SENT" not in message.label_ids or b"X-Labeldesk: ack" not in message.raw:
                continue
            parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
            found.append((message.thread_id, parseaddr(str(parsed["To"]))[1].lower(),
                          datetime.fromtimestamp(message.internal_date / 1000, timezone.utc), parsed))
        return found

    def labels(self, thread_id: str) -> set[str]:
        box = self.local.mailbox
        names = {label_id: label["name"] for label_id, label in box.labels.items()}
        return {names.get(l, l) for m in box.thread_messages(thread_id) if not {"SPAM", "TRASH"} & set(m.label_ids)
                for l in m.label_ids}

    def fail(self, problem: str) -> None:
        raise AssertionError(problem + "\n" + "\n".join(self.log[-30:]))

    # -- the invariants ------------------------------------------------------------------------------

    @invariant()
    def automatic_mail_goes_only_to_customers(self):
        """Nothing we send automatically goes to our own addresses, an agent, a bounce or an auto-reply; an
        acknowledgement answers the customer's own request in a thread a customer opened."""
        for message in self.local.mailbox.messages.values():
            if "SENT" not in message.label_ids or b"X-Labeldesk:" not in message.raw:
                continue
            parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
            recipients = {parseaddr(a)[1].lower() for a in str(parsed.get("To", "")).split(",")}
            recipients |= {parseaddr(a)[1].lower() for a in str(parsed.get("Cc", "") or "").split(",") if a.strip()}
            if recipients & OURS or any("mailer-daemon" in r for r in recipients):
                self.fail(f"automatic mail {parsed['X-Labeldesk']} to {recipients}")
        for thread_id, to, at, parsed in self.acknowledgements():
            thread = self.threads.get(thread_id)
            if thread is None or not thread.customer:
                self.fail(f"an acknowledgement in {thread_id}, which no customer opened, to {to}")
            if to in AGENTS or to != thread.customer:
                self.fail(f"the acknowledgement in {thread_id} went to {to}, not the customer {thread.customer}")
            answered = next((m for m in thread.messages if m.message_id == str(parsed["In-Reply-To"])), None)
            if answered is None or not answered.customer:
                self.fail(f"the acknowledgement in {thread_id} answers {parsed['In-Reply-To']}, no customer's mail")
            earlier = [m for m in thread.messages if m.at < answered.at]
            if thread.continues and not (earlier and all(m.ever_binned for m in earlier)):
                # accepted by design: writing again under a conversation all of which was binned is a new request
                self.fail(f"{thread_id} continues {thread.continues} (a reply under a new subject), yet was "
                          "acknowledged")
            if any(m.kind == "agent" and m.at < at and not m.ever_binned for m in thread.messages):
                self.fail(f"{thread_id} was acknowledged after an agent had written in it")
            if at - answered.at > MAX_AGE:
                self.fail(f"{thread_id} was acknowledged {at - answered.at} after the request (max_age_hours: 24)")

    @invariant()
    def acknowledged_at_most_once(self):
        """One acknowledgement a thread; one a sender within ack_window_days (docs/architecture.md, loop guard)."""
        acks = self.acknowledgements()
        event(f"{min(len(acks), 5)}+ acknowledgement(s)")
        threads = [thread_id for thread_id, _, _, _ in acks]
        if len(threads) != len(set(threads)):
            self.fail(f"two acknowledgements in one thread: {sorted(threads)}")
        by_recipient: dict[str, list[datetime]] = {}
        for _, to, at, _ in acks:
            by_recipient.setdefault(to, []).append(at)
        for to, times in by_recipient.items():
            times.sort()
            for earlier, later in zip(times, times[1:]):
                if later - earlier < ACK_WINDOW:
                    self.fail(f"two acknowledgements to {to} within {later - earlier}")

    @invariant()
    def nothing_sent_or_made_twice(self):
        """Each automatic mail (its X-Labeldesk key in its thread, or an alert's Message-ID) and each task once
        (docs/architecture.md, "Idempotency and crash safety"; docs/sla.md, "Each step … happens once")."""
        seen = set()
        for message in self.local.mailbox.messages.values():
            if "SENT" not in message.label_ids or b"X-Labeldesk:" not in message.raw:
                continue
            parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
            key = str(parsed["Message-ID"]) if str(parsed["X-Labeldesk"]).startswith("notify:") else \
                (message.thread_id, str(parsed["X-Labeldesk"]))
            if key in seen:
                self.fail(f"{parsed['X-Labeldesk']} sent twice ({parsed['Subject']})")
            seen.add(key)
        notes = [task.get("notes") or "" for items in self.local.mailbox.tasks.values() for task in items.values()]
        keys = [note.split("[labeldesk:", 1)[1].split("]", 1)[0] for note in notes if "[labeldesk:" in note]
        if len(keys) != len(set(keys)):
            self.fail(f"a task made twice: {sorted(keys)}")

    @invariant()
    def labels_say_one_thing(self):
        """One owner and one priority at most; Acknowledged only where an acknowledgement went out; nothing of
        ours on a thread no customer wrote in but the loop guard's own note."""
        acked = {thread_id for thread_id, _, _, _ in self.acknowledgements()}
        for thread in self.threads.values():
            labels = self.labels(thread.thread_id)
            if not thread.customer:
                ours = {label for label in labels if label.startswith(ROOT + "/")}
                if ours - {f"{ROOT}/Auto-reply suppressed"}:
                    self.fail(f"{thread.thread_id} is no ticket but carries {sorted(ours)}")
                continue
            for prefix in ("Owner/", "Priority/"):
                if len([label for label in labels if label.startswith(f"{ROOT}/{prefix}")]) > 1:
                    self.fail(f"{thread.thread_id} has two {prefix[:-1]} labels: {sorted(labels)}")
            if f"{ROOT}/Acknowledged" in labels and thread.thread_id not in acked:
                self.fail(f"{thread.thread_id} is labelled Acknowledged without an acknowledgement")

    @invariant()
    def awaiting_reply_means_the_customer_spoke_last(self):
        if self.unsynced:
            return
        for thread in self.tickets():
            if thread.read_stale or not thread.customer_messages():
                continue
            if any(m.binned for m in thread.messages):
                continue  # the host reads a thread again only when a message arrives (history: messageAdded)
            got = f"{ROOT}/Awaiting reply" in self.labels(thread.thread_id)
            if got != thread.awaiting():
                self.fail(f"{thread.thread_id}: Awaiting reply is {got}, the customer "
                          f"{'spoke' if thread.awaiting() else 'did not speak'} last")

    @invariant()
    def sla_labels_follow_the_deadline(self):
        """Right after a sweep of a synced mailbox: with sla on, At risk and Breached as the recomputed deadline
        says (docs/sla.md, "The clock" and "Labels"); with sla off, neither anywhere."""
        if not self.swept:
            return
        if "sla" not in self.enabled:
            for thread in self.threads.values():
                if {f"{ROOT}/SLA/At risk", f"{ROOT}/SLA/Breached"} & self.labels(thread.thread_id):
                    self.fail(f"{thread.thread_id} keeps an SLA label with sla off")
            return
        from plugins.sla import policy_of

        policy = policy_of(self.host.config)
        for thread in self.tickets():
            if thread.read_stale or any(m.binned for m in thread.messages) or not thread.customer_messages() \
                    or thread.continued is None:
                continue
            labels = self.labels(thread.thread_id)
            expected = self.expected_sla(thread, policy)
            got = (f"{ROOT}/SLA/At risk" in labels, f"{ROOT}/SLA/Breached" in labels)
            event(f"SLA checked: at risk {expected[0]}, breached {expected[1]}")
            if got != expected:
                self.fail(f"{thread.thread_id}: at risk/breached {got}, expected {expected}; labels {sorted(labels)}")

    def expected_sla(self, thread: Thread, policy) -> tuple[bool, bool]:
        agents = thread.agent_messages()
        customers = thread.customer_messages()
        if not agents:  # a thread Gmail split off a conversation continues it: the customer writing again
            kind, started = "next_response" if thread.continued else "first_response", customers[0].at
        else:
            owing = [m for m in customers if m.at > agents[-1].at and m.kind != "thanks"]
            if not owing:
                return False, False
            kind, started = "next_response", owing[0].at
        for label, at in thread.holds.items():
            if not agents or at >= customers[-1].at:
                return False, False  # paused or stopped until the customer writes again
        target = policy.target("normal", kind, "email")
        due = policy.calendar.add_business_time(started, target)
        if self.now > due:
            return False, True
        return policy.calendar.business_time_between(started, self.now) >= target * policy.at_risk_share, False


@pytest.fixture(autouse=True)
def _quick_restarts():
    with quick_restarts():
        yield


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = PROFILE
