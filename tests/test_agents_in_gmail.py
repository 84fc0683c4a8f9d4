"""What agents do to tickets in Gmail itself: take a customer's mail out of Spam, restore a ticket from the Trash,
rename, nest or delete Labeldesk's labels. The thread is the ticket and its labels are its state, so each of these
must leave the help desk as if nobody had touched it (docs/architecture.md, "What agents may do in Gmail")."""
from __future__ import annotations

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email, send
from .test_host_sync import sent_acks, thread_label_names
from .test_sla import monday

AWAITING = "Helpdesk/Awaiting reply"


def help_desk(tmp_path, local=None, now=None):
    """Acknowledgements and the SLA clock on, as a team runs them: (local, host, clock, feed)."""
    data = {"mailbox": {"address": "support@example.com"},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply", "sla"]}, "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = local or LocalMailbox()
    clock = {"now": now or monday(9)}
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda seconds: None
    feed = ChangeFeed(host)
    feed.sync()
    return local, host, clock, feed


def arrived(local, ref: dict, when) -> dict:
    local.mailbox.messages[ref["id"]].internal_date = int(when.timestamp() * 1000)
    return ref


# -- Spam and Trash ---------------------------------------------------------------------------------------

def test_a_customers_mail_taken_out_of_spam_opens_the_ticket(tmp_path):
    """Gmail filed Jane's request as spam; an agent found it and pressed "Not spam". Labeldesk never saw it
    again (it read only new messages), so it got no acknowledgement, no Awaiting reply, no deadline: it was
    in nobody's queue. It is a new request now, as when Zendesk recovers a suspended ticket."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    ref = arrived(local, deliver(g, make_email(message_id="<refund@example.org>", subject="Refund please"),
                                 labels=("SPAM", "UNREAD")), monday(9))
    feed.sync()
    assert sent_acks(local) == [] and AWAITING not in thread_label_names(local, ref["threadId"])
    clock["now"] = monday(10)
    g.users().messages().modify(userId="me", id=ref["id"],
                                body={"removeLabelIds": ["SPAM"], "addLabelIds": ["INBOX"]}).execute()
    report = feed.sync()
    assert [p.events for p in report.threads if p.thread_id == ref["threadId"]] == [["on_ticket_opened"]]
    assert AWAITING in thread_label_names(local, ref["threadId"])
    acks = [m for m in local.mailbox.messages.values() if "SENT" in m.label_ids]
    assert len(acks) == 1 and acks[0].thread_id == ref["threadId"]
    assert host.deadline(host.ticket(ref["threadId"])).target == "first_response"  # due from 09:00, when she wrote


def test_an_answered_ticket_restored_from_the_trash_is_not_opened_again(tmp_path):
    """Restoring a thread is no new mail: its customer is not acknowledged a second time, its answer stands."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    ref = arrived(local, deliver(g, make_email(message_id="<q@example.org>", subject="Invoice copy")), monday(9))
    feed.sync()
    clock["now"] = monday(9, 30)
    arrived(local, send(g, make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                                      subject="Re: Invoice copy", in_reply_to="<q@example.org>",
                                      message_id="<a@example.com>", body="Attached.\n\nAnna Kowalska"),
                        ref["threadId"]), monday(9, 30))
    feed.sync()
    g.users().threads().trash(userId="me", id=ref["threadId"]).execute()
    feed.sync()
    g.users().threads().untrash(userId="me", id=ref["threadId"]).execute()
    assert feed.sync().ok
    assert len([m for m in local.mailbox.messages.values() if "SENT" in m.label_ids]) == 2  # the ack and Anna's
    assert AWAITING not in thread_label_names(local, ref["threadId"])


def test_marking_read_or_archiving_reads_no_thread(tmp_path):
    """Label changes agents make all day (read, archive, a label of their own) are no news to Labeldesk."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    ref = deliver(g, make_email(message_id="<r@example.org>", subject="Where is my parcel"))
    feed.sync()
    g.users().threads().modify(userId="me", id=ref["threadId"],
                               body={"removeLabelIds": ["UNREAD", "INBOX"]}).execute()
    assert feed.sync().threads == []
