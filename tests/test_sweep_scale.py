"""The sweep's Gmail calls grow with open tickets, not with the size of the mailbox."""
from __future__ import annotations

from benchmarks.sweep import measure


def test_sweep_calls_stay_flat_from_100_to_10000_threads():
    small, large = measure(100), measure(10_000)
    assert small["visited"] == large["visited"] == small["open_tickets"]
    assert small["calls_by_method"] == large["calls_by_method"]
    assert small["units"] == large["units"]


def test_a_sweep_reads_its_tickets_in_batches_with_the_same_calls():
    """Each ticket's threads.get goes into an HTTP batch of up to 50: the same Gmail calls and units as one
    request each, a few round trips instead of one a ticket (1,556 requests for 1,536 open tickets before)."""
    from datetime import datetime, timezone

    from benchmarks.sweep import OPEN, mailbox_with

    local, host = mailbox_with(100, datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc))
    local.app.reset_counters()
    before = local.http.requests
    visited = host.sweep()
    assert len(visited) == OPEN and all(p.ticket is not None for p in visited)
    assert local.app.calls["gmail.users.threads.get"] == OPEN  # each ticket read once, as before
    assert local.http.requests - before <= 5  # the search, the task lists, one batch of 20 threads


def test_a_thread_read_ahead_by_one_thread_of_the_process_is_not_taken_by_another(tmp_path):
    """A sweep (or a sync) reads tickets ahead; a background sync beside it must read the thread itself, not
    take the older copy, or the customer's new message would be missed."""
    import threading

    from tests.conftest import deliver, make_email
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    gmail = local.gmail()
    first = deliver(gmail, make_email(message_id="<ahead-1@example.org>", subject="Order late"))
    deliver(gmail, make_email(sender="B <b@example.org>", message_id="<ahead-2@example.org>", subject="Other"))
    reader = threading.Thread(target=host.prefetch, args=({first["threadId"]: None, "x": None},))
    reader.start()
    reader.join()
    later = deliver(gmail, make_email(message_id="<ahead-3@example.org>", subject="Re: Order late",
                                      in_reply_to="<ahead-1@example.org>"), threadId=first["threadId"])
    ticket = host.ticket(first["threadId"])
    assert later["id"] in [m.id for m in ticket.messages]
