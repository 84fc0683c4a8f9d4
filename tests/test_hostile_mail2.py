"""Hostile and malformed mail against today's parsing: forwards, group unwrapping, charset guessing, names,
split-thread lookups, calendar replies and dates. Each test delivers mail into the local mailbox and syncs
with every plugin on, unless it exercises one pure function."""
from __future__ import annotations

import re

from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email

ALL_PLUGINS = {"mailbox": {"address": "support@example.com", "aliases": ["help@example.com"]},
               "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
               "plugins": {"enabled": ["autoreply", "sla", "kb_suggest"]}}


def all_plugins_host(tmp_path):
    """(local, host): the real plugins only (no test acknowledger)."""
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path, config=ALL_PLUGINS, plugin=object())
    return local, host


def sent_to(local) -> list[tuple[str, str]]:
    """(To, X-Labeldesk) of every message the mailbox sent."""
    import email

    found = []
    for message in local.mailbox.messages.values():
        if "SENT" in message.label_ids:
            parsed = email.message_from_bytes(message.raw)
            found.append((str(parsed["To"]), str(parsed["X-Labeldesk"])))
    return found


def searches(host) -> list[str]:
    """Every ``q`` the host sends to messages.list from now on."""
    seen, original = [], host.client.list_message_ids

    def spy(q=None, *args, **kwargs):
        seen.append(q or "")
        return original(q, *args, **kwargs)

    host.client.list_message_ids = spy
    return seen


def test_message_ids_with_quotes_or_search_operators_are_not_looked_up(tmp_path):
    """A new ticket's In-Reply-To and References were pasted into "rfc822msgid:<id>" searches as they were:
    an id such as <"a> made Gmail answer 400 on every sync (the thread failed, no acknowledgement, the cursor
    stuck until it was set aside), and <x(a)OR(in:anywhere)> put the customer's own operators into the query.
    Such ids are now skipped; plain ones are still looked up."""
    local, host = all_plugins_host(tmp_path)
    queries = searches(host)
    deliver(local.gmail(), make_email(sender="Rae <rae@example.org>", message_id="<ops@example.org>",
                                      in_reply_to='<a"OR"in:anywhere>',
                                      references='<plain@example.net> <x(a)OR(in:anywhere)> <y{in:anywhere}> <"a>'))
    report = ChangeFeed(host).sync()
    assert report.ok, report.failed
    assert sent_to(local) == [("rae@example.org", "ack")]
    lookups = [q for q in queries if q.startswith("rfc822msgid:") and "labeldesk" not in q]
    assert "rfc822msgid:<plain@example.net>" in lookups
    assert all(re.fullmatch(r"rfc822msgid:<[\w.@+=$%&'*/!#^`|~\[\]-]+>", q) for q in lookups), lookups


def config_with_agent(tmp_path):
    from plugin_host.config import load_config

    return load_config(tmp_path / "x.toml", data=ALL_PLUGINS, environ={})


def agent_forward(block: str, subject: str = "Fwd: my order") -> bytes:
    """Anna forwarding a customer's mail into support@ with Gmail's separator above ``block``."""
    return make_email(sender="Anna Kowalska <anna.kowalska@example.com>", subject=subject,
                      message_id=f"<fwd{abs(hash(block))}@example.com>",
                      body="Taking this one in.\n\n---------- Forwarded message ---------\n" + block)


def test_a_forwarded_line_of_spaces_is_read_in_linear_time(tmp_path):
    """Each line of a forwarded header block, and each "From:" line of the forwarded body, was matched by a
    pattern that backtracks over whitespace ("From: a", 100,000 spaces, "b"): a minute of CPU on every read of
    the thread (each sync, sweep and side-panel card), hours for a megabyte."""
    import time

    from plugin_host.tickets import ticket_from_eml

    block = "From: Bob <bob@example.net>\nSubject: late\n\nFrom: a" + " " * 100_000 + "b\nMy order is late.\n"
    started = time.monotonic()
    ticket = ticket_from_eml(agent_forward(block), config_with_agent(tmp_path))
    assert time.monotonic() - started < 5
    assert ticket.customer.email == "bob@example.net" and ticket.first_customer_message.forwarded_by


def test_a_megabyte_line_of_spaces_is_not_read_as_an_attribution(tmp_path):
    """Every line below the customer's first one is checked for an "On … wrote:" attribution, whose pattern
    tries each split of the leading whitespace: a customer's line of 2,000,000 spaces took 30 s on every read of
    the thread (sync, sweep, each card). A line that long is no attribution; it is now read in a moment."""
    import time

    from plugin_host.tickets import ticket_from_eml

    raw = make_email(body="Hi, my order is late.\n" + " " * 2_000_000 + "x\n")
    started = time.monotonic()
    ticket = ticket_from_eml(raw, config_with_agent(tmp_path))
    assert time.monotonic() - started < 5
    assert ticket.first_customer_message.text.startswith("Hi, my order is late.")


CALENDAR_REPLY = (b"From: Bob <bob@example.net>\r\nSubject: Accepted: Call\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n"
                  b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n")


def with_attached_message(inner: bytes, text: bytes = b"Why did the attached reply cancel my booking?") -> bytes:
    return (b"From: Jane <jane@example.org>\r\nTo: support@example.com\r\nSubject: My booking\r\n"
            b"Message-ID: <cal%d@example.org>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
            b"--B\r\nContent-Type: text/plain\r\n\r\n%s\r\n--B\r\nContent-Type: message/rfc822\r\n"
            b"Content-Disposition: attachment\r\n\r\n%s\r\n--B--\r\n" % (abs(hash(inner)), text, inner))


def test_a_calendar_reply_attached_to_a_customers_question_is_no_calendar_reply(tmp_path):
    """The iTIP check looked into attached messages too: a customer asking about a calendar answer they
    forwarded as an attachment ("why did the attached reply cancel my booking?") was taken for the calendar's
    own reply, so no ticket was opened and nobody answered; METHOD:REPLY in the customer's own text was
    already a question. Both are tickets and acknowledged once; a calendar's own reply still is none."""
    local, host = all_plugins_host(tmp_path)
    g = local.gmail()
    attached = deliver(g, with_attached_message(CALENDAR_REPLY))
    in_text = deliver(g, make_email(sender="Ida <ida@example.org>", message_id="<itip-text@example.org>",
                                    body="My calendar shows:\nBEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\nWhy?"))
    own = deliver(g, CALENDAR_REPLY.replace(b"Subject:", b"To: support@example.com\r\nMessage-ID: <r@x.net>\r\nSubject:"))
    report = ChangeFeed(host).sync()
    assert report.ok, report.failed
    assert host.ticket(attached["threadId"]).customer.email == "jane@example.org"
    assert host.ticket(in_text["threadId"]) is not None and host.ticket(own["threadId"]) is None
    assert sorted(sent_to(local)) == [("ida@example.org", "ack"), ("jane@example.org", "ack")]


def undeclared(body: bytes, n: int) -> bytes:
    """A message whose 8-bit text part declares no charset (old Outlook, The Bat!, web forms)."""
    return (b"From: Client %d <client%d@example.org>\r\nTo: support@example.com\r\nSubject: Order\r\n"
            b"Message-ID: <undeclared%d@example.org>\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n" % (n, n, n, body))


def test_utf8_with_one_stray_byte_is_read_as_utf8(tmp_path):
    """An undeclared body that is UTF-8 but for one byte (a cut last character, a "café" pasted from a
    Windows-1252 page) was not UTF-8 for the decoder, so the guess among Cyrillic and Central European
    charsets read all of it as mojibake ("Ð—Ð´Ñ€Ð°Ð²..."): the card, the language and the acknowledgement's
    language all wrong. It is now read as UTF-8 with the one byte replaced; real KOI8-R and Windows-1250 are
    still guessed."""
    from plugin_host.tickets import ticket_from_eml

    config = config_with_agent(tmp_path)
    words = "Здравствуйте, мой заказ так и не пришёл. Проверьте, пожалуйста."
    for n, stray in enumerate((b"\xff", b" caf\xe9", words.encode()[:-1])):
        ticket = ticket_from_eml(undeclared(words.encode() + stray, n), config)
        assert ticket.first_customer_message.text.startswith(words[:40]) and ticket.language == "ru", stray
    for n, (text, charset) in enumerate(((words, "koi8-r"), ("Dzień dobry, nie mogę zapłacić.", "cp1250")), 10):
        assert ticket_from_eml(undeclared(text.encode(charset), n), config).first_customer_message.text == text


BOUNCE = (b"From: Mail Delivery Subsystem <mailer-daemon@mx.example.net>\r\nTo: jane@example.org\r\n"
          b"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
          b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n"
          b"--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
          b"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
          b"Final-Recipient: rfc822; orders@shop.example\r\nAction: failed\r\nStatus: 5.1.1\r\n--R--\r\n")


def test_a_bounce_a_customer_forwards_as_an_attachment_is_their_question(tmp_path):
    """"Your order confirmation bounced, see attached": the bounce inside made the customer's own mail a
    "report part", so no ticket was opened; the report check now reads only the message's own parts, and a
    real bounce (its delivery-status part its own) is still no ticket."""
    local, host = all_plugins_host(tmp_path)
    g = local.gmail()
    forwarded = deliver(g, with_attached_message(BOUNCE, b"My order mail bounced, see the attached notice. Why?"))
    real = deliver(g, BOUNCE.replace(b"To: jane@example.org", b"To: support@example.com\r\nMessage-ID: <b@mx.net>"))
    report = ChangeFeed(host).sync()
    assert report.ok, report.failed
    assert host.ticket(forwarded["threadId"]).customer.email == "jane@example.org"
    assert host.ticket(real["threadId"]) is None
    assert sent_to(local) == [("jane@example.org", "ack")]
