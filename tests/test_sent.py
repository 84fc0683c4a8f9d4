"""plugin_host/sent.py: one "already sent?" for every automatic mail, and what Gmail's search does not show yet."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def mailbox(tmp_path):
    """(local mailbox, host): the host's executor and the mailbox both at ``NOW``."""
    from plugin_host.mailbox import LocalMailbox
    from tests.test_host_sync import make_host

    local = LocalMailbox("support@example.com", clock=lambda: NOW.timestamp())
    local, host, _ = make_host(tmp_path, local=local)
    host.executor.now = lambda: NOW
    return local, host


def send_alert(local, host, n: int, age: timedelta = timedelta(0)) -> str:
    """An alert email in Sent, sent ``age`` before NOW (an earlier process's): its Message-ID."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "support@example.com", "lead@example.com", f"Alert {n}"
    msg["Message-ID"] = message_id = f"<labeldesk.alert{n}@example.com>"
    msg["X-Labeldesk"] = f"notify:breach:{n}"
    msg.set_content("x")
    ref = host.client.send(msg.as_bytes())
    local.mailbox.messages[ref["id"]].internal_date = int((NOW - age).timestamp() * 1000)
    return message_id


def search_lags_for(host, ids: set[str]) -> None:
    """Gmail's search does not show the messages ``ids`` yet (a label's listing does)."""
    original = host.client.list_message_ids

    def lagging(**kwargs):
        found = original(**kwargs)
        return [ref for ref in found if ref["id"] not in ids] if kwargs.get("q") else found

    host.client.list_message_ids = lagging


def reads(host) -> list[int]:
    """How many messages' headers each read of Sent asked for."""
    counts, original = [], host.client.sent_headers
    host.client.sent_headers = lambda refs: counts.append(len(refs)) or original(refs)
    return counts


def new_process(host):
    """What a process started now knows: nothing it sent itself."""
    from plugin_host.sent import SentLedger

    return SentLedger(host.client, lambda: NOW)


def test_twelve_alerts_a_killed_process_sent_a_moment_ago_are_all_found(mailbox):
    """A process sent twelve alerts and was killed; Gmail's search does not show them yet. Reading only Sent's
    newest ten, the next process sent the first two again."""
    local, host = mailbox
    ids = [send_alert(local, host, n) for n in range(12)]
    search_lags_for(host, set(local.mailbox.messages))
    ledger = new_process(host)
    assert all(ledger.notification_sent(message_id) for message_id in ids)
    assert not ledger.notification_sent("<labeldesk.never@example.com>")


def test_the_read_stops_at_the_first_message_older_than_the_search_lag(mailbox):
    """Walking Sent back stops at the first message sent before start - SEARCH_LAG: the thirty older ones are not
    read, but for the rest of the batch that held the first of them."""
    from plugin_host.sent import CHUNK, SEARCH_LAG

    local, host = mailbox
    for n in range(30):
        send_alert(local, host, 100 + n, age=SEARCH_LAG + timedelta(hours=1, minutes=-n))
    recent = [send_alert(local, host, n, age=timedelta(seconds=30 - n)) for n in range(15)]
    search_lags_for(host, set(local.mailbox.messages))
    counted = reads(host)
    ledger = new_process(host)
    assert {mail.message_id for mail in ledger.unindexed()} == set(recent)
    assert 15 < sum(counted) <= 15 + CHUNK  # the fifteen and the rest of the batch holding the first older one


def test_what_the_search_shows_is_not_read_again(mailbox):
    """Messages the search already shows are left to the search: only the newest and the ones it does not show
    (here three of twelve) are read, besides the first one older than the lag."""
    local, host = mailbox
    send_alert(local, host, 99, age=timedelta(days=1))
    refs = {}
    for n in range(12):
        before = set(local.mailbox.messages)
        send_alert(local, host, n, age=timedelta(seconds=60 - n))
        refs[n] = (set(local.mailbox.messages) - before).pop()
    search_lags_for(host, {refs[n] for n in (3, 7, 11)})
    counted = reads(host)
    ledger = new_process(host)
    assert {mail.message_id for mail in ledger.unindexed()} >= {f"<labeldesk.alert{n}@example.com>" for n in (3, 7)}
    assert sum(counted) == 1 + 2 + 1  # the newest (11), the two the search misses, the day-old one


def test_a_quiet_mailbox_costs_one_listing_and_one_read(mailbox):
    """The normal start: nothing sent within the search's lag. One listing of Sent and the newest message's
    headers (10 units), no search for what was sent since."""
    local, host = mailbox
    for n in range(12):
        send_alert(local, host, n, age=timedelta(hours=2, minutes=-n))
    calls, original = [], host.client.list_message_ids
    host.client.list_message_ids = lambda **kw: calls.append(kw) or original(**kw)
    counted = reads(host)
    ledger = new_process(host)
    assert ledger.unindexed() == [] and ledger.unindexed() == []
    assert counted == [1] and [c.get("label_ids") for c in calls] == [["SENT"]]


def test_more_recent_sent_mail_than_the_read_bound_is_a_warning(mailbox, monkeypatch, caplog):
    from plugin_host import sent

    monkeypatch.setattr(sent, "MOST_READ", 5)
    local, host = mailbox
    for n in range(7):
        send_alert(local, host, n, age=timedelta(seconds=10 - n))
    search_lags_for(host, set(local.mailbox.messages))
    caplog.set_level(logging.WARNING)
    assert len(new_process(host).unindexed()) == 5
    assert any("the newest 5 sent messages were all sent within" in r.getMessage() for r in caplog.records)


def test_an_acknowledgement_sent_here_is_found_without_a_search(mailbox):
    """This process's own acknowledgement: found in its memory, in another thread only, within the window."""
    local, host = mailbox
    ledger = new_process(host)
    ledger.record({"id": "m1", "threadId": "t1"}, "<labeldesk.a@example.com>", "Jane <Jane@Example.org>", "ack:x")
    host.client.list_message_ids = lambda **kw: pytest.fail(f"searched: {kw}")
    assert ledger.acknowledgement_to("jane@example.org", "t2", timedelta(days=4)) == "t1"
    assert ledger.notification_sent("<labeldesk.a@example.com>")


def trash(local, message_id: str) -> None:
    """An agent bins the sent message ``message_id`` (with its thread, as Gmail's Delete does)."""
    ref = next(i for i, m in local.mailbox.messages.items() if message_id.encode() in m.raw)
    local.gmail().users().messages().trash(userId="me", id=ref).execute()


def test_an_alert_sent_a_moment_ago_and_binned_since_is_found_by_the_next_process(mailbox):
    """A process sent an alert and was killed; an agent binned it before Gmail's search showed it. Sent's listing
    leaves Trash out unless asked, so the next process found no such alert and sent it again."""
    local, host = mailbox
    ids = [send_alert(local, host, n, age=timedelta(seconds=30 - n)) for n in range(3)]
    trash(local, ids[0])
    search_lags_for(host, set(local.mailbox.messages))
    assert new_process(host).notification_sent(ids[0])


def test_a_binned_message_the_search_shows_is_not_read_again(mailbox):
    """The search of what was sent since the lag includes Trash, as Sent's listing does: a binned message the
    search shows is left to it, not read again (5 quota units each)."""
    local, host = mailbox
    ids = [send_alert(local, host, n, age=timedelta(seconds=30 - n)) for n in range(4)]
    trash(local, ids[1])
    counted = reads(host)
    assert [mail.message_id for mail in new_process(host).unindexed()] == [ids[-1]]
    assert counted == [1]  # the newest only
