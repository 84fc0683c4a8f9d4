"""What an agent sees and does in the side panel, read as an agent would: English, Russian and Polish
tickets against a small knowledge base, every card and every inserted reply."""
from __future__ import annotations

import base64
import email
import email.policy
import json
import re

import pytest
import responses

from plugin_host.config import load_config
from plugin_host.mailbox import LocalMailbox
from plugin_host.runtime import build_host
from plugin_host.web import create_app

from .conftest import deliver, make_email
from .test_addon import AGENTS, BASE, addon_host, body_for, post, pushed, validate_card
from .tokens import serve_certs

ARTICLES = {
    "refunds.md": "---\ntitle: How refunds work\nurl: https://help.example.com/refunds\n---\n# How refunds work\n\n"
                  "When we **approve a refund**, the money reaches your card within *5 business days*.\n\n"
                  "1. Open [your orders](https://shop.example.com/orders).\n2. Choose **Request refund**.\n",
    "zwrot.md": "---\ntitle: Jak działa zwrot pieniędzy\nurl: https://help.example.com/pl/zwrot\nlang: pl\n---\n"
                "## Zwrot pieniędzy\n\nPo **zatwierdzeniu zwrotu** pieniądze wracają na kartę w ciągu *5 dni "
                "roboczych*. Szczegóły w [regulaminie](https://help.example.com/pl/regulamin).\n",
    "vozvrat.md": "---\ntitle: Как вернуть деньги\nurl: https://help.example.com/ru/vozvrat\nlang: ru\n---\n"
                  "## Возврат денег\n\nПосле **одобрения возврата** деньги поступят на карту в течение *5 рабочих "
                  "дней*. Подробнее в [правилах](https://help.example.com/ru/pravila).\n",
}
TICKETS = {
    "en": dict(sender="Jane Doe <jane@example.org>", subject="Refund not received", message_id="<ux-en@example.org>",
               body="Hello, I returned my order two weeks ago. When will my refund reach my card?\n\nThanks,\nJane"),
    "pl": dict(sender="Katarzyna Nowak <kasia@example.pl>", subject="Zwrot pieniędzy", message_id="<ux-pl@example.org>",
               body="Dzień dobry, kiedy otrzymam zwrot pieniędzy na kartę? Zwróciłam zamówienie tydzień temu.\n\n"
                    "Pozdrawiam,\nKasia"),
    "ru": dict(sender="Иван Смирнов <ivan@example.ru>", subject="Возврат денег", message_id="<ux-ru@example.org>",
               body="Здравствуйте! Когда деньги за возврат поступят на карту? Я вернул заказ неделю назад.\n\n"
                    "Спасибо, Иван"),
}
ARTICLE_OF = {"en": "refunds", "pl": "zwrot", "ru": "vozvrat"}


@pytest.fixture
def desk(tmp_path, signer):
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    local, host = addon_host(tmp_path, {"enabled": ["autoreply", "sla", "kb_suggest"],
                                        "kb_suggest": {"articles": str(folder)}})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_certs(mock, signer)
        yield local, host, create_app(host).test_client()


def open_ticket(desk, signer, language):
    local, host, client = desk
    ref = deliver(local.gmail(), make_email(**TICKETS[language]))
    card = pushed(post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"])))
    validate_card(card)
    return ref["threadId"], card


def press(desk, signer, thread, **parameters):
    body = body_for(signer, threadId=thread)
    body["commonEventObject"]["parameters"] = {"threadId": thread, **parameters}
    return post(desk[2], signer, "/addon/action", body).get_json()


def draft_text(desk, answer) -> str:
    opened = answer["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]
    draft = desk[0].gmail().users().drafts().get(userId="me", id=opened["draftId"], format="raw").execute()
    message = email.message_from_bytes(base64.urlsafe_b64decode(draft["message"]["raw"]), policy=email.policy.default)
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def widgets(card, header):
    return next(s["widgets"] for s in card["sections"] if s.get("header") == header)


@pytest.mark.parametrize("language, greeting, sign_off", [
    ("en", "Hello Jane,", "Best regards,\nAnna Kowalska\nSupport Engineer"),
    ("pl", "Dzień dobry, Katarzyna,", "Pozdrawiam serdecznie,\nAnna Kowalska\nSupport Engineer"),
    ("ru", "Здравствуйте, Иван!", "С уважением,\nAnna Kowalska\nSupport Engineer"),
])
def test_insert_answer_drafts_a_reply_an_agent_would_send(desk, signer, language, greeting, sign_off):
    """The side panel's "Insert answer" makes a new draft: it used to hold the bare article with no greeting
    and no signature (and once sent, the ticket was flagged "no full name")."""
    thread, _ = open_ticket(desk, signer, language)
    text = draft_text(desk, press(desk, signer, thread, name="kb.insert_answer", article=ARTICLE_OF[language]))
    lines = text.strip().split("\n")
    assert lines[0] == greeting and text.strip().endswith(sign_off), text
    assert "#" not in text and "**" not in text and "](" not in text
    link = {"en": "your orders (https://shop.example.com/orders)", "pl": "regulaminie (https://help.example.com/pl/regulamin)",
            "ru": "правилах (https://help.example.com/ru/pravila)"}[language]
    assert link in text


def test_side_panel_draft_keeps_the_articles_links_and_lists(desk, signer):
    """The side panel's draft was plain text only: the article's clickable links became "(https://…)" and its
    numbered steps lost their list, while the same article inserted from compose kept both. The draft is
    HTML now (greeting and signature escaped), with the plain text beside it for plain-text readers."""
    local, _, _ = desk
    thread, _ = open_ticket(desk, signer, "en")
    opened = press(desk, signer, thread, name="kb.insert_answer", article="refunds")
    draft_id = opened["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]["draftId"]
    raw = local.gmail().users().drafts().get(userId="me", id=draft_id, format="raw").execute()["message"]["raw"]
    message = email.message_from_bytes(base64.urlsafe_b64decode(raw), policy=email.policy.default)
    said = message.get_body(("html",)).get_content()
    assert '<a href="https://shop.example.com/orders">your orders</a>' in said and "<ol>" in said, said
    assert said.startswith("<p>Hello Jane,</p>") and "<p>Best regards,<br>Anna Kowalska<br>Support Engineer</p>" in said
    assert "your orders (https://shop.example.com/orders)" in message.get_body(("plain",)).get_content()
    link = press(desk, signer, thread, name="kb.insert_link", article="refunds")
    assert "draft already" in link["renderActions"]["action"]["notification"]["text"]


def test_side_panel_link_draft_is_a_clickable_link(desk, signer):
    thread, _ = open_ticket(desk, signer, "en")
    said_html = press(desk, signer, thread, name="kb.insert_link", article="refunds")
    draft_id = said_html["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]["draftId"]
    raw = desk[0].gmail().users().drafts().get(userId="me", id=draft_id, format="raw").execute()["message"]["raw"]
    message = email.message_from_bytes(base64.urlsafe_b64decode(raw), policy=email.policy.default)
    assert '<a href="https://help.example.com/refunds">How refunds work</a>' in message.get_body(("html",)).get_content()
    assert "How refunds work: https://help.example.com/refunds" in message.get_body(("plain",)).get_content()


def test_a_sent_inserted_answer_is_not_flagged_as_unsigned(desk, signer):
    from plugin_host.sync import ChangeFeed

    local, host, _ = desk
    thread, _ = open_ticket(desk, signer, "en")
    opened = press(desk, signer, thread, name="kb.insert_answer", article="refunds")
    draft_id = opened["renderActions"]["hostAppAction"]["gmailAction"]["openCreatedDraftActionMarkup"]["draftId"]
    local.gmail().users().drafts().send(userId="me", body={"id": draft_id}).execute()
    ChangeFeed(host).sync()
    assert not host.ticket(thread).has_label("Warning/No full name")


@pytest.mark.parametrize("language", ["en", "pl", "ru"])
def test_article_heading_is_neither_the_snippet_nor_the_replys_first_line(desk, signer, language):
    """An article whose body opens with a heading (its title again, or a shorter one) showed that heading
    as the suggestion's snippet and put it, alone on a line, at the top of the answer to the customer."""
    thread, card = open_ticket(desk, signer, language)
    suggestion = widgets(card, "Help articles")[0]["decoratedText"]
    assert suggestion["bottomLabel"] not in ("How refunds work", "Jak działa zwrot pieniędzy", "Как вернуть деньги")
    assert len(suggestion["bottomLabel"].split()) > 5
    text = draft_text(desk, press(desk, signer, thread, name="kb.insert_answer", article=ARTICLE_OF[language]))
    assert text.split("\n")[2] not in ("How refunds work", "Zwrot pieniędzy", "Возврат денег"), text


LONG = ("---\ntitle: Refunds for orders paid with a gift card, store credit or a voucher code\n"
        "url: https://help.example.com/gift-refunds\n---\n"
        "A refund for an order paid with a gift card goes back to the same gift card, never to your bank card, "
        "and the balance reappears within two business days; store credit and voucher codes are restored the "
        "same way, and any part paid by card is refunded to the card.\n")


def _whole_words(shown: str, full: str) -> bool:
    """``shown`` is ``full`` itself, or whole words of it followed by "…"."""
    if shown == full:
        return True
    kept = shown.removesuffix("…").rstrip()
    return shown.endswith("…") and full.startswith(kept) and not full[len(kept)].isalnum()


def test_long_titles_and_snippets_are_cut_between_words(desk, signer, tmp_path):
    (tmp_path / "kb" / "gift.md").write_text(LONG, encoding="utf-8")
    local, host, client = desk
    ref = deliver(local.gmail(), make_email(subject="Gift card refund", message_id="<ux-gift@example.org>",
                                            body="I paid with a gift card. Where does my refund go, to the gift card?"))
    card = pushed(post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"])))
    gift = next(w["decoratedText"] for w in widgets(card, "Help articles")
                if "gift card" in w.get("decoratedText", {}).get("text", ""))
    sentence = LONG.split("---\n")[-1].strip()
    assert _whole_words(gift["bottomLabel"], sentence), gift["bottomLabel"]
    compose = pushed(post(client, signer, "/addon/compose", body_for(signer, threadId=ref["threadId"])))
    labels = [b["text"] for b in compose["sections"][0]["widgets"][0]["buttonList"]["buttons"]]
    title = "Refunds for orders paid with a gift card, store credit or a voucher code"
    article = next(label for label in labels if label.startswith("Article: "))
    assert _whole_words(article, "Article: " + title) and article != "Article: " + title, labels


def _help_text(card) -> str:
    return " ".join(w.get("textParagraph", {}).get("text", "") for w in widgets(card, "Help articles"))


def test_no_suggestion_says_why_and_what_to_do(desk, signer):
    """"No article fits this question." left the agent guessing: a question the articles do not cover, or a
    knowledge base that is empty? Each now says so, and what to do next."""
    local, host, client = desk
    ref = deliver(local.gmail(), make_email(subject="Cat picture", message_id="<ux-cat@example.org>",
                                            body="Can I put a picture of my cat on my profile page?"))
    card = pushed(post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"])))
    said = _help_text(card)
    assert "3 articles" in said and "answer it yourself" in said.lower() and "kb gaps" in said, said


def test_an_empty_knowledge_base_says_so(desk, signer):
    local, host, client = desk
    for file in (host.config.state_path.parent / "kb").iterdir():
        file.unlink()
    from plugins.kb_suggest import knowledge_base

    knowledge_base(host.config, wait=True)  # the panel answers from the index as rebuilt, not a stale one
    ref = deliver(local.gmail(), make_email(**TICKETS["en"]))
    said = _help_text(pushed(post(client, signer, "/addon/message", body_for(signer, threadId=ref["threadId"]))))
    assert "no articles" in said and "[plugins.kb_suggest] articles" in said and "admin" in said, said


def test_the_card_opens_with_who_how_long_and_whose(desk, signer):
    """The header said "2 messages"; the time left lived only in the Service level section at the bottom of
    the card, under the article suggestions. The header now says who wrote, how long is left, who owns it."""
    thread, card = open_ticket(desk, signer, "ru")
    subtitle = card["header"]["subtitle"]
    assert subtitle.startswith("Иван Смирнов · ") and " left · " in subtitle and subtitle.endswith("no owner yet")
    due = next(w["decoratedText"]["text"] for w in widgets(card, "Ticket")
               if w.get("decoratedText", {}).get("topLabel") == "Answer due")
    assert due.endswith(" left"), due
    taken = press(desk, signer, thread, name="autoreply.take")["renderActions"]["action"]["navigations"][0]["updateCard"]
    assert taken["header"]["subtitle"].endswith("owner Anna Kowalska")


def test_the_queue_says_how_long_each_ticket_has_left(desk, signer):
    from plugin_host.sync import ChangeFeed

    local, host, client = desk
    deliver(local.gmail(), make_email(**TICKETS["pl"]))
    ChangeFeed(host).sync()
    card = pushed(post(client, signer, "/addon/homepage", body_for(signer)))
    [row] = [w["decoratedText"] for s in card["sections"] for w in s["widgets"] if "onClick" in w.get("decoratedText", {})]
    assert row["bottomLabel"].startswith("due ") and row["bottomLabel"].endswith(" left"), row


def test_a_button_that_fails_says_what_failed_and_what_to_do(desk, signer, monkeypatch):
    """Escalate with Google Tasks down answered "Labeldesk could not show this ticket right now": the agent,
    who pressed a button, could not tell whether the escalation happened."""
    from plugin_host.errors import GmailError

    local, host, client = desk
    thread, _ = open_ticket(desk, signer, "en")

    def down(*args, **kwargs):
        raise GmailError("tasks.tasks.insert failed: HTTP 503 backendError")

    monkeypatch.setattr(host.client, "insert_task", down)
    answer = press(desk, signer, thread, name="sla.escalate")
    said = json.dumps(answer["renderActions"]["action"]["navigations"][0]["pushCard"], ensure_ascii=False)
    assert "could not show this ticket" not in said and "503" not in said
    assert "may not have been done" in said and "Refresh" in said, said


def test_card_times_are_in_one_zone(tmp_path, signer):
    """With the team in Warsaw, "First message" was in UTC and "Answer due" in Europe/Warsaw, one above the
    other: an agent comparing them was an hour off. Both are now in the team's zone."""
    from gmail_addon import cards
    from plugin_host.ticket import Deadline, Person, Ticket, TicketMessage
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    first = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    message = TicketMessage("1", "t", "<1@x>", Person("Jan", "jan@example.pl"), (), (), "S", first, "customer", "text")
    ticket = Ticket("t", "S", Person("Jan", "jan@example.pl"), "support@example.com", (message,), "pl", frozenset(),
                    first, None, "customer")
    warsaw = ZoneInfo("Europe/Warsaw")
    due = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)
    deadline = Deadline(due, "first_response", "normal", True, text="2026-11-23 17:00 (Europe/Warsaw)",
                        zone="Europe/Warsaw", left="6h 30m business time left")
    card = cards.ticket_card(ticket, deadline, [], [], lambda n: f"{BASE}/addon/{n}")
    shown = {w["decoratedText"]["topLabel"]: w["decoratedText"]["text"] for w in widgets(card, "Ticket")
             if "decoratedText" in w}
    assert shown["First message"] == f"{first.astimezone(warsaw):%Y-%m-%d %H:%M} (Europe/Warsaw)", shown


def _labels(card) -> dict[str, list[str]]:
    """Each decoratedText's topLabel → the headers of the sections that show it."""
    where: dict[str, list[str]] = {}
    for s in card["sections"]:
        for w in s["widgets"]:
            if "decoratedText" in w and w["decoratedText"].get("topLabel"):
                where.setdefault(w["decoratedText"]["topLabel"], []).append(s.get("header", ""))
    return where


def test_each_fact_on_the_ticket_card_is_shown_once(desk, signer):
    """The owner showed in "Ticket" and "Ownership", the priority in "Ticket" and "Service level", the deadline
    in "Ticket" and again, in another format, in "Service level". Each is now shown once, beside what acts on it:
    the owner with "Take", the priority with its reason and buttons, the deadline beside the first message."""
    _, card = open_ticket(desk, signer, "en")
    where = _labels(card)
    assert where["Owner"] == ["Ownership"] and where["Priority"] == ["Service level"], where
    assert where["Answer due"] == ["Ticket"] and "Deadline" not in where, where
    assert card["header"]["subtitle"].startswith("Jane Doe · ")  # the header line still leads


def test_without_the_plugins_the_ticket_section_still_shows_owner_and_priority():
    from gmail_addon import cards
    from plugin_host.ticket import Person, Ticket, TicketMessage
    from datetime import datetime, timezone

    first = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    message = TicketMessage("1", "t", "<1@x>", Person("Jan", "jan@example.pl"), (), (), "S", first, "customer", "text")
    ticket = Ticket("t", "S", Person("Jan", "jan@example.pl"), "support@example.com", (message,), "pl", frozenset(),
                    first, None, "customer")
    card = cards.ticket_card(ticket, None, [], [], lambda n: f"{BASE}/addon/{n}")
    where = _labels(card)
    assert where["Owner"] == ["Ticket"] and where["Priority"] == ["Ticket"], where


class _Third:
    """A third-party plugin: a section of its own, and nothing (None) for compose."""

    def __init__(self, header):
        self.header = header

    def ticket_sections(self, ticket, agent, settings, now, urls):
        return [{"header": self.header, "widgets": [{"textParagraph": {"text": self.header}}]}]

    def homepage_sections(self, agent, tickets, settings, now, urls):
        return [{"header": self.header, "widgets": [{"textParagraph": {"text": self.header}}]}]

    def compose_suggestions(self, ticket, agent, settings):
        return None


def _third(header):
    from plugin_host import hookimpl

    plugin = _Third(header)
    for name in ("ticket_sections", "homepage_sections", "compose_suggestions"):
        hookimpl(getattr(type(plugin), name))
    return plugin


@pytest.mark.parametrize("enabled", [["autoreply", "sla", "kb_suggest"], ["kb_suggest", "sla", "autoreply"]])
def test_plugin_sections_follow_the_admins_enabled_list(tmp_path, enabled):
    """"Service level" showed below "Help articles" because plugins answered in the order they were installed.
    Their sections now follow ``[plugins] enabled``; third-party plugins come after, by name."""
    from plugin_host.plugins import HOOKS_CALLED

    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "refunds.md").write_text(ARTICLES["refunds.md"], encoding="utf-8")
    data = {"mailbox": {"address": "support@example.com"}, "agents": AGENTS, "host": {"state_dir": str(tmp_path / "s")},
            "plugins": {"enabled": enabled, "kb_suggest": {"articles": str(folder)}}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    host = build_host(config, http=local.http, extra_plugins={"zz-third": _third("Zed"), "aa-third": _third("Aa")})
    ticket = host.ticket(deliver(local.gmail(), make_email(**TICKETS["en"]))["threadId"])
    agent = host.config.agent("ivan.petrov@example.com")
    urls = lambda name: f"{BASE}/addon/{name}"  # noqa: E731
    header = {"autoreply": "Ownership", "sla": "Service level", "kb_suggest": "Help articles"}
    HOOKS_CALLED.discard("ticket_sections")
    headers = [s["header"] for s in host.side_panel_sections(ticket, agent, urls)]
    assert headers == [header[name] for name in enabled] + ["Aa", "Zed"], headers
    assert "ticket_sections" in HOOKS_CALLED  # hook-call monitoring still sees the calls
    assert [s["header"] for s in host.homepage_sections(agent, [ticket], urls)][-2:] == ["Aa", "Zed"]
    labels = [item["label"] for item in host.compose_suggestions(ticket, agent)]
    first_of = {"autoreply": "Insert my signature", "kb_suggest": "Article: "}
    order = [name for name in enabled if name in first_of]
    at = [next(i for i, label in enumerate(labels) if label.startswith(first_of[name])) for name in order]
    assert at == sorted(at), labels


def _compose_insert(desk, signer, thread, starts):
    compose = pushed(post(desk[2], signer, "/addon/compose", body_for(signer, threadId=thread)))
    button = next(b for b in compose["sections"][0]["widgets"][0]["buttonList"]["buttons"] if b["text"].startswith(starts))
    key = next(p["value"] for p in button["onClick"]["action"]["parameters"] if p["key"] == "key")
    answer = press(desk, signer, thread, name="compose.insert", key=key)
    [content] = answer["renderActions"]["hostAppAction"]["gmailAction"]["updateDraftActionMarkup"]["updateBody"][
        "insertContents"]
    return content


def test_compose_inserts_an_article_as_html_with_its_bold_and_links(desk, signer):
    """The compose panel inserted TEXT: the article's bold was lost and its links showed as "label (https://…)".
    Gmail takes MUTABLE_HTML there: the article goes in as HTML, links clickable, nothing in brackets."""
    thread, _ = open_ticket(desk, signer, "en")
    article = _compose_insert(desk, signer, thread, "Article: ")
    assert article["contentType"] == "MUTABLE_HTML", article
    said = article["content"]
    assert "<strong>approve a refund</strong>" in said and "<em>5 business days</em>" in said, said
    assert '<a href="https://shop.example.com/orders">your orders</a>' in said and "(https://" not in said, said
    assert "<h1>" not in said and "How refunds work</" not in said  # the title heading opens no reply
    link = _compose_insert(desk, signer, thread, "Link: ")
    assert link == {"content": '<a href="https://help.example.com/refunds">How refunds work</a>',
                    "contentType": "MUTABLE_HTML"}, link
    signature = _compose_insert(desk, signer, thread, "Insert my signature")
    assert signature["contentType"] == "TEXT"  # plain text, as typed


def test_article_html_is_safe():
    from plugins.kb_suggest.html_answer import answer_html

    said = answer_html("Hi <b onclick=\"x()\">you</b> & <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n"
                       "[bad](javascript:alert(1)) [plain](http://example.com/x) [ok](https://example.com/?a=1&b=\"2\")\n\n"
                       "<div onmouseover=\"steal()\">block <a href=\"javascript:x\">here</a></div>\n\n"
                       "![pic](https://evil.example/track.png)")
    lowered = said.lower()
    for bad in ("<script", "onclick", "onerror", "onmouseover", "javascript:", "<img", 'href="http:', "<div"):
        assert bad not in lowered, (bad, said)
    assert "plain (http://example.com/x)" in said  # an http target is shown as text, as in the plain-text answer
    assert "&amp;" in said and '<a href="https://example.com/?a=1&amp;b=%222%22">ok</a>' in said, said
    assert ">bad<" not in said and "bad" in said and "plain" in said and "here" in said and "pic" in said


def _in_zone(desk, signer, path, zone, thread=None):
    body = body_for(signer, threadId=thread) if thread else body_for(signer)
    body["commonEventObject"]["timeZone"] = zone
    card = pushed(post(desk[2], signer, path, body))
    validate_card(card)
    return card


def test_card_times_are_in_the_agents_own_zone_when_gmail_says_it(desk, signer):
    """Times were in the team's calendar zone even for an agent in New York, who had to convert them. Gmail sends
    the agent's zone (``commonEventObject.timeZone``): the card's times are now in it, and name it."""
    from zoneinfo import ZoneInfo

    from plugin_host.sync import ChangeFeed

    local, host, client = desk
    thread, plain = open_ticket(desk, signer, "en")
    card = _in_zone(desk, signer, "/addon/message", {"id": "America/New_York", "offset": -18000000}, thread)
    shown = {w["decoratedText"]["topLabel"]: w["decoratedText"]["text"] for w in widgets(card, "Ticket")
             if "decoratedText" in w}
    first = host.ticket(thread).first_customer_at.astimezone(ZoneInfo("America/New_York"))
    assert shown["First message"] == f"{first:%Y-%m-%d %H:%M} (America/New_York)", shown
    due = host.deadline(host.ticket(thread)).due.astimezone(ZoneInfo("America/New_York"))
    assert shown["Answer due"].startswith(f"{due:%Y-%m-%d %H:%M} (America/New_York) — "), shown
    team = {w["decoratedText"]["topLabel"]: w["decoratedText"]["text"] for w in widgets(plain, "Ticket")
            if "decoratedText" in w}
    assert "America/New_York" not in team["Answer due"]  # without a zone in the event: the team's, as before
    ChangeFeed(host).sync()
    queue = _in_zone(desk, signer, "/addon/homepage", {"id": "Asia/Tokyo", "offset": 32400000})
    [row] = [w["decoratedText"] for s in queue["sections"] for w in s["widgets"] if "onClick" in w.get("decoratedText", {})]
    assert "(Asia/Tokyo) — " in row["bottomLabel"] and row["bottomLabel"].endswith(" left"), row


def test_an_unknown_zone_id_falls_back_to_the_offset():
    from gmail_addon import cards
    from datetime import datetime, timezone

    zone = cards.viewer_zone({"id": "Mars/Olympus", "offset": -16200000})
    when = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    assert cards._when(when, zone) == "2026-11-23 05:00 (UTC-04:30)"
    assert cards.viewer_zone({"id": "Europe/Warsaw", "offset": 3600000}).key == "Europe/Warsaw"
    for nothing in (None, {}, {"id": ""}, {"offset": "x"}, {"id": 5}, "Europe/Warsaw", {"offset": 10 ** 12}):
        assert cards.viewer_zone(nothing) is None, nothing


HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>', "Jane</p><a href='javascript:x'>"]
SAFE_TAGS = re.compile(r'</?(p|strong|em|ol|ul|li)>|<br>|</a>|<a href="https://help\.example\.com/r\?a=1&amp;b=&quot;2&quot;">')


@pytest.mark.parametrize("hostile", HOSTILE)
def test_side_panel_html_draft_escapes_every_name_and_title(monkeypatch, hostile):
    """The HTML draft puts the customer's name (greeting), the agent's name and title (signature) and the
    article's title (Insert link) into HTML: none of them can add a tag or an attribute, and only an https link
    is clickable (javascript:, data: and http: targets stay out)."""
    import html
    from types import SimpleNamespace

    import plugins.kb_suggest as kb_suggest
    from plugins.kb_suggest.articles import Article

    articles = [Article("a", f"Refunds {hostile}", f"Refunds take 5 days. {hostile}", 'https://help.example.com/r?a=1&b="2"'),
                *(Article(f"bad{i}", f"Bad {hostile}", "Body.", url) for i, url in
                  enumerate(["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "http://x.example/"]))]
    monkeypatch.setattr(kb_suggest, "knowledge_base", lambda settings: SimpleNamespace(articles=articles))
    sender = SimpleNamespace(name=f"{hostile} Jane", email="jane@example.org")
    ticket = SimpleNamespace(drafts=["d1"], language="en", latest_customer_message=SimpleNamespace(sender=sender))
    agent = SimpleNamespace(full_name=f"Anna {hostile}", title=hostile)
    for name, article in [("kb.insert_link", "a"), ("kb.insert_answer", "a"), ("kb.insert_link", "bad0"),
                          ("kb.insert_link", "bad1"), ("kb.insert_link", "bad2")]:
        reply = kb_suggest.on_card_action(name, {"article": article}, {}, ticket, agent, None, None, None)
        said = reply.insert_text
        assert reply.insert_type == "HTML" and "<" not in SAFE_TAGS.sub("", said), said  # no tag of theirs
        assert said.count("<a ") == (name == "kb.insert_link" and article == "a"), said  # https only
        assert html.escape(f"Anna {hostile}", quote=False) in said, said
