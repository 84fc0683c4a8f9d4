"""plugins.sla: business calendar, priorities, the clock, labels, sweep, escalation, CLI, report."""
from __future__ import annotations

import json
import json as json_module
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from plugin_host.cli import get_cli
from plugin_host.config import load_config
from plugin_host.errors import ConfigError
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from plugins.sla.calendar import BusinessCalendar, parse_duration
from plugins.sla.policy import urgency_keyword, validate

from .conftest import cli_runner, deliver, make_email, send

WAW = ZoneInfo("Europe/Warsaw")


def warsaw():
    return BusinessCalendar.parse("Mon-Fri 09:00-18:00", "Europe/Warsaw", "PL")


def test_friday_evening_plus_four_hours_is_monday_noon():
    start = datetime(2026, 11, 20, 17, 0, tzinfo=WAW)  # Friday
    assert warsaw().add_business_time(start, timedelta(hours=4)) == datetime(2026, 11, 23, 12, 0, tzinfo=WAW)


def test_polish_independence_day_is_skipped():
    start = datetime(2026, 11, 10, 17, 0, tzinfo=WAW)  # Tuesday; 11 November is a holiday
    assert warsaw().add_business_time(start, timedelta(hours=2)) == datetime(2026, 11, 12, 10, 0, tzinfo=WAW)
    assert warsaw().holiday_name(datetime(2026, 11, 11).date())


def test_dst_end_and_several_periods():
    calendar = BusinessCalendar.parse("Mon-Sun 00:00-24:00", "Europe/Warsaw")
    start = datetime(2026, 10, 25, 0, 0, tzinfo=WAW)  # clocks go back at 03:00: the day has 25 hours
    end = calendar.add_business_time(start, timedelta(hours=25))
    assert end == datetime(2026, 10, 26, 0, 0, tzinfo=WAW)
    split = BusinessCalendar.parse("Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-15:00", "UTC")
    monday = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert split.add_business_time(monday, timedelta(hours=2)) == datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("hours", [1, 3, 8, 17, 40])
def test_adding_then_measuring_gives_the_duration_back(hours):
    calendar = warsaw()
    start = datetime(2026, 12, 23, 16, 30, tzinfo=WAW)  # across Christmas holidays
    end = calendar.add_business_time(start, timedelta(hours=hours))
    assert calendar.business_time_between(start, end) == timedelta(hours=hours)


def test_calendar_errors_name_the_key():
    for hours in ("Someday 9-5", "Mon-Fri 18:00-09:00", "Mon-Fri 09:00"):
        with pytest.raises(ConfigError, match="plugins.sla.hours"):
            BusinessCalendar.parse(hours)
    with pytest.raises(ConfigError, match="plugins.sla.timezone"):
        BusinessCalendar.parse("Mon-Fri 09:00-17:00", "Mars/Olympus")
    with pytest.raises(ConfigError, match="plugins.sla.holidays"):
        BusinessCalendar.parse("Mon-Fri 09:00-17:00", "UTC", "XX")
    with pytest.raises(ConfigError, match="plugins.sla.targets.urgent.first_response"):
        validate({"targets": {"urgent": {"first_response": "soon"}}})
    assert parse_duration("30m") == timedelta(minutes=30)


@pytest.mark.parametrize("text, minutes", [("1h30m", 90), ("2d 4h", 2 * 1440 + 240), ("1h 30min", 90), ("90min", 90),
                                           ("1.5h", 90)])
def test_durations_may_combine_units(text, minutes):
    """An admin writing "1h30m" was told it is not a duration."""
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["1h30", "4 hours", "-1h", "h", ""])
def test_what_is_not_a_duration_says_how_to_write_one(text):
    with pytest.raises(ConfigError, match="write e.g. 30m, 4h, 1h30m, 2d"):
        parse_duration(text)


def test_urgency_keywords_are_words_not_substrings():
    keywords = validate({}).keywords
    assert urgency_keyword("Production is down, we are losing money", keywords)
    assert urgency_keyword("Срочно: не работает оплата", keywords)
    assert urgency_keyword("Awaria systemu płatności", keywords)
    assert urgency_keyword("Zamówienie pilne", keywords)
    assert not urgency_keyword("My download is slow", keywords)  # "down" inside a word
    assert not urgency_keyword("Thanks for the discount", keywords)
    assert not urgency_keyword("Где мой заказ?", keywords)


CONFIG_SLA = {"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC", "vip_domains": ["vip.example"],
              "team_lead": "lead@example.com", "targets": {"normal": {"first_response": "4h"}}}


def setup(tmp_path, now, sla=None, local=None):
    data = {"mailbox": {"address": "support@example.com"},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["sla"], "sla": {**CONFIG_SLA, **(sla or {})}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = local or LocalMailbox()
    clock = {"now": now}
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda s: None
    return local, host, clock


def monday(hour, minute=0, days=0):
    return datetime(2026, 11, 23, hour, minute, tzinfo=timezone.utc) + timedelta(days=days)


def answered(local, key: str, subject: str, asked: datetime, replied: datetime, body: str = "") -> dict:
    """A customer question received at ``asked`` and Anna's reply in its thread at ``replied``."""
    g = local.gmail()
    ref = deliver(g, make_email(message_id=f"<{key}@example.org>", subject=subject))
    local.mailbox.messages[ref["id"]].internal_date = int(asked.timestamp() * 1000)
    reply = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", subject=f"Re: {subject}",
                       message_id=f"<{key}r@example.com>", in_reply_to=f"<{key}@example.org>", body=body or "Done.")
    sent = send(g, reply, ref["threadId"])
    local.mailbox.messages[sent["id"]].internal_date = int(replied.timestamp() * 1000)
    return ref


def labels_of(host, thread_id):
    return {l for l in host.ticket(thread_id).labels if l.startswith("Helpdesk/")}


def test_labels_follow_the_clock_and_escalate_once(tmp_path):
    local, host, clock = setup(tmp_path, monday(9))
    g = local.gmail()
    ref = deliver(g, make_email(message_id="<s1@example.org>", subject="Question", date=monday(9)))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    feed = ChangeFeed(host)
    feed.sync()
    assert "Helpdesk/Priority/Normal" in labels_of(host, ref["threadId"])
    clock["now"] = monday(12, 5)  # 3h05 of 4h: at risk
    host.sweep()
    assert "Helpdesk/SLA/At risk" in labels_of(host, ref["threadId"])
    clock["now"] = monday(13, 30)  # breached
    host.sweep()
    host.sweep()
    found = labels_of(host, ref["threadId"])
    assert "Helpdesk/SLA/Breached" in found and "Helpdesk/SLA/At risk" not in found
    tasks = host.client.list_tasks(host.executor.tasklist_id("Labeldesk escalations"))
    assert len(tasks) == 1 and "SLA breached" in tasks[0]["title"] and ref["threadId"] in tasks[0]["notes"]
    notes = [m for m in local.mailbox.messages.values() if b"To: lead@example.com" in m.raw]
    # the lead heard of it twice: at risk (nobody owned it yet), then breached — once each
    assert sorted(n.raw.split(b"X-Labeldesk: notify:")[1].split(b":")[0] for n in notes) == [b"atrisk", b"breach"]
    reply = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", subject="Re: Question",
                       message_id="<s1r@example.com>", in_reply_to="<s1@example.org>", body="Done.\nAnna Kowalska")
    send(g, reply, ref["threadId"])
    feed.sync()
    assert not {"Helpdesk/SLA/Breached", "Helpdesk/SLA/At risk"} & labels_of(host, ref["threadId"])


def test_acknowledgement_does_not_stop_first_response_and_vip_is_high(tmp_path):
    local, host, clock = setup(tmp_path, monday(10))
    ref = deliver(local.gmail(), make_email(sender="boss@vip.example", message_id="<v@example.org>"))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(10).timestamp() * 1000)
    ticket = host.ticket(ref["threadId"])
    deadline = host.deadline(ticket)
    assert deadline.priority == "high" and deadline.target == "first_response"
    assert deadline.due == monday(14)  # high: 4h first response
    assert "2026-11-23 14:00" in deadline.text


def test_sweep_queries_are_bounded_searches(tmp_path):
    local, host, clock = setup(tmp_path, monday(12))
    queries = [q for qs in host.pm.hook.sweep_queries(settings=host.config, now=monday(12)) for q in qs]
    assert any(q.startswith("label:helpdesk-awaiting-reply before:") for q in queries)
    assert "label:helpdesk-sla-breached" in queries


def test_escalate_and_priority_buttons(tmp_path):
    local, host, clock = setup(tmp_path, monday(10))
    ref = deliver(local.gmail(), make_email(message_id="<e@example.org>"))
    ticket = host.ticket(ref["threadId"])
    agent = host.config.agent("anna.kowalska@example.com")
    reply = host.card_action("sla.escalate", {"threadId": ticket.thread_id}, {"team": ["billing"]}, ticket, agent)
    assert "billing" in reply.notification
    again = host.card_action("sla.escalate", {}, {"team": ["billing"]}, host.ticket(ticket.thread_id), agent)
    assert again.notification.startswith("Already escalated to billing")  # it said "a task was created"
    lists = {l["title"]: l["id"] for l in host.client.list_tasklists()}
    assert len(host.client.list_tasks(lists["Labeldesk escalations — billing"])) == 1
    assert "Helpdesk/Escalated" in labels_of(host, ticket.thread_id)
    host.card_action("sla.set_priority", {"priority": "urgent"}, {}, host.ticket(ticket.thread_id), agent)
    assert host.deadline(host.ticket(ticket.thread_id)).priority == "urgent"
    sections = host.side_panel_sections(host.ticket(ticket.thread_id), agent, lambda n: f"https://x.example/{n}")
    assert sections[0]["header"] == "Service level"


def test_sla_due_command():
    result = CliRunner().invoke(get_cli(), ["sla", "due", "--received", "2026-11-20T17:00:00+01:00", "--target", "4h",
                                            "--timezone", "Europe/Warsaw", "--holidays", "PL"])
    assert result.exit_code == 0 and result.output.strip() == "2026-11-23T12:00:00+01:00"
    bad = CliRunner().invoke(get_cli(), ["sla", "due", "--received", "yesterday", "--target", "4h"])
    assert bad.exit_code != 0 and "ISO 8601" in bad.output


def test_report_metrics(tmp_path):
    from plugins.sla import policy_of
    from plugins.sla.metrics import compute, render_html

    local, host, clock = setup(tmp_path, monday(17))
    g = local.gmail()
    ref = answered(local, "m1", "<b>Q</b>", monday(9), monday(11))
    deliver(g, make_email(sender="x@example.org", message_id="<m2@example.org>"))
    tickets = [host.ticket(ref["threadId"])] + [t for t in host.search_tickets("from:x@example.org")]
    metrics = compute(tickets, policy_of(host.config), host.config, monday(17))
    assert metrics["tickets"] == 2 and metrics["first_response"]["median_h"] == 2.0
    assert metrics["first_response"]["unanswered"] == 1
    html = render_html(metrics)
    assert "<b>Q</b>" not in html and "Support report" in html


def test_completing_the_escalation_task_tells_the_agent_to_tell_the_customer(tmp_path):
    local, host, clock = setup(tmp_path, monday(10))
    ref = deliver(local.gmail(), make_email(message_id="<fix@example.org>"))
    ticket = host.ticket(ref["threadId"])
    agent = host.config.agent("anna.kowalska@example.com")
    host.card_action("sla.escalate", {}, {"team": ["engineering"]}, ticket, agent)
    host.sweep()
    assert not host.ticket(ticket.thread_id).has_label("Fixed - tell customer")
    tasks = local.tasks()
    lists = tasks.tasklists().list().execute()["items"]
    team = next(l for l in lists if l["title"].endswith("engineering"))
    [task] = tasks.tasks().list(tasklist=team["id"]).execute()["items"]
    tasks.tasks().patch(tasklist=team["id"], task=task["id"], body={"status": "completed"}).execute()
    host.sweep()
    fixed = host.ticket(ticket.thread_id)
    assert fixed.has_label("Fixed - tell customer") and not fixed.has_label("Escalated")
    sections = host.side_panel_sections(fixed, agent, lambda n: f"https://x.example/{n}")
    assert "Fixed — tell the customer" in json_module.dumps(sections, ensure_ascii=False)


@pytest.mark.parametrize("country,start,hours,expected", [
    ("PL", datetime(2026, 12, 23, 17, 0, tzinfo=WAW), 2, datetime(2026, 12, 28, 10, 0, tzinfo=WAW)),  # 24-26 Dec off
    # 31 Dec 2026 is a substituted day off in Russia, 1-8 Jan are New Year holidays, 9-10 Jan a weekend.
    ("RU", datetime(2026, 12, 30, 17, 0, tzinfo=ZoneInfo("Europe/Moscow")), 2,
     datetime(2027, 1, 11, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))),
])
def test_christmas_eve_in_poland_and_new_year_in_russia(country, start, hours, expected):
    zone = start.tzinfo.key
    calendar = BusinessCalendar.parse("Mon-Fri 09:00-18:00", zone, country)
    assert calendar.add_business_time(start, timedelta(hours=hours)) == expected


def test_time_zones_and_split_shifts_with_custom_days_off():
    ny = BusinessCalendar.parse("Mon-Fri 08:00-12:00,13:00-17:00", "America/New_York", "US", days_off=["2026-11-27"])
    start = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # Wed 15:00 in New York
    # 2h left Wed, Thu is Thanksgiving, Fri a custom day off → Mon 08:00 + 2h = 10:00 New York.
    due = ny.add_business_time(start, timedelta(hours=4))
    assert due.astimezone(ZoneInfo("America/New_York")) == datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert ny.business_time_between(start, due) == timedelta(hours=4)


def test_report_command_json_and_html(tmp_path, monkeypatch):
    import plugin_host.runtime as runtime

    local, host, clock = setup(tmp_path, monday(17))
    deliver(local.gmail(), make_email(message_id="<rep@example.org>", subject="Report me"))
    from plugin_host.sync import ChangeFeed

    ChangeFeed(host).sync()
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    out = tmp_path / "report.html"
    result = cli_runner().invoke(get_cli(), ["report", "--since", "30d", "--json", "--html", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # `report --json --html F | jq`: "Wrote F" is said on stderr
    assert f"Wrote {out}" in result.stderr
    assert data["tickets"] == 1 and data["first_response"]["unanswered"] == 1
    assert 'class="bar"' in out.read_text() and "Awaiting reply" in out.read_text()


def test_breach_links_open_the_support_mailbox_not_the_readers_first_account(tmp_path):
    """The team lead reads the breach notice in their own mailbox: a /u/0/ link opened the thread id in their
    first signed-in account (their own), where it is not. The link names the support mailbox's account."""
    local, host, clock = setup(tmp_path, monday(9))
    ref = deliver(local.gmail(), make_email(message_id="<link1@example.org>", subject="Question", date=monday(9)))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    ChangeFeed(host).sync()
    clock["now"] = monday(13, 30)
    host.sweep()
    link = f"https://mail.google.com/mail/u/support@example.com/#all/{ref['threadId']}"
    notice = next(m for m in local.mailbox.messages.values() if b"To: lead@example.com" in m.raw and b"breached" in m.raw)
    assert link.encode() in notice.raw
    tasks = host.client.list_tasks(host.executor.tasklist_id("Labeldesk escalations"))
    assert link in tasks[0]["notes"]
    assert host.ticket(ref["threadId"]).gmail_url == link
