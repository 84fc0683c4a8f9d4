"""plugins.sla against help-desk practice: calendar-hours priorities, at-risk warnings nobody missed,
met / breached / pending in the report, a report without ``None``."""
from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.errors import ConfigError
from plugins.sla.clock import sla_state
from plugins.sla.policy import validate

from .test_sla import monday, setup
from .test_sla_fixes import message, ticket

FRIDAY_EVENING = monday(20, days=-3)  # Friday 20 November 2026, 20:00 UTC: the team (Mon-Fri 09:00-18:00 UTC) has left
URGENT = "Production is down!"
CALENDAR_URGENT = {"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC",
                   "targets": {"urgent": {"first_response": "1h", "business_hours": False}}}


# -- 1. a priority can run on calendar hours (24/7) while the others follow the business calendar -----

def test_an_urgent_ticket_on_calendar_hours_is_due_within_the_hour_at_night():
    policy = validate(CALENDAR_URGENT)
    urgent = sla_state(ticket([message(1, "customer", FRIDAY_EVENING, URGENT)]), policy, FRIDAY_EVENING)
    normal = sla_state(ticket([message(1, "customer", FRIDAY_EVENING)]), policy, FRIDAY_EVENING)
    assert urgent.priority == "urgent" and urgent.due == FRIDAY_EVENING + timedelta(hours=1)
    assert normal.priority == "normal" and normal.due == monday(17)  # 8 business hours: Monday 09:00-17:00
    later = sla_state(ticket([message(1, "customer", FRIDAY_EVENING, URGENT)]), policy, FRIDAY_EVENING + timedelta(hours=2))
    assert later.breached and later.elapsed == timedelta(hours=2)


def test_a_priority_can_keep_business_hours_when_the_rest_runs_on_calendar_hours():
    policy = validate({"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC", "business_hours": False,
                       "targets": {"low": {"business_hours": True}}})
    assert [policy.business(p) for p in ("urgent", "high", "normal", "low")] == [False, False, False, True]
    low = sla_state(ticket([message(1, "customer", FRIDAY_EVENING)], {"Helpdesk/Priority/Low", "Helpdesk/SLA/Priority set by agent"}),
                    policy, FRIDAY_EVENING)
    assert low.priority == "low" and low.due == monday(9, days=2) + timedelta(hours=6)  # 24 business hours: Wed 15:00


@pytest.mark.parametrize("raw, key", [
    ({"targets": {"urgent": {"business_hours": "sometimes"}}}, "plugins.sla.targets.urgent.business_hours"),
    ({"targets": {"urgent": {"business_hours": 0}}}, "plugins.sla.targets.urgent.business_hours"),
    ({"targets": {"urgent": {"buisness_hours": False}}}, "plugins.sla.targets.urgent.buisness_hours"),
])
def test_a_bad_per_priority_hours_setting_names_its_key(raw, key):
    with pytest.raises(ConfigError) as caught:
        validate(raw)
    assert caught.value.key == key
    if "buisness" in key:
        assert "business_hours" in str(caught.value)  # the suggestion and the list of what is allowed


def test_the_deadline_of_a_calendar_hours_ticket_promises_no_office_hours(tmp_path):
    from plugins.sla import ticket_deadline

    local, host, clock = setup(tmp_path, FRIDAY_EVENING, sla=CALENDAR_URGENT)
    urgent = ticket_deadline(ticket([message(1, "customer", FRIDAY_EVENING, URGENT)]), host.config, FRIDAY_EVENING)
    assert urgent.business_hours is False and urgent.open_now is True and urgent.back_at == ""
    assert urgent.due == FRIDAY_EVENING + timedelta(hours=1) and urgent.left == "1h 00m left"
    normal = ticket_deadline(ticket([message(1, "customer", FRIDAY_EVENING)]), host.config, FRIDAY_EVENING)
    assert normal.business_hours is True and normal.open_now is False and normal.left.endswith("business time left")


def test_the_report_measures_each_priority_in_its_own_hours(tmp_path):
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html, render_text

    local, host, clock = setup(tmp_path, monday(9), sla=CALENDAR_URGENT)
    urgent = ticket([message(1, "customer", FRIDAY_EVENING, URGENT), message(2, "agent", FRIDAY_EVENING + timedelta(minutes=30))])
    late_urgent = ticket([message(1, "customer", FRIDAY_EVENING, URGENT), message(2, "agent", monday(9))])
    metrics = compute([urgent, late_urgent], policy_of(host.config), host.config, monday(9))
    assert metrics["first_response"]["max_h"] == 61.0  # Friday 20:00 to Monday 09:00 on the clock, not 0 business hours
    assert metrics["sla_attainment"] == {"urgent": 0.5} and metrics["calendar_hours"] == ["urgent"]
    assert "urgent in calendar hours" in render_text(metrics) and "urgent in calendar hours" in render_html(metrics)


def test_sla_due_takes_a_priority_and_counts_its_hours(tmp_path, monkeypatch):
    (tmp_path / "labeldesk.toml").write_text('[mailbox]\naddress = "s@example.com"\n[plugins.sla]\ntimezone = "UTC"\n'
                                             'targets.urgent = { business_hours = false }\n')
    monkeypatch.chdir(tmp_path)

    def due(*extra):
        return CliRunner().invoke(get_cli(), ["sla", "due", "--received", "2026-11-20T20:00+00:00", "--target", "1h", *extra])

    assert due("--priority", "urgent").output.strip() == "2026-11-20T21:00:00+00:00"
    assert due("--priority", "normal").output.strip() == "2026-11-23T10:00:00+00:00"
    assert due().output.strip() == "2026-11-23T10:00:00+00:00"  # no priority: the calendar's business hours
    wrong = due("--priority", "critical")
    assert wrong.exit_code == 2 and "--priority" in wrong.output
