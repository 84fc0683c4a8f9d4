"""A customer's reply that Gmail put in a thread of its own (a changed subject, a conversation past 100
messages) continues the conversation: the SLA clock runs the next-response target from that message, the
report counts no new ticket or first response for it, and both hold after a restart, when the sweep and the
report rebuild the ticket from Gmail alone."""
from __future__ import annotations

import dataclasses

from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email, send
from .test_hostile_mail2 import searches
from .test_host_sync import thread_label_names
from .test_sla import monday, setup
from .test_sla_fixes import message, ticket

# A first answer is promised within the hour, later answers within a working day: which one runs shows.
TARGETS = {"targets": {"normal": {"first_response": "1h", "next_response": "8h"}}}
CONTINUED = "Helpdesk/Continued"


def at(local, ref: dict, when) -> dict:
    local.mailbox.messages[ref["id"]].internal_date = int(when.timestamp() * 1000)
    return ref


def split_conversation(tmp_path):
    """Jane asks at 09:00, Anna answers at 09:30, Jane replies at 10:00 with a new subject, which Gmail puts
    in a thread of its own. Returns (local, host, clock, feed, first thread id, split thread id)."""
    return split_found_at(tmp_path, monday(10))[:6]


def split_found_at(tmp_path, found_at):
    """:func:`split_conversation`, the split thread's sync running at ``found_at``; also returns its report."""
    local, host, clock = setup(tmp_path, monday(9), sla=TARGETS)
    g = local.gmail()
    feed = ChangeFeed(host)
    feed.sync()
    first = at(local, deliver(g, make_email(message_id="<c0@example.org>", subject="Order 1234 is late")), monday(9))
    feed.sync()
    clock["now"] = monday(9, 30)
    answer = send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                                message_id="<c1@example.com>", subject="Re: Order 1234 is late",
                                in_reply_to="<c0@example.org>", body="Which address should it go to?\n\nAnna Kowalska"),
                  first["threadId"])
    at(local, answer, monday(9, 30))
    feed.sync()
    clock["now"] = monday(10)
    split = at(local, deliver(g, make_email(message_id="<c2@example.org>", subject="New address for order 1234",
                                            in_reply_to="<c1@example.com>", references="<c0@example.org> <c1@example.com>",
                                            body="Please send it to 5 Main Street.")), monday(10))
    clock["now"] = found_at
    report = feed.sync()
    assert split["threadId"] != first["threadId"]
    return local, host, clock, feed, first["threadId"], split["threadId"], report


def test_a_split_thread_runs_the_next_response_clock_from_the_customers_message(tmp_path):
    """It ran a first-response clock (1h) as if Jane had just opened a ticket, so it was due at 11:00; the
    conversation had been answered, and her message is due within the next-response target: 18:00."""
    local, host, clock, feed, first, split = split_conversation(tmp_path)
    deadline = host.deadline(host.ticket(split))
    assert deadline.target == "next_response" and deadline.due == monday(18)
    assert CONTINUED in thread_label_names(local, split)  # the record the clock reads after a restart
    assert CONTINUED not in thread_label_names(local, first)


def test_after_a_restart_the_sweep_keeps_the_next_response_clock(tmp_path):
    """A new process knows nothing of the sync that recognised the split: the sweep rebuilds the ticket from
    Gmail and, at 11:30, marked it breached against the first-response target and escalated it."""
    local, host, clock, feed, first, split = split_conversation(tmp_path)
    _, restarted, later = setup(tmp_path, monday(11, 30), sla=TARGETS, local=local)
    visited = [p.thread_id for p in restarted.sweep()]
    assert split in visited
    labels = thread_label_names(local, split)
    assert "Helpdesk/SLA/Breached" not in labels and "Helpdesk/SLA/At risk" not in labels
    assert restarted.deadline(restarted.ticket(split)).target == "next_response"
    assert not [m for m in local.mailbox.messages.values() if b"To: lead@example.com" in m.raw]


def test_a_full_sync_after_losing_the_cursor_keeps_the_continuation_without_searching_again(tmp_path):
    """A full sync judges each thread alone, so the split thread looked like a new ticket again: the host
    searched for the messages it answers once more. Its label says so already: no search, still a reply."""
    local, host, clock, feed, first, split = split_conversation(tmp_path)
    _, fresh, _ = setup(tmp_path / "other", monday(10, 5), sla=TARGETS, local=local)  # no cursor: full sync
    queries = searches(fresh)
    report = ChangeFeed(fresh).sync()
    assert report.ok and report.full
    processed = {p.thread_id: p for p in report.threads}
    assert processed[split].events == ["on_customer_replied"]
    assert not [q for q in queries if q.startswith("rfc822msgid:<c")], queries
    assert fresh.deadline(fresh.ticket(split)).target == "next_response"


def test_a_strangers_references_start_a_first_response_clock(tmp_path):
    """Mallory's new mail names Jane's conversation in In-Reply-To: it takes nothing from it, so Mallory's
    request runs the first-response clock of a new ticket and carries no Continued label."""
    local, host, clock, feed, first, split = split_conversation(tmp_path)
    stranger = at(local, deliver(local.gmail(), make_email(sender="Mallory <mallory@example.net>",
                                                           message_id="<m0@example.net>", subject="Something else",
                                                           in_reply_to="<c1@example.com>")), monday(10))
    feed.sync()
    deadline = host.deadline(host.ticket(stranger["threadId"]))
    assert deadline.target == "first_response" and deadline.due == monday(11)
    assert CONTINUED not in thread_label_names(local, stranger["threadId"])


def test_the_report_counts_no_new_ticket_or_first_response_for_a_split_thread(tmp_path):
    """The report counted Jane's split thread as a second ticket whose first response (none yet) was pending
    or, later, breached: one conversation, one ticket, one first response."""
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html, render_text

    local, host, clock, feed, first, split = split_conversation(tmp_path)
    _, restarted, _ = setup(tmp_path, monday(17), sla=TARGETS, local=local)
    tickets = restarted.search_tickets(restarted.newer_than(7))
    assert {t.thread_id for t in tickets} == {first, split}
    metrics = compute(tickets, policy_of(restarted.config), restarted.config, monday(17))
    assert metrics["tickets"] == 1 and metrics["continued"] == 1
    fr = metrics["first_response"]
    assert (fr["count"], fr["met"], fr["breached"], fr["pending"], fr["unanswered"]) == (1, 1, 0, 0, 0)
    assert metrics["resolution"]["pending"] + metrics["resolution"]["breached"] == 1  # the conversation, once
    assert "continued" in render_text(metrics).lower() and "continued" in render_html(metrics).lower()


def test_a_continued_ticket_without_an_answer_in_its_thread_owes_a_next_response():
    """The clock itself, from the ticket alone: the earlier thread's answer is not in this one."""
    from plugins.sla.clock import sla_state
    from plugins.sla.policy import validate

    policy = validate({"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC", **TARGETS})
    asked = [message(1, "customer", monday(10)), message(2, "customer", monday(11), "And one more thing.")]
    new = sla_state(ticket(asked), policy, monday(12))
    continued = sla_state(dataclasses.replace(ticket(asked), continues_conversation=True), policy, monday(12))
    assert (new.kind, new.due, new.breached) == ("first_response", monday(11), True)
    assert (continued.kind, continued.started_at, continued.due) == ("next_response", monday(10), monday(18))
    answered = dataclasses.replace(ticket(asked + [message(3, "agent", monday(12))]), continues_conversation=True)
    assert sla_state(answered, policy, monday(13)).kind == ""
    later = dataclasses.replace(ticket(asked + [message(3, "agent", monday(12)), message(4, "customer", monday(13))]),
                                continues_conversation=True)
    assert sla_state(later, policy, monday(14)).started_at == monday(13)


def test_a_resolved_split_thread_without_an_answer_of_its_own_stays_resolved():
    """Anna answered in the earlier thread and resolved the split one. The split thread holds no agent reply,
    so its Resolved label is never stale (as for any thread resolved unanswered): a later message of the
    customer's must not restart a next-response clock from the thread's first message, already hours late."""
    from plugins.sla.clock import sla_state, stale_hold_labels
    from plugins.sla.policy import validate

    policy = validate({"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC", **TARGETS})
    resolved = dataclasses.replace(message(1, "customer", monday(10)), labels=frozenset({"Helpdesk/Resolved"}))
    split = dataclasses.replace(ticket([resolved, message(2, "customer", monday(16), "Is it on its way?")],
                                       {"Helpdesk/Resolved"}), continues_conversation=True)
    assert stale_hold_labels(split, policy) == []
    state = sla_state(split, policy, monday(17))
    assert state.resolved and not state.breached


def test_the_continued_label_is_the_hosts_and_never_retired_for_a_plugin():
    """The sweep deletes the labels a plugin that is not enabled claims; Continued is the clock's only record
    of a split thread, so no plugin's claim may take it out of the mailbox."""
    from plugin_host.plugins import host_label

    assert host_label(CONTINUED, "Helpdesk") and host_label("Continued", "Helpdesk")


def test_a_web_forms_shared_sender_makes_no_stranger_the_same_customer(tmp_path):
    """Every visitor's form mail comes from the form's one no-reply address, which counted as the customer's own
    address: Mallory, sending through the same form (or writing its From) with In-Reply-To naming Jane's form
    conversation, continued it, taking its owner and the next-response clock. The visitor is the customer; the
    form's sender is nobody's address."""
    local, host, clock = setup(tmp_path, monday(9), sla=TARGETS)
    g = local.gmail()
    feed = ChangeFeed(host)
    form = "Website <no-reply@forms.example.net>"
    jane = at(local, deliver(g, make_email(sender=form, message_id="<f0@forms.example.net>", subject="Contact form",
                                           headers={"Reply-To": "Jane Customer <jane@example.org>"})), monday(9))
    feed.sync()
    assert host.ticket(jane["threadId"]).customer.email == "jane@example.org"
    answer = send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                                message_id="<f1@example.com>", subject="Re: Contact form",
                                in_reply_to="<f0@forms.example.net>", body="Which order is it?\n\nAnna Kowalska"),
                  jane["threadId"])
    at(local, answer, monday(9, 30))
    feed.sync()
    clock["now"] = monday(10)
    mallory = at(local, deliver(g, make_email(sender=form, message_id="<f2@forms.example.net>", subject="Question",
                                              in_reply_to="<f1@example.com>",
                                              headers={"Reply-To": "Mallory <mallory@example.net>"})), monday(10))
    feed.sync()
    assert host.ticket(mallory["threadId"]).customer.email == "mallory@example.net"
    assert CONTINUED not in thread_label_names(local, mallory["threadId"])
    assert host.deadline(host.ticket(mallory["threadId"])).target == "first_response"


def test_the_sync_that_finds_the_split_already_plans_by_the_next_response_clock(tmp_path):
    """The hooks of the sync that recognises the split see the ticket as continuing: found at 10:50, Jane's
    10:00 message is not at risk of the one-hour first-response target (only the next-response one runs)."""
    local, host, clock, feed, first, split, report = split_found_at(tmp_path, monday(10, 50))
    assert {p.thread_id: p for p in report.threads}[split].ticket.continues_conversation
    labels = thread_label_names(local, split)
    assert CONTINUED in labels and "Helpdesk/SLA/At risk" not in labels and "Helpdesk/SLA/Breached" not in labels
