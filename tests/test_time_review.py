"""Time, second review: deadlines, office hours and how they are told to customers and agents, pinned
to dates across DST changes, holidays and time zones (never the real clock)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from plugin_host.actions import Actions, Task
from plugins.sla import escalation
from plugins.sla.clock import sla_state
from plugins.sla.policy import validate

from .conftest import cli_runner
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

    import plugin_host.runtime as runtime
    from plugin_host.cli import get_cli

    from .conftest import deliver, make_email
    from .test_sla import monday, setup

    local, host, clock = setup(tmp_path, monday(10))  # asked at 09:00, 4h target: one hour in, on time
    ref = deliver(local.gmail(), make_email(message_id="<open@example.org>", date=monday(9)))
    local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None, http=None: host)
    result = cli_runner().invoke(get_cli(), ["report", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)  # the progress bar is on stderr
    assert metrics["tickets"] == 1
    # one hour into its 4h target by the host's clock: pending, not breached (as by the machine's clock it was)
    assert (metrics["first_response"]["breached"], metrics["first_response"]["pending"]) == (0, 1)
    assert metrics["resolution"]["open_past_target"] == 0


# -- 3. the customer reads the deadline with its weekday, in their language, and the zone's UTC offset ------

def acknowledgement_in(tmp_path, plugins: dict, asked: datetime, sender: str, body: str) -> str:
    """The text of the one acknowledgement ``sender``'s message received at ``asked`` gets."""
    from plugin_host.config import load_config
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed

    from .conftest import deliver, make_email
    from .test_autoreply import acks

    data = {"mailbox": {"address": "support@example.com"}, "plugins": plugins,
            "host": {"state_dir": str(tmp_path / "state")}}
    host = build_host(load_config(tmp_path / "x.toml", data=data, environ={}), http=(local := LocalMailbox()).http,
                      now=lambda: asked)
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(sender=sender, subject="Order 1234", body=body, date=asked,
                                            message_id="<asked@example.org>"))
    local.mailbox.messages[ref["id"]].internal_date = int(asked.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    return " ".join(ack.get_content().split())


CUSTOMERS = {
    "en": ("Jane Customer <jane@example.org>", "Hello, my order has not arrived yet. Can you check?"),
    "ru": ("Мария Иванова <maria@example.ru>", "Здравствуйте, мой заказ до сих пор не пришёл, проверьте, пожалуйста."),
    "pl": ("Łukasz Wiśniewski <lukasz@example.pl>", "Dzień dobry, moje zamówienie jeszcze nie dotarło, proszę sprawdzić."),
}
WARSAW_SLA = {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7"},
              "sla": {"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw", "holidays": "PL"}}


@pytest.mark.parametrize("language, promise", [
    ("en", "You can expect an answer by Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)."),
    ("ru", "Ответ вы получите не позднее 4 мая 2027 г. (вторник), 16:59 (Europe/Warsaw, UTC+02:00)."),
    ("pl", "Odpowiedź otrzymasz najpóźniej 4 maja 2027 (wtorek), 16:59 (Europe/Warsaw, UTC+02:00)."),
])
def test_friday_16_59_before_a_holiday_monday_promises_tuesday_by_name(tmp_path, language, promise):
    # Was "by 2027-05-04 16:59 (Europe/Warsaw)" in every language: no weekday to notice the long weekend by,
    # and a zone name with no offset for a customer in another country.
    asked = datetime(2027, 4, 30, 16, 59, tzinfo=WARSAW)  # Friday; Monday 3 May is Constitution Day
    assert promise in acknowledgement_in(tmp_path, WARSAW_SLA, asked, *CUSTOMERS[language])


@pytest.mark.parametrize("sender, body", [
    ("Hans Müller <hans@example.de>", "Hallo, meine Bestellung ist nicht angekommen. Können Sie bitte nachsehen? Danke"),
    ("Jean Dupont <jean@example.fr>", "Bonjour, ma commande n'est pas arrivée. Pouvez-vous vérifier pour moi ? Merci"),
])
def test_a_language_without_templates_is_answered_in_english_dates_included(tmp_path, sender, body):
    # Was "You can expect an answer by Dienstag, 4. Mai 2027, 16:59" (and "by mardi 4 mai 2027") in the English
    # acknowledgement: the deadline followed the customer's language while the text around it was English.
    asked = datetime(2027, 4, 30, 16, 59, tzinfo=WARSAW)
    text = acknowledgement_in(tmp_path, WARSAW_SLA, asked, sender, body)
    assert "You can expect an answer by Tuesday, 4 May 2027, 16:59 (Europe/Warsaw, UTC+02:00)." in text


@pytest.mark.parametrize("language, back", [
    ("en", "when we are back, on Monday, 30 March 2026, 09:00 (Europe/Warsaw, UTC+02:00)."),
    ("ru", "как только мы вернёмся — 30 марта 2026 г. (понедельник), 09:00 (Europe/Warsaw, UTC+02:00)."),
    ("pl", "zaraz po powrocie — 30 marca 2026 (poniedziałek), 09:00 (Europe/Warsaw, UTC+02:00)."),
])
def test_out_of_hours_before_spring_forward_names_the_summer_offset(tmp_path, language, back):
    asked = datetime(2026, 3, 27, 18, 0, tzinfo=WARSAW)  # Friday, UTC+01:00; clocks go forward on Sunday
    text = acknowledgement_in(tmp_path, WARSAW_SLA, asked, *CUSTOMERS[language])
    assert back in text


def test_office_hours_without_the_sla_plugin_are_told_the_same_way(tmp_path):
    plugins = {"enabled": ["autoreply"], "autoreply": {"hours": "Mon-Fri 09:00-17:00", "timezone": "America/New_York",
                                                       "holidays": "US"}}
    asked = datetime(2026, 7, 2, 18, 0, tzinfo=ZoneInfo("America/New_York"))  # Thursday; Friday 3 July is observed
    text = acknowledgement_in(tmp_path, plugins, asked, *CUSTOMERS["en"])
    assert "when we are back, on Monday, 6 July 2026, 09:00 (America/New_York, UTC-04:00)." in text


# -- 4. a shift that starts or ends in the hour the clocks skip starts or ends at the jump -----------------

def test_a_shift_starting_in_the_skipped_hour_starts_when_the_clocks_jump():
    from plugins.sla.calendar import BusinessCalendar

    # Sunday 29 March 2026 in Warsaw: 02:00 CET is followed by 03:00 CEST, so 02:30 never shows on a clock.
    # At 03:00 the night shift is at work; it used to count from 03:30 (02:30 read in winter time).
    calendar = BusinessCalendar.parse("Sun 02:30-10:00", "Europe/Warsaw")
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=WARSAW)
    assert calendar.add_business_time(saturday, timedelta(hours=1)) == datetime(2026, 3, 29, 4, 0, tzinfo=WARSAW)
    assert calendar.business_time_between(saturday, datetime(2026, 3, 29, 12, 0, tzinfo=WARSAW)) == timedelta(hours=7)
    assert calendar.is_open(datetime(2026, 3, 29, 3, 10, tzinfo=WARSAW))


def test_a_shift_ending_in_the_skipped_hour_ends_when_the_clocks_jump():
    from plugins.sla.calendar import BusinessCalendar

    # New York, Sunday 8 March 2026: 02:00 EST is followed by 03:00 EDT. The shift to 02:30 ends at the jump,
    # after 2 hours; it used to run to 03:30 EDT and count half an hour nobody worked.
    new_york = ZoneInfo("America/New_York")
    calendar = BusinessCalendar.parse("Sat 22:00-24:00; Sun 00:00-02:30", "America/New_York")
    saturday = datetime(2026, 3, 7, 22, 0, tzinfo=new_york)
    assert calendar.business_time_between(saturday, datetime(2026, 3, 8, 12, 0, tzinfo=new_york)) == timedelta(hours=4)
    assert calendar.add_business_time(saturday, timedelta(hours=4)) == datetime(2026, 3, 8, 3, 0, tzinfo=new_york)


def test_office_hours_in_the_skipped_hour_say_back_at_the_jump(tmp_path):
    plugins = {"enabled": ["autoreply"], "autoreply": {"hours": "Sun 02:30-10:00", "timezone": "Europe/Warsaw"}}
    asked = datetime(2026, 3, 29, 1, 0, tzinfo=WARSAW)
    text = acknowledgement_in(tmp_path, plugins, asked, *CUSTOMERS["en"])
    assert "when we are back, on Sunday, 29 March 2026, 03:00 (Europe/Warsaw, UTC+02:00)." in text


def test_at_the_deadline_itself_a_ticket_is_not_yet_breached():
    """The report counts an answer at the deadline as within target; the labels now agree: breached after it."""
    from plugins.sla.clock import sla_state
    from plugins.sla.policy import validate

    from .test_sla_fixes import MON9, message, ticket

    asked = ticket([message(1, "customer", MON9)])
    due = sla_state(asked, validate({}), MON9).due
    assert not sla_state(asked, validate({}), due).breached
    assert sla_state(asked, validate({}), due + timedelta(seconds=1)).breached


def test_the_side_panel_deadline_names_its_time_zone(tmp_path):
    """Agents in another country read "Mon 23 Nov 13:00" as their own time; the zone is now named. The deadline is
    shown once, as the card's "Answer due" (the sla section no longer repeats it in another format)."""
    from gmail_addon import cards
    from plugin_host.config import load_config
    from plugins.sla import ticket_deadline, ticket_sections

    from .test_sla_fixes import MON9, message, ticket

    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"},
        "plugins": {"enabled": ["sla"], "sla": {"timezone": "Europe/Warsaw"}}})
    asked = ticket([message(1, "customer", MON9)])
    sections = ticket_sections(ticket=asked, agent=None, settings=config, now=MON9,
                               urls=lambda name: f"https://addon.example.com/{name}")
    card = cards.ticket_card(asked, ticket_deadline(ticket=asked, settings=config, now=MON9), [], sections,
                             lambda name: f"https://addon.example.com/{name}")
    texts = [w["decoratedText"]["text"] for s in card["sections"] for w in s["widgets"]
             if w.get("decoratedText", {}).get("topLabel") in ("Answer due", "Deadline")]
    assert len(texts) == 1 and " (Europe/Warsaw) — " in texts[0], texts


def test_the_priority_buttons_say_what_they_set(tmp_path):
    """"Urgent / High / Low" stood alone under the deadline: agents could not tell they set the priority."""
    from plugin_host.config import load_config
    from plugins.sla import ticket_sections

    from .test_sla_fixes import MON9, message, ticket

    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"}, "plugins": {"enabled": ["sla"]}})
    widgets = ticket_sections(ticket=ticket([message(1, "customer", MON9)]), agent=None, settings=config, now=MON9,
                              urls=lambda name: f"https://addon.example.com/{name}")[0]["widgets"]
    at = next(i for i, w in enumerate(widgets) if "buttonList" in w)
    assert widgets[at - 1] == {"textParagraph": {"text": "Set the priority:"}}
    assert {b["text"] for b in widgets[at]["buttonList"]["buttons"]} == {"Urgent", "High", "Low"}
