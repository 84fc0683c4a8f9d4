"""A full sync stopped half-way (SIGTERM, Gmail refusing, a crash) goes on where it stopped at the next run.

A full sync happens on the first run, on `labeldesk sync --full` and when Gmail no longer keeps the cursor's history
id. On a mailbox of thousands of threads it takes hours on a new Cloud project's quota; started again from the
first thread after each stop, it may never finish. The state folder keeps a place-marker beside the cursor
(`full-sync.json`): the history id taken when the full sync began and the threads it listed that are not done yet.
"""
from __future__ import annotations

import json
import logging

from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_host_sync import make_host, sent_acks, thread_label_names

N, K = 12, 5


def mailbox_of(tmp_path, n: int = N):
    local, host, plugin = make_host(tmp_path)
    g = local.gmail()
    refs = [deliver(g, make_email(sender=f"Customer {i} <c{i}@example.org>", subject=f"Question {i}",
                                  message_id=f"<q{i}@example.org>")) for i in range(n)]
    return local, host, refs


def threads_read(local) -> int:
    return local.app.calls["gmail.users.threads.get"]


def stop_after(host, k: int):
    """A progress callback that stops the host (as SIGTERM does) once ``k`` threads of the full sync are done
    (counted over the whole full sync: a continued one counts on from where it stopped)."""
    def progress(done, total):
        if done == k:
            host.stopping.set()
    return progress


def gmail_down_after(local, k: int, status: int = 503):
    """A progress callback after which Gmail answers ``status`` to every call (an outage, a quota refusal)."""
    def progress(done, total):
        if done == k:
            local.app.faults.error_rates["*"] = 1.0
            local.app.faults.status = status
    return progress


def gmail_back(local) -> None:
    local.app.faults.error_rates.clear()


def restarted(tmp_path, local):
    """A new process on the same mailbox and state folder."""
    return ChangeFeed(make_host(tmp_path, local=local)[1])


def test_a_full_sync_stopped_by_sigterm_goes_on_from_the_thread_it_stopped_at(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    first = ChangeFeed(host, progress=stop_after(host, K)).sync()
    assert first.full and len(first.threads) == K and not first.ok
    local.app.reset_counters()
    second = restarted(tmp_path, local).sync()
    assert second.full and second.ok
    assert threads_read(local) == N - K  # was N: every thread read again
    assert len(second.threads) == N - K
    assert sorted(m.thread_id for m in sent_acks(local)) == sorted(r["threadId"] for r in refs)  # each once
    assert not (tmp_path / "state" / "full-sync.json").exists()


def test_a_full_sync_gmail_stopped_mid_batch_goes_on_from_the_thread_gmail_refused(tmp_path):
    for status in (503, 429):
        local, host, refs = mailbox_of(tmp_path / str(status))
        first = ChangeFeed(host, progress=gmail_down_after(local, K, status)).sync()
        assert first.full and len(first.threads) == K and not first.ok
        gmail_back(local)
        local.app.reset_counters()
        second = restarted(tmp_path / str(status), local).sync()
        assert second.full and second.ok, status
        assert threads_read(local) == N - K, status
        assert len(sent_acks(local)) == N


def test_a_full_sync_goes_on_over_several_stops_and_ends_at_its_first_history_id(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    began = local.gmail().users().getProfile(userId="me").execute()["historyId"]
    processed = len(ChangeFeed(host, progress=stop_after(host, 4)).sync().threads)
    for stop in (8, N + 1):
        local.app.reset_counters()
        process = make_host(tmp_path, local=local)[1]
        report = ChangeFeed(process, progress=stop_after(process, stop)).sync()
        processed += len(report.threads)
    assert report.ok and report.continued == (8, N) and processed == N
    assert threads_read(local) == N - 8  # the last run read what the one before had not done
    assert json.loads((tmp_path / "state" / "cursor.json").read_text())["history_id"] == began
    local.app.reset_counters()
    assert restarted(tmp_path, local).sync().ok  # the history since it began: the acknowledgements of every run
    assert threads_read(local) == 0  # are what we sent, not news (the cursor keeps their ids)


def test_mail_that_came_while_the_full_sync_was_stopped_is_not_missed(tmp_path):
    """History from the id taken when the full sync began: a follow-up in a thread already done, one in a thread
    not reached yet, a new ticket. Each handled once, each ticket acknowledged once."""
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    g = local.gmail()
    done, waiting = refs[-1], refs[0]  # listed newest first: the last delivered was done first
    deliver(g, make_email(sender="Customer 11 <c11@example.org>", subject="Re: Question 11", body="Any news?",
                          message_id="<f11@example.org>", in_reply_to="<q11@example.org>"), threadId=done["threadId"])
    deliver(g, make_email(sender="Customer 0 <c0@example.org>", subject="Re: Question 0", body="Hello?",
                          message_id="<f0@example.org>", in_reply_to="<q0@example.org>"), threadId=waiting["threadId"])
    new = deliver(g, make_email(sender="New <new@example.org>", subject="New question", message_id="<new@example.org>"))
    feed = restarted(tmp_path, local)
    assert feed.sync().ok
    assert feed.sync().ok  # the history since the full sync began
    acked = sorted(m.thread_id for m in sent_acks(local))
    assert acked == sorted([r["threadId"] for r in refs] + [new["threadId"]])
    for ref in (done, waiting, new):
        assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])


def test_the_place_marker_is_a_private_file_beside_the_cursor(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    marker = tmp_path / "state" / "full-sync.json"
    assert marker.stat().st_mode & 0o777 == 0o600
    data = json.loads(marker.read_text())
    assert data["mailbox"] == "support@example.com" and data["listed"] == N and len(data["left"]) == N - K


def test_a_continued_full_sync_says_where_it_stopped(tmp_path, caplog):
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    with caplog.at_level(logging.INFO, logger="plugin_host.sync"):
        report = restarted(tmp_path, local).sync()
    assert report.continued == (K, N)
    assert f"continuing a full sync stopped at thread {K} of {N}" in caplog.text


def marker_of(tmp_path) -> dict:
    return json.loads((tmp_path / "state" / "full-sync.json").read_text())


def test_a_full_sync_whose_history_gmail_no_longer_keeps_starts_over_and_says_why(tmp_path, caplog):
    """Stopped long enough for Gmail to drop the history since it began: going on would miss the mail of the
    stop. The analogue of a page token Gmail no longer takes."""
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    local.mailbox.expire_history()
    local.app.reset_counters()
    with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
        report = restarted(tmp_path, local).sync()
    assert report.ok and report.continued is None and threads_read(local) == N
    assert (f"the full sync stopped at thread {K} of {N} cannot go on: Gmail no longer keeps the history since it "
            "began") in caplog.text and "the full sync starts over" in caplog.text
    assert len(sent_acks(local)) == N


def test_a_full_sync_stopped_under_other_settings_starts_over(tmp_path, caplog):
    """A longer full_sync_days, or a plugin switched on since: the threads done before were done without it."""
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    config = {"mailbox": {"address": "support@example.com", "full_sync_days": 60}, "plugins": {"enabled": []}}
    local.app.reset_counters()
    with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
        report = ChangeFeed(make_host(tmp_path, local=local, config=config)[1]).sync()
    assert report.ok and report.continued is None and threads_read(local) == N
    assert "cannot go on: full_sync_days changed since it began; the full sync starts over" in caplog.text


def test_a_damaged_or_other_mailboxs_place_marker_starts_the_full_sync_over(tmp_path, caplog):
    for n, text in enumerate(["{\"history_id\": ", json.dumps({"mailbox": "sales@example.com", "history_id": "1",
                                                                "left": []})]):
        local, host, refs = mailbox_of(tmp_path / str(n))
        (tmp_path / str(n) / "state").mkdir(parents=True, exist_ok=True)
        (tmp_path / str(n) / "state" / "full-sync.json").write_text(text)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
            report = ChangeFeed(host).sync()
        assert report.ok and report.continued is None and len(report.threads) == N
        assert ("is damaged" if n == 0 else "belongs to sales@example.com") in caplog.text
        assert not (tmp_path / str(n) / "state" / "full-sync.json").exists()


def test_a_finished_full_sync_killed_before_its_marker_was_removed_is_not_done_again(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    kept = (tmp_path / "state" / "full-sync.json").read_text()
    restarted(tmp_path, local).sync()
    (tmp_path / "state" / "full-sync.json").write_text(kept)  # as if killed between the cursor and the removal
    local.app.reset_counters()
    report = restarted(tmp_path, local).sync()
    assert not report.full and threads_read(local) == 0
    assert not (tmp_path / "state" / "full-sync.json").exists()


def test_a_thread_set_aside_is_not_taken_up_again_and_a_failed_one_is(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    poisoned = refs[3]["threadId"]
    real = host.process_thread

    def failing(thread_id, *args, **kwargs):
        if thread_id == poisoned:
            raise ValueError("a message the parser cannot read")
        return real(thread_id, *args, **kwargs)

    host.process_thread = failing
    feed = ChangeFeed(host)
    for run in range(1, 4):
        report = feed.sync()
        assert report.continued == (None if run == 1 else (N - 1, N))
        left = marker_of(tmp_path)["left"] if run < 3 else None
        assert left is None or left == [poisoned]
    assert report.ok and [t for t, _ in report.set_aside] == [poisoned]
    assert not (tmp_path / "state" / "full-sync.json").exists()


def test_a_dry_run_shows_the_continued_full_sync_and_leaves_its_marker_alone(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    kept = (tmp_path / "state" / "full-sync.json").read_text()
    report = restarted(tmp_path, local).sync(dry_run=True)
    assert report.continued == (K, N) and len(report.threads) == N - K
    assert (tmp_path / "state" / "full-sync.json").read_text() == kept
    report = restarted(tmp_path, local).sync(dry_run=True, restart=True)
    assert report.continued is None and len(report.threads) == N
    assert (tmp_path / "state" / "full-sync.json").read_text() == kept


def test_sync_full_goes_on_with_a_stopped_full_sync_and_restart_starts_it_over(tmp_path):
    """An admin's `sync --full` while a stopped one waits: both list the same recent mail, and the stopped one
    already did part of it, so it goes on; `--restart` is for starting over all the same."""
    from plugin_host.cli import get_cli

    from .conftest import cli_runner, served

    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    config = tmp_path / "labeldesk.toml"
    with served(local):
        config.write_text(f'[mailbox]\naddress = "support@example.com"\napi_root = "{local.served_root}"\n'
                          f'[plugins]\nenabled = []\n[host]\nstate_dir = "state"\n')
        went_on = cli_runner().invoke(get_cli(), ["sync", "--full", "--config", str(config)])
        ChangeFeed(make_host(tmp_path, local=local)[1]).sync(full=True, restart=True)
        stopping = make_host(tmp_path, local=local)[1]
        ChangeFeed(stopping, progress=stop_after(stopping, K)).sync(restart=True)
        over = cli_runner().invoke(get_cli(), ["sync", "--restart", "--config", str(config)])
    assert went_on.exit_code == 0, went_on.output
    assert f"full (continued from thread {K} of {N}) sync: {N - K} thread(s), 0 failed" in went_on.stdout
    assert over.exit_code == 0, over.output
    assert f"full sync: {N} thread(s), 0 failed" in over.stdout


def test_awaiting_reply_deleted_while_a_full_sync_is_stopped_starts_it_over(tmp_path):
    """The threads done before the stop lost Awaiting reply with the label: continuing from the stop would leave
    them out of the queue for good. The full sync starts over, so every open ticket is labelled again; nothing is
    acknowledged twice."""
    local, host, refs = mailbox_of(tmp_path)
    assert not ChangeFeed(host, progress=stop_after(host, K)).sync().ok
    awaiting = next(l for l in local.mailbox.labels.values() if l["name"] == "Helpdesk/Awaiting reply")
    local.gmail().users().labels().delete(userId="me", id=awaiting["id"]).execute()
    report = restarted(tmp_path, local).sync()
    assert report.ok and report.full and len(report.threads) == N
    assert all("Helpdesk/Awaiting reply" in thread_label_names(local, r["threadId"]) for r in refs)
    assert sorted(m.thread_id for m in sent_acks(local)) == sorted(r["threadId"] for r in refs)  # each once
    assert not (tmp_path / "state" / "full-sync.json").exists()


def test_a_full_sync_that_cannot_go_on_starts_over_on_a_running_install_too(tmp_path, caplog):
    """An admin's `sync --full` on an install already running (the cursor set) was stopped at thread K, and
    full_sync_days changed before the next run. That run said "the full sync starts over", dropped the marker and
    synced incrementally from the cursor: the threads after the stop never had the full sync asked for."""
    local, host, refs = mailbox_of(tmp_path)
    assert ChangeFeed(host).sync().ok  # the first run: the cursor is set
    stopping = make_host(tmp_path, local=local)[1]
    assert not ChangeFeed(stopping, progress=stop_after(stopping, K)).sync(full=True).ok
    config = {"mailbox": {"address": "support@example.com", "full_sync_days": 60}, "plugins": {"enabled": []}}
    local.app.reset_counters()
    with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
        report = ChangeFeed(make_host(tmp_path, local=local, config=config)[1]).sync()
    assert "the full sync starts over" in caplog.text
    assert report.ok and report.full and report.continued is None and threads_read(local) == N
    assert not (tmp_path / "state" / "full-sync.json").exists()


def test_a_place_marker_of_another_shape_is_damaged(tmp_path, caplog):
    """JSON, but not a marker (a history id that is no number, a list): taken as it was, the next sync would have
    failed on it, as every run after, instead of starting over."""
    left = ["19a0000000000001"]
    for n, marker in enumerate([{"history_id": "12a"}, {"history_id": ""}, {"history_id": "-5"}, {"history_id": 12},
                                {"history_id": "12", "left": "19a0000000000001"}, [], "12"]):
        local, host, refs = mailbox_of(tmp_path / str(n))
        (tmp_path / str(n) / "state").mkdir(parents=True, exist_ok=True)
        if isinstance(marker, dict):
            marker = {"mailbox": "support@example.com", "left": left, **marker}
        (tmp_path / str(n) / "state" / "full-sync.json").write_text(json.dumps(marker))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
            report = ChangeFeed(host).sync()
        assert report.ok and report.continued is None and len(report.threads) == N, marker
        assert "is damaged" in caplog.text


def test_a_full_sync_stopped_before_a_plugin_was_switched_on_starts_over(tmp_path, caplog):
    """The threads done before the stop were done without the plugin: going on would leave them so."""
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    config = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": ["sla"], "sla": {"hours": "24/7"}}}
    local.app.reset_counters()
    with caplog.at_level(logging.WARNING, logger="plugin_host.sync"):
        report = ChangeFeed(make_host(tmp_path, local=local, config=config)[1]).sync()
    assert report.ok and report.continued is None and threads_read(local) == N
    assert "cannot go on: plugins changed since it began; the full sync starts over" in caplog.text


def test_a_place_marker_counting_fewer_listed_than_left_counts_what_is_left(tmp_path):
    local, host, refs = mailbox_of(tmp_path)
    ChangeFeed(host, progress=stop_after(host, K)).sync()
    path = tmp_path / "state" / "full-sync.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "listed": 2}))
    report = restarted(tmp_path, local).sync()
    assert report.ok and report.continued == (0, N - K)


class Killed(BaseException):
    """kill -9 at that point: nothing after it runs, no ``finally`` that saves."""


def killed_after(k: int):
    def progress(done, total):
        if done == k:
            raise Killed()
    return progress


def test_a_sync_full_killed_in_its_first_batch_is_still_a_full_sync_at_the_next_run(tmp_path):
    """The marker is saved when the full sync begins: an admin's `sync --full` on a running install, killed before
    its first batch of 50 ended, is not lost to an incremental sync from the cursor."""
    local, host, refs = mailbox_of(tmp_path)
    assert ChangeFeed(host).sync().ok  # the first run: the cursor is set
    killed = make_host(tmp_path, local=local)[1]
    try:
        ChangeFeed(killed, progress=killed_after(K)).sync(full=True)
    except Killed:
        pass
    report = restarted(tmp_path, local).sync()
    assert report.ok and report.full and report.continued == (0, N)


def test_a_full_sync_killed_right_after_a_batch_reads_none_of_that_batch_again(tmp_path):
    local, host, refs = mailbox_of(tmp_path, n=60)
    try:
        ChangeFeed(host, progress=killed_after(50)).sync()
    except Killed:
        pass
    local.app.reset_counters()
    report = restarted(tmp_path, local).sync()
    assert report.ok and report.continued == (50, 60) and threads_read(local) == 10


def test_a_thread_set_aside_leaves_the_place_marker_though_the_run_does_not_end_the_full_sync(tmp_path):
    """Set aside (a person answers it), it is not read again by the runs that go on with the full sync."""
    from plugin_host.errors import GmailError

    local, host, refs = mailbox_of(tmp_path)
    poisoned, refused = refs[3]["threadId"], refs[7]["threadId"]
    real = host.process_thread

    def failing(thread_id, *args, **kwargs):
        if thread_id == poisoned:
            raise ValueError("a message the parser cannot read")
        if thread_id == refused:
            raise GmailError("Gmail refused this thread")  # Gmail's reason: tried again, never set aside
        return real(thread_id, *args, **kwargs)

    host.process_thread = failing
    feed = ChangeFeed(host)
    for run in range(3):
        report = feed.sync()
    assert [t for t, _ in report.set_aside] == [poisoned]
    assert marker_of(tmp_path)["left"] == [refused]
