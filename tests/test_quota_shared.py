"""One Gmail quota, several Labeldesk processes: ``serve`` syncing a burst of new mail while cron's ``labeldesk
sweep`` runs (or an admin's ``kb gaps``, ``forget``, ``agents sync``) spend the same user's units per minute.
Each process on its own keeps under Gmail's limit; together they must too, through the state folder they share.

The processes are threads here, each with a host of its own (its own client, bucket, locks) on one state folder
and one local mailbox that refuses past the minute's units as Gmail does, on shared virtual time."""
from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone

from plugin_host.config import load_config
from plugin_host.mailbox import InProcessHttp, LocalMailbox
from plugin_host.mailbox.errors import ApiError
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from tests.conftest import make_email
from tests.virtual_time import SharedVirtualTime

BREACHED = "Helpdesk/SLA/Breached"


class QuotaWall:
    """The local mailbox refusing past a new project's 6,000 units a user a minute, on shared virtual time, and the
    state folder every process of the install shares."""

    def __init__(self, tmp_path):
        self.time = SharedVirtualTime()
        self.started = datetime.now(timezone.utc).replace(microsecond=0)
        self.local = LocalMailbox(quota_table="new")
        self.local.app.clock = self.time.clock
        self.refused = 0
        account = self.local.app.account

        def counted(method_id):
            try:
                account(method_id)
            except ApiError:
                self.refused += 1
                raise
        self.local.app.account = counted
        # a local mailbox is not paced unless asked: 85 units a second is what a new project's host gets on Gmail
        data = {"mailbox": {"address": "support@example.com", "quota_units_per_second": 85},
                "host": {"state_dir": str(tmp_path)},
                "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
                "plugins": {"enabled": ["autoreply", "sla"], "sla": {"hours": "24/7"}}}
        self.config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
        self.made = 0

    def now(self):
        return self.started + timedelta(seconds=self.time.now)

    def process(self):
        """A host as one more `labeldesk` process would build it, on the shared clock."""
        self.made += 1
        host = build_host(self.config, http=InProcessHttp(self.local.app), now=self.now)
        bucket = host.client.bucket
        bucket.clock, bucket.sleep = self.time.clock, self.time.sleep
        bucket.updated = self.time.clock()
        host.client.sleep, host.client.rng = self.time.sleep, random.Random(self.made)
        return host

    def customers(self, first, count, written):
        for n in range(first, first + count):
            self.local.mailbox.add_message(
                make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Question {n}",
                           message_id=f"<q{n}@example.org>", date=written), ["INBOX", "UNREAD"],
                internal_date=int(written.timestamp() * 1000))

    def limit(self):
        self.local.app.per_user_limit = True

    def acknowledgements(self):
        acks = {}
        for message in self.local.mailbox.messages.values():
            if b"X-Labeldesk: ack" in message.raw:
                acks[message.thread_id] = acks.get(message.thread_id, 0) + 1
        return acks

    def breached(self):
        label = next(l["id"] for l in self.local.mailbox.labels.values() if l["name"] == BREACHED)
        return {m.thread_id for m in self.local.mailbox.messages.values() if label in m.label_ids}


def serve_syncing_while_cron_sweeps(tmp_path, breached=60, new=60):
    """60 open tickets a day old (breached) for the sweep, and a burst of 60 new customer emails for the sync."""
    wall = QuotaWall(tmp_path)
    serve = wall.process()
    feed = ChangeFeed(serve)
    feed.sync()
    wall.customers(0, breached, wall.now() - timedelta(hours=3))
    assert feed.sync().ok  # acknowledged and labelled before the limit: what is measured is the two at once
    wall.time.sleep(24 * 3600)
    wall.customers(breached, new, wall.now())
    cron = wall.process()
    wall.limit()
    return wall, feed, cron


def test_serve_and_a_cron_sweep_together_keep_under_gmails_per_user_minute(tmp_path, caplog):
    """A burst of new mail reaches `serve` while cron's sweep visits 60 breached tickets: each process paced alone
    spent up to Gmail's whole minute, so together they spent more and Gmail refused (10 refusals, a WARNING from
    each process blaming "another Labeldesk process or program" and telling the admin to lower
    quota_units_per_second). Sharing one bucket in the state folder, they keep under the minute together: no
    refusal, no warning, every ticket done once."""
    wall, feed, cron = serve_syncing_while_cron_sweeps(tmp_path)
    began = wall.time.now
    with caplog.at_level(logging.INFO):
        synced, swept = wall.time.run(feed.sync, cron.sweep)
    assert not isinstance(synced, BaseException) and synced.ok and not synced.failed, synced
    assert not isinstance(swept, BaseException) and not swept.failed and not swept.not_reached, swept
    acks = wall.acknowledgements()
    assert len(acks) == 120 and set(acks.values()) == {1}  # every ticket acknowledged, none twice
    assert len(wall.breached()) == 60
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert wall.refused == 0 and not said, (wall.refused, said)
    # together they spent more than a minute's 6,000 units, so keeping under it took more than a minute
    assert wall.time.now - began > 60


# -- the ledger itself: what a dead, stopped or lockless neighbour costs ------------------------------------------

from plugin_host.quota import SharedBucket  # noqa: E402


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def bucket(tmp_path, clock, sleep=None):
    """A new project's bucket as `bucket_for` makes it for a process on ``tmp_path``."""
    return SharedBucket(tmp_path, "Support@example.com", 85.0, 900.0, clock=clock, sleep=sleep or clock.sleep)


def test_two_processes_take_their_units_from_one_bucket(tmp_path):
    clock = Clock()
    serve, cron = bucket(tmp_path, clock), bucket(tmp_path, clock)
    assert serve.take(900) == 0  # the units a minute allows at once, spent by serve
    waited = cron.take(85)
    assert abs(waited - 1.0) < 1e-6  # cron waits for them to come back, as serve itself would have
    assert (tmp_path / "quota.json").stat().st_mode & 0o777 == 0o600


def test_a_process_that_died_holding_a_reservation_delays_the_next_by_that_reservation_at_most(tmp_path):
    clock = Clock()
    dead = bucket(tmp_path, clock, sleep=lambda seconds: None)  # killed before it slept off what it reserved
    dead.take(900)
    dead.take(900)  # a batch's worth reserved ahead: ten seconds of the rate
    assert abs(bucket(tmp_path, clock).take(85) - (900 + 85) / 85) < 1e-6
    clock.now += 3600  # an hour later: its file holds nothing against anybody
    assert bucket(tmp_path, clock).take(900) == 0


def test_a_lock_another_process_holds_too_long_is_passed_over_once_said(tmp_path, caplog, monkeypatch):
    import fcntl
    import os

    monkeypatch.setattr(SharedBucket, "LOCK_WAIT_SECONDS", 0.05)
    stopped = os.open(tmp_path / "quota.json", os.O_RDWR | os.O_CREAT)
    fcntl.flock(stopped, fcntl.LOCK_EX)  # a process stopped (kill -STOP, a debugger) while it held the file
    try:
        clock = Clock()
        serve = bucket(tmp_path, clock)
        with caplog.at_level(logging.WARNING):
            assert serve.take(900) == 0 and abs(serve.take(85) - 1.0) < 1e-6  # paced by itself meanwhile
    finally:
        os.close(stopped)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "quota.json" in said[0] and "by itself" in said[0], said
    assert serve.shared  # shared again once it is free
    serve.take(10)
    assert (tmp_path / "quota.json").read_text().startswith('{"support@example.com"')


def test_a_state_folder_without_working_locks_leaves_each_process_pacing_itself_said_once(tmp_path, caplog,
                                                                                           monkeypatch):
    """An NFS share without its lock daemon answers ENOLCK: the processes pace themselves as before they shared,
    and the admin reads once why two of them at once may meet Gmail's refusals."""
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    clock = Clock()
    serve = bucket(tmp_path, clock)
    with caplog.at_level(logging.WARNING):
        assert serve.take(900) == 0 and abs(serve.take(85) - 1.0) < 1e-6
        serve.slow_down()
        serve.take(100)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1, said
    assert "No locks available" in said[0] and "by itself" in said[0] and "state_dir" in said[0]
    assert not serve.shared and (tmp_path / "quota.json").read_bytes() == b""


def test_a_damaged_ledger_counts_as_a_full_bucket_and_is_written_anew(tmp_path):
    for damaged in ["{not json", "[]", '"units"']:  # cut short, or JSON but not the ledger's
        (tmp_path / "quota.json").write_text(damaged)
        clock = Clock()
        assert bucket(tmp_path, clock).take(900) == 0
        assert abs(bucket(tmp_path, clock).take(85) - 1.0) < 1e-6


def test_one_process_alone_is_paced_as_before_it_shared(tmp_path):
    """The same waits, call for call, as the bucket of a process on its own."""
    from plugin_host.quota import TokenBucket

    shared_clock, own_clock = Clock(), Clock()
    shared = bucket(tmp_path, shared_clock)
    own = TokenBucket(85.0, capacity=900.0, clock=own_clock, sleep=own_clock.sleep)
    for units in [40] * 30 + [900, 5, 100, 20] * 5 + [2000, 40]:  # a batch worth more than the bucket holds too
        assert abs(shared.take(units) - own.take(units)) < 1e-6
    assert abs(shared_clock.now - own_clock.now) < 1e-6


def test_slowing_down_after_a_refusal_is_shared_and_said_by_the_first_process_only(tmp_path, caplog):
    """Gmail refusing now means someone outside the state folder spends the quota: every process slows, and the
    WARNING says so once, naming what is left to blame (another program, or a Labeldesk with another state_dir)."""
    wall = QuotaWall(tmp_path)
    serve, cron = wall.process(), wall.process()
    feed = ChangeFeed(serve)
    feed.sync()
    wall.customers(0, 3, wall.now())
    account = wall.local.app.account
    refusals = [2]

    def another_program_spent_the_minute(method_id):
        if refusals[0]:
            refusals[0] -= 1
            raise ApiError(403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits")
        account(method_id)
    wall.local.app.account = another_program_spent_the_minute
    with caplog.at_level(logging.INFO):
        assert feed.sync().ok
        cron.client.slow_down(a_quota_refusal())
    said = [r.getMessage() for r in caplog.records if "refused a call" in r.getMessage()]
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 3 and len(warned) == 1, said  # serve twice, then cron: one WARNING among them
    assert "another state_dir" in warned[0] and "quota_units_per_second" in warned[0]
    assert cron.client.bucket.rate < 85 / 4  # halved three times (to 10.625) by two processes, in one bucket


def a_quota_refusal():
    from googleapiclient.errors import HttpError
    from httplib2 import Response

    content = b'{"error": {"code": 403, "errors": [{"reason": "userRateLimitExceeded"}]}}'
    return HttpError(Response({"status": "403"}), content)


def test_a_link_planted_as_the_ledger_is_not_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("someone else's file")
    (tmp_path / "quota.json").symlink_to(victim)
    serve = bucket(tmp_path, Clock())
    assert serve.take(900) == 0 and not serve.shared
    assert victim.read_text() == "someone else's file"


# -- what the ledger is trusted with: another clock's times, an entry out of range ----------------------------------

def ledger(tmp_path, **entry):
    """quota.json as another process (another machine's clock, an older version, a damaged write) left it."""
    import json

    (tmp_path / "quota.json").write_text(json.dumps({"support@example.com": {"slowed_at": None, **entry}}))


def test_a_ledger_written_by_a_clock_ahead_of_this_one_counts_as_written_now(tmp_path):
    """A clock set back (or a state folder on a share written from another machine): an hour "ahead" must not hold
    this process back for the hour's units, nor put off the rate's recovery by an hour."""
    clock = Clock()
    ledger(tmp_path, units=900.0, at=clock.now + 3600, rate=85.0)
    assert bucket(tmp_path, clock).take(85) == 0
    ledger(tmp_path, units=900.0, at=clock.now, rate=42.5, slowed_at=clock.now + 3600)
    serve = bucket(tmp_path, clock)
    serve.take(1)  # slowed "in an hour" counts as slowed now
    clock.now += 61
    serve.take(1)
    assert abs(serve.rate - (42.5 + 8.5)) < 1e-6  # a minute without refusal since: a tenth back


def test_a_ledger_holding_more_than_the_bucket_or_a_faster_rate_is_held_to_this_processs_settings(tmp_path):
    clock = Clock()
    ledger(tmp_path, units=1e6, at=clock.now, rate=85.0)
    serve = bucket(tmp_path, clock)
    assert serve.take(900) == 0 and abs(serve.take(85) - 1.0) < 1e-6  # 900 at once, as the capacity allows
    ledger(tmp_path, units=0.0, at=clock.now, rate=1e6)
    assert abs(bucket(tmp_path, clock).take(85) - 1.0) < 1e-6  # at 85 units a second, not a million


def test_an_entry_out_of_range_is_not_taken_and_is_written_anew(tmp_path):
    """A rate of nought or below, or a count that is no number (json writes and reads Infinity and NaN): the
    process keeps its own full bucket rather than wait for ever or divide by nought."""
    import json

    for entry in [{"units": 0.0, "rate": 0.0}, {"units": 0.0, "rate": -85.0}, {"units": float("-inf"), "rate": 85.0},
                  {"units": 0.0, "rate": 85.0, "slowed_at": float("nan")}]:
        clock = Clock()
        ledger(tmp_path, at=clock.now, **entry)
        assert bucket(tmp_path, clock).take(900) == 0, entry
        written = json.loads((tmp_path / "quota.json").read_text())["support@example.com"]
        assert written["rate"] == 85.0 and written["units"] == 0.0, entry


def test_a_rate_slowed_by_one_process_comes_back_in_every_process(tmp_path):
    """serve slowed down after a refusal; a minute without one, cron's calls bring back a tenth of the rate, and
    the ledger keeps counting the minutes until the rate is whole."""
    clock = Clock()
    serve, cron = bucket(tmp_path, clock), bucket(tmp_path, clock)
    serve.slow_down()
    clock.now += 61
    cron.take(1)
    assert abs(cron.rate - 85 * 0.6) < 1e-6
    clock.now += 61
    serve.take(1)
    assert abs(serve.rate - 85 * 0.7) < 1e-6
