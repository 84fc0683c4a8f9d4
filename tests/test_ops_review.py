"""Running ``labeldesk serve`` as an operator does: health and readiness, stopping, outages, the state folder."""
from __future__ import annotations

from plugin_host.sync import ChangeFeed
from plugin_host.web import create_app

from .conftest import deliver, make_email
from .test_host_sync import make_host


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def served(tmp_path, **kwargs):
    """(local mailbox, change feed, test client, clock) of a host as ``serve`` runs it."""
    local, host, _ = make_host(tmp_path, **kwargs)
    feed = ChangeFeed(host)
    clock = Clock()
    feed.health.clock = clock
    return local, feed, create_app(host, feed).test_client(), clock


# 1. A load balancer or uptime check could only learn that the process answered; now /readyz says whether the
#    last sync succeeded and when, and answers 503 with the reason when it failed or is long past.
def test_readyz_says_whether_the_last_sync_succeeded_and_when(tmp_path):
    local, feed, client, clock = served(tmp_path)
    first = client.get("/readyz")
    assert first.status_code == 503 and "first sync" in first.json["sync"]["problem"]
    feed.sync()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["sync"]["last_successful_sync_at"] == "2027-01-15T08:00:00+00:00"
    local.app.faults.fail_next("gmail.users.history.list", 6, 503)
    deliver(local.gmail(), make_email())
    clock.now += 60
    try:
        feed.sync()
    except Exception:
        pass
    failed = client.get("/readyz")
    assert failed.status_code == 503 and "HTTP 503" in failed.json["sync"]["problem"]
    assert failed.json["sync"]["failed_syncs_in_a_row"] == 1
    assert client.get("/healthz").status_code == 200  # liveness: a restart would not bring Gmail back
    assert client.get("/healthz").json["sync"]["ok"] is False
    feed.sync()
    assert client.get("/readyz").status_code == 200
    clock.now += 3600  # the poll stopped: nothing synced for an hour
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "no sync for 3600 s" in stale.json["sync"]["problem"]
