"""plugins.autoreply end to end on the local mailbox, plus its pure parts."""
from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime, timedelta, timezone

import pytest

from plugin_host.config import load_config
from plugin_host.errors import ConfigError
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from plugin_host import people
from plugins.autoreply.settings import validate

from .conftest import deliver, make_email, send

AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "title": "Support Engineer"},
          "ivan.petrov@example.com": {"first_name": "Ivan", "last_name": "Petrov"}}


def setup(tmp_path, plugin_settings=None, local=None):
    settings = {"hours": "24/7", **(plugin_settings or {})}
    data = {"mailbox": {"address": "support@example.com", "aliases": ["help@example.com"]}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply"], "autoreply": settings},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = local or LocalMailbox()
    host = build_host(config, http=local.http)
    host.client.sleep = lambda s: None
    return local, host, ChangeFeed(host)


def acks(local):
    return [email.message_from_bytes(m.raw, policy=email.policy.default) for m in local.mailbox.messages.values()
            if b"X-Labeldesk: ack" in m.raw]


def test_one_acknowledgement_per_new_thread_even_after_repeated_syncs(tmp_path):
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    deliver(g, make_email(sender="Jane Cooper <jane@example.org>", message_id="<o1@example.org>", subject="Order late"))
    feed.sync()
    feed.sync()
    feed.sync(full=True)
    sent = acks(local)
    assert len(sent) == 1
    ack = sent[0]
    assert ack["In-Reply-To"] == "<o1@example.org>" and ack["References"] == "<o1@example.org>"
    assert ack["Subject"] == "Re: Order late" and ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    body = ack.get_content()
    assert body.startswith("Hello Jane,") and "Anna Kowalska" in body or "Ivan Petrov" in body


def test_customer_writes_again_before_anyone_answered(tmp_path):
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    deliver(g, make_email(message_id="<w1@example.org>", subject="Broken"))
    feed.sync()
    deliver(g, make_email(message_id="<w2@example.org>", subject="Re: Broken", in_reply_to="<w1@example.org>",
                          body="Hello? Any news?"))
    feed.sync()
    assert len(acks(local)) == 1


def test_two_aliases_and_a_crash_between_send_and_label(tmp_path):
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    deliver(g, make_email(to="support@example.com", message_id="<x1@example.org>", subject="Invoice"))
    deliver(g, make_email(to="help@example.com", message_id="<x2@example.org>", subject="Invoice"))
    local.app.faults.fail_next("gmail.users.messages.modify", count=20, status=503)
    local.app.faults.fail_next("gmail.users.threads.modify", count=20, status=503)
    assert not feed.sync().ok
    local.app.faults.scheduled.clear()
    assert ChangeFeed(setup(tmp_path, local=local)[1]).sync().ok
    assert len(acks(local)) == 1
    names = {l["id"]: l["name"] for l in local.mailbox.labels.values()}
    labelled = {names[l] for m in local.mailbox.messages.values() for l in m.label_ids}
    assert {"Helpdesk/Acknowledged", "Helpdesk/Auto-reply suppressed"} <= labelled


def test_none_for_bounces_and_auto_replies(tmp_path, shared):
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    for path in sorted((shared / "data" / "mail" / "bounces-and-autoreplies").glob("*.eml"))[::7]:
        deliver(g, path.read_bytes())
    report = feed.sync()
    assert report.ok and acks(local) == []


@pytest.mark.parametrize("sender,subject,greeting,expect", [
    ("Мария Иванова <maria@example.ru>", "Не работает оплата", "Здравствуйте, Мария!", "Спасибо за обращение"),
    ("Łukasz Wiśniewski <lukasz@example.pl>", "Zamówienie nie dotarło", "Dzień dobry, Łukasz,", "dziękujemy"),
])
def test_russian_and_polish_acknowledgements(tmp_path, sender, subject, greeting, expect):
    local, host, feed = setup(tmp_path)
    body = {"ru": "Здравствуйте, не работает оплата картой, помогите пожалуйста.",
            "pl": "Dzień dobry, zamówienie nie dotarło, proszę o pomoc."}["ru" if "ru" in sender else "pl"]
    deliver(local.gmail(), make_email(sender=sender, subject=subject, body=body, message_id="<lang@example.org>"))
    feed.sync()
    [ack] = acks(local)
    assert ack["Subject"] == f"Re: {subject}"
    text = ack.get_content()
    assert text.startswith(greeting) and expect in text
    assert "Anna Kowalska" in text or "Ivan Petrov" in text


def test_display_name_cannot_inject(tmp_path):
    local, host, feed = setup(tmp_path)
    raw = (b"From: =?utf-8?q?Eve=0D=0ABcc:_victim@example.org?= <eve@example.org>\r\nTo: support@example.com\r\n"
           b"Subject: =?utf-8?q?Hi=0D=0ABcc:_x@example.org?=\r\nMessage-ID: <inj@example.org>\r\n"
           b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nHello {{ 7*7 }} there\r\n")
    deliver(local.gmail(), raw)
    feed.sync()
    [ack] = acks(local)
    assert ack["Bcc"] is None and "victim" not in str(ack["To"])
    assert "\n" not in str(ack["Subject"]) and "49" not in ack.get_content()


def test_old_requests_and_opt_outs_get_nothing(tmp_path):
    local, host, feed = setup(tmp_path, {"skip_domains": ["partner.example"]})
    g = local.gmail()
    old = make_email(message_id="<old@example.org>", date=datetime.now(timezone.utc) - timedelta(days=3))
    g.users().messages().import_(userId="me", internalDateSource="dateHeader",
                                 body={"raw": __import__("base64").urlsafe_b64encode(old).decode(),
                                       "labelIds": ["INBOX"]}).execute()
    deliver(g, make_email(sender="bob@partner.example", message_id="<p@example.org>"))
    feed.sync()
    assert acks(local) == []


def test_safe_first_names():
    assert people.safe_first_name("Jane Cooper") == "Jane"
    assert people.safe_first_name("Doe, Jane") == "Jane"
    assert people.safe_first_name("Łukasz Wiśniewski") == "Łukasz"
    assert people.safe_first_name("мария") == "Мария"
    for bad in ("", "jane@example.org", "<script>", "=?utf-8?q?x?=", "Eve\r\nBcc: x", "1234", "A" * 60):
        assert people.safe_first_name(bad) in ("", "Eve")



def test_a_name_in_capitals_is_greeted_as_a_name():
    """Directories and shop systems often send names in capitals: "Hello JOHN," shouts at the customer."""
    assert people.safe_first_name("JOHN SMITH") == "John"
    assert people.safe_first_name("SMITH, JOHN") == "John"
    assert people.safe_first_name("ДМИТРИЙ ВАСИЛЬЕВ") == "Дмитрий"
    assert people.safe_first_name("ANNA-MARIA NOWAK") == "Anna-Maria"
    assert people.safe_first_name("AJ Smith") == "AJ"  # initials as the person writes them
    assert people.safe_first_name("AJ SMITH") == "AJ"

def test_sandbox_blocks_template_attacks(tmp_path):
    from plugins.autoreply.settings import AutoreplySettings
    from plugins.autoreply.templates import SAMPLE_CONTEXT, render

    folder = tmp_path / "templates" / "en"
    folder.mkdir(parents=True)
    (folder / "acknowledgement.txt.j2").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(ConfigError) as info:  # refused at start-up with a clear error
        validate({"templates_dir": str(tmp_path / "templates"), "hours": "Mon-Sun 00:00-23:59"})
    assert "Python internals" in str(info.value) and "acknowledgement.txt.j2" in str(info.value)
    # Edited after start-up: the render is refused by the sandbox and the shipped template is used.
    settings = AutoreplySettings(templates_dir=str(tmp_path / "templates"))
    text = render(settings, "en", "acknowledgement", SAMPLE_CONTEXT)
    assert "subclasses" not in text and text.startswith("Hello Anna,")
    (folder / "acknowledgement.txt.j2").write_text("{% if %}")
    with pytest.raises(ConfigError) as info:
        validate({"templates_dir": str(tmp_path / "templates")})
    assert "acknowledgement.txt.j2:1" in str(info.value)
    (folder / "acknowledgement.txt.j2").write_text("Hi {{ customer_nickname }}")
    with pytest.raises(ConfigError, match="customer_nickname"):
        validate({"templates_dir": str(tmp_path / "templates")})
    (folder / "acknowledgement.txt.j2").write_text("Dear {{ first_name }}, thanks!\n{{ agent_name }}")
    good = validate({"templates_dir": str(tmp_path / "templates")})
    assert render(good, "en", "acknowledgement", SAMPLE_CONTEXT) == "Dear Anna, thanks!\nAnna Kowalska"


def test_agents_sync_from_the_workspace_directory(tmp_path):
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    from plugins.autoreply.directory import directory_agents, merge_into_config

    page1 = {"users": [{"primaryEmail": "Olga.Nowak@example.com", "name": {"givenName": "Olga", "familyName": "Nowak"},
                        "organizations": [{"primary": True, "title": "Support Engineer"}]},
                       {"primaryEmail": "gone@example.com", "suspended": True,
                        "name": {"givenName": "Gone", "familyName": "User"}}],
             "nextPageToken": "p2"}
    page2 = {"users": [{"primaryEmail": "mono@example.com", "name": {"givenName": "Mono", "familyName": ""}},
                       {"primaryEmail": "anna.kowalska@example.com",
                        "name": {"givenName": "Anna", "familyName": "Kowalska"}}]}
    http = HttpMockSequence([({"status": "200"}, json.dumps(page1)), ({"status": "200"}, json.dumps(page2))])
    service = build("admin", "directory_v1", http=http, static_discovery=True)
    found = directory_agents(service, "orgUnitPath='/Support'")
    assert found == {"olga.nowak@example.com": {"first_name": "Olga", "last_name": "Nowak", "title": "Support Engineer"},
                     "anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}}
    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "support@example.com"\n[agents]\n'
                      '"anna.kowalska@example.com" = { first_name = "Anna", last_name = "Kowalska", title = "Lead" }\n')
    assert merge_into_config(config, found) == (1, 1)
    loaded = load_config(str(config), environ={})
    assert loaded.agent("olga.nowak@example.com").full_name == "Olga Nowak"
    assert loaded.agent("anna.kowalska@example.com").title == "Lead"  # what the admin typed is kept


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="plugins.autoreply.hours"):
        validate({"hours": "Someday 9-5"})
    with pytest.raises(ConfigError, match="plugins.autoreply.colour"):
        validate({"colour": "red"})


def test_ownership_signature_warning_and_handover(tmp_path):

    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    ref = deliver(g, make_email(message_id="<own@example.org>", subject="Help"))
    feed.sync()
    reply = make_email(sender="Anna Kowalska <support@example.com>", to="jane@example.org", subject="Re: Help",
                       message_id="<own-r@example.com>", in_reply_to="<own@example.org>", body="Done!\n\nAnna")
    send(g, reply, ref["threadId"])
    feed.sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket.owner_name == "Anna Kowalska" and ticket.has_label("Warning/No full name")
    ivan = host.config.agent("ivan.petrov@example.com")
    offers = host.compose_suggestions(ticket, ivan)
    assert offers[0]["content"].startswith("I'm Ivan Petrov; I'm taking over your request from Anna Kowalska")
    assert any("Ivan Petrov" in o["content"] for o in offers[1:])
    reply = host.card_action("autoreply.take", {}, {}, ticket, ivan)
    assert "Ivan Petrov" in reply.notification
    assert host.ticket(ref["threadId"]).owner_name == "Ivan Petrov"


def test_preview_command(tmp_path):
    from click.testing import CliRunner

    from plugin_host.cli import get_cli

    config = tmp_path / "labeldesk.toml"
    config.write_text('[mailbox]\naddress = "support@example.com"\n[agents]\n'
                      '"anna.kowalska@example.com" = { first_name = "Anna", last_name = "Kowalska" }\n'
                      '[plugins]\nenabled = ["autoreply"]\n[host]\nstate_dir = "state"\n')
    eml = tmp_path / "q.eml"
    eml.write_bytes(make_email(sender="Мария Иванова <maria@example.ru>", subject="Где заказ?",
                               body="Здравствуйте, где мой заказ? Спасибо."))
    result = CliRunner().invoke(get_cli(), ["autoreply", "preview", str(eml), "--config", str(config),
                                            "--now", "2026-11-24T10:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "Здравствуйте, Мария!" in result.output and "Auto-Submitted: auto-replied" in result.output
    assert "Anna Kowalska" in result.output


def test_out_of_hours_holiday_articles_round_robin_and_addresses(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text("---\ntitle: How refunds work\nurl: https://help.example.com/refunds\n---\n"
                                       "Refunds reach your card within 5 business days after approval.\n")
    data = {"mailbox": {"address": "support@example.com", "aliases": ["sales@example.com"]}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply", "kb_suggest"],
                        "autoreply": {"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw", "holidays": "PL",
                                      "round_robin": True, "addresses": ["support@example.com"]},
                        "kb_suggest": {"articles": str(folder)}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    holiday = datetime(2026, 11, 11, 12, 0, tzinfo=timezone.utc)  # Independence Day in Poland
    host = build_host(config, http=local.http, now=lambda: holiday)
    g = local.gmail()
    ref = deliver(g, make_email(subject="Refund", body="When will my refund reach my card?", message_id="<h@example.org>",
                                date=holiday))
    local.mailbox.messages[ref["id"]].internal_date = int(holiday.timestamp() * 1000)
    deliver(g, make_email(sender="lead@example.net", to="sales@example.com", subject="Pricing", message_id="<s@example.org>",
                          date=holiday))
    for m in local.mailbox.messages.values():
        m.internal_date = int(holiday.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    text = ack.get_content()
    assert "out of the office right now (" in text  # the holiday is named
    assert "https://help.example.com/refunds" in text
    owner = host.ticket(ref["threadId"]).owner_name
    assert owner in ("Anna Kowalska", "Ivan Petrov") and f"{owner} will look after it" in text
    assert text.rstrip().endswith(owner) or owner in text.rstrip().splitlines()[-2:]


def test_signatures_sync_sets_the_send_as_signature(tmp_path):
    from plugins.autoreply.signatures import sync_signatures

    local, host, feed = setup(tmp_path)
    lines = sync_signatures(host)
    got = local.gmail().users().settings().sendAs().get(userId="me", sendAsEmail="support@example.com").execute()
    assert got["signature"] == "Anna Kowalska<br>Support Engineer" and "signature of Anna Kowalska" in lines[0]


def test_acknowledgements_link_only_confident_articles_in_the_customers_language():
    from types import SimpleNamespace

    from plugin_host.ticket import Suggestion
    from plugins.autoreply.acknowledgement import articles

    found = [Suggestion("a", "Refunds", "https://help.example.com/a", "", 0.6, "", confident=True, language="en"),
             Suggestion("b", "Возврат", "https://help.example.com/b", "", 0.5, "", confident=True, language="ru"),
             Suggestion("c", "Returns", "https://help.example.com/c", "", 0.3, "", confident=False, language="en"),
             Suggestion("d", "Local", "http://intranet/d", "", 0.7, "", confident=True, language="en"),
             # good enough for the agent's side panel, not for a link sent to the customer unasked
             Suggestion("e", "Exchanges", "https://help.example.com/e", "", 0.4, "", for_customers=False, language="en")]
    asked = []
    config = SimpleNamespace(hook=SimpleNamespace(suggest_articles=lambda **kwargs: asked.append(kwargs) or found))
    settings = SimpleNamespace(articles=3)
    english = SimpleNamespace(question="refund?", language="en")
    polish = SimpleNamespace(question="zwrot?", language="pl")
    assert [a.article_id for a in articles(english, settings, config)] == ["a"]
    assert [a.article_id for a in articles(polish, settings, config)] == ["a", "b"]  # none in Polish: all confident
    # the side panel's best may be below the customers' bar: more are asked for than will be linked
    assert asked[0]["limit"] >= 3 * settings.articles


def test_out_of_hours_wording_follows_the_sla_calendar_when_sla_is_on(tmp_path):
    """Monday 09:30 in Warsaw: the SLA calendar (Warsaw) is open though autoreply's default hours (UTC) are
    not; the acknowledgement must not say "out of the office" while promising an answer today."""
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply", "sla"],
                        "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw"}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    monday = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)  # 09:30 in Warsaw
    host = build_host(config, http=local.http, now=lambda: monday)
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(subject="Order", body="Where is my order?", message_id="<w@example.org>",
                                            date=monday))
    local.mailbox.messages[ref["id"]].internal_date = int(monday.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    assert "out of the office" not in ack.get_content() and "Monday, 23 November 2026" in ack.get_content()


def test_a_suppressed_acknowledgement_is_not_labelled_acknowledged(tmp_path):
    """Two tickets from one customer within the window: the second acknowledgement is held back by the loop
    guard, and that thread says so — it used to carry "Acknowledged" as well, which was untrue."""
    local, host, feed = setup(tmp_path)
    g = local.gmail()
    feed.sync()
    first = deliver(g, make_email(message_id="<w1@example.org>", subject="Invoice"))
    second = deliver(g, make_email(message_id="<w2@example.org>", subject="Delivery"))
    assert feed.sync().ok
    assert len(acks(local)) == 1
    acknowledged = [t["threadId"] for t in (first, second)
                    if "Helpdesk/Acknowledged" in {l for m in host.ticket(t["threadId"]).messages for l in m.labels}]
    held = [t["threadId"] for t in (first, second) if host.ticket(t["threadId"]).has_label("Auto-reply suppressed")]
    assert len(acknowledged) == 1 and len(held) == 1 and acknowledged != held


def test_the_acknowledgement_comes_from_the_address_the_customer_wrote_to(tmp_path):
    """help@ (a group or alias) delivers into support@, whose address Gmail puts in Delivered-To: the
    customer wrote to help@, so the answer comes from help@ (a send-as address), not support@."""
    local, host, feed = setup(tmp_path)
    local.mailbox.add_send_as("help@example.com", "Help")  # verified in Gmail's settings by the admin
    feed.sync()
    deliver(local.gmail(), make_email(to="help@example.com", message_id="<alias@example.org>",
                                      headers={"Delivered-To": "support@example.com"}))
    assert feed.sync().ok
    assert [email.utils.parseaddr(a["From"])[1] for a in acks(local)] == ["help@example.com"]
