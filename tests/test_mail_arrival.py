"""How mail really reaches a shared support mailbox, played through the sync: one message to two of our addresses,
Google Chat history in the mailbox, drafts in a ticket's thread, the support address only on copy or in the
envelope, a customer writing from a second address (docs/architecture.md, "Ticket")."""
from __future__ import annotations

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import b64, deliver, make_email
from .test_agents_in_gmail import AWAITING, arrived
from .test_host_sync import sent_acks, thread_label_names
from .test_sla import monday


def help_desk(tmp_path, aliases=("sales@example.com",)):
    """support@ with an alias, acknowledgements and the SLA clock on: (local, host, clock, feed)."""
    data = {"mailbox": {"address": "support@example.com", "aliases": list(aliases)},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply", "sla"]}, "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local, clock = LocalMailbox(), {"now": monday(9)}
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda seconds: None
    feed = ChangeFeed(host)
    feed.sync()
    return local, host, clock, feed


def awaiting(local) -> list[str]:
    return sorted(t for t in local.mailbox.threads if AWAITING in thread_label_names(local, t))


# -- one message to support@ and an alias ---------------------------------------------------------------

def test_one_message_to_support_and_an_alias_is_one_ticket_and_one_acknowledgement(tmp_path):
    """Jane writes to support@ and sales@, both delivering into the mailbox: Gmail keeps the one copy, so the
    reference's rule (one ticket, one acknowledgement) holds through the sync, whether the second copy comes in
    the same sync or seconds later in the next."""
    raw = make_email(to="support@example.com, sales@example.com", message_id="<quote@example.org>", subject="Quote")
    for apart in (False, True):
        local, host, clock, feed = help_desk(tmp_path / str(apart))
        g = local.gmail()
        first = arrived(local, deliver(g, raw), monday(9))
        if apart:
            feed.sync()
            clock["now"] = monday(9, 1)
        deliver(g, raw)
        feed.sync()
        assert awaiting(local) == [first["threadId"]]
        assert [m.thread_id for m in sent_acks(local)] == [first["threadId"]]


# -- chats --------------------------------------------------------------------------------------------------

def chat_message(local, body="hi, are you there?", **headers):
    """A chat kept in the mailbox as Gmail keeps chat history (label CHAT, which no API call may set: stored as the
    mailbox stores it)."""
    raw = make_email(sender="Jane Customer <jane@example.org>", to="support@example.com", subject="", body=body,
                     message_id=f"<chat-{abs(hash(body))}@example.org>", **headers)
    return local.mailbox.add_message(raw, ["CHAT", "UNREAD"], explicit_thread=False)


def test_a_chat_in_the_mailbox_is_no_ticket(tmp_path):
    """Chat history kept in Gmail (label CHAT) opened a ticket at the next sync: an email "we received your
    request" went to Jane for a chat line, into the chat's own thread, and it waited in the queue for an email
    answer. A full sync leaves chats out (`-in:chats`); the change feed read them. Zendesk, Help Scout and Front
    make tickets of mail, not of the mailbox owner's chats: a chat is no ticket, whichever sync reads it."""
    local, host, clock, feed = help_desk(tmp_path)
    chat = chat_message(local)
    report = feed.sync()
    assert [p.events for p in report.threads if p.thread_id == chat.thread_id] in ([], [[]])
    assert sent_acks(local) == [] and awaiting(local) == []
    assert host.ticket(chat.thread_id) is None  # the sweep, the side panel and a full sync read it the same way



# -- a Google Group of ours that is not configured ---------------------------------------------------------

def test_a_google_group_of_ours_left_out_of_the_aliases_is_said_once(tmp_path, caplog):
    """support@ is a Google Group delivering into the team's mailbox, and the admin configured the mailbox without
    it among the aliases: the group's List-Id and Precedence: list made every customer's request a mailing-list
    post, and the help desk did nothing at all, silently. Which list is the team's own cannot be told from the
    mail (an all-staff@ group is a real list), so it stays no ticket, but the sync says what to change, once."""
    from .test_threads_review import GROUP_HEADERS

    local, host, clock, feed = help_desk(tmp_path, aliases=())
    g = local.gmail()
    for n in range(2):
        deliver(g, make_email(sender="Jane Cooper <jane@corp.example>", to="help@example.com", subject=f"Q{n}",
                              message_id=f"<group{n}@corp.example>", headers=GROUP_HEADERS))
    deliver(g, make_email(sender="News <news@lists.other.example>", subject="Digest", message_id="<list@other.example>",
                          headers={"List-Id": "<news.other.example>", "Precedence": "list",
                                   "Mailing-list": "list news@other.example; contact news+owners@other.example"}))
    with caplog.at_level("WARNING"):
        feed.sync()
    said = [r.getMessage() for r in caplog.records if "help@example.com" in r.getMessage()]
    assert len(said) == 1 and "[mailbox] aliases" in said[0]
    assert not any("news@other.example" in r.getMessage() for r in caplog.records)
    assert sent_acks(local) == [] and awaiting(local) == []
