"""A seeded, randomised simulation of a support inbox over two weeks, checking documented invariants.

It drives the real product — the host with the autoreply, sla and kb_suggest plugins, on the local mailbox
through googleapiclient — with the host's and the mailbox's clock set by the simulation. Customers open tickets
(English, Russian, Polish), follow up, thank, answer acknowledgements (also with a new subject, which Gmail
threads apart), write from a second address, copy a colleague; out-of-office replies, bounces and newsletters
arrive; agents answer (as the shared address or their own), take tickets, set priorities, mark them Waiting on
customer or Resolved, reopen them. Syncs and sweeps run as ``serve`` runs them, with crashes: a skipped sync, two
back to back, a sweep that read threads before the latest mail came, a process restart.

After every step the invariants of README.md, docs/sla.md, docs/autoreply.md and docs/architecture.md are
checked against a model the simulation keeps itself (what was delivered, sent and labelled, and when); the
deadlines are recomputed with the calendar ``labeldesk sla due`` uses. A broken invariant raises
:class:`InvariantBroken` naming the seed, the step and the event log.

``python -m tests.inbox_simulation --seeds 200 --steps 120`` explores by hand; tests/test_inbox_simulation.py
runs a few fixed seeds.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email, send

WAW = ZoneInfo("Europe/Warsaw")
START = datetime(2026, 11, 9, 7, 0, tzinfo=WAW)  # a Monday; Wednesday 11 November is Independence Day in Poland
DAYS = 14
ROOT = "Helpdesk"
SUPPORT = "support@example.com"
AGENTS = {"anna.kowalska@example.com": ("Anna", "Kowalska"), "ivan.petrov@example.com": ("Ivan", "Petrov")}
LEAD = "lead@example.com"
ACK_WINDOW = timedelta(days=4)
MAX_AGE = timedelta(hours=24)
TARGETS = {"urgent": {"first_response": "1h", "next_response": "2h"},
           "high": {"first_response": "3h", "next_response": "3h"},
           "normal": {"first_response": "4h", "next_response": "6h"},
           "low": {"first_response": "24h", "next_response": "24h"}}
SLA = {"hours": "Mon-Fri 09:00-17:00", "holidays": "PL", "team_lead": LEAD, "vip_domains": ["vip.example"],
       "targets": TARGETS, "label_priorities": {"Outage": "urgent"}}

CUSTOMERS = [("Jane Cooper", "jane@example.org", "en"), ("Tom Baker", "tom@example.net", "en"),
             ("Мария Иванова", "maria@example.ru", "ru"), ("Пётр Смирнов", "petr@example.ru", "ru"),
             ("Zofia Nowak", "zofia@example.pl", "pl"), ("Boss Person", "boss@vip.example", "en")]
SECOND_ADDRESS = {"jane@example.org": "jane.cooper@work.example", "zofia@example.pl": "z.nowak@firma.example",
                  "maria@example.ru": "m.ivanova@corp.example"}
COLLEAGUE = {"en": ("Sam Colleague", "sam@example.org"), "ru": ("Олег Коллега", "oleg@example.ru"),
             "pl": ("Piotr Kolega", "piotr@example.pl")}
OPEN = {
    "en": [("Order {n} has not arrived", "Hello, my order {n} has not arrived yet. Can you check where it is?"),
           ("Cannot change my password", "Hi, the password form keeps rejecting my new password. What should I do?")],
    "ru": [("Заказ {n} не пришёл", "Здравствуйте, мой заказ {n} до сих пор не пришёл. Проверьте, пожалуйста, где он."),
           ("Вопрос по счёту {n}", "Добрый день, в счёте {n} указана неверная сумма. Исправьте, пожалуйста.")],
    "pl": [("Zamówienie {n} nie dotarło", "Dzień dobry, moje zamówienie {n} jeszcze nie dotarło. Czy możecie sprawdzić?"),
           ("Pytanie o fakturę {n}", "Dzień dobry, na fakturze {n} jest zła kwota. Proszę o korektę.")],
}
URGENT = {
    "en": ("URGENT: checkout is down", "Our checkout is down and we are losing money. Please help urgently."),
    "ru": ("Срочно: оплата", "Срочно! Оплата не проходит, теряем деньги."),
    "pl": ("Pilne: płatności", "Pilne! Płatności nie przechodzą, tracimy pieniądze."),
}
FOLLOW_UP = {"en": "Any news about my request? I am still waiting for an answer.",
             "ru": "Есть новости по моему запросу? Я всё ещё жду ответа.",
             "pl": "Czy są jakieś wieści w mojej sprawie? Nadal czekam na odpowiedź."}
URGENT_FOLLOW_UP = {"en": "This is now urgent: the shop is down.", "ru": "Теперь это срочно, магазин лежит.",
                    "pl": "To jest teraz pilne, sklep leży."}
THANKS = {"en": "Thanks, that worked!", "ru": "Спасибо за помощь!", "pl": "Dziękuję, wszystko działa"}
ACK_ANSWER = {"en": "Thank you. One more detail: I paid by card on Monday.",
              "ru": "Спасибо. Ещё одна деталь: я оплатил картой в понедельник.",
              "pl": "Dziękuję. Jeszcze jeden szczegół: zapłaciłam kartą w poniedziałek."}
NEW_SUBJECT = {"en": "Another question", "ru": "Ещё вопрос", "pl": "Kolejne pytanie"}
AGENT_TEXT = {"en": "Hello,\n\nwe have checked it and fixed the problem.\n\nBest regards,\n{name}",
              "ru": "Здравствуйте!\n\nМы проверили и исправили проблему.\n\nС уважением,\n{name}",
              "pl": "Dzień dobry,\n\nsprawdziliśmy i naprawiliśmy problem.\n\nPozdrawiam,\n{name}"}
PRIORITIES = ("urgent", "high", "normal", "low")


class InvariantBroken(AssertionError):
    """A documented invariant did not hold: the message names it, the seed, the step and the events so far."""


@dataclass
class Msg:
    at: datetime
    kind: str  # customer | thanks | agent | automatic
    sender: str
    message_id: str
    urgent: bool = False


@dataclass
class Thread:
    """What the simulation knows of one thread, independently of the product."""

    thread_id: str
    subject: str
    customer: str = ""  # "" for a thread no customer opened (a newsletter, a bounce)
    name: str = ""
    language: str = "en"
    continued: bool = False
    messages: list[Msg] = field(default_factory=list)
    holds: dict = field(default_factory=dict)  # "Waiting on customer" | "Resolved" → when an agent set it
    agent_priority: str = ""
    outage: bool = False  # an agent put the label_priorities label Outage on it
    cc: str = ""

    @property
    def is_ticket(self) -> bool:
        return any(m.kind in ("customer", "thanks") for m in self.messages)

    def customer_msgs(self) -> list[Msg]:
        return [m for m in self.messages if m.kind in ("customer", "thanks")]

    def agent_msgs(self) -> list[Msg]:
        return [m for m in self.messages if m.kind == "agent"]


class Simulation:
    def __init__(self, seed: int, workdir: Path, steps: int = 60):
        self.seed, self.steps, self.workdir = seed, steps, Path(workdir)
        self.rng = random.Random(seed)
        self.now = START.astimezone(timezone.utc)
        self.local = LocalMailbox(SUPPORT, clock=lambda: self.now.timestamp())
        for address, (first, last) in AGENTS.items():
            self.local.mailbox.add_send_as(address, f"{first} {last}")
        self.articles = self.workdir / "kb"
        self.articles.mkdir(parents=True, exist_ok=True)
        (self.articles / "delivery.md").write_text(
            "---\ntitle: Where is my order\nurl: https://help.example.com/delivery\n---\n"
            "Orders arrive within 3 business days; the tracking link is in the confirmation email.\n")
        self.host = self.feed = None
        self.restart()
        self.feed.sync()  # the first (full) sync of an empty mailbox sets the cursor
        self.threads: dict[str, Thread] = {}
        self.log: list[str] = []
        self.step_no = 0
        self.n = 1000
        self.unsynced = False  # mail arrived since the last sync that read it
        self.seen_notices: set[str] = set()
        self.stats: Counter = Counter()  # what the run exercised (how many times each invariant had a case)

    # -- the product --------------------------------------------------------------------------

    def restart(self) -> None:
        """A new process on the same mailbox and state folder (what it remembered in memory is gone)."""
        data = {"mailbox": {"address": SUPPORT},
                "agents": {a: {"first_name": f, "last_name": l} for a, (f, l) in AGENTS.items()},
                "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"], "sla": SLA,
                            "kb_suggest": {"articles": str(self.articles), "semantic": "off"}},
                "host": {"state_dir": str(self.workdir / "state"), "timezone": "Europe/Warsaw"}}
        config = load_config(self.workdir / "labeldesk.toml", data=data, environ={})
        self.host = build_host(config, http=self.local.http, now=lambda: self.now)
        self.host.client.sleep = lambda seconds: None
        self.feed = ChangeFeed(self.host)

    @property
    def gmail(self):
        return self.local.gmail()

    def sync(self) -> None:
        report = self.feed.sync()
        if not report.ok:
            raise InvariantBroken(self.explain(f"a sync failed: {report}"))
        self.unsynced = False

    def sweep(self) -> None:
        self.host.sweep()

    # -- the world ----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.log.append(f"{self.step_no:3d} {self.now.astimezone(WAW):%a %d %H:%M} {text}")

    def next_id(self, domain: str = "example.org") -> str:
        self.n += 1
        return f"<sim{self.seed}.{self.n}@{domain}>"

    def advance(self) -> None:
        minutes = self.rng.choice([1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 240, 480])
        self.now += timedelta(minutes=minutes)

    def open_tickets(self) -> list[Thread]:
        return [t for t in self.threads.values() if t.is_ticket]

    def deliver(self, thread: Thread | None, sender: str, subject: str, body: str, kind: str, *, urgent=False,
                in_reply_to: str = "", cc: str = "", headers=None, thread_id: str | None = None) -> Thread:
        message_id = self.next_id(sender.rsplit("@", 1)[-1].rstrip(">"))
        raw = make_email(sender=sender, subject=subject, body=body, message_id=message_id,
                         in_reply_to=in_reply_to or None, date=self.now, headers=headers)
        if cc:
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            parsed["Cc"] = cc
            raw = parsed.as_bytes()
        extra = {"threadId": thread_id} if thread_id else {}
        ref = deliver(self.gmail, raw, **extra)
        if thread is None or ref["threadId"] != thread.thread_id:
            thread = self.threads.setdefault(ref["threadId"], Thread(ref["threadId"], subject))
        address = email.utils.parseaddr(sender)[1].lower()
        thread.messages.append(Msg(self.now, kind, address, message_id, urgent))
        self.unsynced = True
        return thread

    def customer_opens(self) -> None:
        name, address, language = self.rng.choice(CUSTOMERS)
        if address in SECOND_ADDRESS and self.rng.random() < 0.2:
            address = SECOND_ADDRESS[address]
        urgent = self.rng.random() < 0.2
        subject, body = URGENT[language] if urgent else self.rng.choice(OPEN[language])
        subject, body = subject.format(n=self.n), body.format(n=self.n)
        cc = ""
        if self.rng.random() < 0.25:
            cc = "{} <{}>".format(*COLLEAGUE[language])
        thread = self.deliver(None, f"{name} <{address}>", subject, body, "customer", urgent=urgent, cc=cc)
        thread.customer, thread.name, thread.language, thread.cc = address, name, language, cc
        self.say(f"{address} opens {thread.thread_id} ({language}{', urgent' if urgent else ''}{', cc' if cc else ''})")

    def pick(self, threads):
        threads = list(threads)
        return self.rng.choice(threads) if threads else None

    def customer_writes(self) -> None:
        thread = self.pick(t for t in self.open_tickets() if not t.continued or t.customer_msgs())
        if thread is None:
            return self.customer_opens()
        last = thread.messages[-1]
        roll = self.rng.random()
        sender, kind, urgent = f"{thread.name} <{thread.customer}>", "customer", False
        if roll < 0.3:
            body = THANKS[thread.language]
            kind = "thanks"
        elif roll < 0.4 and thread.cc:
            sender, body = thread.cc, FOLLOW_UP[thread.language]
        elif roll < 0.5 and thread.customer in SECOND_ADDRESS:
            sender, body = f"{thread.name} <{SECOND_ADDRESS[thread.customer]}>", FOLLOW_UP[thread.language]
        elif roll < 0.6:
            body, urgent = URGENT_FOLLOW_UP[thread.language], True
        else:
            body = FOLLOW_UP[thread.language]
        self.deliver(thread, sender, "Re: " + thread.subject, body, kind, urgent=urgent,
                     in_reply_to=last.message_id, thread_id=thread.thread_id)
        self.say(f"{email.utils.parseaddr(sender)[1]} writes in {thread.thread_id}: {kind}{' urgent' if urgent else ''}")

    def acknowledgements(self, thread_id: str | None = None) -> list[tuple[str, email.message.Message, datetime]]:
        found = []
        for message in self.local.mailbox.messages.values():
            if "SENT" not in message.label_ids or b"X-Labeldesk: ack" not in message.raw:
                continue
            if thread_id and message.thread_id != thread_id:
                continue
            parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
            found.append((message.thread_id, parsed, datetime.fromtimestamp(message.internal_date / 1000, timezone.utc)))
        return found

    def customer_answers_acknowledgement(self) -> None:
        acks = [a for a in self.acknowledgements() if a[0] in self.threads]
        if not acks:
            return self.customer_opens()
        thread_id, ack, _ = self.rng.choice(acks)
        thread = self.threads[thread_id]
        if self.rng.random() < 0.3:  # a new subject: Gmail starts a thread of its own, which continues this one
            new = self.deliver(None, f"{thread.name} <{thread.customer}>", NEW_SUBJECT[thread.language],
                               ACK_ANSWER[thread.language], "customer", in_reply_to=ack["Message-ID"])
            new.customer, new.name, new.language, new.continued = thread.customer, thread.name, thread.language, True
            self.say(f"{thread.customer} answers the acknowledgement of {thread_id} with a new subject: {new.thread_id}")
            return
        self.deliver(thread, f"{thread.name} <{thread.customer}>", ack["Subject"], ACK_ANSWER[thread.language],
                     "customer", in_reply_to=ack["Message-ID"], thread_id=thread_id)
        self.say(f"{thread.customer} answers the acknowledgement in {thread_id}")

    def robot_writes(self) -> None:
        roll = self.rng.random()
        threads = [t for t in self.open_tickets()]
        if roll < 0.4 and threads:
            thread = self.rng.choice(threads)
            sent = [m for m in self.local.mailbox.thread_messages(thread.thread_id) if "SENT" in m.label_ids]
            replied = email.message_from_bytes(sent[-1].raw, policy=email.policy.default) if sent else None
            subject = "Automatic reply: " + (replied["Subject"] if replied else thread.subject)
            self.deliver(thread, f"{thread.name} <{thread.customer}>", subject,
                         "I am out of the office until Monday with limited access to email.", "automatic",
                         in_reply_to=replied["Message-ID"] if replied else thread.messages[-1].message_id,
                         headers={"Auto-Submitted": "auto-replied"}, thread_id=thread.thread_id)
            self.say(f"out-of-office reply from {thread.customer} in {thread.thread_id}")
        elif roll < 0.7:
            thread = self.deliver(None, "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                                  "Delivery Status Notification (Failure)",
                                  "Your message wasn't delivered to nobody@gone.example because the address "
                                  "couldn't be found.", "automatic")
            self.say(f"a bounce opens {thread.thread_id}")
        else:
            thread = self.deliver(None, "Shop News <no-reply@shop.example>", "Our November deals",
                                  "Big discounts this week only.", "automatic",
                                  headers={"List-Unsubscribe": "<mailto:unsub@shop.example>", "Precedence": "bulk"})
            self.say(f"a newsletter opens {thread.thread_id}")

    def at_work(self) -> bool:
        local = self.now.astimezone(WAW)
        return local.weekday() < 5 and local.date().isoformat() != "2026-11-11" and 9 <= local.hour < 17

    def agent(self):
        address = self.rng.choice(list(AGENTS))
        return address, self.host.config.agent(address)

    def agent_replies(self) -> None:
        thread = self.pick(t for t in self.open_tickets() if t.customer_msgs())
        if thread is None:
            return
        address, agent = self.agent()
        name = agent.full_name
        sender = f"{name} <{address}>" if self.rng.random() < 0.3 else f"{name} <{SUPPORT}>"
        last = thread.customer_msgs()[-1]
        message_id = self.next_id("example.com")
        raw = make_email(sender=sender, to=last.sender, subject="Re: " + thread.subject, message_id=message_id,
                         in_reply_to=last.message_id, body=AGENT_TEXT[thread.language].format(name=name), date=self.now)
        send(self.gmail, raw, thread.thread_id)
        thread.messages.append(Msg(self.now, "agent", address, message_id))
        self.unsynced = True
        self.say(f"{name} answers {thread.thread_id} as {email.utils.parseaddr(sender)[1]}")

    def label_id(self, name: str) -> str:
        full = f"{ROOT}/{name}"
        labels = self.gmail.users().labels().list(userId="me").execute().get("labels", [])
        found = next((l["id"] for l in labels if l["name"] == full), None)
        return found or self.gmail.users().labels().create(userId="me", body={"name": full}).execute()["id"]

    def agent_labels(self) -> None:
        thread = self.pick(self.open_tickets())
        if thread is None:
            return
        held = [label for label, at in thread.holds.items() if at is not None]
        if held and self.rng.random() < 0.4:  # reopen
            label = self.rng.choice(held)
            self.gmail.users().threads().modify(userId="me", id=thread.thread_id,
                                                body={"removeLabelIds": [self.label_id(label)]}).execute()
            thread.holds[label] = None
            self.say(f"an agent removes {label} from {thread.thread_id}")
            return
        label = self.rng.choice(["Waiting on customer", "Resolved"])
        self.gmail.users().threads().modify(userId="me", id=thread.thread_id,
                                            body={"addLabelIds": [self.label_id(label)]}).execute()
        thread.holds[label] = self.now
        self.say(f"an agent labels {thread.thread_id} {label}")

    def agent_retags(self) -> None:
        """An agent hands the priority back to the rules (removes the marker), or marks an outage."""
        thread = self.pick(self.open_tickets())
        if thread is None:
            return
        if thread.agent_priority and self.rng.random() < 0.6:
            self.gmail.users().threads().modify(userId="me", id=thread.thread_id, body={
                "removeLabelIds": [self.label_id("SLA/Priority set by agent")]}).execute()
            thread.agent_priority = ""
            self.say(f"an agent hands the priority of {thread.thread_id} back to the rules")
        else:
            label = self.label_id("Outage")
            change = "removeLabelIds" if thread.outage else "addLabelIds"
            self.gmail.users().threads().modify(userId="me", id=thread.thread_id, body={change: [label]}).execute()
            thread.outage = not thread.outage
            self.say(f"an agent {'adds' if thread.outage else 'removes'} Outage on {thread.thread_id}")

    def agent_presses(self) -> None:
        thread = self.pick(self.open_tickets())
        if thread is None:
            return
        address, agent = self.agent()
        if self.rng.random() < 0.5:
            shown = self.rng.choice([None, "", *[f"{f} {l}" for f, l in AGENTS.values()]])
            parameters = {} if shown is None else {"owner": shown}
            before = self.host.ticket(thread.thread_id).owner_name
            reply = self.host.card_action("autoreply.take", parameters, {}, thread.thread_id, agent)
            after = self.host.ticket(thread.thread_id).owner_name
            self.say(f"{agent.full_name} presses Take on {thread.thread_id} (card showed {shown!r}, owner {before!r}): "
                     f"{reply.notification}")
            took = "now owns" in (reply.notification or "")
            if took != (after == agent.full_name and before != agent.full_name):
                raise InvariantBroken(self.explain(f"Take said {reply.notification!r} but the owner went from "
                                                   f"{before!r} to {after!r}"))
            stale = before and shown is not None and shown != before and before != agent.full_name
            if took and stale:
                raise InvariantBroken(self.explain("Take moved a ticket from an owner the card did not show"))
        else:
            level = self.rng.choice(PRIORITIES)
            self.host.card_action("sla.set_priority", {"priority": level}, {}, thread.thread_id, agent)
            thread.agent_priority = level
            self.say(f"{agent.full_name} sets {thread.thread_id} to {level}")

    def stale_sweep(self) -> None:
        """A sweep that read its tickets before the latest mail came (a crash between read and write)."""
        tickets = self.open_tickets()
        if len(tickets) < 2:
            return self.sweep()
        chosen = self.rng.sample(tickets, 2)
        self.host.prefetch({t.thread_id: None for t in chosen})
        self.now += timedelta(minutes=1)  # the mail comes after the read
        if self.rng.random() < 0.5 and chosen[0].customer_msgs():
            thread = chosen[0]
            self.deliver(thread, f"{thread.name} <{thread.customer}>", "Re: " + thread.subject, FOLLOW_UP[thread.language],
                         "customer", in_reply_to=thread.messages[-1].message_id, thread_id=thread.thread_id)
            self.say(f"{thread.customer} writes in {thread.thread_id} while a sweep reads")
        else:
            self.agent_replies()
        self.say("a sweep runs on what it read before")
        self.sweep()
        self.host.drop_prefetched()

    # -- one run ------------------------------------------------------------------------------

    EVENTS = [("customer_opens", 22), ("customer_writes", 20), ("customer_answers_acknowledgement", 6),
              ("robot_writes", 6), ("agent_replies", 18), ("agent_labels", 8), ("agent_presses", 8), ("agent_retags", 4)]

    def step(self) -> None:
        self.step_no += 1
        self.advance()
        names, weights = zip(*self.EVENTS)
        event = self.rng.choices(names, weights)[0]
        if event.startswith("agent") and not self.at_work() and self.rng.random() < 0.8:
            event = "customer_opens" if self.rng.random() < 0.3 else None  # agents mostly work office hours
        if event:
            self.stats[event] += 1
            getattr(self, event)()
        crash = self.rng.random()
        if crash < 0.08:
            self.say("the sync is skipped (a crash)")
            self.stats["skipped sync"] += 1
        elif crash < 0.14:
            self.say("two syncs back to back")
            self.stats["double sync"] += 1
            self.sync()
            self.sync()
        elif crash < 0.18:
            self.say("the process restarts")
            self.stats["restart"] += 1
            self.restart()
            self.sync()
        elif crash < 0.22:
            self.stats["stale sweep"] += 1
            self.stale_sweep()
            self.sync()
        elif crash < 0.24:
            self.say("the cursor is lost: a full sync")
            self.stats["full sync"] += 1
            (self.workdir / "state" / "cursor.json").unlink(missing_ok=True)
            self.restart()
            self.sync()
        else:
            self.sync()
        self.check_acknowledgements()
        self.check_labels()
        if self.rng.random() < 0.6:
            self.sweep()
            self.check_labels()
            if not self.unsynced:
                self.check_sla()
        self.check_escalations()

    def run(self) -> "Simulation":
        end = START.astimezone(timezone.utc) + timedelta(days=DAYS)
        while self.step_no < self.steps and self.now < end:
            self.step()
        self.sync()
        self.sweep()
        self.check_sla()
        self.check_report()
        return self

    # -- the invariants ----------------------------------------------------------------------

    def explain(self, problem: str) -> str:
        return f"seed {self.seed}, step {self.step_no}: {problem}\n" + "\n".join(self.log[-40:])

    def fail(self, problem: str) -> None:
        raise InvariantBroken(self.explain(problem))

    def labels(self, thread_id: str) -> set[str]:
        names = {l["id"]: l["name"] for l in self.local.mailbox.labels.values()}
        return {names[l] for m in self.local.mailbox.thread_messages(thread_id) for l in m.label_ids if l in names}

    def check_acknowledgements(self) -> None:
        """docs/autoreply.md: one per new ticket of a human customer, never to a robot or to ourselves, never in a
        thread Gmail split off a conversation or one an agent wrote in first, at most one per sender in
        ack_window_days, never for a request older than max_age_hours."""
        acks = self.acknowledgements()
        per_thread: dict[str, int] = {}
        for thread_id, ack, at in acks:
            per_thread[thread_id] = per_thread.get(thread_id, 0) + 1
            to = email.utils.parseaddr(ack["To"])[1].lower()
            thread = self.threads.get(thread_id)
            if thread is None or not thread.customer:
                self.fail(f"an acknowledgement in {thread_id}, which no customer opened, to {to}")
            if to in AGENTS or to.endswith("@example.com") or "daemon" in to or "no-reply" in to:
                self.fail(f"an acknowledgement to {to} in {thread_id}")
            first = thread.customer_msgs()[0]
            if to != first.sender:
                self.fail(f"the acknowledgement in {thread_id} went to {to}, not the customer {first.sender}")
            if thread.continued:
                self.fail(f"{thread_id} continues a conversation, yet was acknowledged")
            if any(m.at < at for m in thread.agent_msgs()):
                self.fail(f"{thread_id} was acknowledged after an agent had answered")
            if at - first.at > MAX_AGE:
                self.fail(f"{thread_id} was acknowledged {at - first.at} after the request")
        self.stats["acknowledgements"] = len(acks)
        self.stats["continued threads"] = sum(t.continued for t in self.threads.values())
        if any(count > 1 for count in per_thread.values()):
            self.fail(f"two acknowledgements in one thread: {per_thread}")
        by_recipient: dict[str, list[datetime]] = {}
        for _, ack, at in acks:
            by_recipient.setdefault(email.utils.parseaddr(ack["To"])[1].lower(), []).append(at)
        for to, times in by_recipient.items():
            times.sort()
            for a, b in zip(times, times[1:]):
                if b - a < ACK_WINDOW:
                    self.fail(f"two acknowledgements to {to} within {b - a}")

    def expected_awaiting(self, thread: Thread) -> bool:
        agents = thread.agent_msgs()
        last_agent = agents[-1].at if agents else None
        return any(self.owes(thread, m) for m in thread.customer_msgs() if last_agent is None or m.at > last_agent)

    @staticmethod
    def owes(thread: Thread, message: Msg) -> bool:
        """docs/sla.md: a mere thank-you after an agent's answer asks nothing; before any answer everything asks."""
        agents = thread.agent_msgs()
        return message.kind == "customer" or not agents or message.at < agents[0].at

    def check_labels(self) -> None:
        """After a sync that read all mail: Awaiting reply iff the customer spoke last with more than thanks; one
        Owner and one Priority at most; Acknowledged only with an acknowledgement."""
        acked = {t for t, _, _ in self.acknowledgements()}
        for thread in self.threads.values():
            labels = self.labels(thread.thread_id)
            if not thread.is_ticket:
                mine = {l for l in labels if l.startswith(ROOT + "/")}
                if mine - {f"{ROOT}/Auto-reply suppressed"}:
                    self.fail(f"{thread.thread_id} is no ticket but carries {sorted(mine)}")
                continue
            if len([l for l in labels if l.startswith(f"{ROOT}/Owner/")]) > 1:
                self.fail(f"{thread.thread_id} has two owners: {sorted(labels)}")
            if len([l for l in labels if l.startswith(f"{ROOT}/Priority/")]) > 1:
                self.fail(f"{thread.thread_id} has two priorities: {sorted(labels)}")
            if f"{ROOT}/Acknowledged" in labels and thread.thread_id not in acked:
                self.fail(f"{thread.thread_id} is labelled Acknowledged without an acknowledgement")
            if self.unsynced:
                continue
            awaiting = f"{ROOT}/Awaiting reply" in labels
            if awaiting != self.expected_awaiting(thread):
                self.fail(f"{thread.thread_id}: Awaiting reply is {awaiting}, expected {not awaiting}")
            if thread.agent_msgs() and not any(l.startswith(f"{ROOT}/Owner/") for l in labels):
                self.fail(f"{thread.thread_id} was answered but nobody owns it")

    def policy(self):
        from plugins.sla import policy_of

        return policy_of(self.host.config)

    def expected_priority(self, thread: Thread) -> str:
        if thread.agent_priority:
            return thread.agent_priority
        customers = thread.customer_msgs()
        if thread.outage:
            return "urgent"
        addresses = {thread.customer, customers[0].sender}
        if any(a.endswith("@vip.example") for a in addresses):
            return "high"
        if customers[0].urgent or customers[-1].urgent:
            return "urgent"
        return "normal"

    def clock(self, thread: Thread) -> tuple[str, datetime | None]:
        """docs/sla.md, "The clock", from the simulation's own record."""
        agents = thread.agent_msgs()
        customers = thread.customer_msgs()
        if not agents and not thread.continued:
            return "first_response", customers[0].at
        last_agent = agents[-1].at if agents else None
        owing = [m for m in customers if (last_agent is None or m.at > last_agent) and self.owes(thread, m)]
        return ("next_response", owing[0].at) if owing else ("", None)

    def held(self, thread: Thread, label: str) -> bool:
        """A waiting/resolved label holds while the customer has not written past it (any time before an answer)."""
        at = thread.holds.get(label)
        if at is None:
            return False
        return not thread.agent_msgs() or at >= thread.customer_msgs()[-1].at

    def expected_sla(self, thread: Thread) -> tuple[bool, bool, str, datetime | None, str]:
        """(at risk, breached, target, due, priority) as docs/sla.md defines them, with ``sla due``'s calendar."""
        policy = self.policy()
        priority = self.expected_priority(thread)
        kind, started = self.clock(thread)
        if not kind or self.held(thread, "Resolved") or self.held(thread, "Waiting on customer"):
            return False, False, kind, None, priority
        target = policy.target(priority, kind, "email")
        due = policy.calendar.add_business_time(started, target)
        breached = self.now > due
        elapsed = policy.calendar.business_time_between(started, self.now)
        return (not breached and elapsed >= target * policy.at_risk_share), breached, kind, due, priority

    def check_sla(self) -> None:
        """Right after a sweep, with every message synced: SLA labels iff the recomputed deadline says so;
        no SLA label on a resolved or waiting ticket; a hold label the customer wrote past is gone."""
        for thread in self.open_tickets():
            labels = self.labels(thread.thread_id)
            at_risk, breached, kind, due, priority = self.expected_sla(thread)
            self.stats.update(["checked at risk"] * at_risk + ["checked breached"] * breached +
                              [f"checked {kind or 'no clock'}", f"checked {priority}"] +
                              ["checked held"] * any(self.held(thread, l) for l in ("Resolved", "Waiting on customer")))
            got = (f"{ROOT}/SLA/At risk" in labels, f"{ROOT}/SLA/Breached" in labels)
            if got != (at_risk, breached):
                self.fail(f"{thread.thread_id} ({priority}, {kind or 'no clock'}, due {due}): at risk/breached "
                          f"are {got}, expected {(at_risk, breached)}; labels {sorted(labels)}")
            swept = due is not None and self.now - thread.messages[0].at >= timedelta(minutes=45)
            if swept and f"{ROOT}/Priority/{priority.capitalize()}" not in labels:  # what the sweep finds (docs/sla.md)
                self.fail(f"{thread.thread_id}: expected priority {priority}, labels {sorted(labels)}")
            for label in ("Resolved", "Waiting on customer"):
                present = f"{ROOT}/{label}" in labels
                if kind and thread.holds.get(label) is not None and not self.held(thread, label) and present:
                    self.fail(f"{thread.thread_id}: {label} stays although the customer wrote after it")
                if self.held(thread, label) and not present:
                    self.fail(f"{thread.thread_id}: {label} was removed although it still holds")

    def check_escalations(self) -> None:
        """docs/sla.md: each step has one key per thread and clock start, so it happens once: one task and one
        notice per breach, one at-risk notice per target."""
        tasks = []
        for tasklist in self.host.client.list_tasklists():
            tasks += self.host.client.list_tasks(tasklist["id"])
        keys = [k for t in tasks for k in __import__("re").findall(r"\[labeldesk:([^\]]+)\]", t.get("notes") or "")]
        if len(keys) != len(set(keys)):
            self.fail(f"a task made twice: {sorted(keys)}")
        notices = {}
        for message in self.local.mailbox.messages.values():
            if b"X-Labeldesk: notify:" not in message.raw:
                continue
            parsed = email.message_from_bytes(message.raw, policy=email.policy.default)
            key = parsed["Message-ID"]
            if key in notices:
                self.fail(f"a notice sent twice: {parsed['Subject']}")
            notices[key] = parsed
            if key not in self.seen_notices:
                self.seen_notices.add(key)
                if not self.unsynced:
                    self.check_new_notice(parsed)

    def check_new_notice(self, notice) -> None:
        """A notice goes out only when its step is due (recomputed independently): at risk at the share of the
        target, breached past the deadline, "Still unanswered" after second_step_after (4h) of working time more."""
        url = next((line for line in notice.get_content().splitlines() if "mail.google.com" in line), "")
        thread = self.threads.get(url.rsplit("/", 1)[-1])
        if thread is None:
            self.fail(f"a notice for an unknown thread: {url}")
        at_risk, breached, kind, due, priority = self.expected_sla(thread)
        subject = str(notice["Subject"])  # one subject for all of a ticket's notices: the marker says which step
        step = {"atrisk": "At risk", "breach": "SLA breached", "breach2": "Still unanswered"}.get(
            str(notice["X-Labeldesk"]).split(":")[1], subject)
        self.stats["notice " + step] += 1
        late = breached and self.policy().calendar.business_time_between(due, self.now) >= timedelta(hours=4)
        if {"SLA breached": breached, "At risk": at_risk or breached, "Still unanswered": late}.get(
                step, True) is False:
            self.fail(f"{step}: {subject!r} for {thread.thread_id} ({priority}, {kind or 'no clock'}), due {due}, at {self.now}")

    def check_report(self) -> None:
        """`labeldesk report`'s counts equal counts from the simulation's own record."""
        from plugins.sla.metrics import compute

        tickets, _ = self.host.tickets_since(30, 2000)
        metrics = compute(tickets, self.policy(), self.host.config, self.now)
        mine = self.open_tickets()
        expected_tickets = sum(1 for t in mine if not t.continued)
        expected_continued = sum(1 for t in mine if t.continued)
        unanswered = sum(1 for t in mine if not t.continued and not t.agent_msgs() and not t.holds.get("Resolved"))
        got = (metrics["tickets"], metrics["continued"], metrics["first_response"]["unanswered"])
        if got != (expected_tickets, expected_continued, unanswered):
            self.fail(f"report (tickets, continued, unanswered) = {got}, expected "
                      f"{(expected_tickets, expected_continued, unanswered)}")
        policy = self.policy()
        met = breached = pending = 0
        for thread in mine:
            if thread.continued:
                continue
            priority = self.expected_priority(thread)
            target = policy.target(priority, "first_response", "email")
            first = thread.customer_msgs()[0].at
            answered = thread.agent_msgs()[0].at if thread.agent_msgs() else None
            if answered is None and self.held(thread, "Resolved"):
                continue  # resolved without an answer: no answer was owed
            due = policy.calendar.add_business_time(first, target)
            if answered is not None:
                met, breached = met + (answered <= due), breached + (answered > due)
            elif self.now > due:
                breached += 1
            else:
                pending += 1
        part = metrics["first_response"]
        if (part["met"], part["breached"], part["pending"]) != (met, breached, pending):
            self.fail(f"report first response met/breached/pending = {(part['met'], part['breached'], part['pending'])}"
                      f", expected {(met, breached, pending)}")


def run_seed(seed: int, workdir: Path, steps: int = 60) -> Simulation:
    return Simulation(seed, workdir, steps).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--steps", type=int, default=120)
    args = parser.parse_args()
    broken, stats = 0, Counter()
    for seed in range(args.first, args.first + args.seeds):
        with tempfile.TemporaryDirectory() as folder:
            try:
                stats.update(run_seed(seed, Path(folder), args.steps).stats)
            except InvariantBroken as exc:
                broken += 1
                print(f"--- {exc}\n")
    print(f"{args.seeds} seeds, {broken} broken; exercised: {dict(sorted(stats.items()))}")


if __name__ == "__main__":
    main()
