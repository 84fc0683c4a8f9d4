"""Review of the combined change: bugs that came from how separately tested commits interact."""
from __future__ import annotations

from plugin_host.mailbox import LocalMailbox
from plugin_host.mailbox.faults import FaultPlan
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .test_sla import labels_of, monday, setup


def test_a_google_tasks_outage_does_not_stop_the_sweep_at_the_first_breach(tmp_path):
    """A failing task no longer stops the labels, but its error (Tasks 503 after retries) was taken for
    Gmail being down: the sweep stopped at the first breached ticket and the others were never labelled."""
    tasks_down = FaultPlan(error_rates={"tasks.tasklists.list": 1.0, "tasks.tasks.list": 1.0}, status=503)
    local, host, clock = setup(tmp_path, monday(9), local=LocalMailbox(faults=tasks_down))
    threads = []
    for n in range(3):
        ref = deliver(local.gmail(), make_email(message_id=f"<outage{n}@example.org>", subject=f"Question {n}"))
        local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
        threads.append(ref["threadId"])
    ChangeFeed(host).sync()
    clock["now"] = monday(14)  # 4h target due at 13:00
    host.sweep()
    assert all("Helpdesk/SLA/Breached" in labels_of(host, t) for t in threads)
