"""A message claiming to be an agent's (or our own, or our group's) that Gmail's Authentication-Results does not
vouch for is a customer's: anyone can write ``From: anna.kowalska@example.com``. Mail without the header (what we
sent, inserted mail, the local mailbox's) is judged as before."""
from __future__ import annotations

import email
import email.policy

from plugin_host.authenticity import gmail_verdict, parse_verdict, sender_doubt
from plugin_host.tickets import ticket_from_eml

from .conftest import deliver, make_email
from .test_autoreply import acks, setup
from .test_hostile_mail2 import agent_forward, config_with_agent
from .test_host_sync import thread_label_names
from .test_threads_review import GROUP_HEADERS

ANNA = "Anna Kowalska <anna.kowalska@example.com>"
# What Gmail writes on mail it receives (RFC 8601), as "Show original" shows it.
GENUINE = ("mx.google.com; dkim=pass header.i=@example.com header.s=google header.b=Xy12AbCd; "
           "spf=pass (google.com: domain of anna.kowalska@example.com designates 209.85.220.41 as permitted sender) "
           "smtp.mailfrom=anna.kowalska@example.com; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com")
FORGED = ("mx.google.com; spf=pass (google.com: domain of mallory@evil.example designates 203.0.113.9 as permitted "
          "sender) smtp.mailfrom=mallory@evil.example; dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=example.com")
# A domain without DMARC: Gmail records no dmarc result, only SPF and DKIM for whatever domains they were.
NO_DMARC_FORGED = ("mx.google.com; dkim=pass header.i=@evil.example header.s=s1 header.b=Zz; spf=pass (google.com: "
                   "domain of mallory@evil.example designates 203.0.113.9 as permitted sender) "
                   "smtp.mailfrom=mallory@evil.example")
NO_DMARC_GENUINE = ("mx.google.com; spf=pass (google.com: domain of anna.kowalska@example.com designates "
                    "209.85.220.41 as permitted sender) smtp.mailfrom=anna.kowalska@example.com")


def received(raw: bytes, *results: str, name: str = "Authentication-Results") -> bytes:
    """``raw`` as Gmail stores it after receiving it: each header put on top, the first one topmost."""
    return b"".join(f"{name}: {value}\r\n".encode() for value in results) + raw


def open_ticket(local, feed):
    """A customer's question waiting for an answer, and its thread id."""
    ref = deliver(local.gmail(), make_email(message_id="<q1@example.org>", subject="Order 1234 is late"))
    feed.sync()
    return ref


def agent_reply(results: tuple[str, ...], n: int = 1) -> bytes:
    return received(make_email(sender=ANNA, to="Jane Customer <jane@example.org>", subject="Re: Order 1234 is late",
                               body="Hi Jane, it ships today.", message_id=f"<a{n}@example.com>",
                               in_reply_to="<q1@example.org>"), *results)


def test_a_forged_agent_reply_stops_no_clock_and_keeps_the_ticket_awaiting_reply(tmp_path, caplog):
    """Mallory writes From: Anna into an open ticket's thread; Gmail's verdict is dmarc=fail for example.com. It
    was Anna's reply: the first-response clock stopped and Awaiting reply came off, so the customer waited
    unseen. It is now a customer's message, and the ticket says why."""
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    deliver(local.gmail(), agent_reply((FORGED,)), threadId=ref["threadId"])
    with caplog.at_level("WARNING", logger="plugin_host.host"):
        feed.sync()
    assert "read as a customer's: From anna.kowalska@example.com is not authenticated by Gmail" in caplog.text
    ticket = host.ticket(ref["threadId"])
    forged = ticket.messages[-1]
    assert forged.kind == "customer" and "dmarc=fail (example.com)" in forged.forged_from
    assert ticket.first_agent_reply_at is None and ticket.awaiting_reply
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])
    assert host.events_for(ticket, {forged.id}) == ["on_customer_replied"]
    assert [a["To"] for a in acks(local)] == ["jane@example.org"]  # Anna's address is never acknowledged


def test_a_genuine_agent_reply_that_gmail_authenticated_still_answers(tmp_path):
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    deliver(local.gmail(), agent_reply((GENUINE,)), threadId=ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket.messages[-1].kind == "agent" and not ticket.messages[-1].forged_from
    assert ticket.first_agent_reply_at is not None and not ticket.awaiting_reply
    assert "Helpdesk/Awaiting reply" not in thread_label_names(local, ref["threadId"])


def test_a_header_the_sender_wrote_is_not_believed_only_googles_topmost_counts(tmp_path):
    """Mallory's own "Authentication-Results: mx.google.com; dmarc=pass" sits below the one Gmail puts on top;
    one naming another server counts for nothing wherever it is."""
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    own = "mx.google.com; dkim=pass header.i=@example.com; dmarc=pass header.from=example.com"
    other = "mail.evil.example; dmarc=pass header.from=example.com"
    deliver(local.gmail(), agent_reply((other, FORGED, own), n=2), threadId=ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket.messages[-1].kind == "customer" and ticket.awaiting_reply
    msg = email.message_from_bytes(agent_reply((other, FORGED, own)), policy=email.policy.compat32)
    assert str(gmail_verdict(msg)) == str(parse_verdict(FORGED))


def test_a_domain_without_dmarc_is_judged_by_its_aligned_spf_or_dkim():
    """With no DMARC record Gmail records no dmarc result: a pass counts only for our domain's own SPF envelope or
    DKIM signature (a subdomain too), never for the sender's own domain; an error vouches for nothing."""
    msg = email.message_from_bytes(make_email(sender=ANNA), policy=email.policy.compat32)
    anna = "anna.kowalska@example.com"
    assert sender_doubt(msg, anna, parse_verdict(NO_DMARC_GENUINE)) == ""
    assert "spf=pass (evil.example)" in sender_doubt(msg, anna, parse_verdict(NO_DMARC_FORGED))
    assert sender_doubt(msg, anna, parse_verdict("mx.google.com; dkim=pass header.d=mail.example.com")) == ""
    assert sender_doubt(msg, anna, parse_verdict("mx.google.com; dkim=pass header.d=example.com.evil.example"))
    assert sender_doubt(msg, anna, parse_verdict("mx.google.com; spf=temperror smtp.mailfrom=anna@example.com"))
    assert sender_doubt(msg, anna, parse_verdict("mx.google.com; spf=pass smtp.mailfrom=a@example.com ;;; =="))
    # dmarc=fail wins over a DKIM pass of a subdomain that strict alignment refused
    assert sender_doubt(msg, anna, parse_verdict("mx.google.com; dkim=pass header.d=mail.example.com; "
                                                 "dmarc=fail header.from=example.com"))
    assert sender_doubt(msg, anna, None) == ""  # no verdict: judged by its From as before


def test_mail_without_authentication_results_keeps_its_sender(tmp_path):
    """Inserted mail, what we sent and the local mailbox's mail carry no Gmail verdict: an agent's From is the
    agent's, as before."""
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    deliver(local.gmail(), agent_reply(()), threadId=ref["threadId"])
    feed.sync()
    assert host.ticket(ref["threadId"]).messages[-1].kind == "agent"


def test_a_forged_forward_opens_no_ticket_for_a_third_party(tmp_path):
    """A forged "Anna forwarding Bob's mail" made Bob the customer with no acknowledgement (he wrote to Anna, not
    to us): a ticket in anyone's name that its customer never hears of. It is now the claimed forwarder's own
    message; a forward Gmail authenticated is still Bob's request."""
    config = config_with_agent(tmp_path)
    block = "From: Bob <bob@example.net>\nSubject: late\n\nMy order is late.\n"
    forged = ticket_from_eml(received(agent_forward(block), FORGED), config)
    first = forged.first_customer_message
    assert forged.customer.email == "anna.kowalska@example.com" and not first.forwarded_by
    assert "dmarc=fail" in first.forged_from
    genuine = ticket_from_eml(received(agent_forward(block), GENUINE), config)
    assert genuine.customer.email == "bob@example.net"
    assert genuine.first_customer_message.forwarded_by == "anna.kowalska@example.com"


GROUP_OUTER = ("mx.google.com; dkim=pass header.i=@example.com header.s=google header.b=Gg; "
               "arc=pass (i=1 spf=pass spfdomain=example.com dkim=pass dkdomain=example.com dmarc=pass "
               "fromdomain=example.com); spf=pass (google.com: domain of help+bncBAABBQ4XYWQMGQE7S5K3YA@example.com "
               "designates 209.85.220.69 as permitted sender) "
               "smtp.mailfrom=help+bncBAABBQ4XYWQMGQE7S5K3YA@example.com; "
               "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com")


def group_post(writer_results: str, *, sealer: str = "google.com", outer: str = GROUP_OUTER) -> bytes:
    """Anna's post through our help@ Google Group, rewritten "'Anna Kowalska' via Help" <help@example.com>,
    with the verdict Google sealed into ARC when the group took it in (``writer_results``)."""
    headers = {**GROUP_HEADERS, "X-Original-From": ANNA, "X-Original-Sender": "anna.kowalska@example.com",
               "Cc": "help@example.com"}  # Anna answered all: Jane, and the group Jane wrote to
    raw = make_email(sender="'Anna Kowalska' via Help <help@example.com>", to="Jane Customer <jane@example.org>",
                     subject="Re: Order 1234 is late", body="Hi Jane, it ships today.", message_id="<g1@example.com>",
                     in_reply_to="<q1@example.org>", headers=headers)
    raw = received(raw, f"i=1; {writer_results}", name="ARC-Authentication-Results")
    raw = received(raw, f"i=1; a=rsa-sha256; t=1776889514; cv=none; d={sealer}; s=arc-20240605; b=AbC=",
                   name="ARC-Seal")
    return received(raw, outer)


def test_an_agent_posting_through_our_group_is_believed_on_googles_sealed_verdict(tmp_path):
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    deliver(local.gmail(), group_post(GENUINE), threadId=ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket.messages[-1].kind == "agent" and not ticket.awaiting_reply


def test_a_forged_post_through_our_group_is_a_customers(tmp_path):
    """Our group's headers (List-Id, "'Anna' via Help", X-Original-From) are plain text anyone can write, and a
    public group sends anyone's post with its own authenticated envelope. The writer counts as Anna only on the
    verdict Google sealed when the group took the post in; a post sent straight to us with the group's headers,
    or with an ARC record sealed by anyone else, is a customer's."""
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    g = local.gmail()
    posted_forged = group_post(FORGED)  # through the real group: Google saw dmarc=fail for example.com
    straight = group_post(GENUINE, outer=FORGED)  # to support@ directly, group headers and all
    self_sealed = group_post(GENUINE, sealer="evil.example")  # an ARC set Mallory sealed
    for n, raw in enumerate((posted_forged, straight, self_sealed)):
        deliver(g, raw.replace(b"<g1@example.com>", f"<g{n}x@example.com>".encode()), threadId=ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    posts = [m for m in ticket.messages if not m.ours][1:]
    assert [m.kind for m in posts] == ["customer"] * 3, [(m.kind, m.automatic_reason) for m in posts]
    assert "dmarc=fail" in posts[0].forged_from and "not delivered by our group" in posts[1].forged_from
    assert "ARC record" in posts[2].forged_from
    assert ticket.first_agent_reply_at is None and ticket.awaiting_reply


def test_the_side_panel_shows_why_a_message_was_not_taken_for_the_agents(tmp_path):
    from gmail_addon.cards import ticket_card

    from .test_addon import validate_card

    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    deliver(local.gmail(), agent_reply((FORGED,)), threadId=ref["threadId"])
    feed.sync()
    card = ticket_card(host.ticket(ref["threadId"]), None, [], [], lambda name: f"https://x/{name}")
    validate_card(card)
    shown = str(card)
    assert "Not from us" in shown and "dmarc=fail (example.com)" in shown


def test_a_web_form_sending_as_our_address_from_its_own_server_is_still_its_visitors(tmp_path):
    """A WordPress form mailing support@ as support@ from the web host (so Gmail cannot vouch for our domain)
    claims nothing of ours: its Reply-To visitor is the customer, with no warning about the form."""
    raw = make_email(sender="Support <support@example.com>", subject="Contact form: order 1234",
                     headers={"Reply-To": "Rae Visitor <rae@example.org>"})
    ticket = ticket_from_eml(received(raw, FORGED), config_with_agent(tmp_path))
    assert ticket.customer.email == "rae@example.org" and not ticket.first_customer_message.forged_from


def test_a_poster_s_own_list_id_does_not_turn_off_the_check_of_a_post_through_our_group(tmp_path):
    """A domain without DMARC p=reject keeps its From in a group post (no "via Help" rewrite), and the group's
    envelope makes Gmail's verdict at our mailbox dmarc=pass for it: only the sealed ARC verdict tells who
    wrote. A second List-Id the poster wrote made our group's unrecognisable ("<evil.list> <help.example.com>"),
    so the outer verdict was believed and Mallory's post was Anna's reply, stopping the clock."""
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    headers = {**GROUP_HEADERS, "X-Original-Sender": "anna.kowalska@example.com"}
    raw = make_email(sender=ANNA, to="Jane Customer <jane@example.org>", subject="Re: Order 1234 is late",
                     body="Hi Jane, it ships today.", message_id="<g9@example.com>", in_reply_to="<q1@example.org>",
                     headers=headers)
    raw = received(raw, "<evil.list.example>", name="List-Id")  # the poster's own, kept beside the group's
    raw = received(raw, f"i=1; {FORGED}", name="ARC-Authentication-Results")
    raw = received(raw, "i=1; a=rsa-sha256; t=1776889514; cv=none; d=google.com; s=arc-20240605; b=AbC=",
                   name="ARC-Seal")
    deliver(local.gmail(), received(raw, GROUP_OUTER), threadId=ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    post = ticket.messages[-1]
    assert post.kind != "agent" and "dmarc=fail" in post.forged_from
    assert ticket.first_agent_reply_at is None and ticket.awaiting_reply


# -- the rules one by one (plugin_host.authenticity) ------------------------------------------------------------

def _msg(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def test_googles_header_is_found_in_any_case_and_after_a_comment():
    """RFC 8601: the authserv-id is a domain (any case) and may follow a comment."""
    for value in ("MX.Google.COM; dmarc=fail header.from=example.com",
                  "(received by Gmail) mx.google.com; dmarc=fail header.from=example.com"):
        verdict = gmail_verdict(_msg(received(make_email(sender=ANNA), value)))
        assert verdict is not None and not verdict.vouches_for("example.com")


def test_an_unreadable_verdict_says_so():
    anna = "anna.kowalska@example.com"
    doubt = sender_doubt(_msg(make_email(sender=ANNA)), anna, parse_verdict("mx.google.com; dkim=pass ("))
    assert "could not be read" in doubt


def test_only_a_pass_or_fail_for_the_senders_own_domain_decides_dmarc():
    """dmarc=temperror (or none) for our domain is no pass: SPF and DKIM of that domain decide; a dmarc=pass for
    another domain (the header.from Gmail read was someone else's) says nothing about ours."""
    assert not parse_verdict("mx.google.com; dmarc=temperror header.from=example.com; "
                             "spf=fail smtp.mailfrom=x@example.com").vouches_for("example.com")
    assert not parse_verdict("mx.google.com; dmarc=pass header.from=evil.example").vouches_for("example.com")
    assert parse_verdict("mx.google.com; dmarc=none header.from=example.com; "
                         "dkim=pass header.i=@example.com").vouches_for("example.com")


def test_alignment_is_by_whole_labels_either_way():
    """Relaxed alignment: a signature of our parent domain vouches for mail.example.com's agents; a domain that
    merely ends in our name (evilexample.com, evil-example.com) never does."""
    assert parse_verdict("mx.google.com; dkim=pass header.i=@example.com").vouches_for("mail.example.com")
    for other in ("evilexample.com", "evil-example.com", "example.com.evil.example"):
        assert not parse_verdict(f"mx.google.com; dkim=pass header.i=@{other}").vouches_for("example.com")
        assert not parse_verdict(f"mx.google.com; spf=pass smtp.mailfrom=a@{other}").vouches_for("example.com")


def _group_doubt(raw: bytes) -> str:
    msg = _msg(raw)
    return sender_doubt(msg, "anna.kowalska@example.com", gmail_verdict(msg), "help@example.com")


def test_the_arc_record_counts_only_when_gmail_checked_every_seal():
    """A seal saying d=google.com is text until Gmail's arc=pass says the chain verified: a forged seal
    (arc=fail) over a copied 'dmarc=pass' record vouches for nobody."""
    assert _group_doubt(group_post(GENUINE)) == ""
    assert "ARC record" in _group_doubt(group_post(GENUINE, outer=GROUP_OUTER.replace("arc=pass", "arc=fail")))


def test_two_seals_of_one_instance_or_a_record_not_written_by_google_vouch_for_nobody():
    twice = received(group_post(GENUINE), "i=1; a=rsa-sha256; cv=none; d=evil.example; s=s; b=Zz=", name="ARC-Seal")
    assert "ARC record" in _group_doubt(twice)
    other_server = group_post(GENUINE.replace("mx.google.com", "mx.evil.example", 1))
    assert "ARC record" in _group_doubt(other_server)


def test_dkim_is_about_the_signing_domain_and_a_trailing_dot_is_the_same_domain():
    assert not parse_verdict("mx.google.com; dkim=pass header.d=evil.example header.i=@example.com"
                             ).vouches_for("example.com")
    assert parse_verdict("mx.google.com; dmarc=pass header.from=example.com.").vouches_for("example.com")


def _hop(instance: int, results: str) -> bytes:
    return (f"ARC-Authentication-Results: i={instance}; {results}\r\n"
            f"ARC-Seal: i={instance}; a=rsa-sha256; cv=pass; d=google.com; s=arc-20240605; b=Zz=\r\n").encode()


GROUP_HOP = ("mx.google.com; dkim=pass header.i=@example.com; spf=pass "
             "smtp.mailfrom=help+bncBAABBQ4XYWQMGQE7S5K3YA@example.com; dmarc=pass header.from=example.com")


def test_the_writers_verdict_is_the_latest_google_hop_that_is_not_the_groups_own():
    """Gmail also seals its verdict on the group's hop to our mailbox (the group's envelope: dmarc=pass for any
    From at our domain): it says nothing about the writer and is skipped; of the hops before it, the latest is
    the group taking the post in."""
    forged = _msg(_hop(2, GROUP_HOP) + group_post(FORGED))
    assert "dmarc=fail" in sender_doubt(forged, "anna.kowalska@example.com", gmail_verdict(forged), "help@example.com")
    later = _msg(_hop(2, GENUINE) + group_post(FORGED))  # i=1: an earlier relay's verdict; i=2: the group's intake
    assert sender_doubt(later, "anna.kowalska@example.com", gmail_verdict(later), "help@example.com") == ""


def test_our_own_address_needs_gmails_word_too_unless_this_mailbox_sent_it(tmp_path):
    from plugin_host.tickets import forged_from

    config = config_with_agent(tmp_path)
    ours = _msg(received(make_email(sender="Support <support@example.com>", subject="Re: Order 1234"), FORGED))
    assert "not authenticated" in forged_from(ours, {"INBOX"}, config)
    assert forged_from(ours, {"SENT", "INBOX"}, config) == ""


def test_a_message_whose_from_is_not_believed_is_judged_without_our_addresses(tmp_path):
    """An auto-reply or bounce that claims our address is still automatic (saying why it is not ours); any other
    message claiming our address is a customer's, not mail of ours come back (nothing of ours is claimed)."""
    from plugin_host.tickets import classify

    config = config_with_agent(tmp_path)
    away = _msg(make_email(sender="Support <support@example.com>", subject="Out of office",
                           headers={"Auto-Submitted": "auto-replied"}))
    kind, reason, ours, marker = classify(away, {"INBOX"}, config, forged="From support@example.com is not ours")
    assert (kind, ours, marker) == ("automatic", False, "") and reason.endswith("is not ours")
    plain = _msg(make_email(sender="Support <support@example.com>", subject="Refund"))
    assert classify(plain, {"INBOX"}, config, forged="not ours")[0] == "customer"


def test_a_message_not_believed_is_warned_about_once_not_on_every_later_sync(tmp_path, caplog):
    local, host, feed = setup(tmp_path)
    ref = open_ticket(local, feed)
    deliver(local.gmail(), agent_reply((FORGED,)), threadId=ref["threadId"])
    with caplog.at_level("WARNING", logger="plugin_host.host"):
        feed.sync()
        deliver(local.gmail(), make_email(message_id="<q2@example.org>", subject="Re: Order 1234 is late",
                                          in_reply_to="<q1@example.org>", body="Any news?"), threadId=ref["threadId"])
        feed.sync()
    assert caplog.text.count("read as a customer's") == 1
