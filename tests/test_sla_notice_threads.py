"""The SLA's notices about one ticket (at risk, breached, still unanswered) arrive as one conversation in the team
lead's inbox: one subject, each notice answering the one before (In-Reply-To, References), and in the support
mailbox's Sent the same thread (``threadId``, Gmail's rule: threadId, references and the same subject)."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

from plugin_host.mailbox import LocalMailbox
from plugin_host.sync import ChangeFeed

from .conftest import b64
from .test_outbound_mail import ask, product

AT_RISK = datetime(2026, 11, 23, 12, 50, tzinfo=timezone.utc)  # 3h20 of the 4h first-response target
BREACHED = datetime(2026, 11, 23, 13, 40, tzinfo=timezone.utc)
STILL_UNANSWERED = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)  # over 4 business hours after the breach


def notices(local) -> list:
    """(parsed message, thread id) of the alert emails the support mailbox sent, oldest first."""
    sent = [m for m in local.mailbox.messages.values()
            if "SENT" in m.label_ids and b"X-Labeldesk: notify:" in m.raw]
    sent.sort(key=lambda m: m.internal_date)
    return [(email.message_from_bytes(m.raw, policy=email.policy.default), m.thread_id) for m in sent]


def test_the_notices_about_one_ticket_are_one_conversation_in_the_leads_inbox(tmp_path):
    local, host, clock = product(tmp_path)
    ask(local, "Order 1234 is late", "late")
    ChangeFeed(host).sync()
    for now in (AT_RISK, BREACHED, STILL_UNANSWERED):
        clock["now"] = now
        host.sweep()
        host.sweep()  # nothing twice
    sent = notices(local)
    assert [str(m["X-Labeldesk"]).split(":")[1] for m, _ in sent] == ["atrisk", "breach", "breach2"]
    subjects = {str(m["Subject"]) for m, _ in sent}
    assert len(subjects) == 1 and "Order 1234 is late" in subjects.pop()
    ids = [str(m["Message-ID"]) for m, _ in sent]
    assert sent[1][0]["In-Reply-To"] == ids[0] and sent[1][0]["References"].split() == ids[:1]
    assert sent[2][0]["In-Reply-To"] == ids[1] and sent[2][0]["References"].split() == ids[:2]
    first_lines = [m.get_content().splitlines()[0] for m, _ in sent]
    assert first_lines[0].startswith("At risk") and first_lines[1].startswith("SLA breached") \
        and first_lines[2].startswith("Still unanswered"), first_lines
    assert len({thread for _, thread in sent}) == 1  # the support mailbox's Sent: one thread too
    lead = LocalMailbox("lead@example.com")  # the lead's Gmail threads received mail by references and subject
    threads = {lead.gmail().users().messages().insert(userId="me", body={"raw": b64(m.as_bytes()),
                                                                       "labelIds": ["INBOX"]}).execute()["threadId"]
               for m, _ in sent}
    assert len(threads) == 1


def test_a_breach_notice_after_a_restart_still_joins_the_at_risk_notice(tmp_path):
    """The at-risk notice went out from another process (the cron sweep before): found by its Message-ID."""
    local, host, clock = product(tmp_path)
    ask(local, "Order 1234 is late", "late")
    ChangeFeed(host).sync()
    clock["now"] = AT_RISK
    host.sweep()
    from plugin_host.runtime import build_host

    again = build_host(host.config, http=local.http, now=lambda: clock["now"])
    clock["now"] = BREACHED
    again.sweep()
    sent = notices(local)
    assert len(sent) == 2 and sent[0][1] == sent[1][1]
    assert sent[1][0]["In-Reply-To"] == str(sent[0][0]["Message-ID"])


def test_a_breach_seen_only_late_is_one_notice_that_starts_the_conversation(tmp_path):
    """No at-risk notice before it (the sweep was down): the second notice goes out alone, and references only
    notices that were sent (an unknown Message-ID would thread nothing)."""
    local, host, clock = product(tmp_path)
    ask(local, "Order 1234 is late", "late")
    ChangeFeed(host).sync()
    clock["now"] = STILL_UNANSWERED + timedelta(hours=1)
    host.sweep()
    [(notice, _)] = notices(local)
    assert str(notice["X-Labeldesk"]).startswith("notify:breach2:")
    assert notice["In-Reply-To"] is None and notice["References"] is None


def test_a_breach_notice_joins_an_at_risk_notice_the_search_does_not_show_yet(tmp_path):
    """The at-risk notice went out from another process a moment before this one started, and Gmail's search does
    not show it yet: it is found in Sent's listing, and the breach notice still answers it in its thread."""
    from .test_sent import search_lags_for

    local, host, clock = product(tmp_path)
    local.mailbox.clock = lambda: clock["now"].timestamp()  # mail dated by the host's clock
    ask(local, "Order 1234 is late", "late")
    ChangeFeed(host).sync()
    clock["now"] = AT_RISK
    host.sweep()
    [(_, at_risk_thread)] = notices(local)
    from plugin_host.runtime import build_host

    clock["now"] = AT_RISK + timedelta(minutes=2)
    again = build_host(host.config, http=local.http, now=lambda: clock["now"])
    search_lags_for(again, {m.id for m in local.mailbox.messages.values() if m.thread_id == at_risk_thread})
    clock["now"] = BREACHED
    again.sweep()
    sent = notices(local)
    assert len(sent) == 2 and sent[1][1] == at_risk_thread
    assert sent[1][0]["In-Reply-To"] == str(sent[0][0]["Message-ID"])
