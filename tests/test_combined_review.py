"""Review of the combined change: bugs that came from how separately tested commits interact."""
from __future__ import annotations

from plugin_host.mailbox import LocalMailbox
from plugin_host.mailbox.faults import FaultPlan
from plugin_host.sync import ChangeFeed

from .conftest import deliver, lose_first_response, make_email
from .test_sla import labels_of, monday, setup


def test_a_google_tasks_outage_does_not_stop_the_sweep_at_the_first_breach(tmp_path):
    """A failing task no longer stops the labels, but its error (Tasks 503 after retries) was taken for
    Gmail being down: the sweep stopped at the first breached ticket and the others were never labelled."""
    tasks_down = FaultPlan(error_rates={"tasks.tasklists.list": 1.0, "tasks.tasks.list": 1.0}, status=503)
    local, host, clock = setup(tmp_path, monday(9), local=LocalMailbox(faults=tasks_down))
    threads = []
    for n in range(3):
        ref = deliver(local.gmail(), make_email(message_id=f"<outage{n}@example.org>", subject=f"Question {n}"))
        local.mailbox.messages[ref["id"]].internal_date = int(monday(9).timestamp() * 1000)
        threads.append(ref["threadId"])
    ChangeFeed(host).sync()
    clock["now"] = monday(14)  # 4h target due at 13:00
    host.sweep()
    assert all("Helpdesk/SLA/Breached" in labels_of(host, t) for t in threads)


def test_a_reply_draft_whose_response_was_lost_is_found_with_its_draft_id(tmp_path):
    """The side panel's Insert makes a reply draft and opens it by its draft id. A drafts.create whose
    response was lost is found again in the thread (by its Message-ID), but as a message: without the
    draft's id, the card that opens it failed (and a retry must not make a second draft)."""
    from gmail_addon import cards
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    ref = deliver(local.gmail(), make_email(message_id="<lostdraft@example.org>"))
    lost = lose_first_response(local, lambda uri, method: method == "POST" and "/users/me/drafts" in uri)
    ticket = host.ticket(ref["threadId"])
    draft = host.reply_draft(ticket, None, "Refunds reach your card within 5 business days.")
    drafts = local.gmail().users().drafts().list(userId="me").execute()["drafts"]
    assert lost and [d["id"] for d in drafts] == [draft["id"]]
    opened = cards.open_draft(draft)["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]
    assert opened == {"draftId": draft["id"], "draftThreadId": ref["threadId"]}


def test_a_web_form_visitors_earlier_tickets_are_in_their_history(tmp_path):
    """A form visitor is the ticket's customer (the Reply-To), but their mail comes from the form's
    no-reply address: a history searched by ``from:`` alone showed none of their earlier tickets."""
    from tests.test_host_sync import make_host

    from .conftest import send

    local, host, _ = make_host(tmp_path)
    g = local.gmail()

    def form(n):
        return deliver(g, make_email(sender="Webflow <no-reply@webflow.com>", subject=f"New form submission {n}",
                                     headers={"Reply-To": "Bob Stone <bob@example.net>"},
                                     message_id=f"<form{n}@webflow.com>", body="Message: my invoice is wrong"))

    first = form(1)
    send(g, make_email(sender="support@example.com", to="bob@example.net", subject="Re: New form submission 1",
                       in_reply_to="<form1@webflow.com>", body="Fixed."), first["threadId"])
    second = form(2)
    assert host.ticket(second["threadId"]).customer.email == "bob@example.net"
    earlier = host.customer_history("bob@example.net", exclude_thread=second["threadId"])
    assert [e.thread_id for e in earlier] == [first["threadId"]]
    assert first["threadId"] in [t.thread_id for t in host.customer_tickets("bob@example.net")]


def test_an_answer_to_the_customers_from_address_is_not_an_internal_note(tmp_path):
    """A customer writing with another address in Reply-To is known by the Reply-To; an agent's answer to
    the address the customer wrote from is still to the customer, not an internal note that answers nobody."""
    from tests.test_host_sync import make_host

    from .conftest import send

    local, host, _ = make_host(tmp_path)
    g = local.gmail()
    ref = deliver(g, make_email(sender="Jane <jane@corp.example>", headers={"Reply-To": "Jane <jane@home.example>"},
                                message_id="<corp1@corp.example>"))
    send(g, make_email(sender="support@example.com", to="jane@corp.example", subject="Re: Order 1234 is late",
                       in_reply_to="<corp1@corp.example>", body="On its way."), ref["threadId"])
    ticket = host.ticket(ref["threadId"])
    assert ticket.customer.email == "jane@home.example"
    assert [m.kind for m in ticket.messages] == ["customer", "agent"] and not ticket.awaiting_reply


def test_an_inserted_reply_draft_to_a_message_without_subject_stays_in_its_thread(tmp_path):
    """Gmail threads a message only when its subject matches the thread's: the side panel's reply draft
    took the ticket's "(no subject)" placeholder ("Re: (no subject)") and landed in a thread of its own."""
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    ref = deliver(local.gmail(), make_email(subject="", message_id="<nosubject@example.org>"))
    draft = host.reply_draft(host.ticket(ref["threadId"]), None, "Which order do you mean?")
    assert draft["message"]["threadId"] == ref["threadId"]
    assert host.ticket(ref["threadId"]).drafts


def test_a_customer_message_an_alias_mailbox_forwarded_to_us_is_acknowledged():
    """Own addresses are matched with any +tag, and a Return-Path naming one is our mail come back. But
    Gmail's auto-forwarding writes the forwarder into the Return-Path with a +caf_ tag naming where it
    forwards to: help@ forwarding its mail to support@ made every customer's message automatic."""
    from plugin_host.loopguard import should_acknowledge

    from .test_host_review import OWN, parsed

    forwarded = make_email(headers={"Return-Path": "<help+caf_=support=example.com@example.com>"})
    assert should_acknowledge(parsed(forwarded), OWN).acknowledge
    looped = make_email(headers={"Return-Path": "<support+caf_=fwd=elsewhere.example@example.com>"})
    assert not should_acknowledge(parsed(looped), OWN).acknowledge  # ours, forwarded elsewhere and back


def test_the_resolution_report_counts_archived_tickets_as_resolved_with_resolve_on_archive(tmp_path):
    """With ``resolve_on_archive`` the clock stops when a ticket leaves the inbox; the report's new
    resolution measures looked only at the Resolved label, so every archived ticket was "open past target"."""
    import dataclasses
    from datetime import timedelta

    from plugins.sla import policy_of
    from plugins.sla.metrics import compute

    from .test_sla_fixes import ASKED, MON9, ticket

    local, host, clock = setup(tmp_path, MON9, sla={"resolve_on_archive": True})
    archived = ticket([dataclasses.replace(m, label_ids=frozenset()) for m in ASKED])  # answered, then archived
    metrics = compute([archived], policy_of(host.config), host.config, MON9 + timedelta(days=8))
    assert metrics["resolution"]["open_past_target"] == 0 and metrics["resolution"]["within_target"] == 1.0


def test_inspect_names_the_web_form_visitor_who_would_be_acknowledged(tmp_path):
    """``labeldesk inspect`` says whom a message would be acknowledged to: for a web form that is the
    visitor in Reply-To (the ticket's customer), not the form's no-reply sender."""
    from plugin_host.cli_inspect import inspect_file

    path = tmp_path / "form.eml"
    path.write_bytes(make_email(sender="Webflow <no-reply@webflow.com>", subject="New form submission",
                                headers={"Reply-To": "Bob Stone <bob@example.net>"},
                                body="Message: my invoice is wrong"))
    result = inspect_file(path, None)
    assert result["acknowledge"] and result["customer"] == {"name": "Bob Stone", "email": "bob@example.net"}


def test_a_side_panel_insert_of_html_becomes_an_html_reply_draft(tmp_path, signer):
    """A plugin's CardReply may insert HTML (``insert_type="HTML"``). Since side-panel inserts became reply
    drafts the type was dropped: the customer would have been sent the tags as text."""
    import base64

    import responses

    from plugin_host import hookimpl
    from plugin_host.config import load_config
    from plugin_host.runtime import build_host
    from plugin_host.ticket import CardReply
    from plugin_host.web import create_app

    from .test_addon import ADDON_SA, AGENTS, BASE, CLIENT_ID, body_for, post
    from .tokens import CERTS_URL, serve_certs

    class Formatted:
        @hookimpl
        def on_card_action(self, name, parameters, form_inputs, ticket, agent, actions, settings, now):
            if name == "fmt.insert":
                return CardReply(insert_text="<p>See <b>our refund page</b></p>", insert_type="HTML")

    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "addon": {"base_url": BASE, "service_account_email": ADDON_SA, "oauth_client_id": CLIENT_ID,
                      "google_certs_url": CERTS_URL}, "host": {"state_dir": str(tmp_path / "state")}}
    local = LocalMailbox()
    host = build_host(load_config(tmp_path / "x.toml", data=data, environ={}), http=local.http,
                      extra_plugins={"fmt": Formatted()})
    client = create_app(host).test_client()
    ref = deliver(local.gmail(), make_email(subject="Refund"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        body = body_for(signer, threadId=ref["threadId"])
        body["commonEventObject"]["parameters"] = {"name": "fmt.insert", "threadId": ref["threadId"]}
        answer = post(client, signer, "/addon/action", body).get_json()
    opened = answer["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]
    draft = local.gmail().users().drafts().get(userId="me", id=opened["draftId"], format="raw").execute()
    raw = base64.urlsafe_b64decode(draft["message"]["raw"]).decode()
    assert "Content-Type: text/html" in raw and "<b>our refund page</b>" in raw
    assert "See our refund page" in raw  # the plain-text alternative


def test_an_insert_refused_for_a_draft_already_there_teaches_the_knowledge_base_nothing(tmp_path):
    """An article an agent inserts joins the index as feedback. A side-panel insert into a thread that holds
    a draft already is refused (the agent is told to insert from compose), yet it was recorded as an insert."""
    from plugins.kb_suggest.store import feedback_path

    from .conftest import b64
    from .test_kb import kb_host

    local, host, config = kb_host(tmp_path)
    g = local.gmail()
    ref = deliver(g, make_email(subject="Refund", body="When will my refund reach my card?",
                                message_id="<r1@example.org>"))
    draft = make_email(sender="support@example.com", to="jane@example.org", subject="Re: Refund",
                       in_reply_to="<r1@example.org>")
    g.users().drafts().create(userId="me", body={"message": {"raw": b64(draft), "threadId": ref["threadId"]}}).execute()
    agent = config.agent("anna.kowalska@example.com")
    reply = host.card_action("kb.insert_answer", {"article": "refunds"}, {}, host.ticket(ref["threadId"]), agent)
    assert reply.insert_text  # the host then refuses it: the thread holds a draft
    assert not feedback_path(config.state_path).exists()


def test_opt_outs_and_vip_domains_still_match_the_address_a_customer_writes_from(tmp_path):
    """A customer's writer is now the one human Reply-To. An address opted out of acknowledgements, or a VIP
    domain, is the one the customer writes from: with a personal Reply-To the opt-out was ignored and the
    VIP customer lost their priority."""
    from datetime import datetime, timezone

    from plugins.autoreply.acknowledgement import skip_reason
    from plugins.autoreply.settings import validate as autoreply_settings
    from plugins.sla import policy_of
    from plugins.sla.policy import priority_of
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    ref = deliver(local.gmail(), make_email(sender="Olivia <olivia@vip.example>",
                                            headers={"Reply-To": "Olivia <olivia.home@example.net>"}))
    ticket = host.ticket(ref["threadId"])
    assert ticket.customer.email == "olivia.home@example.net"
    now = datetime.now(timezone.utc)
    assert skip_reason(ticket, autoreply_settings({"skip_senders": ["olivia@vip.example"]}), host.config, now)
    assert skip_reason(ticket, autoreply_settings({"skip_domains": ["vip.example"]}), host.config, now)
    policy = policy_of(setup(tmp_path / "sla", monday(9))[1].config)  # vip_domains = ["vip.example"]
    assert priority_of(ticket, policy)[0] == "high"


def test_a_google_tasks_outage_sets_no_ticket_aside(tmp_path):
    """A 5xx after Gmail answered other threads counts as the thread's own (a strike; three set it aside), and
    an escalation's Tasks 503 is no longer "Gmail down": so while Google Tasks was down, each escalating ticket
    struck out in three syncs and was set aside for good — the cursor passed it, "answer by hand"."""
    from plugin_host.sync import STRIKES
    from tests.test_quota_review import NOW, sample_host

    tasks_down = FaultPlan(error_rates={"tasks.tasks.insert": 1.0}, status=503)
    local, host = sample_host(tmp_path, local=LocalMailbox("support@example.com", seed="sample", now=NOW,
                                                           faults=tasks_down))
    host.client.sleep = lambda s: None
    feed = ChangeFeed(host)
    reports = [feed.sync() for _ in range(STRIKES)]
    # The sample inbox escalates several tickets: their tasks fail, but replies and labels went through, so
    # the thread is done for the sync (the cursor moves); the sweep, which revisits breached tickets, retries.
    assert reports[0].ok and any(p.outcome.errors for p in reports[0].threads)
    assert all(not r.set_aside and not r.failed for r in reports)
    assert not feed.cursor.strikes
    local.app.faults = FaultPlan()  # Google Tasks is back
    host.sweep()
    assert local.app.calls["tasks.tasks.insert"] > 0


def test_a_chat_or_tasks_outage_fails_no_sync_but_an_agents_escalate_button_says_so(tmp_path):
    """An alert that does not go out (Tasks or a chat webhook down) no longer fails its thread in a sync, so
    three syncs during an outage do not set it aside ("answer by hand"); but an agent who presses Escalate
    must not be told it worked when its task was never made."""
    import pytest

    from plugin_host.errors import GmailError

    local, host, clock = setup(tmp_path, monday(10), local=LocalMailbox(
        "support@example.com", faults=FaultPlan(error_rates={"tasks.tasks.insert": 1.0}, status=503)))
    ticket = host.ticket(deliver(local.gmail(), make_email(message_id="<esc@example.org>"))["threadId"])
    agent = host.config.agent("anna.kowalska@example.com")
    with pytest.raises(GmailError, match="task escalate:billing"):
        host.card_action("sla.escalate", {}, {"team": ["billing"]}, ticket, agent)
    assert "Helpdesk/Escalated" in labels_of(host, ticket.thread_id)  # labels still went through
