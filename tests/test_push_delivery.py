"""Gmail push as Pub/Sub delivers it in production: at least once, out of order, in bursts (a backlog after the
host was down), for other mailboxes of a shared topic; and the watch that makes Gmail push at all."""
from __future__ import annotations

import base64
import itertools
import json
import threading

import pytest
import responses

from .conftest import deliver, make_email
from .test_push import AUDIENCE, PUSHER, push_app
from .tokens import serve_certs

_ids = itertools.count(1)


def pubsub_push(history_id: int, address: str = "support@example.com", message_id: str | None = None) -> bytes:
    """A Pub/Sub push request body carrying Gmail's notification, each with its own messageId by default."""
    data = json.dumps({"emailAddress": address, "historyId": history_id}).encode()
    return json.dumps({"message": {"data": base64.urlsafe_b64encode(data).decode(), "attributes": {},
                                   "messageId": message_id or f"pubsub-{next(_ids)}",
                                   "publishTime": "2026-11-23T10:00:00.000Z"},
                       "subscription": "projects/p/subscriptions/labeldesk"}).encode()


def settle(feed) -> None:
    """Wait until the syncs pushes started have ended (no timing: the queue's lock is held while one runs)."""
    while True:
        with feed._queue:
            pass
        if not feed._waiting.is_set() and not feed._queue.locked():
            return


@pytest.fixture
def pushed(tmp_path, signer):
    """(local mailbox, feed, post) with the cursor set by a first sync; ``post(body)`` answers like serve."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        local, host, feed, client = push_app(tmp_path)
        feed.sync()
        auth = {"Authorization": "Bearer " + signer.token(AUDIENCE, PUSHER)}
        yield local, feed, lambda body: client.post("/gmail/push", data=body, headers=auth)


def counting_history_reads(feed, gate: threading.Event | None = None) -> list:
    """history.list calls of the feed's client from here on; with ``gate``, the first one waits for it."""
    calls, real = [], feed.host.client.list_history

    def list_history(*args, **kwargs):
        calls.append(args[0])
        if gate is not None and len(calls) == 1:
            gate.wait(10)
        return real(*args, **kwargs)

    feed.host.client.list_history = list_history
    return calls


def test_a_push_for_changes_the_cursor_already_passed_reads_no_history(pushed):
    """Pub/Sub delivers out of order and late: a notification older than what the last sync applied has nothing
    to tell, and reading history for it spent quota (2 units each) for nothing."""
    local, feed, post = pushed
    deliver(local.gmail(), make_email(message_id="<late@example.org>"))
    newest = local.mailbox.history_id
    reads = counting_history_reads(feed)
    answer = post(pubsub_push(newest))
    settle(feed)
    assert answer.status_code == 200 and answer.json["accepted"] and len(reads) == 1
    assert int(feed.cursor.history_id) >= newest
    for older in (newest, newest - 1, newest - 3):  # Gmail's earlier notices, delivered after the newer one
        late = post(pubsub_push(older))
        assert late.status_code == 200 and late.json["accepted"] and late.json["synced_already"]
    settle(feed)
    assert len(reads) == 1


def test_a_backlog_of_pushes_costs_one_history_read(pushed):
    """After the host was down Pub/Sub delivers its backlog at once: hundreds of notices within seconds. One
    sync runs and one waits; the waiting one had nothing left to do once the first one passed every notice, but it
    read history again, and so did each sync after it while the backlog lasted."""
    local, feed, post = pushed
    g = local.gmail()
    for n in range(5):
        deliver(g, make_email(sender=f"Customer {n} <c{n}@example.org>", message_id=f"<b{n}@example.org>"))
    newest = local.mailbox.history_id
    gate = threading.Event()
    reads = counting_history_reads(feed, gate)
    assert post(pubsub_push(newest)).status_code == 200  # starts a sync, held inside its history read
    while not reads:
        threading.Event().wait(0.01)
    answers = [post(pubsub_push(history_id)) for history_id in range(newest - 40, newest + 1)]
    assert {a.status_code for a in answers} == {200}
    gate.set()
    settle(feed)
    assert len(reads) == 1
    assert int(feed.cursor.history_id) >= newest


def test_a_push_newer_than_the_cursor_still_syncs(pushed):
    local, feed, post = pushed
    reads = counting_history_reads(feed)
    deliver(local.gmail(), make_email(message_id="<first@example.org>"))
    post(pubsub_push(local.mailbox.history_id))
    settle(feed)
    deliver(local.gmail(), make_email(sender="Bob <bob@example.org>", message_id="<second@example.org>"))
    answer = post(pubsub_push(local.mailbox.history_id))
    settle(feed)
    assert not answer.json.get("synced_already") and len(reads) == 2
    assert sum(b"X-Labeldesk: ack" in m.raw for m in local.mailbox.messages.values()) == 2


def test_pushes_for_other_mailboxes_of_a_shared_topic_are_said_once(pushed, caplog):
    """Google recommends one Pub/Sub topic for all of an application's Gmail pushes, so a host's subscription
    gets every other mailbox's notices too (up to one a second each): each was a WARNING, a line a second."""
    _, feed, post = pushed
    with caplog.at_level("DEBUG", logger="plugin_host"):
        for n in range(30):
            answer = post(pubsub_push(2000 + n, address="sales@example.com"))
            assert answer.status_code == 200 and answer.json == {"ignored": True}  # never ours: not redelivered
        post(pubsub_push(5000, address="billing@example.com"))
    said = [r for r in caplog.records if r.levelname == "WARNING" and "ignored" in r.getMessage()]
    assert [("sales@example.com" in r.getMessage(), "billing@example.com" in r.getMessage()) for r in said] == [
        (True, False), (False, True)]
    assert "support@example.com" in said[0].getMessage() and "once" in said[0].getMessage()


def test_a_new_watch_topic_is_watched_at_the_next_start_not_a_day_later(tmp_path):
    """The admin moves the push to another topic (a new project, a renamed topic) and restarts: Gmail went on
    publishing to the old topic until the daily renewal came due, up to 24 hours of polling only."""
    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail") is True
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail") is False  # a restart: renewed less than a day ago
    assert ChangeFeed(host).renew_watch("projects/q/topics/labeldesk") is True
    assert local.mailbox.watch_state["topicName"] == "projects/q/topics/labeldesk"
    assert ChangeFeed(host).renew_watch("projects/q/topics/labeldesk") is False


def test_a_cursor_from_before_the_topic_was_kept_renews_no_sooner(tmp_path):
    """Upgraded on a cursor.json that does not name the watched topic: the daily rhythm goes on, no extra watch."""
    import time as clock

    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    (tmp_path / "state").mkdir(mode=0o700, exist_ok=True)
    (tmp_path / "state" / "cursor.json").write_text(json.dumps({"mailbox": "support@example.com", "history_id": "5",
                                                                "watch_renewed_at": clock.time() - 3600}))
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail") is False
    assert local.mailbox.watch_state is None


def test_the_local_mailbox_stops_pushing_when_the_watch_expires_as_gmail_does(tmp_path):
    """Gmail stops publishing once a watch's expiration passes (7 days after users.watch); the local mailbox went
    on pushing for ever, so a host that never renewed passed its tests and went quiet in production."""
    from plugin_host.mailbox import LocalMailbox

    now = {"t": 1_790_000_000.0}
    local = LocalMailbox(clock=lambda: now["t"])
    pushes = []
    local.app.push_callback = pushes.append
    g = local.gmail()
    answer = g.users().watch(userId="me", body={"topicName": "projects/p/topics/gmail", "labelIds": ["INBOX"]}).execute()
    assert int(answer["expiration"]) == int((now["t"] + 7 * 86400) * 1000)  # by the mailbox's clock
    deliver(g, make_email(message_id="<in-time@example.org>"))
    assert len(pushes) == 1
    now["t"] += 7 * 86400 + 1
    deliver(g, make_email(sender="Bob <bob@example.org>", message_id="<too-late@example.org>"))
    assert len(pushes) == 1
    g.users().watch(userId="me", body={"topicName": "projects/p/topics/gmail", "labelIds": ["INBOX"]}).execute()
    deliver(g, make_email(sender="Eve <eve@example.org>", message_id="<renewed@example.org>"))
    assert len(pushes) == 2


def test_a_watch_that_expired_while_the_host_was_down_is_renewed_at_start_and_the_poll_fills_the_gap(tmp_path,
                                                                                                       monkeypatch):
    """serve's first run after 8 days away: the watch is renewed (Gmail stopped pushing a day ago) and the first
    poll brings in the mail of the whole gap, each customer acknowledged once."""
    import plugin_host.sync as sync_module
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.scheduler import Scheduler
    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host, sent_acks

    now = {"t": 1_790_000_000.0}
    monkeypatch.setattr(sync_module.time, "time", lambda: now["t"])
    local = LocalMailbox(clock=lambda: now["t"])
    pushes = []
    local.app.push_callback = pushes.append
    topic = "projects/p/topics/gmail"
    _, host, _ = make_host(tmp_path, local=local)
    feed = ChangeFeed(host)
    assert feed.renew_watch(topic) and feed.sync().ok  # running, then stopped
    now["t"] += 8 * 86400
    g = local.gmail()
    for n in range(3):
        deliver(g, make_email(sender=f"C{n} <c{n}@example.org>", message_id=f"<gap{n}@example.org>"))
    assert pushes == []  # the watch had expired: Gmail told nobody
    _, host, _ = make_host(tmp_path, local=local)  # serve starts again
    feed = ChangeFeed(host)
    scheduler = Scheduler(host, feed, topic=topic)
    scheduler.once(lambda: feed.renew_watch(topic), "watch renewal", "polling continues")  # as first_run does
    scheduler.once(feed.sync, "poll", "polling will retry")
    assert local.mailbox.watch_state["expiration"] > now["t"] * 1000
    assert len(sent_acks(local)) == 3 and not feed.sync().threads
    pushed_before = len(pushes)  # the labels and acknowledgements of the gap's tickets were pushed already
    deliver(g, make_email(sender="Dan <dan@example.org>", message_id="<after@example.org>"))
    assert len(pushes) == pushed_before + 1  # Gmail pushes again


def test_push_switched_off_tells_gmail_to_stop_publishing(tmp_path, caplog):
    """The admin removes watch_topic (back to polling) and restarts: nothing told Gmail, which went on publishing
    every change to the topic for up to 7 days, each push refused by /gmail/push. The first renewal round without a
    topic now calls users.stop once, and says so."""
    import logging

    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail") is True
    assert local.mailbox.watch_state is not None
    with caplog.at_level(logging.INFO, logger="plugin_host"):
        assert ChangeFeed(host).renew_watch(None) is True
    assert local.mailbox.watch_state is None
    said = [r.getMessage() for r in caplog.records if "stop" in r.getMessage()]
    assert len(said) == 1 and "projects/p/topics/gmail" in said[0] and "watch_topic" in said[0], said
    assert local.app.calls["gmail.users.stop"] == 1
    assert ChangeFeed(host).renew_watch(None) is False  # once: the next start asks nothing
    assert local.app.calls["gmail.users.stop"] == 1


def test_no_stop_for_a_watch_that_already_expired(tmp_path):
    """Gmail stopped pushing by itself 7 days after the last renewal: no call, no word, the record is cleared."""
    import time as clock

    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    (tmp_path / "state").mkdir(mode=0o700, exist_ok=True)
    (tmp_path / "state" / "cursor.json").write_text(json.dumps({
        "mailbox": "support@example.com", "history_id": "5", "watch_renewed_at": clock.time() - 9 * 86400,
        "watch_expires_at": clock.time() - 2 * 86400, "watch_topic": "projects/p/topics/gmail"}))
    assert ChangeFeed(host).renew_watch(None) is False
    assert local.app.calls["gmail.users.stop"] == 0


def test_a_host_that_takes_pushes_another_renews_stops_no_watch(tmp_path):
    """README's set-up of a host with push_audience and no watch_topic (another host renews the watch, over the
    same state folder): it must not stop the other's watch."""
    from plugin_host.sync import ChangeFeed

    from .test_host_sync import CONFIG, make_host

    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], "push_audience": "https://desk.example.com/gmail/push",
                                    "push_service_account": "push@p.iam.gserviceaccount.com"}}
    local, host, _ = make_host(tmp_path, config=config)
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail") is True  # the other host, same state folder
    assert ChangeFeed(host).renew_watch(None) is False
    assert local.mailbox.watch_state is not None and local.app.calls["gmail.users.stop"] == 0


def test_a_watch_renewed_two_days_ago_by_a_version_that_kept_no_end_is_stopped(tmp_path):
    """A cursor without watch_expires_at (an older version renewed the watch): Gmail publishes for 7 days after a
    renewal, so one of two days ago is still live."""
    import time as clock

    from plugin_host.sync import ChangeFeed

    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    (tmp_path / "state").mkdir(mode=0o700, exist_ok=True)
    (tmp_path / "state" / "cursor.json").write_text(json.dumps({
        "mailbox": "support@example.com", "history_id": "5", "watch_renewed_at": clock.time() - 2 * 86400}))
    assert ChangeFeed(host).renew_watch(None) is True
    assert local.app.calls["gmail.users.stop"] == 1


def test_serve_started_without_a_topic_stops_the_watch_an_earlier_run_left(tmp_path, monkeypatch):
    from plugin_host.scheduler import run_server
    from plugin_host.sync import ChangeFeed

    from .conftest import fake_waitress
    from .test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail")  # the run before, with push
    fake_waitress(monkeypatch)
    monkeypatch.setattr("plugin_host.scheduler.Scheduler.jobs", lambda self: [])
    run_server(host, "127.0.0.1", 8099, announce=lambda text: None)  # watch_topic removed since
    assert local.app.calls["gmail.users.stop"] == 1 and local.mailbox.watch_state is None
