"""Raw mail as Russian and Polish customers' clients write it (Gmail, Yandex, Mail.ru, Outlook, Thunderbird,
Apple Mail, WP/Onet/Interia): MIME structure, legacy charsets, transfer encodings, quoting and sign-offs."""
from __future__ import annotations

import base64
import quopri

import pytest

from . import test_ru_pl_mail
from .conftest import deliver

config = test_ru_pl_mail.config  # the fixture: a support mailbox's configuration
ticket_of = test_ru_pl_mail.ticket_of


def encoded_word(text: str, charset: str = "utf-8") -> str:
    """``text`` as one RFC 2047 B encoded word, as Gmail, Yandex and Mail.ru write names and subjects."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def heading(sender: str, subject: str, message_id: str) -> str:
    return (f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0300\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n")


def transfer(text: str, charset: str, encoding: str) -> str:
    data = text.replace("\n", "\r\n").encode(charset)
    return base64.encodebytes(data).decode() if encoding == "base64" else quopri.encodestring(data).decode()


def alternative(sender: str, subject: str, plain: str, html: str = "<div>(html)</div>", charset: str = "utf-8",
                encoding: str = "base64", message_id: str = "<1@client.example>") -> bytes:
    """multipart/alternative as Gmail (UTF-8, base64) or Outlook (windows-1251/iso-8859-2, quoted-printable) send."""
    parts = "".join(f'--000000000000b0undary\r\nContent-Type: text/{kind}; charset="{charset}"\r\n'
                    f"Content-Transfer-Encoding: {encoding}\r\n\r\n{transfer(body, charset, encoding)}\r\n"
                    for kind, body in (("plain", plain), ("html", html)))
    return (heading(sender, subject, message_id) + 'Content-Type: multipart/alternative; boundary="000000000000b0undary"'
            "\r\n\r\n" + parts + "--000000000000b0undary--\r\n").encode("ascii")


def single_part(sender: str, subject: str, body: str, content_type: str = "text/plain", charset: str = "utf-8",
                encoding: str = "base64", message_id: str = "<2@client.example>") -> bytes:
    head = heading(sender, subject, message_id) + f'Content-Type: {content_type}; charset="{charset}"\r\n' \
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    if encoding == "8bit":
        return head.encode("ascii") + body.replace("\n", "\r\n").encode(charset)
    return (head + transfer(body, charset, encoding)).encode("ascii")


QUOTED_RU = "> Здравствуйте, Иван!\n>\n> Мы получили ваш запрос.\n"
QUOTED_PL = "> Dzień dobry, Janie,\n>\n> otrzymaliśmy Twoje zgłoszenie.\n"


# ------------------------------------------------------------------ sign-offs above the writer's own name

@pytest.mark.parametrize("sender, body, question", [
    # Gmail in Polish: "Pozdrawiam" and the first name, then Gmail's attribution and the quote
    (f"{encoded_word('Jan Kowalski')} <jan.kowalski@gmail.com>",
     "Dzień dobry,\n\nnadal nie dostałem numeru przesyłki.\n\nPozdrawiam\nJan\n\n"
     "W dniu pon., 7 gru 2026 o 10:00 Anna Kowalska <support@example.com> napisał(a):\n\n" + QUOTED_PL,
     "nadal nie dostałem numeru przesyłki."),
    # Outlook in Russian, surname first, a company line and a phone under the name
    (f"{encoded_word('Петров Иван', 'windows-1251')} <i.petrov@company.example>",
     "Добрый день!\n\nСчёт так и не пришёл.\n\nС уважением,\nПетров Иван\nООО «Ромашка»\nтел. +7 495 000-00-00\n\n"
     "От: Служба поддержки <support@example.com>\nОтправлено: 7 декабря 2026 г. 10:00\nКому: Петров Иван\n"
     "Тема: Заказ 1234\n\nЗдравствуйте, Иван!\n",
     "Счёт так и не пришёл."),
    (f"{encoded_word('Jan Kowalski')} <jan@firma.example>", "Faktura nadal nie dotarła.\n\nZ poważaniem\nJan Kowalski",
     "Faktura nadal nie dotarła."),
    (f"{encoded_word('Иван Петров')} <ivan@yandex.example>", "Когда придёт заказ?\n\nСпасибо заранее,\nИван",
     "Когда придёт заказ?"),
], ids=["gmail-pl", "outlook-ru", "z-powazaniem", "spasibo-zaranee"])
def test_a_sign_off_above_the_writers_name_is_not_the_question(gmail, config, sender, body, question):
    """The writer's name under "Pozdrawiam" / "С уважением," was taken for the whole signature: the sign-off above
    it stayed in the question the knowledge base searched ("…przesyłki.\\n\\nPozdrawiam")."""
    raw = alternative(sender, encoded_word("Re: Zamówienie 1234"), body)
    assert ticket_of(gmail, config, raw).question == f"Zamówienie 1234\n{question}"


@pytest.mark.parametrize("name, text", [
    ("Łukasz Wiśniewski", "Nie działa eksport.\nLukasz Wisniewski\nKsięgowość"),  # the name typed without its marks
    ("Łucja Żak", "Nie działa eksport.\n\nŁucja Zak"),
])
def test_a_capital_l_with_stroke_is_matched_as_its_plain_letter(name, text):
    """"Ł" (capital) kept its stroke in the diacritic-free form the signature is matched on, while "ł" lost it:
    "Łukasz Wiśniewski" signing "Lukasz Wisniewski" kept his signature in the question."""
    from plugin_host.text import strip_sign_off

    assert strip_sign_off(text, name=name) == "Nie działa eksport."


@pytest.mark.parametrize("sign_off", ["Dziękuję i pozdrawiam", "Dziękuję, pozdrawiam", "Z góry dziękuję i pozdrawiam",
                                      "Łączę pozdrowienia", "Serdeczne pozdrowienia", "Спасибо, с уважением,",
                                      "Заранее благодарю. С уважением,", "Спасибо и хорошего дня!"])
def test_sign_offs_of_two_phrases_are_not_the_question(gmail, config, sign_off):
    """WP Poczta's customer signing "Dziękuję i pozdrawiam\\nŁukasz" had "Dziękuję i pozdrawiam" searched as part
    of the question: only single phrases ("Pozdrawiam", "Dziękuję") were known sign-offs."""
    sender = "=?iso-8859-2?Q?=A3ukasz_Wi=B6niewski?= <lukasz@wp.example>"
    body = f"Witam\nkiedy dostanę zwrot pieniędzy?\n{sign_off}\nŁukasz\n\n" \
           "Dnia 7 grudnia 2026 10:00 Anna Kowalska <support@example.com> napisał(a):\n\n" + QUOTED_PL
    raw = single_part(sender, "=?iso-8859-2?Q?Re:_Zwrot?=", body, encoding="quoted-printable")
    assert ticket_of(gmail, config, raw).question == "Zwrot\nkiedy dostanę zwrot pieniędzy?"


@pytest.mark.parametrize("name, greeting", [
    ("Смирнова О.С.", "Здравствуйте!"),  # Outlook/Exchange in Russian companies: surname and initials
    ("Иванов И. И.", "Здравствуйте!"),
    ("И.И. Иванов", "Здравствуйте!"),
    ("Kowalska A.", "Dzień dobry,"),
    ("J. Kowalski", "Dzień dobry,"),
    ("Иван П.", "Здравствуйте, Иван!"),  # a given name and the surname's initial
    ("Anna K.", "Dzień dobry, Anna,"),
])
def test_an_initial_is_never_greeted_as_a_first_name(tmp_path, name, greeting):
    """"Смирнова О.С." was acknowledged "Здравствуйте, Смирнова!" (her surname) and "J. Kowalski" "Dzień dobry, J,"."""
    from .test_autoreply import acks, setup

    local, host, feed = setup(tmp_path)
    question = "Не пришёл счёт по заказу 1234." if "Здравствуйте" in greeting else "Nie dotarła faktura do zamówienia."
    raw = alternative(f"{encoded_word(name, 'windows-1251' if 'Здравствуйте' in greeting else 'iso-8859-2')} "
                      "<client@company.example>", encoded_word("Заказ 1234"), question, charset="utf-8")
    deliver(local.gmail(), raw)
    feed.sync()
    (ack,) = acks(local)
    assert ack.get_content().splitlines()[0] == greeting


@pytest.mark.parametrize("footer", ["Получить Outlook для iOS", "Получить Outlook для Android", "Wysłane z iPada",
                                    "Отправлено с устройства Galaxy", "Wysłane z mojego smartfonu Galaxy",
                                    "Отправлено с iPhone", "Wysłane z iPhone'a"])
def test_russian_and_polish_mobile_footers_are_not_the_customers_words(gmail, config, footer):
    """Outlook mobile's Russian footer, iOS's Polish iPad one and Samsung's stayed in the customer's text."""
    raw = single_part(f"{encoded_word('Анна')} <anna@example.ru>", encoded_word("Заказ 1234"),
                      f"Где мой заказ?\n\n{footer}\n")
    assert ticket_of(gmail, config, raw).messages[0].text == "Где мой заказ?"


MAILRU_HTML = ('<HTML><BODY><div>Не пришёл трек-номер.</div><div>&nbsp;</div><blockquote style="border-left:1px solid '
               '#0857A6; margin:10px; padding:0 0 0 10px;">Понедельник, 7 декабря 2026, 10:00 +03:00 от '
               'support@example.com:<br><div class="js-helper js-readmsg-msg"><div>Здравствуйте, Иван! Мы получили ваш '
               'запрос «Заказ 1234».</div></div></blockquote></BODY></HTML>')


@pytest.mark.parametrize("body, content_type, own", [
    (MAILRU_HTML, "text/html", "Не пришёл трек-номер."),  # Mail.ru, the address it quotes has no name
    ("Nadal nie ma paczki.\n\nWiadomość napisana przez Anna Kowalska <support@example.com> w dniu 07.12.2026, "
     "o godz. 10:00:\n\n" + QUOTED_PL, "text/plain", "Nadal nie ma paczki."),  # Apple Mail in Polish
])
def test_mail_ru_and_polish_apple_mail_attributions_end_the_customers_words(gmail, config, body, content_type, own):
    """Mail.ru's "… 10:00 +03:00 от support@example.com:" (an address without a name) and Apple Mail's Polish
    "Wiadomość napisana przez … w dniu …, o godz. 10:00:" were not known as the start of quoted mail: the quote
    (without ">" in HTML-only mail) was read as the customer's question."""
    raw = single_part(f"{encoded_word('Иван Петров')} <ivan@mail.example>", encoded_word("Re: Заказ 1234"), body,
                      content_type=content_type)
    assert ticket_of(gmail, config, raw).messages[0].text == own


def test_a_thunderbird_attribution_wrapped_by_format_flowed_ends_the_customers_words(gmail, config):
    """Thunderbird sends format=flowed: a long "W dniu …, <name> pisze:" is wrapped at 72 columns with a trailing
    space (a soft break, RFC 3676), and both halves were kept as the customer's question."""
    body = ("Dzień dobry,\n\nnadal czekam na numer przesyłki, a minął już tydzień od opłacenia \nzamówienia.\n\n"
            "W dniu 7.12.2026 o 10:00, Dział Obsługi Klienta Example Sp. z o.o. \npisze:\n" + QUOTED_PL)
    raw = single_part(f"{encoded_word('Jan Kowalski')} <jan@example.pl>", encoded_word("Re: Zamówienie 1234"), body,
                      content_type="text/plain; format=flowed", encoding="8bit")
    assert ticket_of(gmail, config, raw).messages[0].text == \
        "Dzień dobry,\n\nnadal czekam na numer przesyłki, a minął już tydzień od opłacenia zamówienia."
