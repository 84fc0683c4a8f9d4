"""Suggestions from what the customer really asked: greetings, quotes, forwards, attached mail and subjects;
articles a model cannot judge; stray tags in articles; `kb gaps --since`."""
from __future__ import annotations


import pytest

from plugin_host.text import customer_text, strip_greeting, strip_quoted, normalise
from plugins.kb_suggest.articles import Article
from plugins.kb_suggest.engine import KnowledgeBase

from .conftest import deliver, make_email
from .test_kb import kb_host


# -- 1. a greeting on the same line as the question swallows the question ------------------------

@pytest.mark.parametrize("text,kept", [
    ("Hello, where is my refund?", "where is my refund?"),
    ("Hi, I was charged twice for order 123", "I was charged twice for order 123"),
    ("Здравствуйте, не приходят деньги за возврат.", "не приходят деньги за возврат."),
    ("Dzień dobry, kiedy dostanę paczkę?", "kiedy dostanę paczkę?"),
    # without a comma, the words after the greeting are the customer's, not an addressee
    ("Witam nie działa logowanie.", "nie działa logowanie"),
    ("Привет не работает оплата.", "не работает оплата"),
    ("Hey site is down!", "site is down"),
    ("Hi app keeps crashing\n\nSteps: open it, tap Pay", "app keeps crashing"),
])
def test_greeting_on_the_question_line_keeps_the_question(text, kept):
    assert kept in strip_greeting(text)


def test_one_line_question_after_a_greeting_is_suggested(tmp_path):
    local, host, config = kb_host(tmp_path)
    ref = deliver(local.gmail(), make_email(subject="Question", body="Hi, when will my refund reach my card?"))
    ticket = host.ticket(ref["threadId"])
    assert "refund" in ticket.question
    assert [s.article_id for s in host.suggestions(ticket, limit=3)] == ["refunds"]


# -- 2. quoted history: what is cut and what leaks ------------------------------------------------

def test_russian_site_says_colon_is_not_a_quote_header():
    text = "Не могу оплатить заказ.\nПри оплате сайт пишет:\nОшибка 500, платёж отклонён\n"
    assert "Ошибка 500" in normalise(strip_quoted(text))


@pytest.mark.parametrize("text", [
    # Gmail wraps a long attribution line in text/plain
    "My card is blocked.\n\nOn Mon, Jan 8, 2024 at 10:15 AM Support Team <support@example.com>\nwrote:\n\n> Hello, how can we help?\n",
    # Gmail in Russian: no "пишет" at all
    "Деньги так и не пришли.\n\nпн, 8 янв. 2024 г. в 10:15, Support Team <support@example.com>:\n\n> Деньги вернутся через 5 дней.\n",
])
def test_quote_attribution_does_not_leak_into_the_question(text):
    kept = normalise(strip_quoted(text))
    assert "support@example.com" not in kept and "Support Team" not in kept


def test_forwarded_message_keeps_the_question():
    text = ("---------- Forwarded message ---------\nFrom: Jan Kowalski <jan@example.com>\n"
            "Date: Mon, 8 Jan 2024 at 10:15\nSubject: Refund\nTo: <shop@example.com>\n\n"
            "Where is my refund for order 123?\n")
    assert "refund" in normalise(strip_quoted(text))


# -- 3. kb gaps --since: other units silently become 30 days ----------------------------------------

@pytest.mark.parametrize("since", ["2w", "12h", "7days", "-5d"])
def test_gaps_since_is_not_silently_replaced_by_30_days(tmp_path, monkeypatch, since):
    from click.testing import CliRunner

    import plugin_host.runtime as runtime
    from plugin_host.cli import get_cli

    local, host, config = kb_host(tmp_path)
    asked = []
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    monkeypatch.setattr(host.client, "list_threads", lambda q=None, max_results=None: asked.append(q) or [])
    monkeypatch.setattr(host, "newer_than", lambda days: f"newer_than:{days}d")  # the period as days
    result = CliRunner().invoke(get_cli(), ["kb", "gaps", "--since", since])
    # Either understood (2w → 14d, 12h → 1d) or refused with a message; never a silent 30 days.
    assert asked != ["newer_than:30d"], result.output


# -- 4. an attached e-mail (message/rfc822) becomes part of the customer's question -----------------

def test_attached_email_is_not_part_of_the_question():
    from email.message import EmailMessage

    attached = EmailMessage()
    attached["From"] = "newsletter@shop.example.com"
    attached["Subject"] = "Summer sale"
    attached.set_content("Free delivery this week! Parcels ship within 24 hours, tracking numbers emailed.")
    msg = EmailMessage()
    msg["From"] = "jan@example.org"
    msg["Subject"] = "Charged twice"
    msg.set_content("Why was I charged twice? The e-mail I got is attached.")
    msg.add_attachment(attached)
    text = customer_text(msg)
    assert "charged twice" in text and "Parcels" not in text


# -- 5. the "(no subject)" placeholder is searched as if the customer wrote it ----------------------

def test_no_subject_placeholder_is_not_part_of_the_question(tmp_path):
    from tests.test_kb import ARTICLES

    local, host, config = kb_host(tmp_path)
    ref = deliver(local.gmail(), make_email(subject="", body="Деньги за возврат не пришли"))
    ticket = host.ticket(ref["threadId"])
    assert ticket.subject == "(no subject)"  # fine for display…
    assert "subject" not in ticket.question.lower()  # …but not what the customer asked
    kb = KnowledgeBase(ARTICLES)
    assert [h.article.id for h in kb.search(ticket.question, ticket.language)] == ["ru-vozvrat"]


# -- 6. an English model judges articles it cannot embed: they can never be suggested ---------------

POLISH = [Article("pl-faktura", "Faktura VAT", "Fakturę VAT wystawiamy automatycznie i wysyłamy mailem po wysłaniu "
                  "zamówienia.", lang="pl"),
          Article("en-refund", "How refunds work", "Refunds are paid back to the original card within 5 days.")]


@pytest.mark.parametrize("semantic", ["off", "static"])
def test_short_polish_question_detected_as_english_still_finds_the_polish_article(semantic):
    from plugin_host.language import detect_language

    question = "Faktura VAT"
    assert detect_language(question) == "en"  # too short to tell: no Polish letters, no stop words
    hits = KnowledgeBase(POLISH, semantic=semantic).search(question, detect_language(question))
    assert [h.article.id for h in hits] == ["pl-faktura"]  # "off" passes; with a model nothing is suggested


# -- 7. a stray inline <script> hides the rest of its paragraph (ranking and "Insert answer") --------

def test_stray_inline_script_tag_hides_nothing_after_it():
    from plugins.kb_suggest.rendering import plain_text

    body = "Paste the <script> tag before the closing body tag on every page, then reload."
    assert "closing body tag on every page" in plain_text(body, links=True)
    assert "closing body tag on every page" in plain_text(body)


def test_gaps_since_units(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import plugin_host.runtime as runtime
    from plugin_host.cli import get_cli

    _, host, _ = kb_host(tmp_path)
    asked = []
    monkeypatch.setattr(runtime, "host_from_cli", lambda path=None: host)
    monkeypatch.setattr(host.client, "list_threads", lambda q=None, max_results=None: asked.append(q) or [])
    monkeypatch.setattr(host, "newer_than", lambda days: f"newer_than:{days}d")  # the period as days
    for since in ("7d", "7", "2w", "12h"):
        assert CliRunner().invoke(get_cli(), ["kb", "gaps", "--since", since]).exit_code == 0
    assert asked == ["newer_than:7d", "newer_than:7d", "newer_than:14d", "newer_than:1d"]


def test_russian_gmail_reply_is_still_suggested(tmp_path):
    """The leaked attribution line ("пн, 8 янв. … <support@example.com>:") dilutes word coverage below the gate."""
    from tests.test_kb import ARTICLES

    local, host, config = kb_host(tmp_path)
    body = ("Деньги за возврат так и не пришли.\n\nпн, 8 янв. 2024 г. в 10:15, Support Team <support@example.com>:\n\n"
            "> Деньги вернутся через 5 дней.\n")
    ref = deliver(local.gmail(), make_email(subject="Возврат", body=body))
    ticket = host.ticket(ref["threadId"])
    assert [h.article.id for h in KnowledgeBase(ARTICLES).search(ticket.question, ticket.language)] == ["ru-vozvrat"]


def test_an_error_code_the_customer_quotes_decides_the_article():
    """300 printer-error articles ("Error E120: …"): WordLlama blurs E120 with E123 and E201, so the right
    article, ranked first on its code, failed the similarity bar while wrong ones passed it. A code-like
    word (with a digit) that at most two articles contain now makes those articles confident."""
    import random

    from plugins.kb_suggest.articles import Article
    from plugins.kb_suggest.engine import KnowledgeBase

    rng = random.Random(1)
    parts = ["paper tray", "ink cartridge", "print head", "fuser unit", "network card", "scanner lamp", "power supply",
             "firmware"]
    articles = []
    for n in range(100, 400):
        part = rng.choice(parts)
        articles.append(Article(f"e{n}", f"Error E{n}: {part} fault",
                                f"The printer shows error E{n} when the {part} fails. Turn the printer off, check the "
                                f"{part}, and turn it on again. If E{n} returns, contact support.", "", "en", ()))
    kb = KnowledgeBase(articles, semantic="static")
    wrong = [n for n in range(100, 400, 7)
             if [h.article.id for h in kb.search(f"My printer shows error E{n}, what should I do?", "en")][:1] != [f"e{n}"]]
    assert wrong == []
    assert kb.search("What is the best pizza in Naples?", "en") == []  # no code, no free pass
    kb.customer_gates["wordllama"] = 0.99  # the quoted code decides the customers' bar too
    quoted = [kb.search(f"My printer shows error E{n}, what should I do?", "en")[0] for n in range(100, 400, 37)]
    assert all(h.for_customers for h in quoted), [(h.article.id, h.confidence) for h in quoted]


# -- Polish typed without diacritics ("nie moge sie zalogowac") -------------------------------------

POLISH_SHOP = [
    Article("pl-login", "Nie mogę się zalogować", "Jeśli logowanie do konta nie działa, zresetuj hasło przez link "
            "„Nie pamiętam hasła” i sprawdź skrzynkę e-mail.", lang="pl"),
    Article("pl-zwrot", "Zwrot towaru", "Towar możesz zwrócić w ciągu 30 dni. Wypełnij formularz zwrotu i "
            "odeślij paczkę kurierem.", lang="pl"),
    Article("pl-dostawa", "Czas dostawy", "Zamówienia wysyłamy w ciągu 24 godzin; kurier dostarcza przesyłkę "
            "w 1–2 dni robocze.", lang="pl"),
]


@pytest.mark.parametrize("question, article", [
    ("Dzien dobry, nie moge sie zalogowac do konta", "pl-login"),
    ("Chce zwrocic towar, jak to zrobic?", "pl-zwrot"),
    ("Kiedy dostane przesylke? Zamowienie zlozylem wczoraj", "pl-dostawa"),
])
@pytest.mark.parametrize("semantic", ["off", "static"])
def test_polish_without_diacritics_finds_the_article_confidently(semantic, question, article):
    from plugin_host.language import detect_language
    from plugins.kb_suggest.analysis import content_words, stems

    assert detect_language(question) == "pl"
    assert "sie" not in content_words(question, "pl")  # "się" typed plainly is still a stop word
    assert stems("zamówienie", "pl") == stems("zamowienie", "pl")
    hits = KnowledgeBase(POLISH_SHOP, semantic=semantic).search(question, "pl")
    assert [h.article.id for h in hits][:1] == [article] and hits[0].confident


def test_a_bare_number_is_a_code_only_when_the_question_calls_it_one():
    """"350 fahrenheit in celsius" made the one article holding "350" (a refund limit) confident; "error 404"
    and "ошибка 401" still pick the article that names the code."""
    from plugins.kb_suggest.articles import Article
    from plugins.kb_suggest.engine import KnowledgeBase

    articles = [Article("refund", "Track refund", "Refunds up to 350 EUR are paid back to your card within five days.",
                        "", "en", ()),
                Article("http", "Page not found", "If the site shows 404, the link is old: start from the home page.",
                        "", "en", ()),
                Article("api", "Ошибка API", "Код 401 значит, что ключ API неверен: создайте новый ключ.", "", "ru", ()),
                Article("login", "Sign-in problems", "Reset your password from the sign-in page.", "", "en", ())]
    kb = KnowledgeBase(articles, semantic="off")
    assert kb.search("350 fahrenheit in celsius", "en") == []
    assert [h.article.id for h in kb.search("I get error 404 on every page", "en")][:1] == ["http"]
    assert [h.article.id for h in kb.search("ошибка 401 при запросе", "ru")][:1] == ["api"]
