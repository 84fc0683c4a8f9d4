"""Upgrades and rollbacks: the state folder written by older versions, read by this one, and the keys this one
writes that older versions read. Each older format here is written by hand as that version wrote it (the commit
is named); ``benchmarks/upgrade.py`` runs the older code itself from git."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from plugin_host.alerts import AlertBudget
from plugin_host.sync import ChangeFeed
from plugins.kb_suggest.store import load_feedback, remember_insert

from .conftest import deliver, make_email
from .test_host_sync import make_host, sent_acks
from .test_sla_breach_tasks import answer, breach_task, breached, warsaw

# cursor.json as each version saved it (history id filled in by the test)
CURSORS = {
    "ff4a470 (2026-11-23, the first)": {"watch_renewed_at": 0.0},
    "6230991 (the mailbox)": {"mailbox": "support@example.com", "watch_renewed_at": 0.0, "strikes": {}},
    "3cd99d4 (ids it sent)": {"mailbox": "support@example.com", "watch_renewed_at": 0.0, "strikes": {}, "sent": []},
    "8d27739..72b923a (threads Gmail refused)": {"mailbox": "support@example.com", "watch_renewed_at": 1.5e9,
                                                "strikes": {"19a0000000000999": 1}, "sent": [], "refused": []},
}


@pytest.mark.parametrize("written_by", list(CURSORS))
def test_an_older_versions_cursor_goes_on_from_its_history_id(tmp_path, written_by):
    """Upgraded on the same state folder, a sync starts where the older version stopped: not a full sync that
    re-reads a month of mail, nothing acknowledged twice, the mail that came meanwhile acknowledged."""
    local, host, _ = make_host(tmp_path)
    g = local.gmail()
    deliver(g, make_email(sender="old@example.org", message_id="<old@example.org>", subject="Before"))
    ChangeFeed(host).sync()
    cursor = tmp_path / "state" / "cursor.json"
    history_id = json.loads(cursor.read_text())["history_id"]
    cursor.write_text(json.dumps({**CURSORS[written_by], "history_id": history_id}))
    deliver(g, make_email(sender="new@example.org", message_id="<new@example.org>", subject="Meanwhile"))
    report = ChangeFeed(make_host(tmp_path, local=local)[1]).sync()
    assert report.ok and not report.full
    assert len(sent_acks(local)) == 2  # the one before the upgrade, and one for the mail that came meanwhile
    assert json.loads(cursor.read_text())["history_id"] != history_id


def test_the_cursor_keeps_the_keys_older_versions_read(tmp_path):
    """A rollback reads this version's cursor.json: the history id stays a string of digits under the same key,
    beside the mailbox, strikes, sent and refused that versions since 2026-11-23 read (a renamed key would cost
    the older version a full sync, or re-read threads this one had already answered)."""
    local, host, _ = make_host(tmp_path)
    deliver(local.gmail(), make_email())
    ChangeFeed(host).sync()
    data = json.loads((tmp_path / "state" / "cursor.json").read_text())
    assert isinstance(data["history_id"], str) and data["history_id"].isdigit()
    assert data["mailbox"] == "support@example.com" and isinstance(data["watch_renewed_at"], float)
    assert isinstance(data["strikes"], dict) and isinstance(data["sent"], list) and isinstance(data["refused"], list)


def test_an_alert_budget_of_the_version_before_pending_slots_still_counts(tmp_path):
    """8f45c31 wrote only the send times ({"sent": [...]}); upgraded in a spent hour, the budget holds back."""
    now = datetime(2026, 12, 7, 13, 30, tzinfo=timezone.utc)
    (tmp_path / "alerts-sent.json").write_text(json.dumps({"sent": [(now - timedelta(minutes=m)).timestamp()
                                                                    for m in range(1, 4)]}))
    budget = AlertBudget(tmp_path, 3)
    assert budget.sent(now) == 3 and not budget.take(now).granted


def test_the_alert_budget_keeps_the_send_times_older_versions_read(tmp_path):
    """8f45c31..8e7db42 read "sent" as a list of numbers (a pending slot they do not know is left out of their
    count and dropped at their next write: a reservation, never a sent alert)."""
    now = datetime(2026, 12, 7, 13, 30, tzinfo=timezone.utc)
    budget = AlertBudget(tmp_path, 5)
    budget.went_out(budget.take(now))
    budget.take(now + timedelta(seconds=1))  # left pending
    data = json.loads((tmp_path / "alerts-sent.json").read_text())
    assert data["sent"] == [now.timestamp()] and len(data["pending"]) == 1


def test_feedback_lines_of_every_older_version_teach_and_survive_a_new_insert(tmp_path):
    """kb-feedback.jsonl: question and article (2026-11-23), the content digest (15a5099), the thread (25631d8),
    and a line a kill cut short. This version reads them all and appends after them."""
    lines = [{"question": "where is my refund", "article": "refunds"},
             {"question": "refund not arrived", "article": "refunds", "content": "e54547bbbd15c840"},
             {"question": "cancel my plan", "article": "plans", "content": "0123456789abcdef", "thread": "19a1"}]
    path = tmp_path / "kb-feedback.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in lines) + '{"question": "cut sh')
    remember_insert(tmp_path, "how do refunds work", "refunds", "e54547bbbd15c840", thread="19a2")
    assert load_feedback(tmp_path) == {"refunds": ["where is my refund", "refund not arrived", "how do refunds work"],
                                       "plans": ["cancel my plan"]}
    for raw in path.read_text().splitlines()[-1:]:  # what older versions read of the new line
        item = json.loads(raw)
        assert isinstance(item["question"], str) and isinstance(item["article"], str)


def test_a_breach_task_an_older_version_left_open_is_completed_by_the_next_sweep(tmp_path):
    """Before cef1b28 the sync that read an agent's answer took SLA/Breached off and left the breach task open
    (no version completed tasks). Upgraded — or after a rollback — the answered ticket has no label, no sweep
    query finds it, and its task stayed open in the lead's list for good; the next sweep completes it, once."""
    local, host, clock, feed, thread_id = breached(tmp_path)
    clock["now"] = warsaw(14, 10)
    answer(local, thread_id, warsaw(14, 5))
    label = next(l["id"] for l in local.gmail().users().labels().list(userId="me").execute()["labels"]
                 if l["name"].endswith("/SLA/Breached"))
    local.gmail().users().threads().modify(userId="me", id=thread_id, body={"removeLabelIds": [label]}).execute()
    feed.sync()  # as e24db1a read the answer: no label, the task open
    assert breach_task(local)["status"] == "needsAction"
    host.sweep()
    task = breach_task(local)
    assert task["status"] == "completed" and task["notes"].endswith("\nAnswered by Anna Kowalska on 2026-11-23 14:05 CET")
    host.sweep()
    assert breach_task(local)["notes"] == task["notes"] and not host.ticket(thread_id).has_label("SLA/Breached")
