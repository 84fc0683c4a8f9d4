"""A support-operations manager's review of acknowledgements and SLA: report numbers and escalation context."""
from __future__ import annotations

from datetime import timedelta

from plugins.sla.clock import sla_state

from .test_sla import setup
from .test_sla_fixes import MON9, message, ticket


# -- the report judges a ticket closed without an answer as the clock does ---------------------------------

def test_a_ticket_resolved_without_an_answer_is_no_first_response_breach(tmp_path):
    """Spam or a duplicate marked Resolved before anyone answered: the clock never calls it breached (no label, no
    alert), so the report must not count it as a missed first response days later either."""
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute

    local, host, clock = setup(tmp_path, MON9)
    policy = policy_of(host.config)
    now = MON9 + timedelta(days=3)
    spam = ticket([message(1, "customer", MON9)], {"Helpdesk/Resolved"})
    assert not sla_state(spam, policy, now).breached
    answered_in_time = ticket([message(1, "customer", MON9), message(2, "agent", MON9 + timedelta(hours=1))])
    metrics = compute([spam, answered_in_time], policy, host.config, now)
    assert metrics["first_response"]["within_target"] == 1.0
    assert metrics["sla_attainment"] == {"normal": 1.0}
    late = ticket([message(1, "customer", MON9)])  # still open and unanswered past its 4h target: a breach
    metrics = compute([spam, answered_in_time, late], policy, host.config, now)
    assert metrics["first_response"]["within_target"] == 0.5 and metrics["sla_attainment"] == {"normal": 0.5}
    assert compute([spam], policy, host.config, now)["first_response"]["within_target"] is None


# -- the breach task tells the team lead whom to talk to and what was missed -------------------------------

def test_the_breach_task_names_the_owner_and_the_missed_response(tmp_path):
    from plugin_host.actions import Actions
    from plugin_host.sync import ChangeFeed

    from .conftest import deliver, make_email
    from .test_sla import monday

    local, host, clock = setup(tmp_path, monday(9))
    owned = deliver(local.gmail(), make_email(message_id="<own@example.org>", subject="Owned"))
    unowned = deliver(local.gmail(), make_email(sender="bob@example.net", message_id="<free@example.org>",
                                                subject="Nobody's"))
    for ref in (owned, unowned):
        local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    ChangeFeed(host).sync()
    take = Actions(thread_id=owned["threadId"])
    take.add_labels("Owner/Anna Kowalska")
    host.execute(take, host.ticket(owned["threadId"]))
    clock["now"] = monday(13, 30)  # 4h first-response target passed at 13:00
    host.sweep()
    tasks = host.client.list_tasks(host.executor.tasklist_id("Labeldesk escalations"))
    notes = {t["title"]: t["notes"] for t in tasks}
    assert "Owner: Anna Kowalska" in notes["SLA breached: Owned"]
    assert "Owner: nobody yet" in notes["SLA breached: Nobody's"]
    assert all("Missed: first response" in n for n in notes.values())


# -- the report shows the longest wait of the customers still waiting, not only of those answered ----------

def test_the_report_shows_how_long_the_longest_unanswered_customer_has_waited(tmp_path):
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html, render_text

    local, host, clock = setup(tmp_path, MON9)
    policy = policy_of(host.config)
    now = MON9 + timedelta(days=3)  # Thursday 09:00: 27 business hours after Monday 09:00
    quick = ticket([message(1, "customer", MON9), message(2, "agent", MON9 + timedelta(hours=1))])
    forgotten = ticket([message(1, "customer", MON9)])
    newer = ticket([message(1, "customer", MON9 + timedelta(days=2))])  # Wednesday 09:00: 9 business hours
    spam = ticket([message(1, "customer", MON9)], {"Helpdesk/Resolved"})  # waits for nothing
    metrics = compute([quick, forgotten, newer, spam], policy, host.config, now)
    assert metrics["first_response"]["max_h"] == 1.0  # the answered ones
    assert metrics["first_response"]["longest_waiting_h"] == 27.0
    assert "longest waiting 27.0" in render_text(metrics) and "27.0" in render_html(metrics)
    assert compute([quick], policy, host.config, now)["first_response"]["longest_waiting_h"] is None
