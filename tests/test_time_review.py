"""Time, second review: deadlines, office hours and how they are told to customers and agents, pinned
to dates across DST changes, holidays and time zones (never the real clock)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from plugin_host.actions import Actions, Notification, Task
from plugins.sla import escalation
from plugins.sla.clock import sla_state
from plugins.sla.policy import validate

from .test_sla_fixes import message, ticket

UTC = timezone.utc
WARSAW = ZoneInfo("Europe/Warsaw")


# -- 1. escalations speak the team's time: the task's due date and the deadlines in notices -------------

def test_escalation_task_and_notices_use_the_teams_calendar_zone():
    # Asked on Monday 23 November 2026 at 22:00 in Warsaw (21:00 UTC), due two hours later at midnight;
    # the sweep finds it breached at Tuesday 00:30 Warsaw time, which is still Monday in UTC.
    policy = validate({"hours": "24/7", "timezone": "Europe/Warsaw", "team_lead": "lead@example.com",
                       "targets": {"normal": {"first_response": "2h"}}})
    asked = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Tuesday 00:30 in Warsaw
    ticket_ = ticket([message(1, "customer", asked)])
    state = sla_state(ticket_, policy, now)
    assert state.breached
    actions = Actions(thread_id="t")
    escalation.ladder(ticket_, state, policy, actions, validate_settings(), now)
    [task] = [a for a in actions.recorded if isinstance(a, Task)]
    assert task.due == date(2026, 11, 24)  # was 2026-11-23: "due yesterday" for a team in Warsaw
    assert "Due: 2026-11-24 00:00 CET" in task.notes  # was "2026-11-23 23:00 UTC"


def validate_settings():
    """A configuration with no agents (the ladder only reads ``agents``)."""
    class Settings:
        agents: dict = {}
    return Settings()


# -- 2. the report measures open tickets against the host's clock, like the search that found them -------

def test_the_report_counts_open_tickets_by_the_hosts_clock(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    import plugin_host.runtime as runtime
    from plugin_host.cli import get_cli

    from .conftest import deliver, make_email
    from .test_sla import monday, setup

    local, host, clock = setup(tmp_path, monday(10))  # asked at 09:00, 4h target: one hour in, on time
    ref = deliver(local.gmail(), make_email(message_id="<open@example.org>", date=monday(9)))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    result = CliRunner().invoke(get_cli(), ["report", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["tickets"] == 1
    assert metrics["first_response"]["within_target"] == 1.0  # was 0.0: measured against the machine's clock
    assert metrics["resolution"]["open_past_target"] == 0
