"""Labeldesk against ../shared/reference/support-practice.md, scenario by scenario on the local mailbox: what a
conformance review found wrong (full-name signatures Gmail inserts below its "-- " line)."""
from __future__ import annotations

import pytest

from .conftest import deliver, make_email, send
from .test_autoreply import setup

QUOTE = "\n\nOn Mon, 23 Nov 2026 at 10:00, Jane Cooper <jane@example.org> wrote:\n> Hello, my order has not arrived yet.\n"


def agent_answers(tmp_path, body: str, sender: str = "Anna Kowalska <support@example.com>"):
    """Jane asks, Labeldesk acknowledges, an agent answers with ``body`` from Gmail: the ticket after that."""
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    ref = deliver(g, make_email(sender="Jane Cooper <jane@example.org>", message_id="<sig@example.org>", subject="Order"))
    feed.sync()
    send(g, make_email(sender=sender, to="jane@example.org", subject="Re: Order", message_id="<sig-r@example.com>",
                       in_reply_to="<sig@example.org>", body=body), ref["threadId"])
    feed.sync()
    return host.ticket(ref["threadId"])


def test_the_send_as_signature_gmail_puts_below_its_dashes_is_a_full_name_sign_off(tmp_path):
    """`labeldesk signatures sync` sets "Anna Kowalska<br>Support Engineer" as the send-as signature; Gmail puts it
    under a "-- " line, which the customer's text drops as a signature, so every such reply was flagged."""
    ticket = agent_answers(tmp_path, "Your parcel is on its way.\n\n-- \nAnna Kowalska\nSupport Engineer" + QUOTE)
    assert ticket.owner_name == "Anna Kowalska"
    assert not ticket.has_label("Warning/No full name")


def test_the_signature_below_the_dashes_identifies_the_agent_who_sent_as_the_team(tmp_path):
    ticket = agent_answers(tmp_path, "Your parcel is on its way.\n\n--\nIvan Petrov\nSupport" + QUOTE,
                           sender="Support <support@example.com>")
    assert ticket.owner_name == "Ivan Petrov" and not ticket.has_label("Warning/No full name")


@pytest.mark.parametrize("body", [
    "Your parcel is on its way.\n\n-- \nAnna\nExample Inc." + QUOTE,  # a first name only, below the dashes too
    # a full name only in the quoted history (a colleague's earlier signature) signs nothing
    "Your parcel is on its way." + QUOTE + "> \n> -- \n> Anna Kowalska\n",
])
def test_a_first_name_below_the_dashes_or_a_full_name_in_the_quote_still_warns(tmp_path, body):
    ticket = agent_answers(tmp_path, body)
    assert ticket.has_label("Warning/No full name")
