"""Mail from Russian- and Polish-speaking customers, end to end: charsets their clients still send,
their clients' quoting and signatures, their auto-replies and robots, their names, their greetings."""
from __future__ import annotations

import pytest

from plugin_host.config import load_config
from plugin_host.tickets import build_ticket

from .conftest import deliver, make_email


@pytest.fixture
def config(tmp_path):
    data = {"mailbox": {"address": "support@example.com"}, "host": {"state_dir": str(tmp_path / "state")}}
    return load_config(tmp_path / "labeldesk.toml", data=data, environ={})


def ticket_of(gmail, config, raw: bytes):
    """The ticket the host builds for ``raw`` delivered to the local mailbox (None: no customer mail)."""
    thread_id = deliver(gmail, raw)["threadId"]
    thread = gmail.users().threads().get(userId="me", id=thread_id, format="full").execute()
    return build_ticket(thread, config)


def eight_bit(body: bytes, content_type: str = "text/plain", sender: bytes = b"Jan <jan@example.org>") -> bytes:
    """A message whose 8-bit body declares no charset (or only US-ASCII), as old clients and web forms send."""
    return (b"From: " + sender + b"\r\nTo: support@example.com\r\nSubject: test\r\n"
            b"Message-ID: <" + str(abs(hash(body))).encode() + b"@example.org>\r\n"
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: " + content_type.encode() + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body)


# ------------------------------------------------------------------ charsets

@pytest.mark.parametrize("charset, text, language", [
    ("cp1251", "Здравствуйте! Не могу оплатить заказ, пишет ошибка.", "ru"),
    ("koi8_r", "Здравствуйте! Не могу оплатить заказ, пишет ошибка.", "ru"),
    ("iso8859_2", "Dzień dobry, nie mogę zapłacić za zamówienie, błąd płatności.", "pl"),
    ("cp1250", "Dzień dobry, nie mogę zapłacić za zamówienie, świeży błąd.", "pl"),
])
@pytest.mark.parametrize("declared", ["text/plain", "text/plain; charset=us-ascii"])
def test_undeclared_8bit_charset_is_guessed_from_the_body(gmail, config, charset, text, language, declared):
    """Undeclared Windows-1251/KOI8-R/ISO-8859-2 bodies were read as Windows-1252 ("Çäðàâñòâóéòå")."""
    ticket = ticket_of(gmail, config, eight_bit(text.encode(charset), declared))
    assert ticket.messages[0].text == text
    assert ticket.language == language


def test_charset_is_guessed_from_the_start_of_a_long_body():
    from plugin_host.mailbox.mime import GUESS_BYTES, decode_text

    text = "Не могу оплатить заказ. " * 20_000
    assert len(text.encode("cp1251")) > GUESS_BYTES
    assert decode_text(text.encode("cp1251"), None) == text


# ------------------------------------------------------------------ auto-replies and robots

@pytest.mark.parametrize("subject", [
    "Automatyczna odpowiedź: Zamówienie 1234", "Odpowiedź automatyczna: Zamówienie", "Nieobecność w biurze",
    "Jestem na urlopie", "Na urlopie do 30.11", "Urlop", "Poza biurem: Zamówienie",
    "Автоответ: Заказ 1234", "Автоматический ответ: Заказ", "Нет на месте", "В отпуске", "Я в отпуске до 1 декабря",
    "RE: В отпуске", "Отсутствую в офисе", "Вне офиса: Заказ",
])
def test_russian_and_polish_away_subjects_get_no_acknowledgement(gmail, config, subject):
    raw = make_email(sender="Anna <anna@example.org>", subject=subject, body="Wracam 1 grudnia. / Вернусь 1 декабря.")
    assert ticket_of(gmail, config, raw) is None


@pytest.mark.parametrize("subject", ["В отпуске не работает роуминг", "Urlopowy zwrot zamówienia",
                                     "Nieobecny kurier, paczka nie dotarła", "Нет на месте заказа в пункте выдачи"])
def test_customers_writing_about_holidays_are_customers(gmail, config, subject):
    raw = make_email(sender="Anna <anna@example.org>", subject=subject, body="Proszę o pomoc. / Помогите, пожалуйста.")
    assert ticket_of(gmail, config, raw) is not None


@pytest.mark.parametrize("address", ["powiadomienia@sklep.example.pl", "robot@mail.example.ru",
                                     "nie-odpowiadaj@bank.example.pl", "ne-otvechat@bank.example.ru",
                                     "uvedomleniya@shop.example.ru", "noreply-powiadomienia@example.pl"])
def test_polish_and_russian_robot_senders_get_no_acknowledgement(gmail, config, address):
    raw = make_email(sender=f"Sklep <{address}>", subject="Twoje zamówienie zostało wysłane", body="Paczka w drodze.")
    assert ticket_of(gmail, config, raw) is None


def test_polish_web_form_from_a_notifications_address_is_the_visitors_request(gmail, config):
    raw = make_email(sender="Formularz <powiadomienia@sklep.example.pl>", subject="Nowa wiadomość z formularza",
                     body="Nie dotarła paczka.", headers={"Reply-To": "Jan Kowalski <jan@example.org>"})
    ticket = ticket_of(gmail, config, raw)
    assert ticket is not None and ticket.customer.email == "jan@example.org"


@pytest.mark.parametrize("body", [
    "Dzień dobry,\njestem na urlopie do 30.11. W pilnych sprawach proszę kontaktować się z Anną Nowak, "
    "anna@example.org.\n\nPozdrawiam\nJan Kowalski",
    "Przebywam obecnie poza biurem, mam ograniczony dostęp do poczty. Odpowiem po powrocie, 2 grudnia.",
    "Здравствуйте!\nЯ в отпуске до 30.11. По срочным вопросам обращайтесь к Анне Петровой: anna@example.org.",
    "Добрый день. Меня нет в офисе до 2 декабря, отвечу на ваше письмо после возвращения.",
])
def test_out_of_office_text_under_a_reply_subject_gets_no_acknowledgement(gmail, config, body):
    """Mail.ru, Onet and Exchange rules send away notices as "Re: <subject>" without Auto-Submitted."""
    raw = make_email(sender="Jan <jan@example.org>", subject="Re: Zamówienie 1234", body=body)
    assert ticket_of(gmail, config, raw) is None


@pytest.mark.parametrize("body", [
    "Jestem na urlopie do 30.11, proszę wstrzymać wysyłkę zamówienia 1234.",
    "Jestem na urlopie, w pilnych sprawach dzwonię — czy możecie przesunąć dostawę?",
    "Я в отпуске, а карта заблокирована. Отвечу на звонок в любое время, разблокируйте, пожалуйста, срочно.\n"
    + "Подробности: " + "оплата не проходит. " * 60,
])
def test_customers_on_leave_asking_for_help_are_customers(gmail, config, body):
    raw = make_email(sender="Jan <jan@example.org>", subject="Zamówienie 1234", body=body)
    assert ticket_of(gmail, config, raw) is not None


# ------------------------------------------------------------------ quoted history, forwards, footers

OUTLOOK_BOLD_PL = ("Dziękuję, działa.\n\n*Od:* Anna Kowalska <anna@example.com>\n"
                   "*Wysłano:* poniedziałek, 23 listopada 2026 10:05\n*Do:* Jan\n*Temat:* Zamówienie\n\nstara treść")
OUTLOOK_BOLD_RU = ("Спасибо, работает.\n\n*От:*Анна <anna@example.com>\n*Отправлено:* 23 ноября 2026 г. 10:05\n"
                   "*Кому:* Ян\n*Тема:* Заказ\n\nстарый текст")


@pytest.mark.parametrize("body, own", [
    (OUTLOOK_BOLD_PL, "Dziękuję, działa."),
    (OUTLOOK_BOLD_RU, "Спасибо, работает."),
    ("Посмотрите, пожалуйста.\n\nНачало переадресованного сообщения:\n\n*От:* Магазин <shop@example.com>\n"
     "*Тема:* Заказ отменён\n\nВаш заказ отменён", "Посмотрите, пожалуйста."),
    ("Proszę spojrzeć.\n\nPoczątek przekazywanej wiadomości:\n\nOd: Sklep <shop@example.com>\nTemat: Anulowane\n\n"
     "Zamówienie anulowane", "Proszę spojrzeć."),
])
def test_outlook_bold_headers_and_apple_forwards_are_not_the_customers_words(gmail, config, body, own):
    """Outlook's HTML header block converted to text ("*Od:* …") and Apple Mail's "Начало переадресованного
    сообщения:" kept the quoted or forwarded mail as the customer's question."""
    ticket = ticket_of(gmail, config, make_email(subject="Zamówienie", body=body))
    assert ticket.messages[0].text == own


@pytest.mark.parametrize("body", [
    "Strona sklepu.\nOd: wczoraj nie działa logowanie, błąd 500.\nProszę o pomoc.",
    "Сайт магазина.\nОт: вчерашнего дня не работает вход, ошибка 500.\nПомогите, пожалуйста.",
    "Our shop.\nFrom: Monday on, the checkout fails.\nPlease help."])
def test_a_customers_own_from_line_is_not_a_quoted_header(gmail, config, body):
    """"Od: wczoraj…" ("since: yesterday") ended the customer's text as if Outlook's header block began."""
    assert ticket_of(gmail, config, make_email(body=body)).messages[0].text == body


def test_an_outlook_header_block_without_an_address_still_ends_the_text(gmail, config):
    body = "Dziękuję, działa.\n\n*Od:* Anna Kowalska\n*Wysłano:* poniedziałek, 23 listopada 2026 10:05\n" \
           "*Do:* Jan\n\nstara treść"
    assert ticket_of(gmail, config, make_email(body=body)).messages[0].text == "Dziękuję, działa."


def test_forwarded_without_a_comment_apple_style_keeps_the_forwarded_text(gmail, config):
    body = "Początek przekazywanej wiadomości:\n\n*Od:* Sklep <shop@example.com>\n*Temat:* Anulowane\n\nZamówienie anulowane"
    assert ticket_of(gmail, config, make_email(body=body)).messages[0].text == "Zamówienie anulowane"


@pytest.mark.parametrize("footer", ["Wysłano z iPhone'a", "Wysłane z aplikacji Poczta w systemie Windows",
                                    "Отправлено из мобильной Почты Mail.ru", "Отправлено из Яндекс Почты"])
def test_mobile_client_footers_are_not_the_question(gmail, config, footer):
    ticket = ticket_of(gmail, config, make_email(body=f"Nie działa logowanie.\n\n{footer}"))
    assert ticket.messages[0].text == "Nie działa logowanie."


@pytest.mark.parametrize("body", ["Zamówienie 1234.\nWysłane z Warszawy w poniedziałek, do dziś nie dotarło.",
                                  "Заказ 1234.\nОтправлено с опозданием на неделю, и курьер не звонил."])
def test_a_customers_own_sent_from_sentence_stays(gmail, config, body):
    """"Wysłane z …" / "Отправлено с …" cut everything after them, also a customer's own sentence."""
    assert ticket_of(gmail, config, make_email(body=body)).messages[0].text == body


# ------------------------------------------------------------------ the question the knowledge base reads

@pytest.mark.parametrize("body, question", [
    ("Dzień dobry,\nnie działa logowanie.\n\nPozdrawiam\nJan Kowalski\ntel. 600 100 200", "nie działa logowanie."),
    ("Nie działa logowanie.\n\nZ poważaniem,\nJan Kowalski", "Nie działa logowanie."),
    ("Здравствуйте!\nНе работает вход.\n\nС уважением,\nИван Петров\n+7 900 000-00-00", "Не работает вход."),
    ("Не работает вход.\n\nСпасибо,\nИван", "Не работает вход."),
    ("Спасибо, вход заработал, но не приходят письма.", "Спасибо, вход заработал, но не приходят письма."),
])
def test_sign_offs_are_not_part_of_the_question(gmail, config, body, question):
    ticket = ticket_of(gmail, config, make_email(subject="Logowanie", body=body))
    assert ticket.question == f"Logowanie\n{question}"
    assert ticket.messages[0].text.startswith(body.split("\n")[0])  # the message keeps its sign-off for agents


@pytest.mark.parametrize("sender, body, question", [
    ("Jane Baker <jane@acme.example>", "Export fails with error 500.\n\nJane Baker\nCTO, Acme Inc.\n+1 555 0100",
     "Export fails with error 500."),
    ("Jane Baker <jane@acme.example>", "Export fails with error 500.\n— Jane", "Export fails with error 500."),
    ("Kowalska Anna <anna@example.pl>", "Nie działa eksport.\nAnna Kowalska\nKsięgowa", "Nie działa eksport."),
    ("Jane Baker <jane@acme.example>", "Export fails.\nJane Baker said to write to you.",  # a sentence, not a name
     "Export fails.\nJane Baker said to write to you."),
    ("Bob <bob@example.org>", "Export fails.\nJane Baker\nCTO", "Export fails.\nJane Baker\nCTO"),  # not the writer
])
def test_a_signature_without_a_sign_off_that_opens_with_the_writers_name_is_not_the_question(gmail, config, sender,
                                                                                               body, question):
    """"Jane Baker / CTO, Acme Inc." under the question went into the knowledge base's query and kb gaps' groups."""
    ticket = ticket_of(gmail, config, make_email(sender=sender, subject="Export", body=body))
    assert ticket.question == f"Export\n{question}"


@pytest.mark.parametrize("body, question", [
    ("Здравствуйте, Анна!\nНе работает вход.", "Не работает вход."),
    ("Добрый день, уважаемая служба поддержки!\nНе работает вход.", "Не работает вход."),
    ("Доброго времени суток!\nНе работает вход.", "Не работает вход."),
    ("Dzień dobry, Panie Janie, nie działa logowanie.", "nie działa logowanie."),
    ("Witam serdecznie,\nnie działa logowanie.", "nie działa logowanie."),
    ("Dzień dobry Pani Anno,\nnie działa logowanie.", "nie działa logowanie."),
    ("Здравствуйте, Заказ 123 не пришёл.", "Заказ 123 не пришёл."),  # no addressee: the question stays whole
])
def test_greetings_and_their_addressee_are_not_part_of_the_question(gmail, config, body, question):
    ticket = ticket_of(gmail, config, make_email(subject="Logowanie", body=body))
    assert ticket.question == f"Logowanie\n{question}"


@pytest.mark.parametrize("body, question", [
    ("Imię: Jan\nAdres e-mail: jan@example.pl\nNumer telefonu: 600 100 200\nWiadomość: Nie działa logowanie.",
     "Nie działa logowanie."),
    ("Imię i nazwisko: Jan Kowalski\nE-mail: jan@example.pl\nTreść wiadomości: Nie działa logowanie.",
     "Nie działa logowanie."),
    ("Ваше имя: Иван\nВаш e-mail: ivan@example.ru\nВаш телефон: +7 900 000-00-00\nТекст сообщения: Не работает вход.",
     "Не работает вход."),
    ("Имя и фамилия: Иван Петров\nКонтактный телефон: +7 900\nТема обращения: Вход\nВопрос: Не работает вход.",
     "Не работает вход."),
])
def test_russian_and_polish_web_form_labels_are_not_the_question(gmail, config, body, question):
    ticket = ticket_of(gmail, config, make_email(subject="Formularz", body=body))
    assert ticket.question == f"Formularz\n{question}"


# ------------------------------------------------------------------ language

@pytest.mark.parametrize("sender, body, language", [
    ("Анна Петрова <anna@example.org>", "", "ru"),
    ("Łukasz <lukasz@example.com>", "", "pl"),
    ("Jan <jan@example.pl>", "", "pl"),
    ("X <x@example.ru>", "?", "ru"),
    ("Jan Kowalski <jan@example.com>", "ok", "pl"),
    ("Jane Customer <jane@example.org>", "", "en"),
    ("Anna <anna@example.pl>", "Where is my order?", "en"),  # their words decide when there are any
])
def test_language_of_a_near_empty_message_comes_from_the_sender(gmail, config, sender, body, language):
    """An empty message (a photo, "?") from "Анна" or a .pl address was acknowledged in English."""
    ticket = ticket_of(gmail, config, make_email(sender=sender, subject="", body=body))
    assert ticket.language == language


# ------------------------------------------------------------------ the acknowledgement

@pytest.mark.parametrize("subject", ["Odp: Zamówienie 1234", "ODP: Zamówienie", "Отв: Заказ 1234", "Ответ: Заказ",
                                     "RE: AW: Order 1234", "Re[2]: Заказ", "Re: Odp: Zamówienie"])
def test_acknowledgement_subject_does_not_stack_reply_prefixes(gmail, config, subject):
    """"Odp: Zamówienie" was answered as "Re: Odp: Zamówienie"."""
    ticket = ticket_of(gmail, config, make_email(subject=subject, body="Proszę o pomoc."))
    assert ticket.reply_subject == subject


@pytest.mark.parametrize("subject", ["Zamówienie 1234", "Fwd: Заказ 1234", "PD: Zamówienie"])
def test_acknowledgement_subject_of_a_new_or_forwarded_request_is_a_reply(gmail, config, subject):
    ticket = ticket_of(gmail, config, make_email(subject=subject, body="Proszę o pomoc."))
    assert ticket.reply_subject == f"Re: {subject}"


@pytest.mark.parametrize("sender, subject, body, greeting", [
    ("Kowalska Anna <anna@example.org>", "Zamówienie 1234", "Nie dotarła paczka.", "Dzień dobry, Anna,"),
    ("Иванова Мария <maria@example.org>", "Заказ 1234", "Не пришёл заказ.", "Здравствуйте, Мария!"),
    ("Иванова Мария Петровна <maria@example.org>", "Заказ 1234", "Не пришёл заказ.", "Здравствуйте, Мария!"),
    ("ООО Ромашка <office@example.org>", "Счёт 1234", "Пришлите, пожалуйста, счёт.", "Здравствуйте!"),
    ('"Sklep XYZ sp. z o.o." <biuro@example.org>', "Faktura 1234", "Proszę o fakturę.", "Dzień dobry,"),
    ("P.H.U. Kowalski <biuro@example.org>", "Faktura 1234", "Proszę o fakturę.", "Dzień dobry,"),
])
def test_acknowledgement_greets_the_given_name_and_never_a_company(tmp_path, sender, subject, body, greeting):
    """"Kowalska Anna" was greeted "Dzień dobry, Kowalska,", "ООО Ромашка" "Здравствуйте, ООО!"."""
    from .test_autoreply import acks, setup

    local, host, feed = setup(tmp_path)
    deliver(local.gmail(), make_email(sender=sender, subject=subject, body=body))
    feed.sync()
    (ack,) = acks(local)
    assert ack.get_content().splitlines()[0] == greeting


def test_latin_names_keep_their_first_word():
    from plugin_host.people import safe_first_name

    assert [safe_first_name(n) for n in ("Eva Green", "Anna Kowalska", "Ivanova Mariya", "Ирина Иванова")] == \
        ["Eva", "Anna", "Mariya", "Ирина"]


@pytest.mark.parametrize("text", ["Не могу войти в аккаунт", "Хочу вернуть товар", "Я в отпуске, а заказ ждёт до 1 декабря"])
def test_russian_without_russian_only_letters_is_not_ukrainian(text):
    """py3langid took these for Ukrainian, and Russian customers were acknowledged in English."""
    from plugin_host.language import detect_language

    assert detect_language(text) == "ru"


@pytest.mark.parametrize("text", ["Як оплатити замовлення", "Чи можна повернути товар", "Не можу увійти до кабінету",
                                  "Дякую"])
def test_ukrainian_stays_ukrainian(text):
    from plugin_host.language import detect_language

    assert detect_language(text) == "uk"


@pytest.mark.parametrize("text, language", [
    ("Privet, ne mogu zaiti v lichnyi kabinet, pishet oshibka", "ru"),
    ("Zdravstvuyte, gde moi zakaz?", "ru"),
    ("Dobryi den, kak vernut dengi", "ru"),
    ("Kogda budet dostavka?", "ru"),
    ("Gdzie jest moja paczka", "pl"),
    ("Nie dziala aplikacja, prosze o pomoc", "pl"),
    ("Do you have it in v2?", "en"),
])
def test_russian_typed_in_latin_letters_is_russian(text, language):
    """"Privet, ne mogu zaiti…" was taken for French and acknowledged in English."""
    from plugin_host.language import detect_language

    assert detect_language(text) == language


def acknowledgement_of(tmp_path, plugins: dict, asked, subject: str, body: str):
    """The acknowledgement a customer's message received at ``asked`` gets, with these ``[plugins]``."""
    from plugin_host.mailbox import LocalMailbox
    from plugin_host.runtime import build_host
    from plugin_host.sync import ChangeFeed

    from .test_autoreply import acks

    # the first sync reads the mailbox's last full_sync_days by the real clock: a past holiday must be in it
    data = {"mailbox": {"address": "support@example.com", "full_sync_days": 3650}, "plugins": plugins,
            "host": {"state_dir": str(tmp_path / "state")}}
    config = load_config(tmp_path / "x.toml", data=data, environ={})
    local = LocalMailbox()
    host = build_host(config, http=local.http, now=lambda: asked)
    host.client.sleep = lambda s: None
    ref = deliver(local.gmail(), make_email(subject=subject, body=body, date=asked))
    local.mailbox.messages[ref["id"]].internal_date = int(asked.timestamp() * 1000)
    ChangeFeed(host).sync()
    [ack] = acks(local)
    return ack.get_content()


NOVEMBER_11 = ("PL", "2026-11-11T11:00:00+00:00", "Zamówienie 1234", "Dzień dobry, nie dotarła paczka. Proszę o pomoc.",
               "(Narodowe Święto Niepodległości)")
NOVEMBER_4 = ("RU", "2026-11-04T09:00:00+00:00", "Заказ 1234", "Здравствуйте, не пришёл заказ. Помогите, пожалуйста.",
              "(День народного единства)")


@pytest.mark.parametrize("country, asked, subject, body, named", [NOVEMBER_11, NOVEMBER_4])
@pytest.mark.parametrize("calendar", ["autoreply", "sla"])
def test_holiday_is_named_in_the_customers_language(tmp_path, calendar, country, asked, subject, body, named):
    """A Polish acknowledgement said "poza godzinami pracy (National Independence Day)"."""
    from datetime import datetime

    hours = {"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw", "holidays": country}
    plugins = {"enabled": ["autoreply"], "autoreply": hours} if calendar == "autoreply" else \
        {"enabled": ["autoreply", "sla"], "autoreply": {"hours": "24/7"}, "sla": hours}
    text = acknowledgement_of(tmp_path, plugins, datetime.fromisoformat(asked), subject, body)
    assert named in text


def test_an_english_customer_still_reads_the_english_holiday_name(tmp_path):
    from datetime import datetime

    plugins = {"enabled": ["autoreply"], "autoreply": {"hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Warsaw",
                                                       "holidays": "PL"}}
    text = acknowledgement_of(tmp_path, plugins, datetime.fromisoformat(NOVEMBER_11[1]), "Order 1234",
                              "Hello, my parcel has not arrived. Can you help me?")
    assert "(National Independence Day)" in text


def test_thanks_before_another_question_is_no_sign_off(gmail, config):
    """"Спасибо!" on its own line above a second question cut that question from the knowledge-base search."""
    body = "Вход работает.\nСпасибо!\nЕщё вопрос: как сменить пароль в приложении?"
    ticket = ticket_of(gmail, config, make_email(subject="Вход", body=body))
    assert ticket.question == f"Вход\n{body}"


@pytest.mark.parametrize("text, rest", [("Dear Support Team,\nHelp", "Help"), ("Здравствуйте,\nПомогите!", "Помогите!"),
                                        ("Dzień dobry,\nPomocy!", "Pomocy!")])
def test_a_one_word_question_under_a_greeting_is_no_addressee(text, rest):
    from plugin_host.text import strip_greeting

    assert strip_greeting(text) == rest


@pytest.mark.parametrize("body, question", [
    ("Dzien dobry Panie Janie,\nnie dziala logowanie.\n\nZ powazaniem,\nJan Kowalski", "nie dziala logowanie."),
    ("Czesc,\nnie dziala logowanie.\n\nDziekuje,\nJan", "nie dziala logowanie."),
    ("Zdravstvuyte,\nne rabotaet vhod.\n\nS uvazheniem,\nIvan", "ne rabotaet vhod."),
])
def test_greetings_and_sign_offs_typed_without_diacritics_or_in_latin_letters(gmail, config, body, question):
    """"Dzien dobry," and "Z powazaniem" (Polish without its marks) stayed in the knowledge-base question."""
    ticket = ticket_of(gmail, config, make_email(subject="Logowanie", body=body))
    assert ticket.question == f"Logowanie\n{question}"


@pytest.mark.parametrize("sender, body", [
    # one word of the writer's name that is also a word of the request, on a line of its own
    ("Bill Jones <bill@example.org>", "The amount is wrong on this:\nBill\n#4471 from March\nrefund the difference please"),
    ("Acme Orders <orders@acme.example>", "These did not arrive:\nOrders\n1234 and 1235\nplease send them again"),
    ("May Lee <may@example.org>", "Our invoice is wrong.\nMay\nand June were charged twice"),
    ("J. R. Smith <jr@example.org>", "Options we tried:\nA\nB\nR\nnone of them exports the report"),
])
def test_a_line_that_is_one_word_of_the_writers_name_drops_no_request_below_it(gmail, config, sender, body):
    """A single word of the name opened a "signature" wherever it stood alone, and every short line under it went
    with it: the refund, the missing orders, the second month. Only the whole name opens a signature; one word
    of it ("— Jane") is a signature only as the last line."""
    ticket = ticket_of(gmail, config, make_email(sender=sender, subject="Export", body=body))
    assert ticket.question == f"Export\n{body}"


@pytest.mark.parametrize("name, text, kept", [
    ("Jane Baker", "Export fails.\nJane Baker, +1 555 0100", "Export fails."),  # a phone beside the name
    ("Agnieszka Wiśniewska", "Nie działa eksport.\nAgnieszka Wisniewska\nKsięgowa", "Nie działa eksport."),  # typed
    ("", "My order number is below.\n1234-5678\n--\nplease check it", None),  # no name: no line is its name
    ("J. R. Smith", "Which of these can export?\nA\nB\nR", None),  # an initial is no signature
])
def test_the_writers_name_is_matched_as_letters(name, text, kept):
    from plugin_host.text import strip_sign_off

    assert strip_sign_off(text, name=name) == (text if kept is None else kept)
