"""A send Gmail refused with a 5xx (it did not go through): the retry looks for it first (in the thread, under
SENT, by search), finds nothing, and sends it once. The opposite case, a send whose response was lost, is in
test_delivery_review.py."""
from __future__ import annotations

from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
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
