"""The host's alert budget: a backlog found overdue at once sends at most ``[host] alerts_per_hour`` notifications
an hour from syncs and sweeps; the rest are held back (not lost, not marked sent) for later sweeps."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from plugin_host import hookimpl
from plugin_host.actions import Actions
from plugin_host.config import load_config
from plugin_host.errors import ConfigError
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from plugin_host.ticket import CardReply

from .conftest import ROOT, deliver, make_email, send

LEAD = "lead@example.com"
SLA = {"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC", "team_lead": LEAD,
       "targets": {"normal": {"first_response": "4h"}}}


def at(hour, minute=0):
    return datetime(2026, 11, 23, hour, minute, tzinfo=timezone.utc)  # a Monday


class TellTheLead:
    """A button that mails the team lead (no shipped button does; a third-party one may)."""

    @hookimpl
    def on_card_action(self, name, parameters, form_inputs, ticket, agent, actions, settings, now):
        if name == "lead.tell":
            actions.notify(to=LEAD, subject=f"Look at {ticket.subject}", text=ticket.gmail_url,
                           key=f"tell:{ticket.thread_id}")
            return CardReply(notification="The lead was told.")


def make_host(tmp_path, now, alerts_per_hour=5, local=None):
    """A host with the SLA plugin (breaches mailed to the lead), its clock at ``now`` (``clock["now"]``)."""
    data = {"mailbox": {"address": "support@example.com"},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["sla"], "sla": SLA},
            "host": {"state_dir": str(tmp_path / "state"), "alerts_per_hour": alerts_per_hour}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = local or LocalMailbox()
    clock = {"now": now}
    host = build_host(config, http=local.http, now=lambda: clock["now"], extra_plugins={"tell": TellTheLead()})
    host.client.sleep = lambda s: None
    return local, host, clock


def backlog(local, count=12) -> list[str]:
    """``count`` customer questions received at 09:00, none answered: with a 4-hour target, breached at 13:00."""
    threads = []
    for n in range(count):
        ref = deliver(local.gmail(), make_email(sender=f"Customer {n} <c{n}@example.org>", subject=f"Order {n}",
                                                message_id=f"<backlog{n}@example.org>", date=at(9)))
        local.mailbox.messages[ref["id"]].internal_date = int(at(9).timestamp() * 1000)
        threads.append(ref["threadId"])
    return threads


def breach_mails(local) -> list[str]:
    """Subjects of the breach notices the lead got, one per mail sent."""
    return sorted(m.parse().subject or "" for m in local.mailbox.messages.values()
                  if b"To: " + LEAD.encode() in m.raw and b"X-Labeldesk: notify:breach:" in m.raw)


def held_back(results) -> dict[str, list[str]]:
    return {p.thread_id: p.outcome.held_back for p in results if p.outcome.held_back}


def budget_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "held back" in r.getMessage()]


def test_a_backlog_found_overdue_at_once_is_told_five_an_hour(tmp_path, caplog):
    """Installed at 13:30 on an inbox whose 12 open questions are overdue: the first (full) sync sends 5 breach
    notices and holds 7 back with one warning; sweeps within the hour send none; an hour later a sweep sends 5
    more, and a ticket answered meanwhile never gets its notice. No notice goes out twice."""
    local, host, clock = make_host(tmp_path, at(13, 30))
    threads = backlog(local)
    caplog.set_level(logging.WARNING)
    report = ChangeFeed(host).sync()
    assert report.full and report.ok  # a notice held back fails no thread: the cursor moves on
    assert len(breach_mails(local)) == 5
    waiting = held_back(report.threads)
    assert len(waiting) == 7 and all(len(lines) == 1 for lines in waiting.values())
    line = next(iter(waiting.values()))[0]
    assert line.startswith("notification breach:") and line.endswith(
        "held back: 5 alerts in the last hour, limit alerts_per_hour = 5; the next sweep sends it if it is still due")
    [warning] = budget_warnings(caplog)
    assert warning.startswith("full sync: 7 alert(s) held back: 5 alerts in the last hour, limit [host] "
                              "alerts_per_hour = 5")
    # Tasks are not budgeted: every breached ticket has its task.
    tasks = host.client.list_tasks(host.executor.tasklist_id("Labeldesk escalations"))
    assert len(tasks) == 12

    caplog.clear()
    clock["now"] = at(13, 45)
    local.app.reset_counters()
    results = host.sweep()
    assert len(breach_mails(local)) == 5 and len(held_back(results)) == 7  # the keys stayed free, still no room
    assert len(budget_warnings(caplog)) == 1
    # The sweep's one search: the mailbox is not searched again for the 7 this process found unsent and held back
    # while the budget stays spent, nor for the 5 it sent.
    assert local.app.calls["gmail.users.messages.list"] == 1

    answered = sorted(waiting)[0]
    ticket = host.ticket(answered)
    send(local.gmail(), make_email(sender="Anna Kowalska <support@example.com>", to=ticket.customer.email,
                                   subject=f"Re: {ticket.subject}", in_reply_to=ticket.messages[0].message_id,
                                   message_id="<answer@example.com>", body="Sorted.\nAnna Kowalska"), answered)
    clock["now"] = at(14, 31)  # the first five were sent more than an hour ago
    ChangeFeed(host).sync()
    results = host.sweep()
    assert len(breach_mails(local)) == 10
    assert len(held_back(results)) == 1 and answered not in held_back(results)
    clock["now"] = at(15, 32)
    host.sweep()
    mails = breach_mails(local)
    assert len(mails) == 11 and len(set(mails)) == 11  # each breached ticket told once; the answered one never
    assert f"SLA: {ticket.subject}" not in mails
    assert set(threads) - {answered} == {t for t in threads if f"SLA: {host.ticket(t).subject}" in mails}


def test_a_dry_run_lists_what_would_be_held_back_and_writes_nothing(tmp_path, caplog):
    local, host, clock = make_host(tmp_path, at(13, 30))
    backlog(local)
    caplog.set_level(logging.WARNING)
    results = ChangeFeed(host).sync(dry_run=True).threads  # `labeldesk sync --dry-run` before the first real one
    lines = [line for p in results for line in p.outcome.done]
    assert sum(line.startswith("(dry run) notify lead@example.com") for line in lines) == 5
    held = [line for line in lines if line.startswith("(dry run) hold back notification")]
    assert len(held) == 7 and held[0].endswith("5 alerts in the last hour, limit alerts_per_hour = 5; "
                                               "the next sweep sends it if it is still due")
    [warning] = budget_warnings(caplog)
    assert warning.startswith("full sync: 7 alert(s) would be held back (dry run)")
    assert breach_mails(local) == [] and not (tmp_path / "state" / "alerts-sent.json").exists()


def test_an_agents_button_is_never_held_back_and_counts(tmp_path):
    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=2)
    first, second, third = backlog(local, 3)
    ChangeFeed(host).sync()
    assert len(breach_mails(local)) == 2  # the budget is spent
    reply = host.card_action("lead.tell", {}, {}, first, None)
    assert reply.notification == "The lead was told."
    told = [m for m in local.mailbox.messages.values() if (m.parse().subject or "").startswith("Look at")]
    assert len(told) == 1
    budget = json.loads((tmp_path / "state" / "alerts-sent.json").read_text())
    assert len(budget["sent"]) == 3  # counted: the next hour's automatic alerts see it
    assert host.card_action("lead.tell", {}, {}, first, None, dry_run=True).notification == "The lead was told."
    clock["now"] = at(14, 0)
    host.sweep()
    assert len(breach_mails(local)) == 2  # 3 counted in the last hour


def test_two_processes_share_one_budget_through_the_state_folder(tmp_path):
    """``serve`` and a cron ``labeldesk sweep`` are separate processes: what one sent counts for the other."""
    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=5)
    state = tmp_path / "state"
    other = f"""
import sys; sys.path.insert(0, {str(ROOT)!r})
from datetime import datetime, timezone
from plugin_host.alerts import AlertBudget
budget = AlertBudget({str(state)!r}, 5)
slots = [budget.take(datetime(2026, 11, 23, 13, 20, tzinfo=timezone.utc)) for _ in range(2)]
for slot in slots:
    budget.went_out(slot)  # sent: counted after this process ends
print([slot.granted for slot in slots])
"""
    ran = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == "[True, True]", ran.stderr
    _, second, _ = make_host(tmp_path, at(13, 30), alerts_per_hour=5, local=local)  # another executor, same folder
    outcomes = []
    for n in range(4):
        actions = Actions(thread_id=f"t{n}")
        actions.notify(to=LEAD, subject=f"Alert {n}", text="x", key=f"alert:{n}")
        outcomes.append((host if n % 2 else second).executor.execute(actions))
    assert [bool(o.done) for o in outcomes] == [True, True, True, False]
    assert outcomes[3].held_back[0].startswith("notification alert:3 to lead@example.com held back: 5 alerts")
    clock["now"] = at(14, 21)  # the other process's two are over an hour old; this one's three are not
    again = Actions(thread_id="t3")
    again.notify(to=LEAD, subject="Alert 3", text="x", key="alert:3")
    assert host.executor.execute(again).done == ["notified lead@example.com: Alert 3"]


def test_a_damaged_budget_file_counts_as_empty_with_a_warning(tmp_path, caplog):
    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=1)
    path = tmp_path / "state" / "alerts-sent.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"sent": [17000', encoding="utf-8")
    caplog.set_level(logging.WARNING)
    actions = Actions(thread_id="t1")
    actions.notify(to=LEAD, subject="Alert", text="x", key="alert:1")
    assert host.executor.execute(actions).done == ["notified lead@example.com: Alert"]
    assert any("alerts-sent.json cannot be read" in r.getMessage() for r in caplog.records)
    assert len(json.loads(path.read_text())["sent"]) == 1  # written anew
    path.write_text('{"sent": ["soon"]}', encoding="utf-8")
    assert host.executor.alert_budget.sent(at(13, 30)) == 0


def test_an_alert_that_failed_does_not_count(tmp_path):
    """Only what went out counts: a chat webhook that cannot be reached leaves the budget as it was."""
    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=1)
    actions = Actions(thread_id="t1")
    actions.notify(to="team", channel="http://127.0.0.1:9/hook", subject="SLA breached", text="x", key="b:1")
    assert host.executor.execute(actions).errors == ["notification b:1 failed: RuntimeError"]
    assert host.executor.alert_budget.sent(at(13, 30)) == 0
    mail = Actions(thread_id="t2")
    mail.notify(to=LEAD, subject="Alert", text="x", key="alert:2")
    assert host.executor.execute(mail).done == ["notified lead@example.com: Alert"]


def test_no_limit_sends_the_whole_backlog_and_keeps_no_file(tmp_path):
    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=0)
    backlog(local)
    report = ChangeFeed(host).sync()
    assert len(breach_mails(local)) == 12 and not held_back(report.threads)
    assert not (tmp_path / "state" / "alerts-sent.json").exists()


@pytest.mark.parametrize("value, problem", [(-1, "must be at least 0, got -1"), ("many", "must be a whole number"),
                                            (2.5, "must be a whole number"), (True, "must be a whole number")])
def test_alerts_per_hour_must_be_a_whole_number(value, problem):
    data = {"mailbox": {"address": "support@example.com"}, "host": {"alerts_per_hour": value}}
    with pytest.raises(ConfigError, match="host.alerts_per_hour") as caught:
        load_config(None, data=data, environ={})
    assert problem in str(caught.value) and "0 for no limit" in str(caught.value)


def test_alerts_per_hour_defaults_to_30_and_reads_the_environment():
    data = {"mailbox": {"address": "support@example.com"}}
    assert load_config(None, data=data, environ={}).host.alerts_per_hour == 30
    assert load_config(None, data=data, environ={"LABELDESK_HOST__ALERTS_PER_HOUR": "0"}).host.alerts_per_hour == 0
    with pytest.raises(ConfigError, match=r"host.alerts_per_hour \(from LABELDESK_HOST__ALERTS_PER_HOUR\)"):
        load_config(None, data=data, environ={"LABELDESK_HOST__ALERTS_PER_HOUR": "lots"})
    with pytest.raises(ConfigError, match="alerts_per_hour"):  # a misspelt key suggests the right one
        load_config(None, data={**data, "host": {"alerts_per_hr": 5}}, environ={})


def test_an_old_send_time_is_forgotten_and_a_future_one_dropped(tmp_path):
    from plugin_host.alerts import AlertBudget

    budget = AlertBudget(tmp_path, 2)
    now = at(13, 30)
    (tmp_path / "alerts-sent.json").write_text(json.dumps({"sent": [
        (now - timedelta(minutes=61)).timestamp(), (now - timedelta(minutes=59)).timestamp(),
        (now + timedelta(days=3)).timestamp()]}))
    assert budget.sent(now) == 1
    slot = budget.take(now)
    assert slot.granted and not budget.take(now).granted
    budget.went_out(slot)
    assert len(json.loads((tmp_path / "alerts-sent.json").read_text())["sent"]) == 2  # pruned to the last hour


def test_the_count_under_the_lock_refuses_what_another_process_filled_after_the_quick_read(tmp_path):
    """The quick read without the lock saw room; another process sent meanwhile: counted again under the lock,
    the alert is refused and nothing is written."""
    from plugin_host.alerts import AlertBudget

    budget = AlertBudget(tmp_path, 2)
    now = at(13, 30)
    (tmp_path / "alerts-sent.json").write_text(json.dumps({"sent": [now.timestamp() - 60, now.timestamp() - 30]}))
    budget.sent = lambda now: 0  # what this process read before the other one wrote
    slot = budget.take(now)
    assert not slot.granted and slot.sent == 2
    assert len(json.loads((tmp_path / "alerts-sent.json").read_text())["sent"]) == 2


def test_an_alert_sent_an_hour_ago_to_the_second_no_longer_counts(tmp_path):
    from plugin_host.alerts import AlertBudget

    budget = AlertBudget(tmp_path, 1)
    now = at(13, 30)
    (tmp_path / "alerts-sent.json").write_text(json.dumps({"sent": [(now - timedelta(hours=1)).timestamp()]}))
    assert budget.sent(now) == 0 and budget.take(now).granted


def test_the_budget_waits_for_another_process_holding_its_lock_and_then_says_so(tmp_path, monkeypatch):
    """The read-modify-write of the budget is under ``alerts.lock``: a process that holds it keeps this one from
    writing (a clear AlertBudgetBusy, the alert not sent) rather than both writing and one's count being lost."""
    from filelock import FileLock

    from plugin_host import alerts

    monkeypatch.setattr(alerts, "LOCK_WAIT_SECONDS", 0.2)
    budget = alerts.AlertBudget(tmp_path, 5)
    other = FileLock(tmp_path / "alerts.lock")
    other.acquire()
    try:
        with pytest.raises(alerts.AlertBudgetBusy, match="alerts.lock was held by another Labeldesk process"):
            budget.take(at(13, 30))
    finally:
        other.release()
    assert not (tmp_path / "alerts-sent.json").exists()
    assert budget.take(at(13, 30)).granted


def test_a_damaged_budget_file_is_warned_about_once_until_it_is_written_anew(tmp_path, caplog):
    from plugin_host.alerts import AlertBudget

    budget = AlertBudget(tmp_path, 3)
    (tmp_path / "alerts-sent.json").write_text("[", encoding="utf-8")
    caplog.set_level(logging.WARNING)
    assert budget.sent(at(13, 30)) == 0 and budget.sent(at(13, 31)) == 0
    assert sum("alerts-sent.json cannot be read" in r.getMessage() for r in caplog.records) == 1


def test_an_agent_asking_for_an_alert_the_budget_held_back_gets_it_sent(tmp_path):
    """A sweep held a notification back (and remembered it, so as not to search the mailbox for it again);
    an agent's button asking for the same notification is never held back, memory or not."""
    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=1)

    def asked(n):
        actions = Actions(thread_id=f"t{n}")
        actions.notify(to=LEAD, subject=f"Alert {n}", text="x", key=f"alert:{n}")
        return actions

    assert host.executor.execute(asked(1)).done == ["notified lead@example.com: Alert 1"]
    assert host.executor.execute(asked(2)).held_back  # the budget is spent; alert:2 remembered as held back
    dry = host.executor.execute(asked(2), dry_run=True, by_agent=True)
    assert dry.done == ["(dry run) notify lead@example.com via email: Alert 2"]
    assert host.executor.execute(asked(2), by_agent=True).done == ["notified lead@example.com: Alert 2"]


def test_the_command_line_prints_what_was_held_back(tmp_path):
    """`labeldesk sync` and `sweep` print each thread's lines: a notification held back is said too, or the
    admin sees the breach and no notice."""
    from plugin_host.cli import _print_results

    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=1)
    backlog(local, 2)
    report = ChangeFeed(host).sync()
    printed = []
    _print_results(report.threads, echo=printed.append)
    assert sum(" held back: 1 alerts in the last hour" in line for line in printed) == 1


def test_an_agents_alert_goes_out_when_the_budget_cannot_be_written(tmp_path, monkeypatch, caplog):
    """The budget never holds an agent's alert back, so a full disk (or another process sitting on the budget's
    lock) must not stop it either: it goes out, and the warning says it was not counted. An automatic alert, for
    which the budget is the safeguard, is not sent uncounted."""
    import errno

    from plugin_host import files

    local, host, clock = make_host(tmp_path, at(13, 30), alerts_per_hour=5)
    first = backlog(local, 1)[0]

    def full_disk(path, data, durable=True):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_private_json", full_disk)
    caplog.set_level(logging.WARNING)
    reply = host.card_action("lead.tell", {}, {}, first, None)
    assert reply.notification == "The lead was told."
    assert len([m for m in local.mailbox.messages.values() if (m.parse().subject or "").startswith("Look at")]) == 1
    assert any("not counted" in r.getMessage() and "No space left" in r.getMessage() for r in caplog.records)
    automatic = Actions(thread_id="t1")
    automatic.notify(to=LEAD, subject="Alert", text="x", key="alert:1")
    assert host.executor.execute(automatic).errors == ["notification alert:1 failed: OSError"]


def test_a_state_folder_that_fills_up_while_an_alert_goes_out_costs_a_warning_not_a_second_alert(tmp_path, caplog,
                                                                                                   monkeypatch):
    """The breach notice went out, then the state folder refused the write that records it as sent: a warning says
    the hour's count holds only while this process runs; the notice is not sent again nor the sweep failed."""
    import errno

    from plugin_host import files

    local, host, clock = make_host(tmp_path, at(9))
    backlog(local, count=1)
    ChangeFeed(host).sync()
    clock["now"] = at(14)
    send_notification, full = host.executor._send_notification, []

    def then_the_disk_fills(note, outcome):
        send_notification(note, outcome)
        full.append(True)
    monkeypatch.setattr(host.executor, "_send_notification", then_the_disk_fills)
    real_write = files.write_private_json

    def write(path, data, durable=True):
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data, durable)
    monkeypatch.setattr(files, "write_private_json", write)
    caplog.set_level(logging.WARNING)
    host.sweep()
    host.sweep()
    assert full and len(breach_mails(local)) == 1
    assert any("counted against alerts_per_hour only while this process runs" in r.getMessage()
               and "No space left on device" in r.getMessage() for r in caplog.records)
