"""The loop guard reading headers it cannot decode, and Google Groups' DMARC rewrite with only
X-Original-Sender: played through the sync against the local mailbox, acknowledgements included."""
from __future__ import annotations

from .conftest import deliver, make_email
from .test_autoreply import acks, setup
from .test_threads_review import GROUP_HEADERS


def test_a_group_rewrite_with_only_x_original_sender_names_the_customer_from_the_via_name(tmp_path):
    """Google Groups rewrote From to "'Jane Cooper' via Help" <help@…> and left X-Original-Sender, with no
    X-Original-From nor Reply-To: the writer is Jane Cooper at her own address, and she is acknowledged."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    ref = deliver(local.gmail(), make_email(sender="'Jane Cooper' via Help <help@example.com>", to="help@example.com",
                                            message_id="<group3@corp.example>", headers=GROUP_HEADERS))
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer == type(ticket.customer)("Jane Cooper", "jane@corp.example")
    assert [a["To"] for a in acks(local)] == ["jane@corp.example"]


def test_headers_in_a_charset_nobody_knows_are_read_as_written(tmp_path):
    """A mail client labelled its Subject, its From name and the group's List-Id with a charset Python does not
    know: the guard reads them undecoded rather than failing, so the customer's question is still a ticket
    (our own group recognised by its address) and is acknowledged once."""
    local, host, feed = setup(tmp_path)
    feed.sync()
    group = "".join(f"{name}: {value}\r\n" for name, value in GROUP_HEADERS.items() if name != "List-Id")
    raw = ("From: =?x-no-such?q?Jane?= <jane@corp.example>\r\nTo: help@example.com\r\n"
           "Subject: =?x-no-such?q?Order_late?=\r\nList-Id: =?x-no-such?q?Help?= <help.example.com>\r\n"
           f"{group}Message-ID: <charset1@corp.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
           "Content-Type: text/plain\r\n\r\nMy order is late, can you check?\r\n").encode()
    ref = deliver(local.gmail(), raw)
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer.email == "jane@corp.example"
    assert [a["To"] for a in acks(local)] == ["jane@corp.example"]
