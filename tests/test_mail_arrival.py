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


# -- an agent's draft in the ticket's thread ------------------------------------------------------------------

def test_an_agents_unsent_draft_is_nobodys_message_until_it_is_sent(tmp_path):
    """Gmail's threads.get returns an agent's unsent draft (label DRAFT) among the thread's messages. It is no
    answer (the clock runs, the ticket stays in the queue), no customer message, not what the side panel answers;
    a draft rewritten (a new message id) or deleted changes nothing, and the draft sent is the agent's reply."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    ref = arrived(local, deliver(g, make_email(message_id="<q@example.org>", subject="Refund")), monday(9))
    feed.sync()

    def draft(body):
        raw = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", subject="Re: Refund",
                         in_reply_to="<q@example.org>", message_id=f"<{abs(hash(body))}@example.com>", body=body)
        return {"message": {"raw": b64(raw), "threadId": ref["threadId"]}}

    clock["now"] = monday(9, 30)
    kept = g.users().drafts().create(userId="me", body=draft("Refund on its way.\n\nAnna Kowalska")).execute()
    binned = g.users().drafts().create(userId="me", body=draft("Sorry, no.\n\nAnna Kowalska")).execute()
    g.users().drafts().update(userId="me", id=kept["id"], body=draft("Refund sent today.\n\nAnna Kowalska")).execute()
    g.users().drafts().delete(userId="me", id=binned["id"]).execute()
    assert all(p.events == [] for p in feed.sync().threads)
    ticket = host.ticket(ref["threadId"])
    assert len(ticket.drafts) == 1 and [m.kind for m in ticket.messages] == ["customer", "automatic"]
    assert ticket.awaiting_reply and ticket.first_agent_reply_at is None and ticket.last_speaker == "customer"
    assert ticket.latest_customer_message.sender.email == "jane@example.org"
    assert host.deadline(ticket).target == "first_response"
    clock["now"] = monday(10)
    g.users().drafts().send(userId="me", body={"id": kept["id"]}).execute()
    assert [p.events for p in feed.sync().threads] == [["on_agent_replied"]]
    assert AWAITING not in thread_label_names(local, ref["threadId"])
    assert host.ticket(ref["threadId"]).first_agent_reply_at is not None


# -- the support address on copy, or only in the envelope ------------------------------------------------------

def test_the_support_address_on_copy_or_in_the_envelope_only_still_opens_the_ticket(tmp_path):
    """Jane writes to her supplier's engineer and copies support@, or blind-copies it (no address of ours in To
    or Cc: Gmail delivers by the envelope, Delivered-To), or writes to sales@, an alias: each is a request, to
    the address it reached, acknowledged to Jane alone (not to the others she wrote to)."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    cases = {"support@example.com": {"Cc": "support@example.com"},
             "sales@example.com": {"Delivered-To": "sales@example.com"}}
    refs = {address: deliver(g, make_email(to="Bob <bob@supplier.example>", subject=f"Parts {n}",
                                           message_id=f"<parts{n}@example.org>", headers=headers))
            for n, (address, headers) in enumerate(cases.items())}
    clock["now"] = monday(9, 1)
    feed.sync()
    for address, ref in refs.items():
        ticket = host.ticket(ref["threadId"])
        assert ticket.customer.email == "jane@example.org" and ticket.support_address == address
    acks = sent_acks(local)
    assert len(acks) == 1 and b"bob@supplier.example" not in acks[0].raw  # one per sender within the window
    assert awaiting(local) == sorted(ref["threadId"] for ref in refs.values())


def test_the_side_panels_draft_to_a_blind_copied_request_answers_its_writer_alone(tmp_path):
    """Jane wrote to her supplier's engineer and blind-copied support@ (the supplier is not to know). The side
    panel's Insert made a "Reply all" draft that copied Bob, so one Send told him Jane had blind-copied us: a
    reply-all from a blind-copied recipient is the classic way a blind copy gets exposed.
    Where none of our addresses was in To or Cc, the draft answers Jane alone; on copy, Bob stays on copy."""
    from email import message_from_bytes

    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    blind = deliver(g, make_email(to="Bob <bob@supplier.example>", subject="Parts", message_id="<b@example.org>",
                                  headers={"Delivered-To": "support@example.com"}))
    copied = deliver(g, make_email(to="Bob <bob@supplier.example>", subject="Parts 2", message_id="<c@example.org>",
                                   headers={"Cc": "support@example.com"}))
    feed.sync()

    def draft_to(ref):
        made = host.reply_draft(host.ticket(ref["threadId"]), None, "Hello Jane")
        sent = message_from_bytes(local.mailbox.messages[made["message"]["id"]].raw)
        return sent["To"], sent["Cc"]

    assert draft_to(blind) == ("jane@example.org", None)
    assert draft_to(copied) == ("jane@example.org", "bob@supplier.example")


# -- calendar invitations ------------------------------------------------------------------------------------------

def test_a_customers_calendar_invitation_is_a_request_and_its_answers_are_not(tmp_path):
    """Zendesk, Help Scout and Front make a ticket (a conversation) of an invitation mailed to the support address,
    as of any mail a person sent: Jane inviting support@ to a call is a request, acknowledged and in the queue. The
    calendar's answers to an invitation (iTIP METHOD:REPLY, "Accepted: …") ask nothing and open none."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()

    def calendar_mail(method, subject, sender, message_id):
        return (f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
                f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                f"Content-Type: text/plain\r\n\r\nCan we go through the invoices on a call?\r\n--b\r\n"
                f"Content-Type: text/calendar; method={method}\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:{method}\r\n"
                f"END:VCALENDAR\r\n--b--\r\n").encode()

    invitation = deliver(g, calendar_mail("REQUEST", "Invitation: Invoices @ Tue 10:00", "Jane <jane@example.org>",
                                          "<invite@example.org>"))
    answer = deliver(g, calendar_mail("REPLY", "Accepted: Demo @ Wed 11:00", "Bob <bob@example.net>", "<rsvp@example.net>"))
    feed.sync()
    assert host.ticket(invitation["threadId"]).customer.email == "jane@example.org"
    assert host.ticket(answer["threadId"]) is None
    assert awaiting(local) == [invitation["threadId"]] and len(sent_acks(local)) == 1
