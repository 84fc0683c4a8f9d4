"""Regression tests for reviewed autoreply and loop-guard bugs: dropped requests, no-reply senders,
agent-started threads, week-wrapping hours, settings errors, whole-word names, template fallbacks."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import compat32
from types import SimpleNamespace

import pytest

from plugin_host.config import load_config
from plugin_host.errors import ConfigError
from plugin_host.loopguard import automatic_reason
from plugin_host.tickets import ticket_from_eml
from plugin_host import people
from plugins.autoreply.hours import OfficeHours
from plugins.autoreply.settings import validate
from plugins.autoreply.templates import SAMPLE_CONTEXT, render

from .conftest import deliver, make_email, send
from .test_autoreply import acks, setup


def customer_config(tmp_path):
    data = {"mailbox": {"address": "support@example.com"}, "plugins": {"enabled": ["autoreply"]},
            "host": {"state_dir": str(tmp_path / "state")}}
    return load_config(tmp_path / "labeldesk.toml", data=data, environ={})


def parsed(sender: str, subject: str):
    return message_from_bytes(make_email(sender=sender, subject=subject), policy=compat32)


# 1. customer subjects that merely start like an auto-reply word

@pytest.mark.parametrize("subject", [
    "Undelivered parcel 1234", "Vacation package refund", "Absence of invoice", "On leave policy",
    "Отсутствует товар в заказе", "Absent item in my order", "Returned mail order", "Failure notice not received",
    "Re: undeliverable parcel", "Nieobecność w dostawie", "Non-delivery of order 1234", "Delivery failed for order 9",
    "Не доставлено заказ", "Niedostarczona paczka",
])
def test_customer_subjects_that_look_automatic_still_open_a_ticket(tmp_path, subject):
    config = customer_config(tmp_path)
    ticket = ticket_from_eml(make_email(sender="Jane <jane@example.org>", subject=subject), config)
    assert ticket is not None and ticket.customer.email == "jane@example.org"


@pytest.mark.parametrize("subject", [
    "Out of office: Order 1234", "Automatic reply: Order late", "Auto: Order late", "Autoreply: hi",
    "Auto reply: Nyaan", "Undeliverable: Order late", "Undelivered Mail Returned to Sender",
    "Delivery Status Notification (Failure)", "Mail delivery failed: returning message to sender",
    "Returned mail: see transcript for details", "failure notice", "Abwesenheitsnotiz: Bestellung",
    "Автоответ: Заказ", "Автоматический ответ: Заказ", "Nieobecność", "Nieobecność w biurze",
    "Odpowiedź automatyczna: Zamówienie", "Re: Out of Office", "Réponse automatique : commande",
])
def test_real_auto_reply_and_bounce_subjects_are_automatic(subject):
    assert automatic_reason(parsed("Jane <jane@example.org>", subject)).startswith("automatic subject")


def test_no_real_bounce_or_auto_reply_becomes_a_ticket(tmp_path, shared):
    config = customer_config(tmp_path)
    folder = shared / "data" / "mail" / "bounces-and-autoreplies"
    tickets = [p.name for p in sorted(folder.glob("*.eml")) if ticket_from_eml(p.read_bytes(), config) is not None]
    assert len(list(folder.glob("*.eml"))) == 629 and tickets == []


# 2. no-reply senders in every spelling

@pytest.mark.parametrize("address", ["no_reply@email.apple.com", "no.reply@x.com", "do_not_reply@x.com",
                                     "donotreply@x.com", "do.not.reply@x.com", "noreply@x.com", "no-reply@x.com",
                                     "billing-noreply@x.com"])
def test_no_reply_senders_in_any_spelling_are_robots(address):
    assert automatic_reason(parsed(f"Shop <{address}>", "Your receipt")).startswith("robot sender")


def test_no_reply_reply_to_with_underscore_is_automatic():
    msg = parsed("Shop <shop@x.com>", "Your receipt")
    msg["Reply-To"] = "no_reply@x.com"
    assert automatic_reason(msg) == "no-reply Reply-To"


# 3. the agent started the conversation

def test_no_acknowledgement_when_our_agent_wrote_first(tmp_path):
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    outreach = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org",
                          subject="Your refund", message_id="<out@example.com>",
                          body="Hello Jane, your refund is on its way.\n\nAnna Kowalska")
    sent = send(g, outreach)
    feed.sync()
    deliver(g, make_email(sender="Jane Cooper <jane@example.org>", subject="Re: Your refund", body="Thanks a lot!",
                          message_id="<thanks@example.org>", in_reply_to="<out@example.com>"),
            threadId=sent["threadId"])
    feed.sync()
    ticket = host.ticket(sent["threadId"])
    assert ticket is not None and ticket.agent_messages and acks(local) == []


# 4. office hours across the weekend and until midnight

def test_day_ranges_wrap_over_the_weekend():
    hours = OfficeHours.parse("Sun-Thu 09:00-17:00")
    working = lambda office: [day for day, spans in enumerate(office.week) if spans]  # noqa: E731 (Monday = 0)
    assert working(hours) == [0, 1, 2, 3, 6]
    assert working(OfficeHours.parse("Fri-Mon 09:00-18:00")) == [0, 4, 5, 6]


def test_night_shift_may_end_at_24_00():
    hours = OfficeHours.parse("Mon-Fri 22:00-24:00")
    assert hours.is_open(datetime(2026, 11, 23, 23, 59, 30, tzinfo=timezone.utc))  # a Monday
    assert not hours.is_open(datetime(2026, 11, 23, 21, 59, tzinfo=timezone.utc))
    assert not hours.is_open(datetime(2026, 11, 28, 23, 0, tzinfo=timezone.utc))  # a Saturday
    assert validate({"hours": "Mon-Fri 22:00-24:00"}).hours == "Mon-Fri 22:00-24:00"


@pytest.mark.parametrize("spec", ["Mon 09:00-25:00", "Mon 24:00-24:00", "Mon 9:60-18:00"])
def test_impossible_times_name_the_hours_setting(spec):
    with pytest.raises(ConfigError, match=r"^plugins\.autoreply\.hours: "):
        validate({"hours": spec})


# 5. malformed settings

@pytest.mark.parametrize("raw,key", [
    ({"articles": "three"}, "articles"), ({"articles": 2.5}, "articles"), ({"max_age_hours": "nan"}, "max_age_hours"),
    ({"max_age_hours": float("nan")}, "max_age_hours"), ({"max_age_hours": -1}, "max_age_hours"),
    ({"round_robin": "maybe"}, "round_robin"), ({"round_robin": 1}, "round_robin"), ({"timezone": 5}, "timezone"),
    ({"hours": 5}, "hours"), ({"holidays": 5}, "holidays"), ({"skip_labels": ["VIP", 3]}, "skip_labels"),
    ({"addresses": {"a": 1}}, "addresses"),
])
def test_malformed_settings_name_the_right_key(raw, key):
    with pytest.raises(ConfigError) as caught:
        validate(raw)
    assert caught.value.key == f"plugins.autoreply.{key}"


@pytest.mark.parametrize("key", ["addresses", "on_duty", "skip_senders"])
def test_a_setting_of_addresses_refuses_what_is_no_address(key):
    # "support" instead of "support@example.com" would silently switch every acknowledgement off (addresses),
    # sign none (on_duty) or opt nobody out (skip_senders).
    with pytest.raises(ConfigError) as caught:
        validate({key: ["anna.kowalska@example.com", "support"]})
    assert caught.value.key == f"plugins.autoreply.{key}" and "'support' is not an email address" in str(caught.value)


def test_a_single_string_is_a_one_item_list():
    settings = validate({"skip_labels": "VIP", "addresses": "Support@Example.com"})
    assert settings.skip_labels == ("VIP",) and settings.addresses == ("support@example.com",)


def test_real_booleans_and_lowercase_country_codes_are_accepted():
    settings = validate({"round_robin": False, "holidays": "pl"})
    assert settings.round_robin is False and settings.holidays == "PL"
    assert validate({"round_robin": True}).round_robin is True
    # Environment overrides arrive as strings: "false" is false, numbers are numbers, lists are comma-separated.
    from_env = validate({"round_robin": "false", "skip_labels": "VIP, Press"})
    assert from_env.round_robin is False and from_env.skip_labels == ("VIP", "Press")
    christmas = datetime(2026, 12, 25, 12, 0, tzinfo=timezone.utc)
    assert OfficeHours.parse("Mon-Sun 00:00-23:59", "UTC", "pl").holiday(christmas)


# 6. names as whole words, honorifics skipped

def agent(first, last):
    return SimpleNamespace(first_name=first, last_name=last, full_name=f"{first} {last}")


def agent_message(name, text="", address="support@example.com"):
    return SimpleNamespace(sender=SimpleNamespace(name=name, email=address), text=text)


def test_agent_names_match_whole_words_only():
    anna, ann = agent("Anna", "Kowalska"), agent("Ann", "Lee")
    agents = {"anna@example.com": anna, "ann@example.com": ann}
    assert people.agent_for_message(agent_message("Joanna Kowalska via Support"), agents) is None
    assert people.agent_for_message(agent_message("Anna Kowalska via Support"), agents) is anna
    assert people.agent_for_message(agent_message("Support", "We planned it.\n\nJoann Leeds"), agents) is None
    assert people.agent_for_message(agent_message("Support", "Done.\n\nBest,\nann lee"), agents) is ann
    assert not people.has_full_name_sign_off("It is planned.\nSee the Leeds office.", ann)
    assert people.has_full_name_sign_off("Done.\n\nBest regards,\nAnn Lee", ann)


@pytest.mark.parametrize("display,first", [
    ("Mr John Smith", "John"), ("Mrs. Jane Doe", "Jane"), ("Dr Anna Nowak", "Anna"), ("Prof. Ivan Petrov", "Ivan"),
    ("Pani Anna Kowalska", "Anna"), ("Pan Jan Kowalski", "Jan"), ("Sir Elton John", "Elton"),
    ("Mr Smith", ""), ("Madam", ""), ("Smith, Mr John", "John"),
])
def test_honorifics_are_not_first_names(display, first):
    assert people.safe_first_name(display) == first


# 7. template failures at run time and at start-up

RECURSIVE = "{% macro again(n) %}{{ again(n) }}{% endmacro %}{{ again(1) }}"


def admin_templates(tmp_path, body="Hi {{ first_name }}, custom"):
    folder = tmp_path / "tpl"
    (folder / "en").mkdir(parents=True)
    (folder / "en" / "acknowledgement.txt.j2").write_text(body)
    return folder


def test_recursive_template_falls_back_at_run_time(tmp_path):
    folder = admin_templates(tmp_path)
    settings = validate({"templates_dir": str(folder)})
    (folder / "en" / "acknowledgement.txt.j2").write_text(RECURSIVE)
    text = render(settings, "en", "acknowledgement", SAMPLE_CONTEXT)
    assert text.startswith("Hello Anna,")


def test_deleted_templates_dir_falls_back_at_run_time(tmp_path):
    folder = admin_templates(tmp_path)
    settings = validate({"templates_dir": str(folder)})
    assert render(settings, "en", "acknowledgement", SAMPLE_CONTEXT) == "Hi Anna, custom"
    shutil.rmtree(folder)
    assert render(settings, "pl", "acknowledgement", SAMPLE_CONTEXT).startswith("Dzień dobry, Anna")


def test_recursive_template_is_a_start_up_error_naming_the_file(tmp_path):
    folder = admin_templates(tmp_path, RECURSIVE)
    with pytest.raises(ConfigError, match=r"plugins\.autoreply\.templates_dir: .*acknowledgement\.txt\.j2"):
        validate({"templates_dir": str(folder)})


def test_template_removed_during_start_up_is_an_error_naming_the_file(tmp_path, monkeypatch):
    folder = admin_templates(tmp_path)

    def vanished(self, environment, template):
        raise FileNotFoundError(2, "No such file or directory", template)

    monkeypatch.setattr("jinja2.FileSystemLoader.get_source", vanished)
    with pytest.raises(ConfigError, match=r"plugins\.autoreply\.templates_dir: .*acknowledgement\.txt\.j2"):
        validate({"templates_dir": str(folder)})


def test_a_relative_templates_dir_is_read_beside_the_config_file(tmp_path, monkeypatch):
    """An admin writes templates_dir = "templates" next to labeldesk.toml; `labeldesk serve` run from
    a service manager's working directory (/) must still find the folder."""
    from plugin_host.plugins import make_plugin_manager, validate_plugin_settings

    site = tmp_path / "site"
    (site / "templates" / "en").mkdir(parents=True)
    (site / "templates" / "en" / "acknowledgement.txt.j2").write_text("Thanks for writing!")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    data = {"mailbox": {"address": "s@example.com"},
            "plugins": {"enabled": ["autoreply", "kb_suggest"], "autoreply": {"templates_dir": "templates"}}}
    config = load_config(site / "labeldesk.toml", data=data, environ={})
    validate_plugin_settings(make_plugin_manager(enabled=("autoreply",)), config)
    assert config.plugin_settings["autoreply"].templates_dir == str(site / "templates")
    data["plugins"]["autoreply"]["templates_dir"] = "missing"
    config = load_config(site / "labeldesk.toml", data=data, environ={})
    with pytest.raises(ConfigError, match=r"plugins\.autoreply\.templates_dir: folder .*site/missing does not exist"):
        validate_plugin_settings(make_plugin_manager(enabled=("autoreply",)), config)


def test_office_hours_read_lunch_breaks_and_short_fridays_like_the_sla_calendar():
    """One syntax for both plugins: several periods a day, and a later clause replacing a day's hours."""
    from plugins.sla.calendar import BusinessCalendar

    spec = "Mon-Fri 09:00-13:00,14:00-18:00; Fri 09:00-15:00"
    hours = OfficeHours.parse(spec, "Europe/Warsaw")
    calendar = BusinessCalendar.parse(spec, "Europe/Warsaw")
    monday, friday = datetime(2026, 11, 23, tzinfo=timezone.utc), datetime(2026, 11, 27, tzinfo=timezone.utc)
    for day in (monday, friday):
        for hour in range(24):
            when = day.replace(hour=hour, minute=30)
            assert hours.is_open(when) == calendar.is_open(when), when
    assert hours.is_open(monday.replace(hour=11)) and not hours.is_open(monday.replace(hour=12, minute=30))  # lunch
    assert hours.is_open(friday.replace(hour=13, minute=30)) and not hours.is_open(friday.replace(hour=15))  # short Friday
    with pytest.raises(ConfigError, match=r"^plugins\.autoreply\.hours: .*'Mon 09:00-13:00,13:30-12:00'"):
        validate({"hours": "Mon 09:00-13:00,13:30-12:00"})
    always = OfficeHours.parse("24/7")
    assert all(always.is_open(monday.replace(hour=h)) for h in range(24))


# 8. a misspelt variable in a branch the trial render does not take

@pytest.mark.parametrize("body", [
    "Hello{% if holiday %} ({{ holliday }}){% endif %}",  # the sample context has no holiday
    "{% if not first_name %}Hello {{ customer }}{% else %}Hello {{ first_name }}{% endif %}",
])
def test_unknown_variables_stop_start_up_in_every_branch(tmp_path, body):
    folder = admin_templates(tmp_path, body)
    with pytest.raises(ConfigError, match=r"acknowledgement\.txt\.j2: unknown variable"):
        validate({"templates_dir": str(folder)})


# 9. an acknowledgement sent late (after an outage) never promises a time already past

def test_a_late_acknowledgement_does_not_promise_a_past_deadline(tmp_path):
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed

    data = {"mailbox": {"address": "support@example.com"},
            "plugins": {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7"},
                        "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "UTC"}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    asked = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # urgent: answer due at 10:00
    host = build_host(config, http=local.http, now=lambda: datetime(2026, 11, 23, 10, 30, tzinfo=timezone.utc))
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(subject="Urgent: checkout is down", message_id="<late@example.org>",
                                            date=asked))
    local.mailbox.messages[ref["id"]].internal_date = int(asked.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    assert "10:00" not in ack.get_content() and "as soon as possible" in ack.get_content()


# 10. with the SLA plugin on, the out-of-hours acknowledgement names the holiday of the SLA calendar

def acknowledgement_at(tmp_path, plugins: dict, asked: datetime):
    """The one acknowledgement a customer's message received at ``asked`` gets, with these ``[plugins]``."""
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed

    data = {"mailbox": {"address": "support@example.com"}, "plugins": plugins,
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    host = build_host(config, http=local.http, now=lambda: asked)
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(subject="Order", message_id="<asked@example.org>", date=asked))
    local.mailbox.messages[ref["id"]].internal_date = int(asked.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    return ack


def test_out_of_hours_names_the_holiday_of_the_sla_calendar(tmp_path):
    plugins = {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7"},
               "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw", "holidays": "PL"}}
    asked = datetime(2026, 11, 11, 11, 0, tzinfo=timezone.utc)  # a Wednesday, Independence Day in Poland
    ack = acknowledgement_at(tmp_path, plugins, asked)
    assert "out of the office right now (National Independence Day)" in ack.get_content()


# 11. a language the admin added (templates and expectation) is used whole, not half in English

def test_an_added_language_gets_its_own_expectation_text(tmp_path):
    folder = tmp_path / "tpl" / "de"
    folder.mkdir(parents=True)
    (folder / "acknowledgement.txt.j2").write_text("Hallo {{ first_name }}, danke! {{ expectation }}\n{{ agent_name }}")
    local, host, feed = setup(tmp_path, {"templates_dir": str(tmp_path / "tpl"),
                                         "expectation": {"de": "Wir antworten innerhalb eines Werktages."}})
    deliver(local.gmail(), make_email(subject="Bestellung 1234", message_id="<de@example.org>",
                                      body="Hallo, meine Bestellung ist nicht angekommen. Bitte helfen Sie mir, danke."))
    feed.sync()
    [ack] = acks(local)
    assert "Hallo Jane, danke! Wir antworten innerhalb eines Werktages." in ack.get_content()


# 12. out of hours, the acknowledgement says when the team is back, by the calendar that decided

@pytest.mark.parametrize("plugins,back", [
    ({"enabled": ["autoreply"], "autoreply": {"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw",
                                              "holidays": "PL"}}, "Monday, 28 December 2026, 09:00 (Europe/Warsaw, UTC+01:00)"),
    ({"enabled": ["autoreply", "sla"], "sla": {"hours": "Mon-Fri 08:00-16:00", "timezone": "Europe/Warsaw",
                                               "holidays": "PL"}}, "Monday, 28 December 2026, 08:00 (Europe/Warsaw, UTC+01:00)"),
])
def test_out_of_hours_says_when_the_team_is_back(tmp_path, plugins, back):
    asked = datetime(2026, 12, 23, 19, 0, tzinfo=timezone.utc)  # Wednesday 20:00 in Warsaw; 24-26 Dec are holidays
    ack = acknowledgement_at(tmp_path, plugins, asked)
    assert f"when we are back, on {back}." in " ".join(ack.get_content().split())


def test_the_english_out_of_hours_text_does_not_say_our_team_twice():
    # Was: "Our team is out of the office right now, so our team will look after it when we are back".
    from plugins.autoreply.templates import render_shipped

    text = render_shipped("en", "out_of_hours", SAMPLE_CONTEXT)
    assert "We are out of the office right now, so our team will look after it when we are back" in text


def test_skip_domains_takes_a_domain_written_with_its_at_sign_and_refuses_an_address():
    # "@example.net" matched no sender's domain, silently: the opt-out never applied.
    assert validate({"skip_domains": ["@Example.net", "shop.example.org"]}).skip_domains == ("example.net", "shop.example.org")
    with pytest.raises(ConfigError) as caught:
        validate({"skip_domains": ["press@example.net"]})
    assert caught.value.key == "plugins.autoreply.skip_domains" and "not a domain" in str(caught.value)


def test_an_on_duty_address_that_is_no_agent_stops_start_up(tmp_path):
    """Acknowledgements are signed by on-duty agents with their full names from ``[agents]``: a typo in
    ``on_duty`` silently left that agent out (or every acknowledgement unsigned)."""
    from plugin_host.errors import ConfigError
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host

    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")},
            "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
            "plugins": {"enabled": ["autoreply"], "autoreply": {"on_duty": ["anna.kowalski@example.com"]}}}
    with pytest.raises(ConfigError, match=r"plugins.autoreply.on_duty.*anna.kowalski@example.com is not in \[agents\]"):
        build_host(load_config(tmp_path / "labeldesk.toml", data=data, environ={}), http=LocalMailbox().http)
    data["plugins"]["autoreply"]["on_duty"] = ["Anna.Kowalska@example.com"]
    host = build_host(load_config(tmp_path / "labeldesk.toml", data=data, environ={}), http=LocalMailbox().http)
    assert host.config.plugin_settings["autoreply"].on_duty == ("anna.kowalska@example.com",)


def test_office_hours_read_holidays_days_off_and_working_days_as_the_sla_calendar_does():
    """Autoreply's own office hours (SLA plugin off) took one country and no days off: a team in two countries or
    closed between Christmas and New Year told customers it was at work."""
    settings = validate({"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw", "holidays": ["PL", "DE-BY"],
                         "days_off": ["2026-12-28"], "working_days": ["2026-12-05"]})
    from plugins.autoreply.hours import office_hours

    office = office_hours(settings)
    assert not office.is_open(datetime(2026, 12, 28, 10, tzinfo=timezone.utc))  # a Monday the team is off
    assert office.holiday(datetime(2026, 12, 28, 10, tzinfo=timezone.utc), "pl") == "dzień wolny"
    assert office.is_open(datetime(2026, 12, 5, 10, tzinfo=timezone.utc))  # a Saturday worked
    assert not office.is_open(datetime(2027, 1, 6, 10, tzinfo=timezone.utc))  # Epiphany, a holiday in PL and Bavaria
    with pytest.raises(ConfigError, match="plugins.autoreply.days_off"):
        validate({"days_off": ["28.12.2026"]})


def test_a_template_saved_with_a_byte_order_mark_does_not_start_the_customers_mail_with_it(tmp_path):
    """Notepad saves UTF-8 with a byte-order mark: the acknowledgement began with an invisible U+FEFF."""
    folder = tmp_path / "tpl"
    (folder / "en").mkdir(parents=True)
    (folder / "en" / "acknowledgement.txt.j2").write_bytes("\ufeffHi {{ first_name }}, custom".encode("utf-8"))
    settings = validate({"templates_dir": str(folder)})
    assert render(settings, "en", "acknowledgement", SAMPLE_CONTEXT) == "Hi Anna, custom"


def test_a_template_saved_without_its_j2_ending_is_named_at_start(tmp_path):
    """"acknowledgement.txt" (the editor dropped ".j2") was never used, and nothing said so."""
    folder = tmp_path / "tpl"
    (folder / "de").mkdir(parents=True)
    (folder / "de" / "acknowledgement.txt").write_text("Hallo {{ first_name }}")
    (folder / "de" / "NOTES.md").write_text("our German wording")  # anything else in the folder is left alone
    with pytest.raises(ConfigError, match=r"acknowledgement\.txt: not a template name \(did you mean acknowledgement\.txt\.j2"):
        validate({"templates_dir": str(folder)})
