"""Review 32: internationalised domains in the plugins' own address lists, hostile quoted mail and HTML quotes."""
from __future__ import annotations

from plugin_host.config import load_config

from .conftest import deliver, make_email

IDN_MAIL = "From: Jan <jan@exämple.org>".encode()
ASCII_FROM = b"From: Jane Customer <jane@example.org>"


def test_skip_domains_and_skip_senders_written_in_unicode_still_skip_an_idn_customer(tmp_path):
    """Tickets spell a customer's domain in A-labels (jan@xn--exmple-cua.org); an opt-out written as the admin
    reads it ('exämple.org', 'jan@exämple.org') matched nobody, and the customer was acknowledged."""
    from tests.test_autoreply import acks, setup

    for k, autoreply in enumerate(({"skip_domains": ["exämple.org"]}, {"skip_senders": ["Jan@Exämple.org"]},
                                   {})):
        local, host, feed = setup(tmp_path / str(k), autoreply)
        deliver(local.gmail(), make_email(message_id="<idn-skip@example.org>").replace(ASCII_FROM, IDN_MAIL))
        report = feed.sync()
        assert report.ok, report.failed
        assert len(acks(local)) == (0 if autoreply else 1), autoreply  # without an opt-out, Jan is acknowledged


def test_an_idn_support_address_and_on_duty_agent_written_in_unicode_are_ours(tmp_path):
    """[mailbox] and [agents] are read in A-labels; addresses = ['help@exämple.org'] stopped start-up ("write it as
    help@xn--exmple-cua.org"), and on_duty = ['anna@exämple.pl'] was "not in [agents]"."""
    from plugins.autoreply.settings import validate

    config = load_config(tmp_path / "labeldesk.toml", environ={}, data={
        "mailbox": {"address": "help@exämple.org"},
        "agents": {"anna@exämple.pl": {"first_name": "Anna", "last_name": "Kowalska"}}})
    settings = validate({"hours": "24/7", "addresses": ["Help@Exämple.org"], "on_duty": ["anna@exämple.pl"]}, config)
    assert settings.addresses == ("help@xn--exmple-cua.org",) and settings.on_duty == ("anna@xn--exmple-cua.pl",)


def test_sla_vip_lists_written_in_unicode_make_an_idn_customer_a_vip(tmp_path):
    from plugin_host.tickets import ticket_from_eml
    from plugins.sla.policy import priority_of, validate

    raw = make_email(message_id="<idn-vip@example.org>", subject="Hello", body="A question about my invoice.")
    for settings in ({"vip_domains": ["@Exämple.org"]}, {"vip_senders": ["jan@exämple.org"]}):
        policy = validate(settings)
        config = load_config(tmp_path / "labeldesk.toml", data={"mailbox": {"address": "support@example.com"}},
                             environ={})
        ticket = ticket_from_eml(raw.replace(ASCII_FROM, IDN_MAIL), config)
        assert ticket.customer.email == "jan@xn--exmple-cua.org"
        assert priority_of(ticket, policy) == ("high", "VIP customer"), settings
