"""Every kind of mail Labeldesk sends, as the receiving side reads it: made through the product on the local
mailbox, taken as the raw bytes that went out, and read back with the email package (strict policy) and with
RFC 2047's own rules (``email.header.decode_header``), the way Gmail and Thunderbird read a header."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timezone
from email.header import decode_header, make_header

import pytest

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.sync import ChangeFeed

from .conftest import deliver, make_email

AGENTS = {"anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "title": "Support Engineer"}}
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)  # 10:30 in Warsaw
# Subjects whose words Python's email package (before gh-144156) glued together when it folded them: the space
# between two words was written between two encoded words, where RFC 2047 has readers drop it.
GLUED = ["Здравствуйте возврат заказ карта", "номер могу посылка не номер посылка",
         "Dzień zwrot faktura Dzień żądanie zamówienie płatność",
         "Возврат денег за заказ 5512 — курьер не приехал, а деньги списали дважды"]


def product(tmp_path, now=MONDAY):
    """A host with autoreply and sla (team lead notified) on a local mailbox, its clock settable."""
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7"},
                        "sla": {"hours": "Mon-Fri 09:00-18:00", "timezone": "Europe/Warsaw",
                                "team_lead": "lead@example.com", "targets": {"normal": {"first_response": "4h"}}}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local, clock = LocalMailbox("support@example.com"), {"now": now}
    host = build_host(config, http=local.http, now=lambda: clock["now"])
    host.client.sleep = lambda s: None
    return local, host, clock


def ask(local, subject: str, key: str, sender="Мария Иванова <maria@example.ru>", when=MONDAY) -> str:
    ref = deliver(local.gmail(), make_email(sender=sender, subject=subject, message_id=f"<{key}@customer.example>",
                                            date=when, body="Помогите, пожалуйста. / Proszę o pomoc."))
    local.mailbox.messages[ref["id"]].internal_date = int(when.timestamp() * 1000)
    return ref["threadId"]


def outgoing(local, marker: str) -> list:
    """(raw bytes, thread id) of the mail and drafts whose X-Labeldesk starts with ``marker``."""
    return [(m.raw, m.thread_id) for m in local.mailbox.messages.values()
            if ("SENT" in m.label_ids or "DRAFT" in m.label_ids) and f"X-Labeldesk: {marker}".encode() in m.raw]


def subject_as_read(raw: bytes) -> str:
    """The Subject as an RFC 2047 reader shows it (whitespace between adjacent encoded words ignored)."""
    folded = email.message_from_bytes(raw, policy=email.policy.compat32)["Subject"]
    return str(make_header(decode_header(folded)))


@pytest.mark.parametrize("subject", GLUED, ids=range(len(GLUED)))
def test_acknowledgement_subject_reads_as_the_customer_wrote_it(tmp_path, subject):
    """A Russian or Polish customer got 'Re: Здравствуйте возвратзаказ карта', and Gmail, whose threads need the
    same subject, could not keep the acknowledgement in the customer's conversation."""
    local, host, _ = product(tmp_path)
    thread_id = ask(local, subject, "glued")
    ChangeFeed(host).sync()
    [(raw, sent_in)] = outgoing(local, "ack")
    assert subject_as_read(raw) == f"Re: {subject}"
    assert sent_in == thread_id
    email.message_from_bytes(raw, policy=email.policy.strict)  # no defect


@pytest.mark.parametrize("subject", GLUED, ids=range(len(GLUED)))
def test_notification_and_draft_subjects_keep_their_spaces(tmp_path, subject):
    """The team lead's 'SLA: …' notices and the side panel's reply drafts went out with words glued as well."""
    local, host, clock = product(tmp_path)
    thread_id = ask(local, subject, "glued")
    ChangeFeed(host).sync()
    clock["now"] = datetime(2026, 11, 23, 12, 50, tzinfo=timezone.utc)  # 3h20 of 4h: at risk
    host.sweep()
    [(notice, _)] = outgoing(local, "notify:atrisk")
    assert subject_as_read(notice) == f"SLA: {subject}"
    agent = host.config.agents["anna.kowalska@example.com"]
    host.reply_draft(host.ticket(thread_id), agent, "<p>Zwrot: <b>30 dni</b></p>", "HTML")
    [(draft, _)] = outgoing(local, "insert-")
    assert subject_as_read(draft) == f"Re: {subject}"


def test_outgoing_policy_folds_any_subject_without_losing_a_character():
    """Subjects of every length in Cyrillic, Polish, emoji, combining accents and one long word, read back by
    RFC 2047's rules and by the email package: each as written, lines and encoded words within their limits."""
    import random
    import re
    from email.message import EmailMessage

    from plugin_host.mailpolicy import OUTGOING

    words = "Здравствуйте не могу оплатить заказ Dzień zwrot żądanie faktura 1234 — «» 🙂 e\u0301 a,b".split()
    words.append("x" * 300)
    chance = random.Random(2026)
    for length in range(1, 600, 3):
        subject = "Re:"
        while len(subject) < length:
            subject += " " + chance.choice(words)
        msg = EmailMessage(policy=OUTGOING)
        msg["Subject"] = subject
        msg.set_content("x")
        raw = msg.as_bytes()
        assert subject_as_read(raw) == subject
        assert email.message_from_bytes(raw, policy=email.policy.strict)["Subject"] == subject
        assert max(len(line) for line in raw.split(b"\r\n")) <= 78
        assert all(len(word) <= 75 for word in re.findall(rb"=\?utf-8\?[bq]\?[^?]*\?=", raw, re.I))


ARTICLE = """---
title: How refunds work
url: https://help.example.com/en/refunds
lang: en
---
Refunds are paid back within 5 business days. If yours is late, [write to us](mailto:billing@example.com) or
read the [older refund rules](http://legacy.example.com/refunds); the [current policy](https://help.example.com/policy)
applies to new orders.
"""


def test_insert_answer_draft_html_says_what_its_text_says(tmp_path):
    """An inserted answer's HTML part (what Gmail shows and sends) dropped the targets of mailto: and http:// links
    that its plain-text part gives: 'If yours is late, write to us or read the older refund rules' with no address
    and no page, while the text said 'write to us (billing@example.com)'."""
    from plugin_host.text import html_to_text

    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text(ARTICLE, encoding="utf-8")
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS,
            "plugins": {"enabled": ["kb_suggest"], "kb_suggest": {"articles": str(folder), "semantic": "off"}},
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "labeldesk.toml", data=data, environ={})
    local = LocalMailbox("support@example.com")
    host = build_host(config, http=local.http)
    thread_id = ask(local, "Refund is late", "late", sender="Jane Cooper <jane@example.org>")
    agent = config.agents["anna.kowalska@example.com"]
    reply = host.card_action("kb.insert_answer", {"article": "refunds"}, {}, thread_id, agent)
    host.reply_draft(host.ticket(thread_id), agent, reply.insert_text, reply.insert_type, reply.insert_plain)
    [(raw, _)] = outgoing(local, "insert-")
    msg = email.message_from_bytes(raw, policy=email.policy.strict)
    text, markup = (msg.get_body((kind,)).get_content() for kind in ("plain", "html"))
    for target in ("billing@example.com", "http://legacy.example.com/refunds", "https://help.example.com/policy"):
        assert target in text
    shown = html_to_text(markup)
    assert "write to us (billing@example.com)" in shown and "older refund rules (http://legacy.example.com/refunds)" in shown
    assert '<a href="https://help.example.com/policy">current policy</a>' in markup
    assert "<a href=\"mailto" not in markup and "<a href=\"http:" not in markup  # only https targets become links
