"""plugins.sla: a breach task is completed once the missed answer is given or the ticket is resolved.

Through the local mailbox's Tasks v1 stand-in, read and changed with googleapiclient as the team lead would.
The ticket: asked Monday 23 November 2026 at 09:00 in Warsaw, normal priority (4h), breached at 13:00.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email, send
from .test_sla import setup

WAW = ZoneInfo("Europe/Warsaw")


def warsaw(hour, minute=0):
    return datetime(2026, 11, 23, hour, minute, tzinfo=WAW)


def breached(tmp_path):
    """A question nobody answered in time, its breach task made by the sweep, and the thread's billing escalation."""
    local, host, clock = setup(tmp_path, warsaw(9), sla={"timezone": "Europe/Warsaw"})
    ref = deliver(local.gmail(), make_email(message_id="<late@example.org>", subject="Where is my order?"))
    local.mailbox.messages[ref["id"]].internal_date = int(warsaw(9).timestamp() * 1000)
    feed = ChangeFeed(host)
    feed.sync()
    host.card_action("sla.escalate", {}, {"team": ["billing"]}, ref["threadId"],
                     host.config.agent("anna.kowalska@example.com"))
    clock["now"] = warsaw(13, 30)
    host.sweep()
    assert host.ticket(ref["threadId"]).has_label("SLA/Breached")
    return local, host, clock, feed, ref["threadId"]


def tasks_of(local) -> dict[str, list[dict]]:
    """Every task by list title, completed and hidden ones included, as the Tasks app would show them."""
    api = local.tasks()
    return {l["title"]: api.tasks().list(tasklist=l["id"], showHidden=True).execute().get("items", [])
            for l in api.tasklists().list().execute()["items"]}


def breach_task(local) -> dict:
    [task] = tasks_of(local)["Labeldesk escalations"]
    return task


def answer(local, thread_id: str, when: datetime) -> None:
    reply = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                       subject="Re: Where is my order?", message_id="<late-r@example.com>",
                       in_reply_to="<late@example.org>", body="It ships today.\nAnna Kowalska")
    sent = send(local.gmail(), reply, thread_id)
    local.mailbox.messages[sent["id"]].internal_date = int(when.timestamp() * 1000)


def label_by_hand(local, thread_id: str, name: str) -> None:
    g = local.gmail()
    known = {l["name"]: l["id"] for l in g.users().labels().list(userId="me").execute()["labels"]}
    label = known.get(name) or g.users().labels().create(userId="me", body={"name": name}).execute()["id"]
    g.users().threads().modify(userId="me", id=thread_id, body={"addLabelIds": [label]}).execute()


def test_the_answer_completes_the_breach_task_with_who_answered_and_when_in_the_team_s_zone(tmp_path):
    local, host, clock, feed, thread_id = breached(tmp_path)
    assert breach_task(local)["status"] == "needsAction"
    clock["now"] = warsaw(14, 10)
    answer(local, thread_id, warsaw(14, 5))
    local.app.reset_counters()
    feed.sync()  # the sync that sees the answer: one read of the list, one change of the task
    assert {m: n for m, n in local.app.calls.items() if m.startswith("tasks.")} == {"tasks.tasks.list": 1,
                                                                                    "tasks.tasks.patch": 1}
    task = breach_task(local)
    assert task["status"] == "completed"
    assert task["notes"].endswith("\nAnswered by Anna Kowalska on 2026-11-23 14:05 CET")
    assert not host.ticket(thread_id).has_label("SLA/Breached")
    [escalation] = tasks_of(local)["Labeldesk escalations — billing"]
    assert escalation["status"] == "needsAction"  # the team completes its own task
    # Later sweeps and a new process complete nothing twice and reopen nothing.
    host.sweep()
    again = build_host(host.config, http=local.http, now=lambda: clock["now"])
    again.sweep()
    ChangeFeed(again).sync()
    assert breach_task(local)["notes"] == task["notes"] and breach_task(local)["status"] == "completed"


def test_resolving_without_an_answer_completes_it_at_the_next_sweep(tmp_path):
    local, host, clock, feed, thread_id = breached(tmp_path)
    label_by_hand(local, thread_id, "Helpdesk/Resolved")
    clock["now"] = warsaw(15, 0)
    local.app.reset_counters()
    host.sweep()  # its one read of the list (for the escalations) serves the breach task too
    assert local.app.calls["tasks.tasks.list"] == 2  # Labeldesk's two lists, each once: breaches and billing's
    assert local.app.calls["tasks.tasks.patch"] == 1
    task = breach_task(local)
    assert task["status"] == "completed" and task["notes"].endswith("\nResolved as of 2026-11-23 15:00 CET")
    assert not host.ticket(thread_id).has_label("SLA/Breached")


def test_a_task_the_lead_completed_or_deleted_is_left_alone(tmp_path):
    local, host, clock, feed, thread_id = breached(tmp_path)
    api = local.tasks()
    lists = {l["title"]: l["id"] for l in api.tasklists().list().execute()["items"]}
    list_id, task = lists["Labeldesk escalations"], breach_task(local)
    api.tasks().patch(tasklist=list_id, task=task["id"], body={"status": "completed"}).execute()
    clock["now"] = warsaw(14, 10)
    answer(local, thread_id, warsaw(14, 5))
    local.app.reset_counters()
    feed.sync()
    assert breach_task(local)["notes"] == task["notes"]  # no line added to the lead's own completion
    assert local.app.calls["tasks.tasks.patch"] == 0 and not host.ticket(thread_id).has_label("SLA/Breached")

    local, host, clock, feed, thread_id = breached(tmp_path / "deleted")
    api = local.tasks()
    list_id = next(l["id"] for l in api.tasklists().list().execute()["items"] if l["title"] == "Labeldesk escalations")
    api.tasks().delete(tasklist=list_id, task=breach_task(local)["id"]).execute()
    answer(local, thread_id, warsaw(14, 5))
    feed.sync()
    assert tasks_of(local)["Labeldesk escalations"] == [] and not host.ticket(thread_id).has_label("SLA/Breached")


def test_when_tasks_refuses_the_label_stays_and_the_next_sweep_completes_it(tmp_path):
    local, host, clock, feed, thread_id = breached(tmp_path)
    clock["now"] = warsaw(14, 10)
    answer(local, thread_id, warsaw(14, 5))
    local.app.faults.fail_next("tasks.tasks.patch", 20, 503)
    feed.sync()
    assert breach_task(local)["status"] == "needsAction"
    assert host.ticket(thread_id).has_label("SLA/Breached")  # the record that its task is still open
    local.app.faults.scheduled.clear()
    host.sweep()
    task = breach_task(local)
    assert task["status"] == "completed" and task["notes"].count("Answered by Anna Kowalska") == 1
    assert not host.ticket(thread_id).has_label("SLA/Breached")


def test_a_ticket_that_never_breached_costs_no_tasks_call(tmp_path):
    local, host, clock = setup(tmp_path, warsaw(9), sla={"timezone": "Europe/Warsaw"})
    ref = deliver(local.gmail(), make_email(message_id="<late@example.org>", subject="Where is my order?"))
    local.mailbox.messages[ref["id"]].internal_date = int(warsaw(9).timestamp() * 1000)
    feed = ChangeFeed(host)
    feed.sync()
    clock["now"] = warsaw(10)
    answer(local, ref["threadId"], warsaw(9, 50))
    local.app.reset_counters()
    feed.sync()
    assert not [m for m in local.app.calls if m.startswith("tasks.")]


def test_a_breach_answered_while_the_next_one_runs_is_completed_and_the_running_one_stays_open(tmp_path):
    local, host, clock, feed, thread_id = breached(tmp_path)
    answer(local, thread_id, warsaw(14, 5))
    again = deliver(local.gmail(), make_email(message_id="<late2@example.org>", subject="Re: Where is my order?",
                                              in_reply_to="<late-r@example.com>", body="It did not arrive. Why?"),
                    threadId=thread_id)
    local.mailbox.messages[again["id"]].internal_date = int(warsaw(14, 30).timestamp() * 1000)
    clock["now"] = datetime(2026, 11, 24, 15, 0, tzinfo=WAW)  # the next response (8h) was due at 13:30
    host.sweep()  # the first answer and the second breach, seen together
    first, second = sorted(tasks_of(local)["Labeldesk escalations"], key=lambda t: t["position"])
    assert first["status"] == "completed" and first["notes"].endswith("Answered by Anna Kowalska on 2026-11-23 14:05 CET")
    assert second["status"] == "needsAction" and "Missed: next response" in second["notes"]
    assert host.ticket(thread_id).has_label("SLA/Breached")
    label_by_hand(local, thread_id, "Helpdesk/Resolved")
    clock["now"] = datetime(2026, 11, 24, 16, 0, tzinfo=WAW)
    host.sweep()
    first, second = sorted(tasks_of(local)["Labeldesk escalations"], key=lambda t: t["position"])
    assert second["status"] == "completed" and second["notes"].endswith("\nResolved as of 2026-11-24 16:00 CET")
    assert first["notes"].count("Answered by") == 1 and not host.ticket(thread_id).has_label("SLA/Breached")
