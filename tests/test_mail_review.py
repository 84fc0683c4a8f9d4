"""Reading real mail right: attribution lines in several clients and languages, customers quoting
someone, robots with commas in encoded names (emails in tests/data/mail_review and ../shared fixtures)."""
from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path

import pytest

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed
from plugin_host.tickets import build_ticket, ticket_from_eml

from .conftest import deliver, make_email

DATA = Path(__file__).parent / "data" / "mail_review"


@pytest.fixture
def config(tmp_path):
    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")}}
    return load_config(tmp_path / "labeldesk.toml", data=data, environ={})


def test_gmail_wrapped_attribution_is_not_customer_text(shared, config):
    """Real Gmail reply (fixtures/addon/sample_message_2_of_2.json): Gmail wraps the plain-text
    attribution "On <date> <name> <\\n<address>> wrote:" over two lines; it stayed in the text."""
    messages = [json.loads((shared / "fixtures" / "addon" / f"sample_message_{i}_of_2.json").read_text())
                for i in (1, 2)]
    for message in messages:
        message["labelIds"] = ["INBOX"]  # as received by a support mailbox
    ticket = build_ticket({"id": messages[0]["threadId"], "messages": messages}, config)
    assert ticket.latest_customer_message.text == "This is the 2nd message as part of this thread!"


def test_gmail_russian_attribution_is_not_customer_text(config):
    """Gmail in Russian writes "пн, 23 нояб. 2026 г. в 10:05, Name <address>:" (no verb)."""
    ticket = ticket_from_eml((DATA / "ru-gmail-reply.eml").read_bytes(), config)
    assert ticket.messages[0].text == "Оплата прошла, спасибо!"


@pytest.mark.parametrize("name, kept", [
    ("ru-site-says.eml", "«Ошибка 502. Платёж отклонён банком»"),
    ("pl-courier-wrote.eml", "Paczka zwrócona do nadawcy – błędny adres."),
])
def test_customer_quoting_someone_keeps_their_words(config, gmail, name, kept):
    """"сайт пишет:" / "kurier napisał:" in the customer's own words is no quote attribution:
    everything after it (the actual problem) was cut, leaving only the greeting."""
    raw = (DATA / name).read_bytes()
    assert kept in ticket_from_eml(raw, config).messages[0].text
    # the same through the local mailbox, as the host reads it
    thread_id = deliver(gmail, raw)["threadId"]
    thread = gmail.users().threads().get(userId="me", id=thread_id, format="full").execute()
    ticket = build_ticket(thread, config)
    assert kept in ticket.messages[0].text
    assert kept.split()[0].strip("«") in ticket.question


def test_no_reply_robot_with_comma_in_encoded_name_is_automatic(config, tmp_path):
    """loopguard decodes RFC 2047 words *before* parsing the address: "Магазин «Ромашка», уведомления"
    <noreply@…> parses as address "магазин «ромашка»", so the no-reply rule never sees noreply@."""

    from plugin_host.loopguard import automatic_reason

    from .test_autoreply import acks, setup

    raw = (DATA / "ru-noreply-comma-name.eml").read_bytes()
    assert automatic_reason(message_from_bytes(raw, policy=compat32)).startswith("robot sender")
    assert ticket_from_eml(raw, config) is None
    local, host, feed = setup(tmp_path)
    deliver(local.gmail(), raw)
    feed.sync()
    assert acks(local) == []  # today: an acknowledgement is sent to noreply@romashka.example.ru



def acknowledging_host(tmp_path):
    """A local mailbox and a host with the autoreply plugin (Anna is the agent): (local, host)."""
    local = LocalMailbox()
    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")},
        "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}},
        "plugins": {"enabled": ["autoreply"]}})
    return local, build_host(config, http=local.http)

def test_a_web_form_message_is_a_ticket_from_the_visitor_in_reply_to(tmp_path):
    """Webflow, Typeform or Tilda send a contact form from a no-reply address with the visitor in
    Reply-To: that is a customer's request, acknowledged to the visitor (where Gmail's Reply goes).
    A no-reply sender whose Reply-To is its own company's support, a bounce with a human Reply-To,
    and a Reply-To that is itself a robot stay automatic."""
    from plugin_host.loopguard import automatic_reason

    def form(sender, reply_to, subject="New form submission"):
        return message_from_bytes(f"From: {sender}\nReply-To: {reply_to}\nTo: support@example.com\n"
                                  f"Subject: {subject}\n\nName: Bob\nMessage: my invoice is wrong\n".encode(),
                                  policy=compat32)

    assert automatic_reason(form("Webflow <no-reply@webflow.com>", "Bob Stone <bob@example.net>")) == ""
    assert automatic_reason(form("notifications@tilda.ws", "bob@example.net")) == ""
    assert automatic_reason(form("noreply@shop.example", "support@shop.example")).startswith("robot sender")
    assert automatic_reason(form("MAILER-DAEMON@mx.example", "bob@example.net")).startswith("robot sender")
    assert automatic_reason(form("noreply@webflow.com", "donotreply@example.net")) != ""
    assert automatic_reason(form("noreply@webflow.com", "support@example.com", "Hi"),
                            frozenset({"support@example.com"})).startswith("robot sender")

    local, host = acknowledging_host(tmp_path)
    raw = make_email(sender="Webflow <no-reply@webflow.com>", subject="New form submission: Contact",
                     headers={"Reply-To": "Bob Stone <bob@example.net>"}, body="Message: my invoice is wrong")
    ref = deliver(local.gmail(), raw)
    ChangeFeed(host).sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket.customer.email == "bob@example.net" and ticket.customer.first_name == "Bob"
    sent = [m for m in local.mailbox.messages.values() if "SENT" in m.label_ids]
    assert len(sent) == 1 and "To: bob@example.net" in sent[0].raw.decode()


def test_a_web_form_mailing_support_as_support_is_a_ticket_from_the_visitor(tmp_path):
    """WordPress forms often send From: support@ To: support@ with the visitor in Reply-To, through
    Gmail's SMTP, so the message is in Sent as well as the inbox. It is the visitor's request, not an
    agent's message. Our own note to ourselves (no Reply-To) and a reply to a customer are not forms."""
    from plugin_host.loopguard import form_visitor

    own = frozenset({"support@example.com"})

    def parsed(headers):
        return message_from_bytes(("".join(f"{k}: {v}\n" for k, v in headers.items()) + "\nHi\n").encode(),
                                  policy=compat32)

    form = {"From": "Site <support@example.com>", "To": "support@example.com", "Reply-To": "Bob <bob@example.net>",
            "Return-Path": "<support@example.com>"}
    assert form_visitor(parsed(form), own) == "bob@example.net"
    assert form_visitor(parsed({**form, "To": "carol@example.org"}), own) == ""  # an answer to a customer
    assert form_visitor(parsed({k: v for k, v in form.items() if k != "Reply-To"}), own) == ""  # a note to self
    assert form_visitor(parsed({**form, "Reply-To": "anna@example.com"}), own) == ""  # a colleague

    local, host = acknowledging_host(tmp_path)
    raw = make_email(sender="Our site <support@example.com>", to="support@example.com", subject="Contact form: refund",
                     headers={"Reply-To": "Bob Stone <bob@example.net>"}, body="Name: Bob\nMessage: refund please")
    ref = deliver(local.gmail(), raw, labels=("INBOX", "UNREAD", "SENT"))
    ChangeFeed(host).sync()
    ticket = host.ticket(ref["threadId"])
    assert ticket is not None and ticket.customer.email == "bob@example.net"
    acks = [m for m in local.mailbox.messages.values() if "SENT" in m.label_ids and m.id != ref["id"]]
    assert len(acks) == 1 and "To: bob@example.net" in acks[0].raw.decode()


@pytest.mark.parametrize("body,expected", [
    ("Name: Bob Stone\nEmail: bob@example.net\nPhone: +1 555 0100\nMessage: My invoice shows VAT twice.\nPlease fix.",
     "My invoice shows VAT twice.\nPlease fix."),
    ("Имя: Иван\nТелефон: +7 900 000-00-00\nСообщение: Не работает интернет", "Не работает интернет"),
    ("Imię i nazwisko: Jan Nowak\nE-mail: jan@example.pl\nWiadomość: Faktura jest błędna", "Faktura jest błędna"),
    ("Hello, my name: Bob. Order 123 is late.", "Hello, my name: Bob. Order 123 is late."),  # one field-like line
])
def test_a_web_forms_contact_fields_are_not_the_question(tmp_path, body, expected):
    """The knowledge base searches the customer's question: a form's "Name:"/"Email:"/"Phone:" lines and
    its "Message:" label are not part of it (two such lines at least make it a form)."""
    from plugin_host.text import strip_form_fields, strip_greeting

    assert strip_form_fields(body) == expected
    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={"mailbox": {"address": "support@example.com"}})
    raw = make_email(sender="Webflow <no-reply@webflow.com>", subject="Contact", body=body,
                     headers={"Reply-To": "visitor@example.net"})
    assert ticket_from_eml(raw, config).question == f"Contact\n{strip_greeting(expected)}"


def test_an_agents_note_to_support_stays_internal_on_a_web_form_sent_as_support(tmp_path):
    """A form mailing support@ as support@ is the visitor's: its From is ours, not the customer's. Counted as one
    of the customer's addresses, it made an agent's note to the team (To: support@) an answer to the customer,
    which stopped the clock while Bob still waited."""
    from plugin_host.tickets import gmail_message_from_raw

    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "support@example.com"},
        "agents": {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska"}}})
    form = make_email(sender="Our site <support@example.com>", to="support@example.com", subject="Contact form: refund",
                      headers={"Reply-To": "Bob Stone <bob@example.net>"}, body="Name: Bob\nMessage: refund please")
    note = make_email(sender="Anna Kowalska <anna.kowalska@example.com>", to="support@example.com",
                      subject="Re: Contact form: refund", body="Billing, can you check Bob's order?")
    messages = [gmail_message_from_raw(form, "m1", "t1", ("INBOX", "SENT")),
                gmail_message_from_raw(note, "m2", "t1", ("INBOX",))]
    messages[1]["internalDate"] = str(int(messages[0]["internalDate"]) + 60_000)
    ticket = build_ticket({"id": "t1", "messages": messages}, config)
    assert ticket.customer.email == "bob@example.net"
    assert [m.kind for m in ticket.messages] == ["customer", "internal"]
    assert ticket.awaiting_reply and ticket.first_agent_reply_at is None


def test_a_web_form_sent_as_support_is_not_opted_out_by_our_own_domain(tmp_path):
    """The From of a customer's first message counts for opt-outs and VIP lists (a form's own sender); for a form
    mailing support@ as support@ it is our address, so `skip_domains = ["example.com"]` (no acknowledgement to
    colleagues) silenced every such form's visitor."""
    from plugins.autoreply.acknowledgement import skip_reason
    from plugins.autoreply.settings import validate

    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={"mailbox": {"address": "support@example.com"}})
    raw = make_email(sender="Our site <support@example.com>", to="support@example.com", subject="Contact form: refund",
                     headers={"Reply-To": "Bob Stone <bob@example.net>"}, body="Name: Bob\nMessage: refund please")
    ticket = ticket_from_eml(raw, config)
    assert ticket.customer_addresses == ("bob@example.net",)
    assert skip_reason(ticket, validate({"skip_domains": ["example.com"]}), config,
                       ticket.first_customer_message.sent_at) == ""


def test_auto_submitted_no_with_a_comment_is_a_person_writing():
    """RFC 3834 allows comments around the keyword: "no (sent by a person)" is a human's message, and a
    commented "auto-replied" is still automatic."""
    from plugin_host.loopguard import automatic_reason

    def mail(value):
        return message_from_bytes(f"From: bob@example.net\nTo: support@example.com\nAuto-Submitted: {value}\n"
                                  f"Subject: Refund\n\nWhere is my refund?\n".encode(), policy=compat32)

    assert automatic_reason(mail("no (sent by a person)")) == ""
    assert automatic_reason(mail("(typed) No")) == ""
    assert automatic_reason(mail("auto-replied (vacation)")) == "Auto-Submitted: auto-replied"
    assert automatic_reason(mail("auto-generated; owner-email=x@example.net")) == "Auto-Submitted: auto-generated"
    # only whole comments go: what is left besides "no" keeps the message automatic (a robot gets no reply)
    assert automatic_reason(mail("no (a) auto-replied (b)")).startswith("Auto-Submitted: no")
    assert automatic_reason(mail("n(x)o")) != ""


PASTED_SESSION = """Hi,

the SDK fails for me:

>>> import acme_sdk
>>> acme_sdk.Client(token="...")
Traceback (most recent call last):
ImportError: cannot import name 'Client'

What am I doing wrong?"""


@pytest.mark.parametrize("body, kept, dropped", [
    (PASTED_SESSION, [">>> import acme_sdk", "acme_sdk.Client", "ImportError", "What am I doing wrong?"], []),
    # A quote three replies deep keeps its shallower levels above it: all of it is history.
    ("Still broken.\n\nOn Mon, 7 Dec 2026 at 10:00, Anna <anna@example.com> wrote:\n> Try again.\n>> It fails.\n"
     ">>> Please send the log.\n", ["Still broken."], ["Try again", "It fails", "send the log"]),
    ("Still broken.\n\n> > > Please send the log.\n> > > Thanks\n", ["Still broken."], ["send the log"]),
    ("Still broken.\n\n>>>> Four deep.\n>>> Three deep.\n", ["Still broken."], ["Four deep", "Three deep"]),
])
def test_a_pasted_python_session_is_the_customers_own_text(body, kept, dropped):
    """A developer pastes an interactive Python session: its ">>> " lines were read as a quote three replies deep
    and dropped, with the very code the knowledge base should match. Without any shallower quote in the message
    they are the customer's; real deep quotes still go."""
    from plugin_host.text import customer_text

    text = customer_text(message_from_bytes(make_email(body=body), policy=compat32))
    assert all(k in text for k in kept), text
    assert not any(d in text for d in dropped), text
