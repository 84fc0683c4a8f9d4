"""Two Labeldesk processes on one mailbox (`serve` and a cron `sync`, or cron runs that overlap): each
new ticket is handled once, and a process that waits too long says why it did nothing."""
from __future__ import annotations

import threading
import time

import pytest

from plugin_host import files, hookimpl
from plugin_host.files import Busy, exclusive
from plugin_host.mailbox import LocalMailbox
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_host_sync import Acknowledger, make_host, sent_acks


class SlowAcknowledger(Acknowledger):
    """Takes its time deciding, as a real plugin calling a slow service does: two processes overlap."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        time.sleep(0.05)
        super().on_ticket_opened(ticket, actions)


def two_processes(tmp_path):
    """Two hosts, each with its own executor and feed, on one mailbox and one state folder."""
    local = LocalMailbox("support@example.com")
    _, first, _ = make_host(tmp_path, local=local, plugin=SlowAcknowledger())
    _, second, _ = make_host(tmp_path, local=local, plugin=SlowAcknowledger())
    feeds = ChangeFeed(first), ChangeFeed(second)
    feeds[0].sync()  # the first run's full sync sets the cursor
    return local, feeds


def test_overlapping_syncs_acknowledge_each_new_ticket_once(tmp_path):
    local, feeds = two_processes(tmp_path)
    for n in range(4):
        deliver(local.gmail(), make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Order {n} is late"))
    runs = [threading.Thread(target=feed.sync) for feed in feeds]
    [run.start() for run in runs]
    [run.join() for run in runs]
    acks = sent_acks(local)
    assert len(acks) == 4, f"{len(acks)} acknowledgements for 4 tickets"


def test_a_process_starts_where_another_left_the_cursor(tmp_path):
    local, (first, second) = two_processes(tmp_path)
    second.sync()  # both have read the cursor
    deliver(local.gmail(), make_email())
    assert len(first.sync().threads) == 1
    assert second.sync().threads == []  # not read again: the other process handled it
    assert len(sent_acks(local)) == 1


def test_a_sync_that_waits_too_long_says_why_and_does_nothing(tmp_path, monkeypatch):
    local, (feed, _) = two_processes(tmp_path)
    deliver(local.gmail(), make_email())
    monkeypatch.setattr(files, "LOCK_WAIT_SECONDS", 0.2)
    holding, done = threading.Event(), threading.Event()

    def other_process():
        with exclusive(feed.host.state_dir, "sync", wait=5):
            holding.set()
            done.wait(5)

    other = threading.Thread(target=other_process)
    other.start()
    holding.wait(5)
    try:
        with pytest.raises(Busy, match=r"another Labeldesk process has been running sync .* nothing was done"):
            feed.sync()
        # Nothing was learnt about Gmail or this host: /readyz still reports the last sync, which succeeded.
        health = feed.health.as_dict()
        assert health["ok"] and health["failed_syncs_in_a_row"] == 0 and health["sync_running_since"] is None
    finally:
        done.set()
        other.join()
    assert sent_acks(local) == []
    assert len(feed.sync().threads) == 1  # once the other is done, the mail is handled


def test_a_sweep_waits_for_another_processes_sweep(tmp_path, monkeypatch):
    _, (feed, _) = two_processes(tmp_path)
    monkeypatch.setattr(files, "LOCK_WAIT_SECONDS", 0.2)
    with exclusive(feed.host.state_dir, "sweep", wait=5):
        blocked = []
        sweeper = threading.Thread(target=lambda: _catch(blocked, feed.host.sweep))
        sweeper.start()
        sweeper.join()
    assert blocked and isinstance(blocked[0], Busy)
    assert feed.host.sweep() == []  # free again


def _catch(into: list, work) -> None:
    try:
        work()
    except Exception as exc:  # handed to the test's thread
        into.append(exc)


def test_the_lock_files_are_private(tmp_path):
    _, (feed, _) = two_processes(tmp_path)
    lock = feed.host.state_dir / "sync.lock"
    assert lock.exists() and lock.stat().st_mode & 0o077 == 0


def test_serve_logs_a_busy_poll_as_a_warning_without_a_traceback(tmp_path, monkeypatch, caplog):
    from plugin_host.scheduler import Scheduler

    _, (feed, _) = two_processes(tmp_path)
    monkeypatch.setattr(files, "LOCK_WAIT_SECONDS", 0.05)
    scheduler = Scheduler(feed.host, feed)
    busy = []

    def poll():  # serve's poll while another process syncs
        scheduler.stop()  # one round
        waiting = threading.Thread(target=lambda: _catch(busy, feed.sync))
        with exclusive(feed.host.state_dir, "sync", wait=1):
            waiting.start()
            waiting.join()
        raise busy[0]

    with caplog.at_level("WARNING"):
        scheduler._loop(0, poll, "poll")
    record = next(r for r in caplog.records if "poll skipped" in r.getMessage())
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "another Labeldesk process" in record.getMessage()


def test_state_files_reach_the_disk_before_they_replace_the_old_ones(tmp_path, monkeypatch):
    """The cursor is fsynced before the rename and the folder after it: a power cut leaves the old cursor or
    the new one, never an empty file that costs a full sync."""
    import os

    from plugin_host import files

    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append("replace") or real_replace(a, b))
    files.write_private_json(tmp_path / "cursor.json", {"history_id": "7"})
    assert calls == ["fsync", "replace", "fsync"]
    calls.clear()
    files.write_private_json(tmp_path / "mailbox.json", {}, durable=False)
    assert calls == ["replace"]
