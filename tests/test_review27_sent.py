"""The newest sent messages read once a process, against a second acknowledgement or alert after a crash (review 27)."""
from __future__ import annotations

from datetime import timedelta


# ------------------------------------------------------------------ the newest of Sent, read once a process

def test_the_newest_sent_messages_are_read_once_a_process(tmp_path):
    """55 units a read: acknowledging two new customers in one process reads Sent's newest once, not per reply."""
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    from .conftest import deliver
    from .test_pentest_review25 import hostile, sent_raw

    local, host, _ = make_host(tmp_path)
    sent = sent_raw(host)
    reads, original = [], host.client.newest_sent
    host.client.newest_sent = lambda count: reads.append(count) or original(count)
    deliver(local.gmail(), hostile("Subject: Order 1234\r\nMessage-ID: <a1@example.org>", "Eve <eve@example.org>"))
    deliver(local.gmail(), hostile("Subject: Order 5678\r\nMessage-ID: <b1@example.org>", "Bob <bob@example.org>"))
    assert ChangeFeed(host).sync().ok
    deliver(local.gmail(), hostile("Subject: Order 9012\r\nMessage-ID: <c1@example.org>", "Cat <cat@example.org>"))
    assert ChangeFeed(host).sync().ok
    assert len(sent) == 3
    assert reads == [10]


# ------------------------------------------------------------------ acknowledgements among the newest sent

def test_an_acknowledgement_among_the_newest_sent_counts_only_for_its_customer_window_and_another_thread():
    from datetime import datetime, timezone

    from plugin_host.guard import newest_acknowledgement

    now = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    window = timedelta(days=1)

    def sent(thread, to, marker="ack:acknowledgement", age=timedelta(minutes=1)):
        return {"id": f"m-{thread}", "threadId": thread, "internalDate": int((now - age).timestamp() * 1000),
                "headers": {"to": to, "x-labeldesk": marker, "message-id": f"<{thread}@example.com>"}}

    def found(*messages):
        return newest_acknowledgement("anna@example.org", "t-now", list(messages), now, window)

    assert found(sent("t-1", "Anna <anna@example.org>")) == "t-1"
    assert found(sent("t-now", "anna@example.org")) is None  # this ticket's own thread
    assert found(sent("t-1", "bob@example.org")) is None  # another customer
    assert found(sent("t-1", "anna@example.org", marker="notify:breach:x")) is None  # an alert, no acknowledgement
    assert found(sent("t-1", "anna@example.org", age=timedelta(days=2))) is None  # before the window
    assert found(sent("t-1", "anna@example.org", marker="")) is None  # an agent's own reply


def test_without_an_acknowledgement_window_sent_is_not_read(tmp_path):
    """ack_window_days = 0 (acknowledge every ticket): nothing to look for among the newest sent, no 55 units."""
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import CONFIG, make_host

    from .conftest import deliver
    from .test_pentest_review25 import hostile, sent_raw

    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], "ack_window_days": 0}}
    local, host, _ = make_host(tmp_path, config=config)
    sent = sent_raw(host)
    reads, original = [], host.client.newest_sent
    host.client.newest_sent = lambda count: reads.append(count) or original(count)
    deliver(local.gmail(), hostile("Subject: Order 1234\r\nMessage-ID: <a1@example.org>"))
    deliver(local.gmail(), hostile("Subject: Order 5678\r\nMessage-ID: <a2@example.org>"))
    assert ChangeFeed(host).sync().ok
    assert len(sent) == 2 and reads == []


def test_a_sent_message_deleted_between_the_listing_and_its_read_is_left_out(tmp_path):
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    from .conftest import deliver
    from .test_pentest_review25 import hostile

    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), hostile("Subject: Order 1234\r\nMessage-ID: <a1@example.org>"))
    assert ChangeFeed(host).sync().ok  # the acknowledgement is in Sent
    listed = host.client.list_message_ids
    host.client.list_message_ids = lambda **kw: [{"id": "18c0ffee00000001", "threadId": "t0"}] + listed(**kw)
    newest = host.client.newest_sent(10)
    assert [m["headers"]["x-labeldesk"].split(":")[0] for m in newest] == ["ack"]
    assert "eve@example.org" in newest[0]["headers"]["to"]
