"""Review of who is who on a thread and what a thread is, played through what shared inboxes see:
Google Groups, forwards, split threads, calendar responses, colleagues on copy."""
from __future__ import annotations

import pytest
from email import message_from_bytes

from .conftest import deliver, make_email, send
from .test_autoreply import acks, setup
from .test_host_sync import thread_label_names

GROUP_HEADERS = {  # what a Google Group (help@, a member of which is this mailbox) adds to a post
    "List-Id": "<help.example.com>", "Precedence": "list", "X-Original-Sender": "jane@corp.example",
    "Mailing-list": "list help@example.com; contact help+owners@example.com",
    "List-Post": "<https://groups.google.com/a/example.com/group/help/post>, <mailto:help@example.com>",
    "List-Help": "<https://support.google.com/a/example.com/bin/topic.py?topic=25838>, <mailto:help+help@example.com>",
    "List-Unsubscribe": "<mailto:googlegroups-manage+1234+unsubscribe@googlegroups.com>",
    "Return-Path": "<help+bncBAABBQ4XYWQMGQE7S5K3YA@example.com>",
}


def test_a_customer_writing_to_our_google_group_opens_a_ticket_and_is_acknowledged(tmp_path):
    """help@ is a Google Group delivering to the support mailbox, as many teams set up a shared address. Its
    List-Id, Precedence: list and bounce Return-Path made every customer's message a mailing-list post: no
    ticket, no acknowledgement, nothing in the queue."""
    local, host, feed = setup(tmp_path)
    local.mailbox.add_send_as("help@example.com")  # the group's address, set up under "Send mail as"
    feed.sync()
    ref = deliver(local.gmail(), make_email(sender="Jane Cooper <jane@corp.example>", to="help@example.com",
                                            message_id="<group1@corp.example>", headers=GROUP_HEADERS))
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer.email == "jane@corp.example"
    assert ticket.support_address == "help@example.com"
    sent = acks(local)
    assert [a["To"] for a in sent] == ["jane@corp.example"] and "help@example.com" in sent[0]["From"]
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])


def test_a_google_group_rewriting_the_sender_via_the_group_still_names_the_customer(tmp_path):
    """A sender whose domain publishes DMARC p=reject is rewritten by the group: From "'Jane Cooper' via
    Help" <help@example.com>. That was our own address writing: no ticket."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    headers = {**GROUP_HEADERS, "X-Original-From": "Jane Cooper <jane@corp.example>",
               "Reply-To": "Jane Cooper <jane@corp.example>"}
    ref = deliver(local.gmail(), make_email(sender="'Jane Cooper' via Help <help@example.com>", to="help@example.com",
                                            message_id="<group2@corp.example>", headers=headers))
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer == type(ticket.customer)("Jane Cooper", "jane@corp.example")
    assert [a["To"] for a in acks(local)] == ["jane@corp.example"]


def test_a_mailing_list_that_is_not_ours_is_still_no_ticket(tmp_path):
    """Only a group of our own addresses is unwrapped: another list's post, even one naming our domain in a
    lookalike List-Id, stays automatic."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    g = local.gmail()
    for n, list_id in enumerate(("<announce.othercorp.example>", "<help.example.com.evil.example>")):
        headers = {**GROUP_HEADERS, "List-Id": list_id, "Mailing-list": "list announce@othercorp.example"}
        deliver(g, make_email(sender="News <news@othercorp.example>", message_id=f"<list{n}@x.example>",
                              headers=headers))
    feed.sync()
    assert acks(local) == []


def calendar_response(method: str = "REPLY", partstat: str = "ACCEPTED") -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"] = "Jane Cooper <jane@corp.example>", "support@example.com"
    msg["Subject"] = "Accepted: Call about order 1234 @ Tue 10:00 - 10:30 (CET)"
    msg["Message-ID"] = f"<cal-{method}@corp.example>"
    msg.set_content("Jane Cooper has accepted this invitation.")
    msg.add_alternative(f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
                        f"ATTENDEE;PARTSTAT={partstat}:mailto:jane@corp.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                        subtype="calendar", params={"method": method})
    return msg.as_bytes()


def test_a_customers_calendar_accepting_an_agents_invitation_is_no_new_request(tmp_path):
    """An agent invites a customer to a call; the customer's calendar answers "Accepted: Call … @ Tue 10:00"
    in a thread of its own. That opened a ticket, acknowledged it ("we received your request") and put it in
    the queue awaiting a reply. A calendar response (iTIP METHOD:REPLY) is automatic, like a read receipt."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    ref = deliver(local.gmail(), calendar_response())
    feed.sync()
    assert host.ticket(ref["threadId"]) is None and acks(local) == []
    assert "Helpdesk/Awaiting reply" not in thread_label_names(local, ref["threadId"])


def test_a_reply_gmail_put_in_a_new_thread_is_no_new_request(tmp_path):
    """Gmail starts a new thread when a customer changes the subject in a reply (and after 100 messages).
    The reply opened a "new ticket": once the 4-day window had passed, the customer, in the middle of a
    conversation with Anna, was told "we received your request, Ivan will look after it". A thread whose
    first message replies to a message of another thread of ours continues that conversation: the customer
    wrote again, there is no new request to acknowledge."""
    from datetime import timedelta

    local, host, feed = setup(tmp_path)
    clock = {"now": host.now()}
    host.now = host.executor.now = lambda: clock["now"]
    local.mailbox.clock = lambda: clock["now"].timestamp()
    g = local.gmail()
    feed.sync()
    first = deliver(g, make_email(message_id="<split0@example.org>", subject="Order 1234 is late"))
    feed.sync()
    send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", message_id="<split1@example.com>",
                       subject="Re: Order 1234 is late", in_reply_to="<split0@example.org>",
                       body="Which address should it go to?\n\nAnna Kowalska"), first["threadId"])
    feed.sync()
    clock["now"] += timedelta(days=6)
    split = deliver(g, make_email(message_id="<split2@example.org>", subject="New delivery address for order 1234",
                                  in_reply_to="<split1@example.com>", references="<split0@example.org> <split1@example.com>",
                                  body="Please send it to 5 Main Street."))
    feed.sync()
    assert split["threadId"] != first["threadId"]
    assert len(acks(local)) == 1  # the first one only
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, split["threadId"])
    assert not {"Helpdesk/Acknowledged", "Helpdesk/Auto-reply suppressed"} & thread_label_names(local, split["threadId"])


def test_a_reply_to_mail_that_never_was_in_our_mailbox_is_a_new_request(tmp_path):
    """A customer answering a newsletter or an invoice another system sent opens a ticket as before."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    deliver(local.gmail(), make_email(message_id="<fresh@example.org>", subject="Re: Your December invoice",
                                      in_reply_to="<invoice-77@billing.example.com>"))
    feed.sync()
    assert len(acks(local)) == 1


GMAIL_FORWARD = """Could you take this one? She wrote to me directly.

---------- Forwarded message ---------
From: Jane Cooper <jane@corp.example>
Date: Mon, 30 Nov 2026 at 10:02
Subject: Order 1234 is late
To: Anna Kowalska <anna.kowalska@example.com>


Hello, my order 1234 has not arrived yet. Can you check where it is?

Jane
"""


def forwarded_as_attachment() -> bytes:
    from email.message import EmailMessage

    original = EmailMessage()
    original["From"], original["To"] = "Jane Cooper <jane@corp.example>", "anna.kowalska@example.com"
    original["Subject"], original["Message-ID"] = "Order 1234 is late", "<orig@corp.example>"
    original.set_content("Hello, my order 1234 has not arrived yet. Can you check where it is?")
    msg = EmailMessage()
    msg["From"], msg["To"] = "Anna Kowalska <anna.kowalska@example.com>", "support@example.com"
    msg["Subject"], msg["Message-ID"] = "Fwd: Order 1234 is late", "<fwd-attached@example.com>"
    msg.set_content("Could you take this one?")
    msg.add_attachment(original)
    return msg.as_bytes()


@pytest.mark.parametrize("raw", [
    make_email(sender="Anna Kowalska <anna.kowalska@example.com>", to="support@example.com",
               subject="Fwd: Order 1234 is late", body=GMAIL_FORWARD, message_id="<fwd-inline@example.com>"),
    forwarded_as_attachment(),
], ids=["inline", "attached"])
def test_an_agent_forwarding_a_customers_email_into_the_inbox_opens_the_customers_ticket(tmp_path, raw):
    """A customer wrote to Anna directly; Anna forwards it to support@ so the team takes it. The forward was
    an agent's message to our own address only: no ticket at all, so nobody saw it in the queue and no SLA
    ran. Like Zendesk and Help Scout, the forwarded message's sender is the customer and their words the
    request; the customer, who did not write to us, gets no acknowledgement."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    g = local.gmail()
    ref = deliver(g, raw)
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer.email == "jane@corp.example"
    assert ticket.customer.name == "Jane Cooper" and ticket.awaiting_reply
    assert "has not arrived yet" in ticket.question and "take this one" not in ticket.question
    assert acks(local) == []
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])
    send(g, make_email(sender="Ivan Petrov <support@example.com>", to="jane@corp.example",
                       subject="Re: Fwd: Order 1234 is late", in_reply_to=ticket.first_customer_message.message_id,
                       body="It ships today.\n\nIvan Petrov"), ref["threadId"])
    feed.sync()
    assert not host.ticket(ref["threadId"]).awaiting_reply


THUNDERBIRD_FORWARDS = {  # the client's own separator and header labels (Thunderbird's locales)
    "ru": "Посмотри, пожалуйста.\n\n-------- Перенаправленное сообщение --------\nТема: \tOrder 1234 is late\n"
          "Дата: \tMon, 30 Nov 2026 10:02:00 +0100\nОт: \tJane Cooper <jane@corp.example>\n"
          "Кому: \tanna.kowalska@example.com\n\n\n",
    "de": "Kannst du das übernehmen?\n\n-------- Weitergeleitete Nachricht --------\nBetreff: \tOrder 1234 is late\n"
          "Datum: \tMon, 30 Nov 2026 10:02:00 +0100\nVon: \tJane Cooper <jane@corp.example>\n"
          "An: \tanna.kowalska@example.com\n\n\n",
    "fr": "Tu peux t'en occuper ?\n\n-------- Message transféré --------\nObjet : \tOrder 1234 is late\n"
          "Date : \tMon, 30 Nov 2026 10:02:00 +0100\nDe : \tJane Cooper <jane@corp.example>\n"
          "Pour : \tanna.kowalska@example.com\n\n\n",
}


@pytest.mark.parametrize("language", sorted(THUNDERBIRD_FORWARDS))
def test_an_agents_forward_from_a_localized_thunderbird_opens_the_customers_ticket(tmp_path, language):
    """Anna's Thunderbird speaks her language: its forward block is headed "Перенаправленное сообщение" or
    "Weitergeleitete Nachricht", and its From line is "От:" or "Von:". The customer is still the sender."""
    body = THUNDERBIRD_FORWARDS[language] + "Hello, my order 1234 has not arrived yet. Can you check where it is?\n"
    local, host, feed = setup(tmp_path)
    feed.sync()
    ref = deliver(local.gmail(), make_email(sender="Anna Kowalska <anna.kowalska@example.com>",
                                            to="support@example.com", subject="Fwd: Order 1234 is late", body=body,
                                            message_id=f"<fwd-{language}@example.com>"))
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer.email == "jane@corp.example"
    assert "has not arrived yet" in ticket.question
    assert not {"Посмотри", "übernehmen", "occuper", "Nachricht", "Message"} & set(ticket.question.replace("?", " ").split())
    assert acks(local) == []


def test_an_agents_forward_to_engineering_is_still_an_internal_note(tmp_path):
    """Only a forward into the support inbox brings a request in: Anna forwarding a ticket's mail to an
    engineer answers nobody and opens nothing."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    ref = deliver(local.gmail(), make_email(sender="Anna Kowalska <anna.kowalska@example.com>",
                                            to="dev@example.com", subject="Fwd: Order 1234 is late",
                                            body=GMAIL_FORWARD, message_id="<fwd-dev@example.com>"))
    feed.sync()
    assert host.ticket(ref["threadId"]) is None and acks(local) == []


def test_an_agents_answer_to_the_colleague_a_customer_copied_is_a_reply(tmp_path):
    """Jane copies her colleague Bob ("Bob has the invoice details"); Ivan answers Bob. Only those who had
    written counted as the customer's side, so the answer was an internal note: the ticket kept waiting for a
    reply that had been given, and breached its SLA. People the customer copied are on the customer's side,
    as CCs are in Zendesk; agents and our own addresses on copy are not."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    g = local.gmail()
    ref = deliver(g, make_email(sender="Jane Cooper <jane@corp.example>", message_id="<cc0@corp.example>",
                                headers={"Cc": "Bob Stone <bob@corp.example>, anna.kowalska@example.com"}))
    feed.sync()
    send(g, make_email(sender="Ivan Petrov <support@example.com>", to="bob@corp.example", message_id="<cc1@example.com>",
                       subject="Re: Order 1234 is late", in_reply_to="<cc0@corp.example>",
                       body="Bob, which invoice number is it?\n\nIvan Petrov"), ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert [m.kind for m in ticket.messages][-1] == "agent" and not ticket.awaiting_reply
    assert "Helpdesk/Awaiting reply" not in thread_label_names(local, ref["threadId"])
    send(g, make_email(sender="Ivan Petrov <support@example.com>", to="anna.kowalska@example.com",
                       subject="Re: Order 1234 is late", in_reply_to="<cc1@example.com>", message_id="<cc2@example.com>",
                       body="Anna, can you look at this one?"), ref["threadId"])
    feed.sync()
    assert host.ticket(ref["threadId"]).messages[-1].kind == "internal"


def owned_conversation(tmp_path, message_id: str):
    """(local, host, feed, gmail, thread id) of Jane's ticket, owned by Anna."""
    from plugin_host.actions import Actions

    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    first = deliver(g, make_email(message_id=message_id, subject="Order 1234 is late"))
    feed.sync()
    owned = Actions(thread_id=first["threadId"])
    owned.add_labels("Owner/Anna Kowalska")
    host.execute(owned, host.ticket(first["threadId"]))
    return local, host, feed, g, first["threadId"]


def test_a_split_thread_keeps_the_owner_of_the_conversation_it_continues(tmp_path):
    """Anna owned the conversation; the customer's reply with a new subject landed in a thread of its own and
    sat unowned in the queue. It now carries Anna's Owner label too."""
    local, host, feed, g, first = owned_conversation(tmp_path, "<own0@example.org>")
    send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", message_id="<own1@example.com>",
                       subject="Re: Order 1234 is late", in_reply_to="<own0@example.org>",
                       body="Which address should it go to?\n\nAnna Kowalska"), first)
    feed.sync()
    split = deliver(g, make_email(message_id="<own2@example.org>", subject="New address for order 1234",
                                  in_reply_to="<own1@example.com>", references="<own0@example.org> <own1@example.com>",
                                  body="Please send it to 5 Main Street."))
    feed.sync()
    assert "Helpdesk/Owner/Anna Kowalska" in thread_label_names(local, split["threadId"])
    fresh = deliver(g, make_email(sender="Bob <bob@example.org>", message_id="<own3@example.org>", subject="Hello"))
    feed.sync()
    assert not any(name.startswith("Helpdesk/Owner/") for name in thread_label_names(local, fresh["threadId"]))


def test_references_to_another_customers_conversation_take_no_owner(tmp_path):
    """Mallory's new mail names Jane's conversation in In-Reply-To: it is handled as a reply (no acknowledgement
    to anyone), but does not take Anna, Jane's agent, as its owner."""
    local, host, feed, g, _ = owned_conversation(tmp_path, "<jane0@example.org>")
    stranger = deliver(g, make_email(sender="Mallory <mallory@example.net>", message_id="<m0@example.net>",
                                     subject="Something else", in_reply_to="<jane0@example.org>"))
    feed.sync()
    assert not any(n.startswith("Helpdesk/Owner/") for n in thread_label_names(local, stranger["threadId"]))


OUTLOOK_RECEIPT = """Your message

  To: support@example.com
  Subject: Where is my order 1234?
  Sent: Monday, December 7, 2026 10:00:00 AM (UTC+01:00)

was read on Monday, December 7, 2026 10:05:12 AM (UTC+01:00).
"""


@pytest.mark.parametrize("subject, body", [
    ("Read: Where is my order 1234?", OUTLOOK_RECEIPT),
    ("Return Receipt", "Your document: Order 1234\nwas received by: Jane Cooper/Corp\nat: 07.12.2026 10:05:12"),
    ("Przeczytane: Zamówienie 1234", "Wiadomość do: support@example.com została przeczytana 7.12.2026 10:05."),
    ("Прочитано: Заказ 1234", "Ваше сообщение было прочитано 07.12.2026 10:05."),
])
def test_a_plain_text_read_receipt_is_automatic(subject, body):
    """Some clients and gateways send a read receipt as plain text, not as a multipart/report: it opened a
    ticket (or put an answered one back in the queue) and was acknowledged."""
    from plugin_host.loopguard import automatic_reason

    msg = message_from_bytes(make_email(sender="Jane Cooper <jane@corp.example>", subject=subject, body=body))
    assert automatic_reason(msg).startswith("read receipt")


@pytest.mark.parametrize("subject, body", [
    ("Read: the manual", "I read the manual and the printer still jams. What now?"),
    ("Read receipt not working", "Your message was read on Monday says Outlook, but the tracking is wrong."),
    ("Order 1234", OUTLOOK_RECEIPT),  # a customer pasting what their client told them is theirs to say
])
def test_customers_mentioning_reading_are_customers(subject, body):
    from plugin_host.loopguard import automatic_reason

    assert automatic_reason(message_from_bytes(make_email(subject=subject, body=body))) == ""


def test_a_plain_text_read_receipt_opens_no_ticket(tmp_path):
    """Gmail puts "Read: Re: Where is my order 1234?" in a thread of its own (the subject differs): it became a
    ticket awaiting a reply."""
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    first = deliver(g, make_email(message_id="<rr0@example.org>", subject="Where is my order 1234?"))
    feed.sync()
    (ack,) = acks(local)
    receipt = deliver(g, make_email(message_id="<rr2@example.org>", subject="Read: Re: Where is my order 1234?",
                                    in_reply_to=ack["Message-ID"], body=OUTLOOK_RECEIPT))
    feed.sync()
    assert receipt["threadId"] != first["threadId"]
    assert host.ticket(receipt["threadId"]) is None and len(acks(local)) == 1
    assert "Helpdesk/Awaiting reply" not in thread_label_names(local, receipt["threadId"])


@pytest.mark.parametrize("subject, body", [
    ("READ: payment taken twice", "My payment was received by your bank twice on Monday. Please refund one."),
    ("Read receipt", "My message has been read, but nobody answered. Where is order 1234?"),
    ("Read: invoice", "Thanks, the invoice was received by our accounts team. When will the refund arrive?"),
    ("Lu", "Bonjour, votre message a été lu mais personne ne répond. Commande 1234."),
    ("Przeczytane", "Moja wiadomość została przeczytana, ale nikt nie odpowiedział. Zamówienie 1234."),
    ("Прочитано", "Ваше сообщение было прочитано, но ответа нет. Заказ 1234."),
])
def test_a_customer_whose_subject_reads_like_a_receipt_is_still_a_customer(subject, body):
    """A subject starting "Read"/"Lu"/"Прочитано" and a sentence about reading or receiving made a customer's
    complaint a read receipt, dropped without a ticket. A receipt's sentence is followed by when it was read
    ("was read on Monday, December 7, 2026", "została przeczytana 7.12.2026"), Notes' by "was received by:"."""
    from plugin_host.loopguard import automatic_reason

    assert automatic_reason(message_from_bytes(make_email(subject=subject, body=body))) == ""


def test_a_german_outlook_receipt_naming_its_time_zone_is_automatic():
    """Outlook writes the read time with its zone's name, far more than 40 characters between "wurde am" and
    "gelesen": the German receipt was a customer's message."""
    from plugin_host.loopguard import automatic_reason

    body = ("Ihre Nachricht\n\n  An: support@example.com\n  Betreff: Bestellung 1234\n"
            "  Gesendet: Montag, 7. Dezember 2026 10:00:00 (UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien\n\n"
            "wurde am Montag, 7. Dezember 2026 10:05:12 (UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien "
            "gelesen.\n")
    msg = message_from_bytes(make_email(subject="Gelesen: Bestellung 1234", body=body))
    assert automatic_reason(msg).startswith("read receipt")


def test_a_split_thread_an_agent_took_already_keeps_its_owner(tmp_path):
    """Bob took the split-off reply before the sync saw it: the conversation's owner is not added beside him."""
    from plugin_host.actions import Actions

    local, host, feed, g, first = owned_conversation(tmp_path, "<tk0@example.org>")
    send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", message_id="<tk1@example.com>",
                       subject="Re: Order 1234 is late", in_reply_to="<tk0@example.org>", body="Which address?"), first)
    feed.sync()
    split = deliver(g, make_email(message_id="<tk2@example.org>", subject="New address for order 1234",
                                  in_reply_to="<tk1@example.com>", body="Please send it to 5 Main Street."))
    taken = Actions(thread_id=split["threadId"])
    taken.add_labels("Owner/Bob Builder")
    host.execute(taken, None)
    feed.sync()
    owners = {n for n in thread_label_names(local, split["threadId"]) if n.startswith("Helpdesk/Owner/")}
    assert owners == {"Helpdesk/Owner/Bob Builder"}


@pytest.mark.parametrize("subject, body", [
    ("RE: Read: Where is my order 1234?", OUTLOOK_RECEIPT),  # a gateway answering with the receipt
    ("Return Receipt (Confirm)", "Your document: Order 1234\nwas received by: Jane Cooper/Corp\nat: 07.12.2026 10:05"),
    ("Read: Where is my order 1234?", "Your message\n\n  From: Support <support@example.com>\n  To: Jane Cooper\n"
                                      "  Subject: Where is my order 1234?\n  Sent: 07.12.2026 10:00\n\n"
                                      "was read on 07.12.2026 10:05.\n"),  # its header block quotes nothing
])
def test_more_forms_of_plain_text_read_receipts_are_automatic(subject, body):
    from plugin_host.loopguard import automatic_reason

    msg = message_from_bytes(make_email(sender="Jane Cooper <jane@corp.example>", subject=subject, body=body))
    assert automatic_reason(msg).startswith("read receipt")


def test_a_receipt_is_a_short_message_under_a_receipts_subject():
    from plugin_host.loopguard import is_read_receipt

    assert not is_read_receipt("Order 1234", OUTLOOK_RECEIPT)
    long_complaint = OUTLOOK_RECEIPT + "\nAnd that is all Outlook says, while my order " + "still has not come. " * 80
    assert not is_read_receipt("Read: Where is my order 1234?", long_complaint)
