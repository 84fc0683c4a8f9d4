"""Gmail quota at scale: what a run costs when nothing needs doing (counted through the local mailbox)."""
from __future__ import annotations

from datetime import datetime, timezone

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
READS = ("gmail.users.threads.get", "gmail.users.messages.get")


def sample_host(tmp_path, local=None, plugins=("autoreply", "sla"), **settings):
    data = {"mailbox": {"address": "support@example.com", "aliases": ["help@example.com"]},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": list(plugins), **settings}, "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = local or LocalMailbox("support@example.com", seed="sample", now=NOW)
    return local, build_host(config, http=local.http, now=lambda: NOW)


def reads(local) -> int:
    return sum(local.app.calls[m] for m in READS)


def test_a_new_process_does_not_read_again_the_threads_the_last_one_only_answered(tmp_path):
    local, host = sample_host(tmp_path)
    first = ChangeFeed(host).sync()  # `labeldesk sync` from cron: acknowledges the sample inbox
    sent = local.app.calls["gmail.users.messages.send"]
    assert first.ok and sent >= 20
    local.app.reset_counters()
    second = ChangeFeed(sample_host(tmp_path, local=local)[1]).sync()  # the next cron run, a new process
    assert second.ok and not second.full
    assert reads(local) == 0, f"{reads(local)} threads read again for the {sent} messages we sent"
    assert local.app.calls["gmail.users.messages.send"] == 0


def test_a_customer_reply_in_a_thread_answered_by_the_last_process_is_read_whole(tmp_path):
    from .conftest import deliver, make_email

    local, host = sample_host(tmp_path)
    ChangeFeed(host).sync()
    ours = next(m for m in local.mailbox.messages.values() if "SENT" in m.label_ids and b"X-Labeldesk: ack" in m.raw)
    thread_id = ours.thread_id
    import email

    headers = email.message_from_bytes(ours.raw)
    customer = headers["To"]
    deliver(local.gmail(), make_email(sender=customer, subject=headers["Subject"], body="One more thing.",
                                      in_reply_to=headers["Message-ID"]), threadId=thread_id)
    local.app.reset_counters()
    report = ChangeFeed(sample_host(tmp_path, local=local)[1]).sync()
    assert [p.thread_id for p in report.threads] == [thread_id]
    assert report.threads[0].events == ["on_customer_replied"]
    assert local.app.calls["gmail.users.threads.get"] == 1


def test_a_task_list_beyond_the_first_page_is_found_not_made_again(tmp_path):
    local, host = sample_host(tmp_path, plugins=())
    tasks = host.client.tasks
    for i in range(120):
        tasks.tasklists().insert(body={"title": f"Team list {i}"}).execute()
    tasks.tasklists().insert(body={"title": "Labeldesk escalations"}).execute()
    local.app.reset_counters()
    assert len(host.client.list_tasklists()) == 122  # with "My Tasks"
    assert host.executor.tasklist_id("Labeldesk escalations") is not None
    assert local.app.calls["tasks.tasklists.insert"] == 0


def test_a_quota_rate_that_would_stall_the_host_is_a_config_error(tmp_path):
    import pytest

    from plugin_host.errors import ConfigError

    mailbox = {"address": "support@example.com", "quota_table": "old"}  # a new project's is 10–100 (test_quota_tables)
    for rate in (0.001, 1, 9.9, 251, 10_000):
        with pytest.raises(ConfigError, match=r"mailbox.quota_units_per_second.*between 10 and 250") as info:
            load_config(tmp_path / "x.toml", data={"mailbox": {**mailbox, "quota_units_per_second": rate}}, environ={})
        assert repr(rate) in str(info.value)
    for rate in (0, 10, 100.5, 250):  # 0: the default (85% of Gmail's limit; a local mailbox unlimited)
        config = load_config(tmp_path / "x.toml", data={"mailbox": {**mailbox, "quota_units_per_second": rate}},
                             environ={})
        assert config.mailbox.quota_units_per_second == rate


def label_names_on_threads(local) -> set[str]:
    names = {l["id"]: l["name"] for l in local.mailbox.labels.values()}
    return {names[l] for m in local.mailbox.messages.values() for l in m.label_ids if l in names}


def test_a_disabled_plugins_state_labels_leave_the_mailbox_at_the_next_sweep(tmp_path):
    local, host = sample_host(tmp_path, plugins=("sla",), sla={"hours": "24/7"})
    ChangeFeed(host).sync()
    host.sweep()
    assert {"Helpdesk/SLA/Breached"} <= label_names_on_threads(local)
    assert any(n.startswith("Helpdesk/Priority/") for n in label_names_on_threads(local))
    # The admin disables sla: nothing keeps "at risk" and "breached" true any more.
    _, without = sample_host(tmp_path, local=local, plugins=("autoreply",))
    local.app.reset_counters()
    without.sweep()
    left = label_names_on_threads(local)
    assert not {"Helpdesk/SLA/At risk", "Helpdesk/SLA/Breached"} & left
    assert not {"Helpdesk/SLA/At risk", "Helpdesk/SLA/Breached"} & {l["name"] for l in local.mailbox.labels.values()}
    assert any(n.startswith("Helpdesk/Priority/") for n in left)  # a priority stays: agents set it too
    assert local.app.calls["gmail.users.labels.delete"] == 2  # one call a label, not one a thread
    local.app.reset_counters()
    without.sweep()
    assert local.app.calls["gmail.users.labels.delete"] == 0


def test_the_sweep_asks_gmail_one_search_for_all_the_plugins_queries():
    from benchmarks.sweep import measure

    swept = measure(100)  # sla asks four: awaiting reply before a bound, at risk, breached, escalated
    assert swept["visited"] == swept["open_tickets"] == 20
    assert swept["calls_by_method"]["gmail.users.messages.list"] == 1


def test_the_sweep_reads_each_task_list_once_not_once_per_escalation():
    """Every breached ticket checks its escalation task by key; the list (all its pages, completed tasks
    included) was read again for each, so a list of 1,000 tasks and 20 breached tickets cost 200 Tasks calls
    a sweep, every few minutes (Tasks allows 50,000 a day)."""
    from benchmarks.sweep import measure

    swept = measure(100)
    assert swept["calls_by_method"]["tasks.tasks.list"] == 1
    assert swept["calls_by_method"]["tasks.tasklists.list"] == 1


def test_a_sync_reads_the_escalation_task_list_once_not_once_per_task():
    import tempfile
    from pathlib import Path

    local, host = sample_host(Path(tempfile.mkdtemp()))
    ChangeFeed(host).sync()  # the sample inbox has old unanswered tickets: sla escalates several
    assert local.app.calls["tasks.tasks.insert"] >= 4  # several (the sample's thank-you no longer breaches)
    assert local.app.calls["tasks.tasks.list"] == 1


def test_a_long_running_host_forgets_what_it_sent_once_the_cursor_has_passed_it(tmp_path):
    """``serve`` remembers the ids it sent so a sync skips threads whose only news is our own message;
    once the cursor is past them they can never come back, and keeping them grew memory forever."""
    from .conftest import deliver, make_email

    local, host = sample_host(tmp_path)
    feed = ChangeFeed(host)
    feed.sync()
    first_round = set(host.executor.sent_ids)
    assert len(first_round) >= 20
    feed.sync()  # the history of those messages is now behind the cursor
    assert not first_round & host.executor.sent_ids
    deliver(local.gmail(), make_email(sender="Zed <zed@example.org>", subject="New one", message_id="<zed@example.org>"))
    local.app.reset_counters()
    report = feed.sync()
    assert [p.events for p in report.threads] == [["on_ticket_opened"]] and reads(local) <= 2
