"""Sent read once a process, against a second acknowledgement or alert after a crash (review 27; since review 30
through :class:`plugin_host.sent.SentLedger`)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def sent_listings(host) -> list[dict]:
    """The listings of the SENT label the host makes from now on (its kwargs)."""
    calls, original = [], host.client.list_message_ids

    def spy(**kwargs):
        if kwargs.get("label_ids") == ["SENT"]:
            calls.append(kwargs)
        return original(**kwargs)

    host.client.list_message_ids = spy
    return calls


# ------------------------------------------------------------------ Sent, read once a process

def test_sent_is_read_once_a_process(tmp_path):
    """Acknowledging two new customers in one process lists Sent once, not per reply."""
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import make_host

    from .conftest import deliver
    from .test_pentest_review25 import hostile, sent_raw

    local, host, _ = make_host(tmp_path)
    sent = sent_raw(host)
    reads = sent_listings(host)
    deliver(local.gmail(), hostile("Subject: Order 1234\r\nMessage-ID: <a1@example.org>", "Eve <eve@example.org>"))
    deliver(local.gmail(), hostile("Subject: Order 5678\r\nMessage-ID: <b1@example.org>", "Bob <bob@example.org>"))
    assert ChangeFeed(host).sync().ok
    deliver(local.gmail(), hostile("Subject: Order 9012\r\nMessage-ID: <c1@example.org>", "Cat <cat@example.org>"))
    assert ChangeFeed(host).sync().ok
    assert len(sent) == 3
    assert len(reads) == 1


# ------------------------------------------------------------------ acknowledgements the search does not show yet

def test_an_acknowledgement_the_search_does_not_show_counts_only_for_its_customer_window_and_another_thread():
    from plugin_host.sent import SentLedger, SentMail

    now = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    window = timedelta(days=1)

    class NoSearch:
        def list_message_ids(self, **kwargs):
            return []

    def found(thread, to, marker="ack:acknowledgement", age=timedelta(minutes=1)):
        ledger = SentLedger(NoSearch(), lambda: now)
        ledger._unindexed = [SentMail(f"m-{thread}", thread, f"<{thread}@example.com>", frozenset([to]), marker,
                                      now - age)]
        return ledger.acknowledgement_to("Anna@example.org", "t-now", window)

    assert found("t-1", "anna@example.org") == "t-1"
    assert found("t-now", "anna@example.org") is None  # this ticket's own thread
    assert found("t-1", "bob@example.org") is None  # another customer
    assert found("t-1", "anna@example.org", marker="notify:breach:x") is None  # an alert, no acknowledgement
    assert found("t-1", "anna@example.org", age=timedelta(days=2)) is None  # before the window
    assert found("t-1", "anna@example.org", marker="") is None  # an agent's own reply


def test_without_an_acknowledgement_window_sent_is_not_read(tmp_path):
    """ack_window_days = 0 (acknowledge every ticket): nothing to look for in Sent, not even a listing."""
    from plugin_host.sync import ChangeFeed
    from tests.test_host_sync import CONFIG, make_host

    from .conftest import deliver
    from .test_pentest_review25 import hostile, sent_raw

    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], "ack_window_days": 0}}
    local, host, _ = make_host(tmp_path, config=config)
    sent = sent_raw(host)
    reads = sent_listings(host)
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
    listed = host.client.list_message_ids(label_ids=["SENT"])
    newest = host.client.sent_headers([{"id": "18c0ffee00000001", "threadId": "t0"}] + listed)
    assert [mail.key.split(":")[0] for mail in newest] == ["ack"]
    assert "eve@example.org" in newest[0].to
