"""A Draft action (``actions.draft``): the reply a third-party plugin prepares for an agent, in the thread, once.

No shipped plugin records one, so these tests are its only users: through the host's executor, against the
local mailbox with the real googleapiclient."""
from __future__ import annotations

import email
import email.policy

from plugin_host.actions import Actions
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email


def setup(tmp_path):
    data = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": []},
            "host": {"state_dir": str(tmp_path / "state")}}
    local = LocalMailbox()
    host = build_host(load_config(tmp_path / "labeldesk.toml", data=data, environ={}), http=local.http)
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(sender="Jane Cooper <jane@example.org>", message_id="<q1@example.org>"))
    ChangeFeed(host).sync()
    return local, host, ref["threadId"]


def drafted(local):
    gmail = local.gmail()
    out = []
    for entry in gmail.users().drafts().list(userId="me").execute().get("drafts", []):
        draft = gmail.users().drafts().get(userId="me", id=entry["id"], format="raw").execute()
        raw = __import__("base64").urlsafe_b64decode(draft["message"]["raw"])
        out.append((draft["message"]["threadId"], email.message_from_bytes(raw, policy=email.policy.default)))
    return out


def suggest(host, thread_id, dry_run=False):
    ticket = host.ticket(thread_id)
    actions = Actions(thread_id=thread_id)
    latest = ticket.latest_customer_message
    actions.draft(in_reply_to=latest.id, to=latest.sender.email, subject=ticket.reply_subject,
                  text="Your order left our warehouse today.", key="suggested-answer")
    return host.executor.execute(actions, ticket, dry_run=dry_run)


def test_a_plugins_draft_is_made_in_the_thread_to_the_customer_once(tmp_path):
    local, host, thread_id = setup(tmp_path)
    outcome = suggest(host, thread_id)
    assert outcome.done == [f"drafted (suggested-answer) in {thread_id}"] and not outcome.errors
    [(in_thread, message)] = drafted(local)
    assert in_thread == thread_id and message["To"] == "jane@example.org"
    assert message["Subject"] == "Re: Order 1234 is late" and "<q1@example.org>" in message["In-Reply-To"]
    assert "Your order left our warehouse today." in message.get_body(("plain",)).get_content()
    again = suggest(host, thread_id)  # a replay of the same event reads the thread again: the draft is there
    assert again.skipped == ["draft suggested-answer already in thread"] and not again.done
    assert len(drafted(local)) == 1


def test_a_dry_run_names_the_draft_and_makes_none(tmp_path):
    local, host, thread_id = setup(tmp_path)
    outcome = suggest(host, thread_id, dry_run=True)
    assert outcome.done == [f"(dry run) draft (suggested-answer) in {thread_id}"]
    assert drafted(local) == []



def test_a_reply_or_draft_recorded_without_a_ticket_is_dropped_and_said(tmp_path):
    """A sweep hook has no ticket in hand: a reply or draft it records for a thread is not sent blind."""
    local, host, thread_id = setup(tmp_path)
    actions = Actions(thread_id=thread_id)
    actions.reply(in_reply_to="x", to="jane@example.org", subject="Re: Order", text="Hello", key="blind")
    actions.draft(in_reply_to="x", to="jane@example.org", subject="Re: Order", text="Hello", key="blind-draft")
    outcome = host.executor.execute(actions, None)
    assert outcome.errors == ["reply blind without a ticket was dropped", "draft blind-draft without a ticket was dropped"]
    assert not outcome.skipped and not outcome.done
    assert drafted(local) == [] and len(local.mailbox.messages) == 1
