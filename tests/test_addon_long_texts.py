"""Long names and titles in the add-on's toasts (``action.notification.text``): the end of a toast says what to do,
so a long title must not push it out, and nothing is cut mid-word (docs/addon.md, Security)."""
from __future__ import annotations

from types import SimpleNamespace

import plugins.kb_suggest as kb_suggest
from gmail_addon import cards
from plugins.kb_suggest.articles import Article

LONG_TITLE = ("How to move a subscription, its invoices and every saved payment method from one workspace to "
              "another when both belong to the same company but were created by different administrators in "
              "different regions before the 2024 billing migration")


def test_a_long_internal_doc_title_leaves_the_toast_its_instruction(monkeypatch):
    # The toast was cut at 200 characters: "“How to move … before the 2024 billing migrat" — the reason and the
    # instruction ("is an internal Doc customers cannot open: insert its answer.") were gone.
    doc = Article("drive-1", LONG_TITLE, "Body.", url="", link="https://docs.google.com/document/d/1")
    monkeypatch.setattr(kb_suggest, "knowledge_base", lambda settings: SimpleNamespace(articles=[doc]))
    reply = kb_suggest.on_card_action("kb.insert_link", {"article": "drive-1"}, {}, None, None, None, None, None)
    toast = cards.notify(reply.notification)["renderActions"]["action"]["notification"]["text"]
    assert toast.endswith("insert its answer."), toast
    assert "…" in toast


def test_a_toast_over_the_limit_is_cut_between_words():
    toast = cards.notify("word " * 60)["renderActions"]["action"]["notification"]["text"]
    assert len(toast) <= 200 and toast.endswith("word…")


def test_a_queue_of_more_tickets_than_a_section_holds_says_how_many_more():
    # 150 tickets awaiting a reply: the queue showed the first 100 and nothing said that 50 more were left out.
    from datetime import datetime, timezone

    from plugin_host.ticket import Person, Ticket, TicketMessage

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    rows = []
    for n in range(150):
        customer = Person("", f"c{n}@example.org")
        message = TicketMessage(str(n), f"t{n}", f"<{n}@x>", customer, (), (), f"Question {n}", now, "customer", "text")
        rows.append((Ticket(f"t{n}", f"Question {n}", customer, "support@example.com", (message,), "en", frozenset(),
                            now, None, "customer"), None))
    card = cards.homepage_card(SimpleNamespace(full_name="Anna Kowalska"), rows, {"open": 150}, [],
                               lambda n: f"https://desk.example.com/addon/{n}")
    queue = next(s for s in card["sections"] if s["header"] == "Queue")["widgets"]
    assert len(queue) <= 100 and queue[-1] == {"textParagraph": {"text": "… 51 more"}}
