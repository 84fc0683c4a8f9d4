"""The host end to end on the local mailbox: change feed, events, actions, idempotency, loop guard."""
from __future__ import annotations



from plugin_host import hookimpl
from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email, send

CONFIG = {
    "mailbox": {"address": "support@example.com", "aliases": ["help@example.com"]},
    "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
    "plugins": {"enabled": []},
}


class Acknowledger:
    """A one-off plugin: acknowledges new tickets, labels them, records every event it sees."""

    def __init__(self):
        self.events = []

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        self.events.append(("opened", ticket.thread_id))
        actions.reply(in_reply_to=ticket.first_customer_message.id, to=ticket.customer.email,
                      subject="Re: " + ticket.subject, text=f"Hello {ticket.customer.first_name}, got it.",
                      key="ack", from_name="Anna Kowalska")
        actions.add_labels("Acknowledged")

    @hookimpl
    def on_customer_replied(self, ticket):
        self.events.append(("customer", ticket.thread_id))

    @hookimpl
    def on_agent_replied(self, ticket):
        self.events.append(("agent", ticket.thread_id))


def make_host(tmp_path, local=None, plugin=None, config=None):
    data = {**(config or CONFIG), "host": {"state_dir": str(tmp_path / "state")}}
    cfg = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = local or LocalMailbox("support@example.com")
    plugin = plugin or Acknowledger()
    host = build_host(cfg, http=local.http, extra_plugins={"test-ack": plugin})
    host.client.sleep = lambda seconds: None  # backoff without waiting in tests
    return local, host, plugin


def synced_host(tmp_path, **kwargs):
    """A host and its change feed with the cursor set by a first (full) sync: (local, host, plugin, feed)."""
    local, host, plugin = make_host(tmp_path, **kwargs)
    feed = ChangeFeed(host)
    feed.sync()
    return local, host, plugin, feed


def sent_acks(local) -> list:
    found = []
    for message in local.mailbox.messages.values():
        if "SENT" in message.label_ids and b"X-Labeldesk: ack" in message.raw:
            found.append(message)
    return found


def thread_label_names(local, thread_id) -> set[str]:
    names = {l["id"]: l["name"] for l in local.mailbox.labels.values()}
    return {names[l] for m in local.mailbox.thread_messages(thread_id) for l in m.label_ids}


def test_new_ticket_is_acknowledged_once_with_threading_headers(tmp_path):
    local, host, plugin = make_host(tmp_path)
    g = local.gmail()
    ref = deliver(g, make_email(message_id="<order@example.org>", subject="Order late"))
    feed = ChangeFeed(host)
    feed.sync()
    feed.sync()
    ChangeFeed(host).sync(full=True)
    acks = sent_acks(local)
    assert len(acks) == 1
    ack = acks[0]
    assert ack.thread_id == ref["threadId"]
    raw = ack.raw.decode()
    assert "In-Reply-To: <order@example.org>" in raw and "References: <order@example.org>" in raw
    assert "Auto-Submitted: auto-replied" in raw and "X-Auto-Response-Suppress: All" in raw
    assert "Subject: Re: Order late" in raw
    assert "Helpdesk/Acknowledged" in thread_label_names(local, ref["threadId"])
    assert "Helpdesk/Awaiting reply" in thread_label_names(local, ref["threadId"])
    assert plugin.events.count(("opened", ref["threadId"])) >= 1


def test_incremental_events_customer_then_agent(tmp_path):
    local, host, plugin, feed = synced_host(tmp_path)  # empty mailbox: full sync sets the cursor
    g = local.gmail()
    ref = deliver(g, make_email(message_id="<c1@example.org>", subject="Broken login"))
    feed.sync()
    deliver(g, make_email(message_id="<c2@example.org>", subject="Re: Broken login", in_reply_to="<c1@example.org>",
                          body="Any news?"))
    feed.sync()
    agent = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                       subject="Re: Broken login", message_id="<a1@example.com>", in_reply_to="<c2@example.org>",
                       body="Fixed it.\n\nAnna Kowalska")
    send(g, agent, ref["threadId"])
    feed.sync()
    thread = ref["threadId"]
    assert plugin.events == [("opened", thread), ("customer", thread), ("agent", thread)]
    assert "Helpdesk/Awaiting reply" not in thread_label_names(local, thread)
    assert len(sent_acks(local)) == 1


def test_crash_between_send_and_label_converges_without_second_ack(tmp_path):
    local, host, _, feed = synced_host(tmp_path)
    g = local.gmail()
    before = feed.cursor.history_id
    ref = deliver(g, make_email(message_id="<crash@example.org>"))
    local.app.faults.fail_next("gmail.users.threads.modify", count=50, status=500)
    local.app.faults.fail_next("gmail.users.messages.modify", count=50, status=500)
    report = feed.sync()
    assert not report.ok and feed.cursor.history_id == before  # cursor did not move
    assert len(sent_acks(local)) == 1  # the acknowledgement went out before the crash
    local.app.faults.scheduled.clear()
    restarted = ChangeFeed(make_host(tmp_path, local=local)[1])  # a new process, same state dir
    assert restarted.sync().ok
    assert len(sent_acks(local)) == 1
    assert {"Helpdesk/Acknowledged", "Helpdesk/Awaiting reply"} <= thread_label_names(local, ref["threadId"])


def test_lost_cursor_full_sync_makes_no_duplicate_actions(tmp_path):
    local, host, _ = make_host(tmp_path)
    g = local.gmail()
    for i in range(3):
        deliver(g, make_email(sender=f"c{i}@example.org", message_id=f"<lost{i}@example.org>", subject=f"Q {i}"))
    ChangeFeed(host).sync()
    local.app.reset_counters()
    (tmp_path / "state" / "cursor.json").unlink()
    report = ChangeFeed(make_host(tmp_path, local=local)[1]).sync()
    assert report.full and report.ok
    assert len(sent_acks(local)) == 3
    assert local.app.calls["gmail.users.messages.send"] == 0
    assert local.app.calls["gmail.users.threads.modify"] == 0
    assert local.app.calls["gmail.users.messages.modify"] == 0


def test_expired_history_falls_back_to_full_sync(tmp_path):
    local, host, plugin, feed = synced_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<exp@example.org>"))
    local.mailbox.expire_history()
    report = feed.sync()
    assert report.full and len(sent_acks(local)) == 1


def test_same_sender_through_two_aliases_gets_one_acknowledgement(tmp_path):
    local, host, _ = make_host(tmp_path)
    g = local.gmail()
    deliver(g, make_email(to="support@example.com", subject="Invoice question", message_id="<al1@example.org>"))
    deliver(g, make_email(to="help@example.com", subject="Invoice question", message_id="<al2@example.org>"))
    report = ChangeFeed(host).sync()
    assert len(sent_acks(local)) == 1
    suppressed = [line for p in report.threads for line in p.outcome.skipped if "suppressed" in line]
    assert suppressed and "within 4 days" in suppressed[0]


def test_no_acknowledgement_for_bounces_and_auto_replies(tmp_path, shared):
    local, host, _ = make_host(tmp_path)
    g = local.gmail()
    folder = shared / "data" / "mail" / "bounces-and-autoreplies"
    files = sorted(folder.glob("*.eml"))[::20]
    for path in files:
        deliver(g, path.read_bytes())
    report = ChangeFeed(host).sync()
    assert report.ok
    assert sent_acks(local) == []


def test_dry_run_executes_nothing(tmp_path):
    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email(message_id="<dry@example.org>"))
    local.app.reset_counters()
    report = ChangeFeed(host).sync(dry_run=True)
    lines = [line for p in report.threads for line in p.outcome.done]
    assert any("reply (ack)" in line for line in lines) and all(l.startswith("(dry run)") for l in lines)
    assert local.app.calls["gmail.users.messages.send"] == 0
    assert not (tmp_path / "state" / "cursor.json").exists()


def test_cursor_file_is_private(tmp_path):
    local, host, _ = make_host(tmp_path)
    ChangeFeed(host).sync()
    mode = (tmp_path / "state" / "cursor.json").stat().st_mode & 0o777
    assert mode == 0o600


def test_watch_is_renewed_daily(tmp_path, monkeypatch):
    import plugin_host.sync as sync_module

    local, host, _ = make_host(tmp_path)
    feed = ChangeFeed(host)
    assert feed.renew_watch(None) is False
    assert feed.renew_watch("projects/p/topics/gmail") is True
    assert local.mailbox.watch_state["topicName"] == "projects/p/topics/gmail"
    assert feed.renew_watch("projects/p/topics/gmail") is False  # renewed less than a day ago
    later = sync_module.time.time() + 25 * 3600
    monkeypatch.setattr(sync_module.time, "time", lambda: later)
    assert ChangeFeed(host).renew_watch("projects/p/topics/gmail") is True  # the state file remembers the last one


def test_the_first_sync_looks_back_by_the_hosts_clock_not_the_servers(tmp_path):
    """A host whose clock is set back (a replay, a test pinned to a date) reads the mail of its own last
    ``full_sync_days``: ``newer_than:`` would be counted by Gmail's clock and find nothing."""
    from datetime import datetime, timezone

    then = datetime(2020, 3, 2, 9, 0, tzinfo=timezone.utc)
    local = LocalMailbox()
    ref = deliver(local.gmail(), make_email(message_id="<old@example.org>", subject="Order 7 is late"))
    local.mailbox.messages[ref["id"]].internal_date = int((then.timestamp() - 3600) * 1000)
    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")}})
    host = build_host(config, http=local.http, now=lambda: then)
    assert host.newer_than(30) == f"after:{int(then.timestamp()) - 30 * 86400}"
    report = ChangeFeed(host).sync()
    assert report.full and ref["threadId"] in {p.thread_id for p in report.threads}
