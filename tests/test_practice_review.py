"""Labeldesk against ../shared/reference/support-practice.md, scenario by scenario on the local mailbox: what a
conformance review found wrong (full-name signatures Gmail inserts below its "-- " line; social-channel tickets
that never got their 10-minute target; the handover line gone once the new owner took the ticket)."""
from __future__ import annotations

import pytest

from plugin_host.actions import Actions
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email, send
from .test_autoreply import setup
from .test_sla import labels_of, monday
from .test_sla import setup as sla_setup

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


# -- social media within 10 minutes: a thread labelled Channel/<network> runs the social target --------------

def social_ticket(tmp_path, channel: str):
    """A question that came in at Monday 10:00 and was labelled ``Channel/<channel>`` (as a social channel's
    import labels it, DESIGN.md); the sla plugin on."""
    local, host, clock = sla_setup(tmp_path, monday(10))
    ref = deliver(local.gmail(), make_email(message_id=f"<{channel}@example.org>", subject="Where is my parcel?"))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(10).timestamp() * 1000)
    labelled = Actions(thread_id=ref["threadId"])
    labelled.add_labels(f"Channel/{channel}")
    host.executor.execute(labelled, host.ticket(ref["threadId"]))
    ChangeFeed(host).sync()
    return host, clock, ref["threadId"]


def test_a_ticket_from_a_social_channel_is_due_within_ten_minutes_and_the_sweep_flags_it(tmp_path):
    host, clock, thread = social_ticket(tmp_path, "Mastodon")
    ticket = host.ticket(thread)
    assert ticket.channel == "mastodon"
    assert host.deadline(ticket).due == monday(10, 10)  # social_first_response, not normal's 4h
    clock["now"] = monday(10, 8)
    host.sweep()  # found by the sweep's search although 8 minutes are far less than any priority's target
    assert "Helpdesk/SLA/At risk" in labels_of(host, thread)
    clock["now"] = monday(10, 11)
    host.sweep()
    assert "Helpdesk/SLA/Breached" in labels_of(host, thread)


def test_a_channel_label_of_email_keeps_the_email_targets(tmp_path):
    host, clock, thread = social_ticket(tmp_path, "Email")
    ticket = host.ticket(thread)
    assert ticket.channel == "email" and host.deadline(ticket).due == monday(14)


# -- a handover: the new owner introduces themselves, also after pressing Take -----------------------------------

def test_the_agent_who_took_a_ticket_is_offered_the_handover_line_until_they_have_written(tmp_path):
    """Ivan answered and owns the ticket; Anna takes it over (he is ill) with Take, then opens compose. The
    handover line was offered only while someone else owned the ticket, so Take — the way to hand over — took it
    away just before Anna's first words to the customer."""
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    ref = deliver(g, make_email(sender="Jane Cooper <jane@example.org>", message_id="<ho@example.org>", subject="Order"))
    feed.sync()
    send(g, make_email(sender="Ivan Petrov <support@example.com>", to="jane@example.org", subject="Re: Order",
                       message_id="<ho-r1@example.com>", in_reply_to="<ho@example.org>",
                       body="We are checking with the carrier.\n\nIvan Petrov"), ref["threadId"])
    feed.sync()
    thread, anna = ref["threadId"], host.config.agent("anna.kowalska@example.com")
    host.card_action("autoreply.take", {"threadId": thread, "owner": "Ivan Petrov"}, {}, host.ticket(thread), anna)
    assert host.ticket(thread).owner_name == "Anna Kowalska"
    offered = {i["label"]: i["content"] for i in host.compose_suggestions(host.ticket(thread), anna)}
    assert "I'm Anna Kowalska; I'm taking over your request from Ivan Petrov" in offered["Handover from Ivan Petrov"]
    send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", subject="Re: Order",
                       message_id="<ho-r2@example.com>", in_reply_to="<ho@example.org>",
                       body="I'm Anna Kowalska; I'm taking over.\n\nAnna Kowalska"), thread)
    feed.sync()
    offered = [i["label"] for i in host.compose_suggestions(host.ticket(thread), anna)]
    assert offered == ["Insert my signature"]  # introduced already
    ivan = host.config.agent("ivan.petrov@example.com")  # Ivan back: Anna owns it, so he is offered the line
    assert "Handover from Anna Kowalska" in [i["label"] for i in host.compose_suggestions(host.ticket(thread), ivan)]


# -- the signature block itself ----------------------------------------------------------------------------

def signature_of(body: str) -> str:
    from email import message_from_string

    from plugin_host.text import signature_block

    return signature_block(message_from_string("From: support@example.com\nTo: jane@example.org\nSubject: Re: Order\n"
                                               "Content-Type: text/plain; charset=utf-8\n\n" + body))


def test_the_signature_block_is_its_first_six_lines_with_words():
    assert signature_of("It shipped.\n\n-- \nBest regards,\n\nAnna Kowalska\nSupport Engineer\n") == \
        "Best regards,\nAnna Kowalska\nSupport Engineer"
    six = "".join(f"Line {n}\n" for n in range(6))
    assert signature_of(f"It shipped.\n-- \n{six}Anna Kowalska\n") == six.strip()  # a long block: its start only


def test_a_row_of_dashes_is_no_signature_delimiter():
    assert signature_of("Your order:\n---------- \nAnna Kowalska, 2 items\n") == ""
    assert signature_of("It shipped.\n--\nAnna Kowalska\n") == "Anna Kowalska"  # "--" without its space: still one


def test_a_full_name_in_the_quoted_history_below_a_first_name_signature_signs_nothing(tmp_path):
    ticket = agent_answers(tmp_path, "Your parcel is on its way.\n\n-- \nAnna\n" + QUOTE + "> \n> -- \n> Anna Kowalska\n")
    assert ticket.has_label("Warning/No full name")


def test_a_colleagues_signature_in_an_outlook_quote_does_not_name_who_sent_as_the_team(tmp_path):
    """Sent as the team with no sign-off, over an Outlook-style quote (no ">") of Anna's signed message: the
    signature below the quote's dashes is Anna's, so it names nobody as the writer of this reply."""
    body = ("Your parcel is on its way.\n\nFrom: Anna Kowalska <anna.kowalska@example.com>\nSent: Monday, November 23, "
            "2026 10:00 AM\nTo: Jane Cooper <jane@example.org>\nSubject: Order\n\nIt shipped.\n-- \nAnna Kowalska\n")
    ticket = agent_answers(tmp_path, body, sender="Support <support@example.com>")
    assert ticket.owner_name != "Anna Kowalska"


def test_a_channel_label_counts_without_a_label_root_and_a_social_one_wins_over_email():
    from plugin_host.tickets import channel_of

    assert channel_of({"Channel/Mastodon"}, "") == "mastodon"
    assert channel_of({"Helpdesk/Channel/Mastodon"}, "") == "email"  # another root's label is not ours
    assert channel_of({"Helpdesk/Channel/Email", "Helpdesk/Channel/Mastodon"}, "Helpdesk") == "mastodon"


def test_after_take_the_handover_names_the_colleague_who_wrote_last():
    """Ivan answered, then Piotr; Anna took the ticket over: she introduces herself as taking over from Piotr."""
    from types import SimpleNamespace

    from plugin_host.config import Agent
    from plugin_host.ticket import Person
    from plugins.autoreply import handed_over_from

    agents = {a.email: a for a in (Agent("anna@example.com", "Anna", "Kowalska"), Agent("ivan@example.com", "Ivan", "Petrov"),
                                   Agent("piotr@example.com", "Piotr", "Nowak"))}
    answers = [SimpleNamespace(sender=Person(name, email), text="Still checking.", signature="")
               for name, email in (("Ivan Petrov", "ivan@example.com"), ("Piotr Nowak", "piotr@example.com"))]
    ticket = SimpleNamespace(owner_name="Anna Kowalska", agent_messages=answers)
    assert handed_over_from(ticket, agents["anna@example.com"], agents) == "Piotr Nowak"
