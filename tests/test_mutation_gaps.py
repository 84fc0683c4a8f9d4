"""Behaviours a hand mutation test found unguarded: each test here failed with its mutation in place."""
from __future__ import annotations

import email
import email.policy
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest

from plugin_host import hookimpl
from plugin_host.loopguard import should_acknowledge

from .conftest import deliver, make_email
from .test_autoreply import AGENTS, acks
from .test_autoreply import setup as autoreply_setup
from .test_host_sync import CONFIG, sent_acks, synced_host, thread_label_names


class ReplyTo:
    """A plugin that answers each new ticket's first message, addressed to ``to`` (None: its writer)."""

    def __init__(self, to=None):
        self.to = to

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        actions.reply(in_reply_to=ticket.first_customer_message.id, to=self.to or ticket.customer.email,
                      subject="Re: " + ticket.subject, text="Hello, we are on it.", key="note",
                      from_name="Anna Kowalska")


def sent_notes(local) -> list:
    return [m for m in local.mailbox.messages.values()
            if "SENT" in m.label_ids and b"X-Labeldesk: note" in m.raw]


def test_an_automatic_reply_goes_only_to_whoever_wrote_the_answered_message(tmp_path):
    """The loop guard sends an automatic reply only to the writer of the message it answers: a plugin that
    addresses it elsewhere (a Cc'd third party, an address from the body) must not make Labeldesk mail
    strangers. The control thread, answered to its writer, shows the plugin's replies do go out."""
    for to, expected in ((None, 1), ("someone.else@example.net", 0)):
        local, host, _, feed = synced_host(tmp_path / (to or "writer"), plugin=ReplyTo(to))
        ref = deliver(local.gmail(), make_email(sender="Jane <jane@example.org>", subject=f"Order {expected}",
                                                headers={"Cc": "someone.else@example.net"}))
        feed.sync()
        assert len(sent_notes(local)) == expected, to
        if not expected:
            assert "Helpdesk/Auto-reply suppressed" in thread_label_names(local, ref["threadId"])


# -- the loop guard, one rule at a time ---------------------------------------------------------------------
# Real automatic mail carries several markers at once (a list post has List-Id *and* Precedence: list), so the
# sample-based tests still passed with any single rule switched off. Here each message carries one marker only.

OWN = frozenset({"support@example.com", "help@example.com"})


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def test_the_control_message_is_acknowledged():
    decision = should_acknowledge(parsed(make_email()), OWN)
    assert decision.acknowledge, decision.reason


@pytest.mark.parametrize("headers, reason", [
    ({"Precedence": "bulk"}, "Precedence: bulk"),
    ({"Precedence": "junk"}, "Precedence: junk"),
    ({"List-Unsubscribe": "<mailto:unsubscribe@news.example>"}, "mailing list (List-Unsubscribe)"),
    ({"List-Id": "Shop news <news.shop.example>"}, "mailing list (List-Id)"),
    ({"X-Autoreply": "yes"}, "vendor auto-reply header X-Autoreply"),
    ({"X-Autorespond": "Out of office"}, "vendor auto-reply header X-Autorespond"),
    ({"X-Failed-Recipients": "jane@example.org"}, "vendor auto-reply header X-Failed-Recipients"),
])
def test_each_marker_of_automatic_mail_is_enough_on_its_own(headers, reason):
    decision = should_acknowledge(parsed(make_email(headers=headers)), OWN)
    assert not decision.acknowledge and decision.reason == reason


def test_inspect_judges_a_post_to_our_own_google_group_by_its_writer():
    """``labeldesk inspect`` (should_acknowledge) takes our own group's wrapping off, as the sync does: a
    customer writing to help@ (a group) is acknowledged, not refused as a mailing list."""
    headers = {"List-Id": "<help.example.com>", "Precedence": "list", "X-Original-Sender": "jane@corp.example",
               "List-Post": "<mailto:help@example.com>", "Return-Path": "<help+bncBAABB@example.com>"}
    post = make_email(sender="Jane Cooper <jane@corp.example>", to="help@example.com", headers=headers)
    assert should_acknowledge(parsed(post), OWN).acknowledge
    assert not should_acknowledge(parsed(post), frozenset({"support@example.com"})).acknowledge  # not our group


# -- autoreply opt-outs ---------------------------------------------------------------------------------------

def test_a_message_a_gmail_filter_labelled_for_no_autoreply_gets_no_acknowledgement(tmp_path):
    """``skip_labels``: a Gmail filter labels a partner's or a VIP's mail on arrival; such a ticket gets no
    acknowledgement. The unlabelled message beside it shows the acknowledgements do go out."""
    local, host, feed = autoreply_setup(tmp_path, {"skip_labels": ["VIP"]})
    g = local.gmail()
    feed.sync()
    vip = g.users().labels().create(userId="me", body={"name": "VIP"}).execute()["id"]
    deliver(g, make_email(sender="Vera <vera@bigclient.example>", message_id="<vip@x.example>"),
            labels=("INBOX", "UNREAD", vip))
    deliver(g, make_email(sender="Jane <jane@example.org>", message_id="<plain@x.example>"))
    feed.sync()
    assert [a["To"] for a in acks(local)] == ["jane@example.org"]


def test_an_agent_trying_out_the_web_form_gets_no_acknowledgement(tmp_path):
    """A web form's message names its visitor in Reply-To; when that visitor is one of our agents (testing the
    form), the loop guard's "never an agent" rule is what keeps the acknowledgement from going out. A real
    visitor's submission beside it is acknowledged."""
    local, host, feed = autoreply_setup(tmp_path)
    feed.sync()
    g = local.gmail()
    agent = next(iter(AGENTS))
    for n, visitor in enumerate((agent, "jane@example.org")):
        deliver(g, make_email(sender="Website <noreply@forms.example>", subject=f"New form submission {n}",
                              message_id=f"<form{n}@forms.example>", headers={"Reply-To": visitor},
                              body="Message: where is my order 1234"))
    feed.sync()
    assert [a["To"] for a in acks(local)] == ["jane@example.org"]


def test_an_acknowledgement_window_of_zero_days_acknowledges_every_new_thread(tmp_path):
    """``ack_window_days = 0`` switches the once-per-sender window off: the sender's second thread is
    acknowledged too, and Sent is not searched for earlier acknowledgements. The executor's clock stands an
    hour back, so a search "after now" would still see the first acknowledgement (no race with the second)."""
    config = {**CONFIG, "mailbox": {**CONFIG["mailbox"], "ack_window_days": 0}}
    local, host, _, feed = synced_host(tmp_path, config=config)
    host.executor.now = lambda: datetime.now(timezone.utc) - timedelta(hours=1)
    g = local.gmail()
    for n in range(2):
        deliver(g, make_email(sender="Jane <jane@example.org>", subject=f"Question {n}", message_id=f"<w{n}@x.example>"))
        feed.sync()
    assert len(sent_acks(local)) == 2


# -- SLA escalation ladder ------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, told", [("yes", True), ("no", False)])
def test_notify_owner_at_risk_decides_whether_the_owner_hears_of_an_at_risk_ticket(setting, told):
    """``notify_owner_at_risk = false`` keeps the at-risk mail from the owner (the label still says it)."""
    from types import SimpleNamespace

    from plugin_host.actions import Actions, Notification
    from plugins.sla.clock import sla_state
    from plugins.sla.escalation import ladder
    from plugins.sla.policy import validate

    from .test_sla_fixes import MON9, message, ticket

    policy = validate({"notify_owner_at_risk": setting})
    owned = ticket([message(1, "customer", MON9)], {"Helpdesk/Owner/Anna Kowalska"})
    now = MON9 + timedelta(hours=7)  # 7h of the default 8h first-response target
    state = sla_state(owned, policy, now)
    assert state.at_risk and not state.breached
    anna = {"anna@example.com": SimpleNamespace(full_name="Anna Kowalska", email="anna@example.com")}
    settings = SimpleNamespace(agents=anna, active_agents=anna)
    actions = Actions(thread_id="t")
    ladder(owned, state, policy, actions, settings, now)
    notes = [a for a in actions if isinstance(a, Notification)]
    assert [(n.to, n.subject) for n in notes] == ([("anna@example.com", "SLA: Order")] if told else [])


class NoticeOrAck:
    """Answers a ticket whose subject starts with "Invoice" with an automatic notice (not an acknowledgement),
    any other with an acknowledgement."""

    @hookimpl
    def on_ticket_opened(self, ticket, actions):
        notice = ticket.subject.startswith("Invoice")
        actions.reply(in_reply_to=ticket.first_customer_message.id, to=ticket.customer.email,
                      subject="Re: " + ticket.subject, text="Noted." if notice else "We got it.",
                      key="notice" if notice else "ack", reply_kind="notice" if notice else "acknowledgement")


def test_only_an_earlier_acknowledgement_counts_for_the_once_per_sender_window(tmp_path):
    """The window looks in Sent for our *acknowledgements* (``X-Labeldesk: ack…``): another automatic reply the
    customer had from us (a plugin's notice) does not use up their acknowledgement."""
    local, host, _, feed = synced_host(tmp_path, plugin=NoticeOrAck())
    g = local.gmail()
    for n, subject in enumerate(("Invoice received", "Where is my order?")):
        deliver(g, make_email(sender="Jane <jane@example.org>", subject=subject, message_id=f"<k{n}@x.example>"))
        feed.sync()
    keys = sorted(parsed(m.raw)["X-Labeldesk"] for m in local.mailbox.messages.values() if "SENT" in m.label_ids)
    assert keys == ["ack", "notice"]


# -- alerts across processes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", ["email", "https://chat.example.com/v1/spaces/AAA/messages?key=k"], ids=["email", "chat"])
def test_a_keyed_alert_is_not_sent_again_by_the_next_process(tmp_path, monkeypatch, channel):
    """The next run (a new process: nothing in memory) finds a keyed alert already sent — by its message in the
    mailbox, or for a chat webhook in ``webhook-posted.json`` — and does not send it again."""
    from plugin_host import executor as ex
    from plugin_host.actions import Actions

    posted = []
    monkeypatch.setattr(ex, "post_webhook", lambda url, payload: posted.append(payload))
    local, first, _, _ = synced_host(tmp_path)
    _, second, _, _ = synced_host(tmp_path, local=local)  # same mailbox and state folder, fresh executor

    def alert(host):
        actions = Actions(thread_id="t1")
        actions.notify(to="lead@example.com", channel=channel, subject="SLA breached: Order", text="Overdue.",
                       key="breach:t1:1700000000")
        return host.executor.execute(actions, None)

    assert alert(first).done and not alert(second).done
    notes = [m for m in local.mailbox.messages.values() if b"X-Labeldesk: notify:" in m.raw]
    assert (len(notes), len(posted)) == ((1, 0) if channel == "email" else (0, 1))


@pytest.mark.parametrize("share, at_risk", [(0.5, True), (0.75, False), (0.9, False)])
def test_at_risk_share_sets_when_a_ticket_turns_at_risk(share, at_risk):
    """``at_risk_share``: the share of the target after which a ticket is "at risk". 5h of the default 8h
    first-response target is at risk from half the target on, not with the default three quarters."""
    from plugins.sla.clock import sla_state
    from plugins.sla.policy import validate

    from .test_sla_fixes import MON9, message, ticket

    state = sla_state(ticket([message(1, "customer", MON9)]), validate({"at_risk_share": share}),
                      MON9 + timedelta(hours=5))
    assert state.target == timedelta(hours=8) and not state.breached
    assert state.at_risk is at_risk


# -- plugin card sections: text that is not the customer's is escaped too ---------------------------------------
# Card text understands a little HTML. The message-card test covers the customer's own words; these cover what the
# plugins add beside them: an owner label, an admin's priority label, a help article's title and passage.

MARKUP = "<b>Eve</b>"


def _texts(sections) -> str:
    import json

    return json.dumps(sections, ensure_ascii=False)


def _labelled_ticket(*labels):
    from .test_sla_fixes import MON9, message, ticket

    return ticket([message(1, "customer", MON9)], set(labels))


def test_ownership_section_escapes_the_owner_name():
    from plugins.autoreply import ticket_sections

    raw = _texts(ticket_sections(_labelled_ticket(f"Helpdesk/Owner/{MARKUP}"), None, None, None, lambda n: n))
    assert "&lt;b&gt;Eve&lt;/b&gt;" in raw and MARKUP not in raw


def test_service_level_section_escapes_a_priority_label():
    from types import SimpleNamespace

    from plugins.sla import ticket_sections
    from plugins.sla.policy import validate

    from .test_sla_fixes import MON9

    policy = validate({"label_priorities": {MARKUP: "high"}})
    settings = SimpleNamespace(plugin=lambda name: policy)
    raw = _texts(ticket_sections(_labelled_ticket(f"Helpdesk/{MARKUP}"), None, settings, MON9, lambda n: n))
    assert "label &lt;b&gt;Eve&lt;/b&gt;" in raw and MARKUP not in raw


def test_help_articles_section_escapes_title_and_passage(monkeypatch):
    import plugins.kb_suggest as kb
    from plugin_host.ticket import Suggestion

    found = Suggestion("a1", f"Refunds {MARKUP}", "https://help.example.com/refunds", f"Money back {MARKUP}", 0.9,
                       "matches refund")
    monkeypatch.setattr(kb, "suggest_articles", lambda *args, **kwargs: [found])
    monkeypatch.setattr(kb, "options", lambda settings: SimpleNamespace(limit=3))
    raw = _texts(kb.ticket_sections(_labelled_ticket(), None, None, None, lambda n: n))
    assert "Refunds &lt;b&gt;Eve&lt;/b&gt;" in raw and "Money back &lt;b&gt;Eve&lt;/b&gt;" in raw
    assert MARKUP not in raw
