"""What agents do to tickets in Gmail itself: take a customer's mail out of Spam, restore a ticket from the Trash,
rename, nest or delete Labeldesk's labels. The thread is the ticket and its labels are its state, so each of these
must leave the help desk as if nobody had touched it (docs/architecture.md, "What agents may do in Gmail")."""
from __future__ import annotations

import pytest

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



def test_a_customers_mail_taken_out_of_spam_beside_her_follow_up_opens_the_ticket_once(tmp_path):
    """Jane's request went to spam; she wrote again (to the inbox, the same thread) and an agent pressed "Not spam"
    before the next sync: the thread is judged whole, her first message included, and acknowledged once."""
    local, host, clock, feed = help_desk(tmp_path)
    g = local.gmail()
    ref = arrived(local, deliver(g, make_email(message_id="<refund@example.org>", subject="Refund please"),
                                 labels=("SPAM", "UNREAD")), monday(9))
    feed.sync()
    clock["now"] = monday(10)
    again = arrived(local, deliver(g, make_email(message_id="<again@example.org>", subject="Re: Refund please",
                                                 in_reply_to="<refund@example.org>"), threadId=ref["threadId"]),
                    monday(9, 55))
    assert again["threadId"] == ref["threadId"]
    g.users().messages().modify(userId="me", id=ref["id"],
                                body={"removeLabelIds": ["SPAM"], "addLabelIds": ["INBOX"]}).execute()
    report = feed.sync()
    assert [p.events for p in report.threads if p.thread_id == ref["threadId"]] == [["on_ticket_opened"]]
    assert len([m for m in local.mailbox.messages.values() if "SENT" in m.label_ids]) == 1


def test_only_a_message_taken_out_of_spam_or_the_trash_and_left_out_of_them_is_restored():
    from plugin_host.sync import restored_threads

    def removed(removed_ids, still):
        return {"labelsRemoved": [{"message": {"id": "m", "threadId": "t", "labelIds": still},
                                   "labelIds": removed_ids}]}
    assert restored_threads(removed(["SPAM"], ["INBOX"])) == ["t"]
    assert restored_threads(removed(["TRASH"], ["INBOX", "UNREAD"])) == ["t"]
    assert restored_threads(removed(["DRAFT"], ["SENT"])) == []  # a draft sent: Labeldesk's own feed sees it
    assert restored_threads(removed(["UNREAD", "INBOX"], [])) == []  # read, archived
    assert restored_threads(removed(["TRASH"], ["SPAM"])) == []  # from the Trash into spam: still left alone

# -- Labeldesk's labels renamed, moved, re-cased or deleted in Gmail ------------------------------------------

def open_ticket(local, feed, clock) -> str:
    """Jane's unanswered request of 09:00 (the thread id): it must stay in the queue and reach its deadline."""
    ref = arrived(local, deliver(local.gmail(), make_email(message_id="<open@example.org>", subject="Refund please")),
                  monday(9))
    feed.sync()
    return ref["threadId"]


def label_named(local, name: str) -> dict:
    return next(l for l in local.mailbox.labels.values() if l["name"] == name)


def rename(local, name: str, new_name: str) -> None:
    local.gmail().users().labels().patch(userId="me", id=label_named(local, name)["id"],
                                         body={"name": new_name}).execute()


def kept_in_the_queue_and_swept(local, host, clock, thread_id) -> None:
    assert AWAITING in thread_label_names(local, thread_id)
    assert [t.thread_id for t in host.open_tickets()] == [thread_id]
    clock["now"] = monday(18)  # past the 8 business hours of a first answer
    assert thread_id in [p.thread_id for p in host.sweep()]
    assert "Helpdesk/SLA/Breached" in thread_label_names(local, thread_id)


@pytest.mark.parametrize("new_name", ["Helpdesk/Waiting for us", "Team/Awaiting reply", "helpdesk/awaiting reply"])
def test_a_label_an_agent_renamed_moved_or_recased_gets_its_name_back(tmp_path, new_name, caplog):
    """Anna renamed Awaiting reply in Gmail (or nested it under Team, or wrote it in lower case). Gmail kept the id
    on Jane's thread under the new name, so the sweep's search and the queue found no open ticket, for good: no
    deadline was kept. The next sync gives the label its name back and says why."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    rename(local, AWAITING, new_name)
    assert feed.sync().ok
    assert any("renamed back" in r.getMessage() and "label_root" in r.getMessage() for r in caplog.records)
    kept_in_the_queue_and_swept(local, host, clock, thread_id)
    assert new_name not in {l["name"] for l in local.mailbox.labels.values()}


def test_a_label_renamed_while_labeldesk_was_stopped_gets_its_name_back(tmp_path):
    """A cron sync is a new process each time: it knows Labeldesk's labels by id from the state folder."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    rename(local, AWAITING, "Helpdesk/Waiting for us")
    local, host, clock, feed = help_desk(tmp_path, local=local, now=monday(10))
    kept_in_the_queue_and_swept(local, host, clock, thread_id)


def test_a_deleted_label_is_put_back_on_the_open_tickets(tmp_path, caplog):
    """Deleting Awaiting reply took it off every thread: Jane's request left the queue and the sweep. The next
    sync finds the label gone and reads recent mail again (a full sync), which labels the open tickets."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    local.gmail().users().labels().delete(userId="me", id=label_named(local, AWAITING)["id"]).execute()
    report = feed.sync()
    assert report.ok and report.full
    assert any("deleted" in r.getMessage() for r in caplog.records)
    kept_in_the_queue_and_swept(local, host, clock, thread_id)


def test_a_label_renamed_while_another_took_its_name_is_the_agents_own(tmp_path):
    """Renamed, then made again under the old name (by hand, or by a Labeldesk that did not know the id): the
    new label is Labeldesk's, the renamed one the agents', and the open tickets are labelled again."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    rename(local, AWAITING, "Helpdesk/Old queue")
    local.gmail().users().labels().create(userId="me", body={"name": AWAITING}).execute()
    assert feed.sync().full
    kept_in_the_queue_and_swept(local, host, clock, thread_id)
    assert "Helpdesk/Old queue" in {l["name"] for l in local.mailbox.labels.values()}


def test_an_agents_label_differing_only_in_case_is_taken_and_spelt_as_labeldesk_spells_it(tmp_path):
    """Gmail allows one label per name in any case: an agent's 'helpdesk/awaiting reply' made before Labeldesk ran
    is the label Labeldesk uses. Plugins and searches read Labeldesk's spelling, so it gets that spelling; and
    after a restart the answered ticket's label still comes off."""
    local = LocalMailbox()
    local.gmail().users().labels().create(userId="me", body={"name": "helpdesk/awaiting reply"}).execute()
    local, host, clock, feed = help_desk(tmp_path, local=local)
    thread_id = open_ticket(local, feed, clock)
    assert feed.sync().ok
    assert {l["name"] for l in local.mailbox.labels.values()} >= {AWAITING}
    assert "helpdesk/awaiting reply" not in {l["name"] for l in local.mailbox.labels.values()}
    local, host, clock, feed = help_desk(tmp_path, local=local, now=monday(10))
    send(local.gmail(), make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                                   subject="Re: Refund please", in_reply_to="<open@example.org>",
                                   message_id="<done@example.com>", body="Refunded.\n\nAnna Kowalska"), thread_id)
    assert feed.sync().ok
    assert AWAITING not in thread_label_names(local, thread_id)


def test_a_deleted_label_is_put_back_by_one_process_not_by_each(tmp_path, caplog):
    """serve runs beside cron's `labeldesk sync`, on one state folder. Cron's sync found Awaiting reply deleted, put
    it back on the open tickets (a full sync) and learnt the new label's id; serve, which still held the old id from
    its start, called the label deleted again and ran a second full sync of every recent thread."""
    local, serve_host, clock, serve = help_desk(tmp_path)
    thread_id = open_ticket(local, serve, clock)
    local.gmail().users().labels().delete(userId="me", id=label_named(local, AWAITING)["id"]).execute()
    local, cron_host, clock, cron = help_desk(tmp_path, local=local)  # its first sync: the full sync
    assert AWAITING in thread_label_names(local, thread_id)
    caplog.clear()
    local.app.reset_counters()
    report = serve.sync()
    assert report.ok and not report.full
    assert not any("deleted" in r.getMessage() for r in caplog.records)
    assert local.app.calls["gmail.users.threads.get"] == 0


def test_a_dry_run_after_awaiting_reply_was_deleted_shows_the_full_sync_it_would_run(tmp_path):
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    local.gmail().users().labels().delete(userId="me", id=label_named(local, AWAITING)["id"]).execute()
    report = feed.sync(dry_run=True)
    assert report.full and thread_id in [p.thread_id for p in report.threads]
    assert AWAITING not in thread_label_names(local, thread_id)  # nothing done
    assert feed.sync().full  # nor forgotten: the sync after it puts the label back
    kept_in_the_queue_and_swept(local, host, clock, thread_id)


def test_a_dry_run_renames_no_label(tmp_path, caplog):
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    rename(local, AWAITING, "Helpdesk/Waiting for us")
    assert feed.sync(dry_run=True).ok
    assert any("it would be renamed back (dry run)" in r.getMessage() for r in caplog.records)
    assert "Helpdesk/Waiting for us" in thread_label_names(local, thread_id)
    assert feed.sync().ok
    kept_in_the_queue_and_swept(local, host, clock, thread_id)


def test_an_upgrade_learns_the_labels_an_older_version_made_by_id(tmp_path):
    """No labels.json yet (made by a version before it): the first sync writes down the labels under the root, so
    that one an agent renames before the next cron run is recognised by it."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    (tmp_path / "state" / "labels.json").unlink()
    local, host, clock, feed = help_desk(tmp_path, local=local)  # the upgraded version's first run
    rename(local, AWAITING, "Helpdesk/Waiting for us")
    local, host, clock, feed = help_desk(tmp_path, local=local)
    kept_in_the_queue_and_swept(local, host, clock, thread_id)


def test_an_agents_label_beside_the_root_is_theirs_to_rename(tmp_path):
    """'Helpdesk archive' begins with 'Helpdesk' but is not under Helpdesk/: Labeldesk leaves its name alone."""
    local = LocalMailbox()
    local.gmail().users().labels().create(userId="me", body={"name": "Helpdesk archive"}).execute()
    local, host, clock, feed = help_desk(tmp_path, local=local)
    rename(local, "Helpdesk archive", "Old tickets")
    assert feed.sync().ok
    assert "Old tickets" in {l["name"] for l in local.mailbox.labels.values()}


def test_a_full_sync_that_failed_after_awaiting_reply_was_deleted_is_tried_again(tmp_path):
    """The sync that found the label deleted gives its id up: if its full sync fails before it could note where it
    was (Gmail down as it lists the mail), the next sync must still be a full sync, or the open tickets stay out of
    the queue for good."""
    from plugin_host.errors import GmailError

    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    local.gmail().users().labels().delete(userId="me", id=label_named(local, AWAITING)["id"]).execute()
    listing = host.client.list_message_ids

    def gmail_down(*args, **kwargs):
        raise GmailError("gmail.users.messages.list: Gmail answered 503")
    host.client.list_message_ids = gmail_down
    with pytest.raises(GmailError):
        feed.sync()
    host.client.list_message_ids = listing
    report = ChangeFeed(host).sync()
    assert report.ok and report.full
    kept_in_the_queue_and_swept(local, host, clock, thread_id)


def test_a_deleted_label_is_said_once(tmp_path, caplog):
    """SLA/Breached deleted in Gmail (no ticket breached since): said at the next sync, not at every poll after."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    clock["now"] = monday(18)
    assert thread_id in [p.thread_id for p in host.sweep()]
    local.gmail().users().labels().delete(userId="me", id=label_named(local, "Helpdesk/SLA/Breached")["id"]).execute()
    caplog.clear()
    for _ in range(3):
        assert feed.sync().ok
    said = [r.getMessage() for r in caplog.records if "deleted in Gmail" in r.getMessage()]
    assert len(said) == 1 and "Helpdesk/SLA/Breached" in said[0], said


def test_the_root_label_renamed_in_gmail_gets_its_name_back(tmp_path):
    """Helpdesk itself, made with its first nested label, is Labeldesk's too."""
    local, host, clock, feed = help_desk(tmp_path)
    open_ticket(local, feed, clock)
    rename(local, "Helpdesk", "Support")
    assert feed.sync().ok
    assert "Helpdesk" in {l["name"] for l in local.mailbox.labels.values()}
    assert "Support" not in {l["name"] for l in local.mailbox.labels.values()}


def test_a_label_an_agent_made_under_the_root_is_labeldesks_once_it_uses_it(tmp_path):
    """An agent (or a Labeldesk on another state folder) made Helpdesk/SLA/Breached before the first breach:
    the sweep labels with it, so it is Labeldesk's, and renamed later it gets its name back."""
    local, host, clock, feed = help_desk(tmp_path)
    thread_id = open_ticket(local, feed, clock)
    local.gmail().users().labels().create(userId="me", body={"name": "Helpdesk/SLA/Breached"}).execute()
    assert feed.sync().ok  # the label list is read again
    clock["now"] = monday(18)
    assert thread_id in [p.thread_id for p in host.sweep()]
    rename(local, "Helpdesk/SLA/Breached", "Helpdesk/Late")
    assert feed.sync().ok
    assert "Helpdesk/SLA/Breached" in thread_label_names(local, thread_id)
