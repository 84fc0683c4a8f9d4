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


# -- 2. before anyone owns a ticket, its at-risk warning goes to the team lead (or the team's chat), once ----

def _at_risk_mails(local, to: bytes = b"") -> list:
    return [m for m in local.mailbox.messages.values() if b"X-Labeldesk: notify:atrisk:" in m.raw and to in m.raw]


def _unowned_question(local, host, key: str) -> str:
    from plugin_host.sync import ChangeFeed

    from .conftest import deliver, make_email

    ref = deliver(local.gmail(), make_email(message_id=f"<{key}@example.org>", subject="Question"))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    ChangeFeed(host).sync()
    return ref["threadId"]


def _take(host, thread_id: str) -> None:
    """Anna takes the ticket (``Owner/Anna Kowalska``), as the side panel's Take does."""
    from plugin_host.actions import Actions

    actions = Actions(thread_id=thread_id)
    actions.add_labels("Owner/Anna Kowalska")
    host.executor.execute(actions, host.ticket(thread_id))


def test_an_unowned_ticket_at_risk_warns_the_team_lead_once_across_restarts(tmp_path):
    local, host, clock = setup(tmp_path, monday(9))  # team_lead = lead@example.com; normal: 4h first response
    thread = _unowned_question(local, host, "risk1")
    clock["now"] = monday(12, 5)  # 3h05 of 4h, nobody owns it yet
    host.sweep()
    host.sweep()
    _, restarted, _ = setup(tmp_path, monday(12, 10), local=local)  # a new process: same mailbox and state folder
    restarted.sweep()
    assert "Helpdesk/SLA/At risk" in {l for l in restarted.ticket(thread).labels}
    [warning] = _at_risk_mails(local)
    assert b"To: lead@example.com" in warning.raw and thread.encode() in warning.raw
    _take(restarted, thread)  # Anna takes it while it is still at risk: this target was warned about already
    restarted.sweep()
    assert len(_at_risk_mails(local)) == 1 and _at_risk_mails(local, b"To: anna.kowalska@example.com") == []


def test_with_only_a_chat_webhook_an_unowned_ticket_at_risk_is_posted_once(tmp_path, monkeypatch):
    from plugin_host import executor

    posted = []
    monkeypatch.setattr(executor, "post_webhook", lambda url, payload: posted.append(payload["text"]))
    local, host, clock = setup(tmp_path, monday(9), sla={"team_lead": "", "chat_webhook": "https://chat.example.com/hooks/x"})
    thread = _unowned_question(local, host, "risk2")
    clock["now"] = monday(12, 5)
    host.sweep()
    host.sweep()
    assert len(posted) == 1 and "At risk" in posted[0] and "Question" in posted[0]
    _take(host, thread)
    _, restarted, _ = setup(tmp_path, monday(12, 10), sla={"team_lead": "", "chat_webhook": "https://chat.example.com/hooks/x"},
                            local=local)
    restarted.sweep()
    assert len(posted) == 1 and _at_risk_mails(local) == []  # the owner is not told a second time by email


def test_an_owned_ticket_at_risk_still_warns_its_owner_and_not_the_lead(tmp_path):
    local, host, clock = setup(tmp_path, monday(9))
    thread = _unowned_question(local, host, "risk3")
    _take(host, thread)
    clock["now"] = monday(12, 5)
    host.sweep()
    assert len(_at_risk_mails(local)) == 1 and len(_at_risk_mails(local, b"To: anna.kowalska@example.com")) == 1


@pytest.mark.parametrize("first, then", [("email", "chat"), ("chat", "email")])
def test_one_notification_key_is_one_alert_on_either_channel(tmp_path, monkeypatch, first, then):
    """A key mailed is not posted, and a key posted is not mailed, by this process or the next."""
    from plugin_host import executor as ex
    from plugin_host.actions import Actions

    from .test_host_sync import synced_host

    posted = []
    monkeypatch.setattr(ex, "post_webhook", lambda url, payload: posted.append(payload))
    local, one, _, _ = synced_host(tmp_path)
    _, other, _, _ = synced_host(tmp_path, local=local)
    chat = "https://chat.example.com/v1/spaces/AAA/messages?key=k"

    def alert(host, channel):
        actions = Actions(thread_id="t1")
        actions.notify(to="lead@example.com", channel=chat if channel == "chat" else "email", subject="At risk: Order",
                       text="Due soon.", key="atrisk:t1:1700000000")
        return host.executor.execute(actions, None)

    assert alert(one, first).done and not alert(other, then).done
    mailed = [m for m in local.mailbox.messages.values() if b"X-Labeldesk: notify:" in m.raw]
    assert (len(mailed), len(posted)) == ((1, 0) if first == "email" else (0, 1))


# -- 3. the report separates met, breached and still open (pending) ------------------------------------------

def test_the_report_counts_unanswered_tickets_inside_their_target_as_pending_not_met(tmp_path):
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html, render_text

    from .test_sla_fixes import MON9

    local, host, clock = setup(tmp_path, MON9)  # normal: 4h first response, 40h resolution, Mon-Fri 09:00-18:00 UTC
    now, friday = MON9 + timedelta(hours=3), MON9 - timedelta(days=3)
    met = ticket([message(1, "customer", MON9), message(2, "agent", MON9 + timedelta(hours=1))], {"Helpdesk/Resolved"})
    late = ticket([message(1, "customer", friday), message(2, "agent", MON9 + timedelta(hours=1))])  # 10 business hours
    pending = ticket([message(1, "customer", MON9 + timedelta(hours=1))])  # 2h of 4h so far
    overdue = ticket([message(1, "customer", friday)])  # 12 business hours, unanswered
    urgent_pending = ticket([message(1, "customer", MON9 + timedelta(hours=2, minutes=30), URGENT)])  # 30m of 1h
    metrics = compute([met, late, pending, overdue, urgent_pending], policy_of(host.config), host.config, now)
    fr = metrics["first_response"]
    assert (fr["met"], fr["breached"], fr["pending"]) == (1, 2, 2)
    assert fr["within_target"] == 0.333  # 1 of the 3 whose outcome is known; pending ones are not "within target" yet
    assert metrics["sla_attainment"] == {"normal": 0.333}  # urgent: nothing decided yet
    rs = metrics["resolution"]
    assert (rs["met"], rs["breached"], rs["pending"]) == (1, 0, 4)
    assert "met 1, breached 2, pending 2" in render_text(metrics)
    page = render_html(metrics)
    assert "<th>pending</th>" in page and "<td>2</td><td>2</td>" in page.replace("\n", "")


# -- 4. the HTML report shows a dash where nothing was measured, as the text report does ---------------------

def test_the_html_report_shows_a_dash_not_none_in_empty_cells(tmp_path):
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html

    local, host, clock = setup(tmp_path, monday(10))
    waiting = ticket([message(1, "customer", monday(9))])  # nothing answered or resolved yet: no times to show
    page = render_html(compute([waiting], policy_of(host.config), host.config, monday(10)))
    assert "None" not in page
    assert "<td>–</td><td>–</td><td>–</td><td>–</td>" in page  # mean, median, p90, max of first response
    assert "<td>0</td>" in page  # a count of nothing is 0, not a dash


# -- 5. a reopened ticket's resolution time is its full resolution time, as Zendesk's: first message to last answer --

def test_a_reopened_ticket_is_resolved_in_the_time_from_its_first_message_to_its_last_answer(tmp_path):
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute

    from .test_sla_fixes import MON9

    local, host, clock = setup(tmp_path, MON9)
    reopened = ticket([message(1, "customer", MON9), message(2, "agent", MON9 + timedelta(hours=1)),
                       message(3, "customer", MON9 + timedelta(days=1), "It fails again since this morning"),
                       message(4, "agent", MON9 + timedelta(days=1, hours=2))], {"Helpdesk/Resolved"})
    metrics = compute([reopened], policy_of(host.config), host.config, MON9 + timedelta(days=2))
    assert metrics["resolution"]["max_h"] == 11.0  # Monday 09:00 to Tuesday 11:00: 9 + 2 business hours
    assert metrics["first_response"]["max_h"] == 1.0


# -- hand mutations: each priority's hours everywhere it is counted -------------------------------------------

def _second_notice(policy, now):
    """The notifications the ladder records for an urgent ticket from Friday 20:00, unanswered at ``now``."""
    from plugin_host.actions import Actions
    from plugins.sla.escalation import ladder

    urgent = ticket([message(1, "customer", FRIDAY_EVENING, URGENT)])
    actions = Actions(thread_id=urgent.thread_id)
    ladder(urgent, sla_state(urgent, policy, now), policy, actions, None, now)
    return [n for n in actions.recorded if n.key.startswith("breach2:")]


def test_a_calendar_hours_priority_is_overdue_round_the_clock_and_says_no_business_time():
    """Breached at 21:00 on Friday, still unanswered on Saturday at 02:00: five hours past, on the clock (the
    business calendar would count none until Monday), and the notice does not call them business time."""
    policy = validate({**CALENDAR_URGENT, "team_lead": "lead@example.com"})
    notices = _second_notice(policy, FRIDAY_EVENING + timedelta(hours=6))
    assert len(notices) == 1 and "breached 5h" in notices[0].text and "business time" not in notices[0].text


def test_a_calendar_hours_target_need_not_fit_the_business_calendar():
    """Fifty days of round-the-clock time are fine with two working hours a week: that priority never counts
    them; the same target in business hours is refused, naming it."""
    sparse = {"hours": "Sat 10:00-12:00", "timezone": "UTC"}
    validate({**sparse, "targets": {"urgent": {"resolution": "50d", "business_hours": False}}})
    with pytest.raises(ConfigError) as caught:
        validate({**sparse, "targets": {"urgent": {"resolution": "50d"}}})
    assert caught.value.key == "plugins.sla.targets.urgent.resolution"


def test_calendar_time_before_the_start_is_no_time():
    """A message dated in the future (a sender's clock) has waited nothing yet, not a negative time."""
    policy = validate(CALENDAR_URGENT)
    assert policy.elapsed(FRIDAY_EVENING, FRIDAY_EVENING - timedelta(hours=1), "urgent") == timedelta(0)


def test_the_report_counts_an_open_tickets_resolution_in_its_priority_s_hours(tmp_path):
    """An urgent ticket on calendar hours, open since Friday 20:00 and answered at 20:30, is past an 8h
    resolution target by Monday 09:00 on the clock, though no business hour has passed."""
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute

    local, host, clock = setup(tmp_path, monday(9), sla=CALENDAR_URGENT)
    open_urgent = ticket([message(1, "customer", FRIDAY_EVENING, URGENT),
                          message(2, "agent", FRIDAY_EVENING + timedelta(minutes=30))])
    metrics = compute([open_urgent], policy_of(host.config), host.config, monday(9))
    assert metrics["resolution"]["breached"] == 1 and metrics["resolution"]["open_past_target"] == 1


def test_an_answer_at_the_deadline_itself_is_in_time_and_one_continued_conversation_is_singular():
    from plugins.sla.metrics import BREACHED, MET, continued_phrase, outcome

    due = FRIDAY_EVENING
    assert outcome(due, due, True) == MET
    assert outcome(due + timedelta(seconds=1), due, True) == BREACHED
    assert continued_phrase({"continued": 1}).startswith("; 1 continued conversation (")
    assert continued_phrase({"continued": 2}).startswith("; 2 continued conversations (")


# -- a breach first seen long after its deadline is one email to the lead, not two at once ---------------------

def _ladder_notices(policy, now):
    from plugin_host.actions import Actions
    from plugins.sla.escalation import ladder

    urgent = ticket([message(1, "customer", FRIDAY_EVENING, URGENT)])
    actions = Actions(thread_id=urgent.thread_id)
    ladder(urgent, sla_state(urgent, policy, now), policy, actions, None, now)
    return [n for n in actions.recorded if type(n).__name__ == "Notification"]


def test_a_breach_first_seen_past_the_second_step_mails_the_lead_once():
    policy = validate({**CALENDAR_URGENT, "team_lead": "lead@example.com"})
    just_breached = _ladder_notices(policy, FRIDAY_EVENING + timedelta(hours=1, minutes=30))
    assert [n.key.split(":")[0] for n in just_breached] == ["breach"]
    long_overdue = _ladder_notices(policy, FRIDAY_EVENING + timedelta(hours=6))
    assert [n.key.split(":")[0] for n in long_overdue] == ["breach2"]
    assert "Still unanswered: breached 5h 00m ago (urgent, first response)." in long_overdue[0].text


def test_a_chat_webhook_still_gets_its_post_when_the_breach_is_first_seen_late():
    policy = validate({**CALENDAR_URGENT, "team_lead": "lead@example.com",
                       "chat_webhook": "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"})
    notices = _ladder_notices(policy, FRIDAY_EVENING + timedelta(hours=6))
    assert sorted(n.key.split(":")[0] for n in notices) == ["breach", "breach2"]  # the chat's post, the lead's mail
