"""The state folder lost, restored from an old backup, or damaged, over a mailbox Labeldesk has worked for weeks.

Gmail is the database: what went out is in Sent (each acknowledgement and notice with its X-Labeldesk key and
deterministic Message-ID), the tickets' state is their labels, the breach tasks are in Google Tasks. So a host that
starts on an empty or stale folder must send no acknowledgement or notice twice and keep every open ticket in the
queue. The one record Gmail does not hold is when each plugin was switched on (plugins-on.json): the SLA plugin
leaves alone the breaches of a backlog it was switched on over, and a lost record must not undo that."""
from __future__ import annotations

import email
import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email

LEAD = "lead@example.com"
SLA = {"hours": "24/7", "timezone": "UTC", "team_lead": LEAD, "targets": {"normal": {"first_response": "4h"}}}
START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
BOTH = ["autoreply", "sla"]


class Desk:
    """One mailbox and one state folder, worked by a host run at a time, the mailbox's clock the host's."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.state = tmp_path / "state"
        self.local = LocalMailbox()
        self.now = START
        self.local.mailbox.clock = lambda: self.now.timestamp()

    def host(self, enabled):
        data = {"mailbox": {"address": "support@example.com"},
                "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
                "plugins": {"enabled": enabled, "sla": SLA},
                "host": {"state_dir": str(self.state), "alerts_per_hour": 0}}
        host = build_host(load_config(self.tmp / "labeldesk.toml", data=data, environ={}), http=self.local.http,
                          now=lambda: self.now)
        host.client.sleep = lambda s: None
        return host

    def run(self, enabled, at):
        """A cron `sync` and `sweep` at ``at``."""
        self.now = at
        host = self.host(enabled)
        assert ChangeFeed(host).sync().ok
        assert not host.sweep().failed
        return host

    def question(self, n, at) -> str:
        self.now = at
        ref = deliver(self.local.gmail(), make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Order {n}",
                                                     message_id=f"<q{n}@example.org>", date=at))
        return ref["threadId"]

    def ours(self) -> list[tuple[str, str]]:
        """(X-Labeldesk key, To) of every mail Labeldesk sent."""
        found = [email.message_from_bytes(m.raw) for m in self.local.mailbox.messages.values()
                 if b"X-Labeldesk:" in m.raw]
        return sorted((m["X-Labeldesk"], m["To"]) for m in found)

    def breach_tasks(self, host) -> list[str]:
        listed = host.client.list_tasks(host.executor.tasklist_id("Labeldesk escalations"))
        return sorted(t["title"] for t in listed if "[labeldesk:breach:" in t.get("notes", ""))


def weeks_of_work(desk) -> tuple[list[str], str]:
    """Two weeks with autoreply alone while five questions wait unanswered; sla switched on over that backlog (its
    breaches labelled, nobody told); a question after it breaches and is escalated. Returns (backlog, escalated)."""
    backlog = [desk.question(n, START + timedelta(days=n)) for n in range(5)]
    desk.run(["autoreply"], START + timedelta(days=5))
    switched = START + timedelta(days=14)
    desk.run(BOTH, switched)
    escalated = desk.question(50, switched + timedelta(minutes=5))
    desk.run(BOTH, switched + timedelta(minutes=6))
    desk.run(BOTH, switched + timedelta(hours=5))
    return backlog, escalated


def test_a_state_folder_lost_over_a_worked_mailbox_sends_nothing_again_and_tells_no_one_of_the_old_backlog(tmp_path):
    """The disk is replaced and `serve` starts on an empty folder. It sent every acknowledgement and notice once
    already; it also took the backlog's breaches, which sla was switched on over and left alone, for news: with no
    plugins-on.json, sla counted as on from the start, and the lead got a "Still unanswered" notice and a task for
    each of them. A new state folder over a mailbox Labeldesk worked (its labels, its mail in Sent) is no new
    install: the plugins count as switched on at the newest mail Labeldesk sent, so what was over before the old
    host stopped stays as it left it, and a question that breached while the host was down is escalated."""
    desk = Desk(tmp_path)
    backlog, escalated = weeks_of_work(desk)
    before = desk.ours()
    assert ("notify:breach:" in " ".join(k for k, _ in before)) and len([k for k, _ in before if k == "ack"]) == 2

    shutil.rmtree(desk.state)  # the folder is gone
    down = desk.question(60, START + timedelta(days=14, hours=6))  # while the host is down
    host = desk.run(BOTH, START + timedelta(days=15))
    host = desk.run(BOTH, START + timedelta(days=15, hours=1))

    sent_again = {("ack", to) if key == "ack" else tuple(key.split(":")[1:3])
                  for key, to in desk.ours() if (key, to) not in before}
    # The customer who wrote while the host was down is acknowledged and the lead hears of that breach (one notice,
    # first seen late); of the old backlog nothing, nor a second notice of the breach escalated before the folder
    # was lost (its task stays open: the price of not knowing when sla was switched on).
    assert sent_again == {("ack", "c60@example.org"), ("breach2", down)}, sent_again
    assert desk.breach_tasks(host) == ["SLA breached: Order 50", "SLA breached: Order 60"]
    queue = {t.thread_id for t in host.search_tickets("label:helpdesk-awaiting-reply")}
    assert set(backlog) | {escalated, down} <= queue  # no open ticket left the queue
    assert all(host.ticket(t).has_label("SLA/Breached") for t in backlog)
    recorded = json.loads((desk.state / "plugins-on.json").read_text())["switched_on"]
    assert recorded["sla"] == recorded["autoreply"] is not None


def test_a_damaged_switch_on_record_beside_a_cursor_is_no_upgrade(tmp_path):
    """plugins-on.json cut short by a power cut (cursor.json whole): it read as a first run, every plugin on from
    the start, so the lead was told of the backlog sla had been switched on over. A damaged record proves this
    version kept one: the switch-on times are taken from the mailbox as after a lost folder, and written again."""
    desk = Desk(tmp_path)
    weeks_of_work(desk)
    before = desk.ours()
    (desk.state / "plugins-on.json").write_bytes(b'{"switched_on": {"autoreply": null, "sl')

    desk.run(BOTH, START + timedelta(days=15))
    assert desk.ours() == before
    recorded = json.loads((desk.state / "plugins-on.json").read_text())["switched_on"]
    assert recorded["sla"] is not None


def test_an_upgrade_and_a_first_install_still_count_the_plugins_on_from_the_start(tmp_path):
    """Without a record beside a cursor (an upgrade from a version that kept none), or in a new folder over a
    mailbox Labeldesk never worked (a first install), the enabled plugins count as on from the start (null), as
    decided before: the backlog is escalated within alerts_per_hour."""
    desk = Desk(tmp_path)
    desk.question(1, START)
    host = desk.run(BOTH, START + timedelta(hours=5))
    assert host.config.switched_on_at("sla") is None
    assert [k for k, _ in desk.ours() if k.startswith("notify:breach")]

    (desk.state / "plugins-on.json").unlink()  # an upgrade: the cursor is there, the record is not
    upgraded = desk.run(BOTH, START + timedelta(hours=6))
    assert upgraded.config.switched_on_at("sla") is None


def test_a_week_old_backup_restored_after_the_history_expired_sends_nothing_twice(tmp_path):
    """The folder restored from last week's backup: a stale cursor whose history Gmail no longer keeps (a full
    sync), stale switch-on times and no memory of what was sent since. Nothing goes out twice, and the open tickets
    of the week are still in the queue."""
    desk = Desk(tmp_path)
    desk.question(1, START)
    desk.run(BOTH, START + timedelta(minutes=1))
    shutil.copytree(desk.state, tmp_path / "backup")
    week = [desk.question(n, START + timedelta(days=1, hours=n)) for n in range(10, 16)]
    for n in range(6):
        desk.run(BOTH, START + timedelta(days=1, hours=n, minutes=2))
    desk.run(BOTH, START + timedelta(days=6))
    before = desk.ours()
    assert len([k for k, _ in before if k.startswith("notify:breach")]) == 7

    desk.local.mailbox.expire_history()
    shutil.rmtree(desk.state)
    shutil.copytree(tmp_path / "backup", desk.state)
    host = desk.run(BOTH, START + timedelta(days=6, hours=1))
    host = desk.run(BOTH, START + timedelta(days=6, hours=2))
    assert desk.ours() == before
    queue = {t.thread_id for t in host.search_tickets("label:helpdesk-awaiting-reply")}
    assert set(week) <= queue


def test_gmail_failing_while_a_lost_record_is_recovered_fails_that_sync_and_the_next_recovers_it(tmp_path):
    """Gmail down (503, beyond the client's retries) when the first run on the empty folder walks Sent: the sync
    fails and records nothing (nor the plugins as on from the start), and the next sync recovers the switch-on
    time; the backlog is left alone throughout."""
    from plugin_host.errors import GmailError

    desk = Desk(tmp_path)
    weeks_of_work(desk)
    before = desk.ours()
    shutil.rmtree(desk.state)

    desk.now = START + timedelta(days=15)
    host = desk.host(BOTH)
    desk.local.app.faults.fail_next("gmail.users.messages.list", count=10)
    with pytest.raises(GmailError):
        ChangeFeed(host).sync()
    assert not (desk.state / "plugins-on.json").exists() and not (desk.state / "cursor.json").exists()
    desk.local.app.faults.scheduled.clear()
    assert ChangeFeed(host).sync().ok
    host.sweep()
    assert desk.ours() == before
    assert json.loads((desk.state / "plugins-on.json").read_text())["switched_on"]["sla"] is not None


def test_a_dry_run_on_a_lost_folder_previews_what_the_real_run_will_do_and_writes_nothing(tmp_path):
    """`labeldesk sync --dry-run` first on the empty folder asks the mailbox too (a first install's preview still
    shows its backlog escalated), plans nothing for the old backlog, and leaves the folder without a record."""
    desk = Desk(tmp_path)
    weeks_of_work(desk)
    shutil.rmtree(desk.state)
    desk.question(60, START + timedelta(days=14, hours=6))  # while the host is down
    desk.now = START + timedelta(days=15)
    report = ChangeFeed(desk.host(BOTH)).sync(dry_run=True)
    planned = [line for p in report.threads for line in p.outcome.done if "task" in line or "notify" in line]
    assert planned and all("Order 60" in line for line in planned), planned
    assert not (desk.state / "plugins-on.json").exists()
