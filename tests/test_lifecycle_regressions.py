"""Regressions the model-based lifecycle test (tests/test_lifecycle_model.py) found, each shrunk to a plain test."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email

SUPPORT = "support@example.com"
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


class Inbox:
    """The local mailbox and a Labeldesk process on it (restartable), with a clock the test moves."""

    def __init__(self, tmp_path, enabled=("autoreply", "sla")):
        self.now = MONDAY
        self.tmp_path, self.enabled = tmp_path, list(enabled)
        self.local = LocalMailbox(SUPPORT, clock=lambda: self.now.timestamp())
        self.gmail = self.local.gmail()
        self.restart()
        self.feed.sync()

    def restart(self) -> None:
        data = {"mailbox": {"address": SUPPORT},
                "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"},
                           "ivan.petrov@example.com": {"first_name": "Ivan", "last_name": "Petrov"}},
                "plugins": {"enabled": self.enabled}, "host": {"state_dir": str(self.tmp_path / "state")}}
        config = load_config(self.tmp_path / "labeldesk.toml", data=data, environ={})
        self.host = build_host(config, http=self.local.http, now=lambda: self.now)
        self.host.client.sleep = lambda seconds: None
        self.feed = ChangeFeed(self.host)

    def customer_writes(self, subject: str, message_id: str) -> str:
        return deliver(self.gmail, make_email(subject=subject, message_id=message_id, date=self.now))["threadId"]

    def acknowledgements(self) -> list[str]:
        """The recipients of every acknowledgement in the mailbox, Trash and Spam included."""
        return [email.message_from_bytes(m.raw, policy=email.policy.default)["To"]
                for m in self.local.mailbox.messages.values()
                if "SENT" in m.label_ids and b"X-Labeldesk: ack" in m.raw]


def test_a_customer_whose_acknowledged_thread_was_trashed_gets_no_second_acknowledgement_within_the_window(tmp_path):
    """An agent binned a customer's first ticket (a duplicate, a mistake) with our acknowledgement in it; the
    customer wrote again an hour later and got a second "we received your request": the per-sender window searched
    Sent without Trash and Spam, though an acknowledgement an agent deleted still counts (docs/architecture.md)."""
    inbox = Inbox(tmp_path)
    first = inbox.customer_writes("Order 1 is late", "<one@example.org>")
    assert inbox.feed.sync().ok
    assert len(inbox.acknowledgements()) == 1
    inbox.gmail.users().threads().trash(userId="me", id=first).execute()
    inbox.now += timedelta(hours=1)
    inbox.restart()  # a new process (cron, a deploy): it no longer remembers what it sent
    inbox.customer_writes("Order 2 is late too", "<two@example.org>")
    assert inbox.feed.sync().ok
    assert len(inbox.acknowledgements()) == 1


def test_a_reply_under_a_new_subject_to_a_binned_conversation_is_not_acknowledged_as_a_new_request(tmp_path):
    """An agent wrote to a customer, then binned that conversation; the customer answered it under a new subject,
    which Gmail puts in a thread of its own. That is the customer writing again in a conversation of ours, no new
    request (docs/autoreply.md), but they got "we received your request": the look-up of the message they
    answered searched without Trash and Spam, so it found nothing."""
    from .conftest import b64

    inbox = Inbox(tmp_path)
    ours = make_email(sender=f"Anna Kowalska <{SUPPORT}>", to="Jane Customer <jane@example.org>",
                      subject="Your call today", body="Hello Jane, as promised on the phone: the refund is on its "
                      "way.\n\nBest regards,\nAnna Kowalska", message_id="<call@example.com>", date=inbox.now)
    started = inbox.gmail.users().messages().send(userId="me", body={"raw": b64(ours)}).execute()
    assert inbox.feed.sync().ok
    inbox.gmail.users().threads().trash(userId="me", id=started["threadId"]).execute()
    inbox.now += timedelta(minutes=30)
    answer = make_email(subject="One more question", body="Thank you. When will the refund reach my card?",
                        message_id="<again@example.org>", in_reply_to="<call@example.com>", date=inbox.now)
    reply = deliver(inbox.gmail, answer)
    assert reply["threadId"] != started["threadId"]  # Gmail threads apart what changed the subject
    assert inbox.feed.sync().ok
    assert inbox.acknowledgements() == []


def test_a_split_off_reply_answered_before_the_sync_read_it_keeps_one_owner(tmp_path):
    """Anna owned Jane's conversation; Jane answered under a new subject (a thread of its own) and Ivan answered
    that before the next sync read it. The sync carried Anna's Owner label over to the new thread and, in the same
    label change, made Ivan its owner too: two Owner labels, so the side panel, the SLA alerts and round robin each
    picked one. The owner carried over is the ticket's owner when the hooks run: one owner, Anna."""
    from .conftest import send

    inbox = Inbox(tmp_path)
    inbox.customer_writes("Order 1 is late", "<one@example.org>")
    assert inbox.feed.sync().ok
    thread = next(t for t, ids in inbox.local.mailbox.threads.items() if ids)
    inbox.now += timedelta(minutes=10)
    send(inbox.gmail, make_email(sender=f"Anna Kowalska <{SUPPORT}>", to="jane@example.org", subject="Re: Order 1 is late",
                                 body="It is on its way.\n\nBest regards,\nAnna Kowalska", message_id="<a1@example.com>",
                                 in_reply_to="<one@example.org>", date=inbox.now), thread)
    assert inbox.feed.sync().ok
    inbox.now += timedelta(minutes=10)
    split = deliver(inbox.gmail, make_email(subject="Another question", body="And can I change the address?",
                                            message_id="<two@example.org>", in_reply_to="<a1@example.com>",
                                            date=inbox.now))["threadId"]
    assert split != thread
    inbox.now += timedelta(minutes=1)
    send(inbox.gmail, make_email(sender=f"Ivan Petrov <{SUPPORT}>", to="jane@example.org", subject="Re: Another question",
                                 body="Yes, done.\n\nBest regards,\nIvan Petrov", message_id="<i1@example.com>",
                                 in_reply_to="<two@example.org>", date=inbox.now), split)
    assert inbox.feed.sync().ok
    owners = sorted(name for name in inbox.host.ticket(split).labels if name.startswith("Helpdesk/Owner/"))
    assert owners == ["Helpdesk/Owner/Anna Kowalska"]
