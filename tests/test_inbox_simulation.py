"""The randomised inbox simulation (tests/inbox_simulation.py) on fixed seeds, and the regressions it found."""
from __future__ import annotations

from datetime import timedelta

import pytest


from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email
from .inbox_simulation import run_seed
from .test_sla import answered, labels_of, monday, setup


def test_an_answer_after_a_deadline_that_fell_at_closing_time_is_late_in_the_report_too(tmp_path):
    """A 4h target from Friday 14:00 ends at Friday 18:00, closing time. The clock labelled the ticket Breached at
    18:01 and escalated it; the report measured business time, of which an answer on Saturday adds none, and
    counted the same ticket met (and, still open on Saturday, pending). Past the deadline is late in both."""
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute

    friday = monday(14, days=4)
    saturday = monday(10, days=5)
    local, host, clock = setup(tmp_path, saturday)
    late = answered(local, "late", "Late answer", friday, saturday)
    waiting = deliver(local.gmail(), make_email(message_id="<open@example.org>", subject="Still open"))
    local.mailbox.messages[waiting["id"]].internal_date = int(friday.timestamp() * 1000)
    ChangeFeed(host).sync()
    host.sweep()
    assert "Helpdesk/SLA/Breached" in labels_of(host, waiting["threadId"])  # the clock: past Friday 18:00
    tickets = [host.ticket(late["threadId"]), host.ticket(waiting["threadId"])]
    metrics = compute(tickets, policy_of(host.config), host.config, saturday + timedelta(hours=1))
    part = metrics["first_response"]
    assert (part["met"], part["breached"], part["pending"]) == (0, 2, 0)


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_two_weeks_of_a_support_inbox_keep_the_documented_invariants(tmp_path, seed):
    """A short seeded run (see tests/inbox_simulation.py for the invariants; longer runs are done by hand with
    ``python -m tests.inbox_simulation --seeds 200``). It must have exercised what it checks."""
    simulation = run_seed(seed, tmp_path, steps=24)
    assert simulation.stats["acknowledgements"] and simulation.stats["customer_writes"]
    assert simulation.stats["checked breached"] + simulation.stats["checked at risk"]
