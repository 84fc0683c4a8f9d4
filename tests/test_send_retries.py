"""A send Gmail refused with a 5xx (it did not go through): the retry looks for it first (in the thread, under
SENT, by search), finds nothing, and sends it once. The opposite case, a send whose response was lost, is in
test_delivery_review.py."""
from __future__ import annotations

from plugin_host.sync import ChangeFeed

from .conftest import deliver, lose_a_send_while_others_are_sent, make_email
from .test_autoreply import acks, setup as autoreply_setup
from .test_sla import monday, setup as sla_setup


def test_a_notification_send_refused_with_503_goes_out_once_on_the_retry(tmp_path):
    local, host, clock = sla_setup(tmp_path, monday(9))
    ref = deliver(local.gmail(), make_email(message_id="<refused@example.org>", subject="Question"))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    ChangeFeed(host).sync()
    clock["now"] = monday(14)  # the 4h target was due at 13:00: breached, the lead is mailed (in no thread)
    local.app.faults.fail_next("gmail.users.messages.send", 1, 503)
    host.sweep()
    assert local.app.faults.injected == 1 and host.client.stats["retries"]["gmail.users.messages.send"] == 1
    assert len([m for m in local.mailbox.messages.values() if b"To: lead@example.com" in m.raw]) == 1


def test_an_acknowledgement_refused_with_503_goes_out_once_on_the_retry(tmp_path):
    local, host, feed = autoreply_setup(tmp_path)
    deliver(local.gmail(), make_email(sender="Jane Cooper <jane@example.org>", message_id="<refused2@example.org>"))
    local.app.faults.fail_next("gmail.users.messages.send", 1, 503)
    feed.sync()
    assert local.app.faults.injected == 1 and host.client.stats["retries"]["gmail.users.messages.send"] == 1
    assert [a["To"] for a in acks(local)] == ["jane@example.org"]


def test_a_lost_send_is_found_in_sent_though_more_than_ten_were_sent_after_it():
    """A busy mailbox: while the retry waited, agents sent twelve replies from it. The check read only Sent's
    newest ten, the search did not show the lost alert yet, and the lead got it twice; now Sent is read back to
    the time the send began, ten at a time."""
    from plugin_host.mailbox import LocalMailbox

    from .conftest import make_email
    from .test_gmail_client import client_for

    local = LocalMailbox()
    client = client_for(local)
    raw = make_email(message_id="<alert@example.org>", sender="support@example.com", to="lead@example.com")
    lost = lose_a_send_while_others_are_sent(local, 12)
    client.send(raw)
    assert lost
    assert len([m for m in local.mailbox.messages.values() if b"<alert@example.org>" in m.raw]) == 1


def test_the_retry_reads_sent_no_further_back_than_the_send_began():
    """The walk back through Sent stops at the first batch of mail older than the send: a busy mailbox's whole
    Sent (up to 500 messages, 50 batches) is not read at every retry."""
    import base64
    from datetime import datetime, timedelta, timezone

    from plugin_host.mailbox import LocalMailbox

    from .test_gmail_client import client_for

    local = LocalMailbox()
    client = client_for(local)
    client.sleep = lambda seconds: None
    an_hour_ago = int((datetime.now(timezone.utc) - timedelta(hours=1)).timestamp() * 1000)
    for n in range(40):  # sent before this send began
        other = make_email(message_id=f"<old{n}@example.com>", sender="support@example.com")
        sent = local.gmail().users().messages().send(userId="me", body={
            "raw": base64.urlsafe_b64encode(other).decode()}).execute()
        local.mailbox.messages[sent["id"]].internal_date = an_hour_ago
    local.app.faults.fail_next("gmail.users.messages.send", 1, 503)
    client.send(make_email(message_id="<alert2@example.org>", sender="support@example.com", to="lead@example.com"))
    assert len([m for m in local.mailbox.messages.values() if b"<alert2@example.org>" in m.raw]) == 1
    assert client.stats["calls"]["gmail.users.messages.get"] <= 10, client.stats["calls"]


def test_a_host_on_its_own_clock_finds_its_lost_notice_in_sent_by_that_clock(tmp_path):
    """The walk back through Sent stops at mail older than when the send began, by the host's clock (the one its
    mailbox dates mail by in the demo and the tests, two weeks behind the wall clock here). Timed by the wall clock
    instead, every message in Sent looked older than the send, the walk stopped at the newest ten, and the lead got
    the breach notice twice."""
    from plugin_host.mailbox import LocalMailbox

    local, host, clock = sla_setup(tmp_path, monday(9), local=LocalMailbox())
    local.mailbox.clock = lambda: clock["now"].timestamp()  # the mailbox dates its mail by the host's clock
    deliver(local.gmail(), make_email(message_id="<slow@example.org>", subject="Question"))
    ChangeFeed(host).sync()
    clock["now"] = monday(14)  # breached at 13:00: the lead is mailed (in no thread)
    lost = lose_a_send_while_others_are_sent(local, 12)
    host.sweep()
    assert lost
    assert len([m for m in local.mailbox.messages.values() if b"To: lead@example.com" in m.raw]) == 1
