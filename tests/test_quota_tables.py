"""Gmail's two quota tables (review 70): a Cloud project created from May 2026 — every new install's — pays 20
units for messages.get (40 for threads.get) and may spend 6,000 units per user per minute; older projects pay
5 (10) and may spend 15,000. What a new install meets, counted through the local mailbox."""
from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from plugin_host.mailbox import LocalMailbox
from tests.conftest import deliver, make_email


def test_the_local_mailbox_counts_what_a_new_project_pays_and_an_old_one_on_request():
    for table, message, thread in (("new", 20, 40), ("old", 5, 10)):
        local = LocalMailbox(quota_table=table)
        g = local.gmail()
        ref = deliver(g, make_email())
        local.app.reset_counters()
        g.users().messages().get(userId="me", id=ref["id"]).execute()
        g.users().threads().get(userId="me", id=ref["threadId"]).execute()
        assert dict(local.app.units) == {"gmail.users.messages.get": message, "gmail.users.threads.get": thread}
    assert LocalMailbox().app.quota_table == "new"  # what Google gives a project made today


@pytest.mark.parametrize("table, limit", [("new", 6_000), ("old", 15_000)])
def test_the_local_mailbox_refuses_past_the_per_user_minute_as_gmail_does(table, limit):
    clock = [0.0]
    local = LocalMailbox(quota_table=table, per_user_limit=True)
    local.app.clock = lambda: clock[0]
    g = local.gmail()
    passed = 0
    with pytest.raises(HttpError) as info:
        while True:
            g.users().messages().list(userId="me").execute(num_retries=0)  # 5 units
            passed += 5
            clock[0] += 0.001
    assert passed == limit  # the whole minute's units, however fast they came
    error = json.loads(info.value.content)["error"]
    assert info.value.resp.status == 403 and error["errors"][0]["reason"] == "userRateLimitExceeded"
    assert error["errors"][0]["domain"] == "usageLimits"
    clock[0] = 60.0  # a minute after the first call: its units are free again
    g.users().messages().list(userId="me").execute(num_retries=0)


# -- the host: which table it counts by, and how fast it spends ---------------------------------------------------

from plugin_host.config import load_config  # noqa: E402
from plugin_host.errors import ConfigError  # noqa: E402
from plugin_host.sync import ChangeFeed  # noqa: E402


def config_for(tmp_path, **mailbox):
    data = {"mailbox": {"address": "support@example.com", **mailbox}, "host": {"state_dir": str(tmp_path)},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply", "sla"]}}
    return load_config(tmp_path / "labeldesk.toml", data=data, environ={})


def test_a_new_install_counts_and_spends_by_a_new_projects_table(tmp_path):
    from plugin_host.quota import bucket_for

    config = config_for(tmp_path)
    assert config.mailbox.quota_table == "new"
    for table, limit in (("new", 6_000), ("old", 15_000)):
        settings = config_for(tmp_path, quota_table=table).mailbox
        bucket = bucket_for(settings)
        # Gmail counts units per user per minute: whatever the host did before, no minute may hold more
        assert bucket.capacity + 60 * bucket.rate <= limit and bucket.capacity >= 100  # a send (100) fits
    with pytest.raises(ConfigError, match="mailbox.quota_table"):
        config_for(tmp_path, quota_table="2025")


def test_a_units_a_second_above_the_projects_limit_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"mailbox.quota_units_per_second.*100"):
        config_for(tmp_path, quota_units_per_second=250)  # a new project's 6,000 a minute is 100 a second
    assert config_for(tmp_path, quota_units_per_second=250, quota_table="old").mailbox.quota_units_per_second == 250


class VirtualTime:
    """The host's and the mailbox's clock: sleeping moves it, nothing waits."""

    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


def limited_host(tmp_path, table="new", time=None, **mailbox):
    """A host on a local mailbox that limits as Gmail does for a project on ``table``, with the bucket the host
    builds for real Gmail (a local mailbox is otherwise not limited), on virtual time."""
    from plugin_host.quota import bucket_for
    from plugin_host.runtime import build_host

    time = time or VirtualTime()
    local = LocalMailbox(quota_table=table, per_user_limit=True)
    local.app.clock = time.clock
    config = config_for(tmp_path, **mailbox)
    host = build_host(config, http=local.http)
    host.client.bucket = bucket_for(config.mailbox, clock=time.clock, sleep=time.sleep)
    host.client.sleep = time.sleep
    return local, host, time


def test_a_burst_of_new_mail_on_a_new_project_meets_no_refusal(tmp_path):
    local, host, time = limited_host(tmp_path)
    feed = ChangeFeed(host)
    feed.sync()
    for n in range(150):
        local.mailbox.add_message(make_email(sender=f"c{n}@example.org", subject=f"Question {n}",
                                             message_id=f"<q{n}@example.org>"), ["INBOX", "UNREAD"])
    assert feed.sync().ok
    assert sum(host.client.stats["retries"].values()) == 0, host.client.stats["retries"]
    assert host.client.stats["units"]["gmail.users.messages.get"] == 150 * 20  # counted as Google counts
    assert time.now > 60  # paced: more than a minute's units, so it took more than a minute


def test_gmail_refusing_for_its_per_user_quota_slows_the_host_down_and_is_said_once_in_words(tmp_path, caplog):
    """An admin who says "old" for a new project (or another process spending the same user's quota): Gmail
    refuses past 6,000 units a minute. The host waits out Gmail's minute instead of giving up after 15 s, slows to
    half its rate, and says so once, with what to change; the sync ends with every ticket done, none twice."""
    import logging

    local, host, time = limited_host(tmp_path, quota_table="old")
    feed = ChangeFeed(host)
    feed.sync()
    for n in range(150):
        local.mailbox.add_message(make_email(sender=f"c{n}@example.org", subject=f"Question {n}",
                                             message_id=f"<q{n}@example.org>"), ["INBOX", "UNREAD"])
    with caplog.at_level(logging.INFO):
        report = feed.sync()
    assert report.ok and not report.failed
    acks = [m for m in local.mailbox.messages.values() if b"X-Labeldesk: ack" in m.raw]
    assert len(acks) == len({m.thread_id for m in acks}) == 150
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [s for s in said if "Encountered 403" in s], said  # googleapiclient's line for each refusal
    words = [s for s in said if "userRateLimitExceeded" in s]
    assert len(words) == 1, said
    assert "quota_table" in words[0] and "6,000" in words[0] and "units a second" in words[0]
    assert host.client.bucket.rate < 212.5  # slowed down from the old table's rate
