"""Review of today's customer-text rules (Russian and Polish clients): the customer's own words they must keep."""
from __future__ import annotations

import email
import email.policy

import pytest

from plugin_host.text import customer_text, strip_quoted, strip_sign_off, unflow


@pytest.mark.parametrize("name, text, kept", [
    ("Иван Петров", "Не приходит код.\nСпасибо!\nP.S. номер заказа 48213, оплачен картой\nС уважением,\nИван Петров",
     "Не приходит код.\nСпасибо!\nP.S. номер заказа 48213, оплачен картой"),
    ("Jan Kowalski", "Nie mogę się zalogować.\nDziękuję\nPS. Mój login to jan123\nPozdrawiam\nJan",
     "Nie mogę się zalogować.\nDziękuję\nPS. Mój login to jan123"),
])
def test_a_thanks_line_above_more_of_the_request_does_not_open_the_signature(name, text, kept):
    """The signature was cut at its highest sign-off line even with the customer's words between: a "Спасибо!" above
    a postscript took the postscript out of the question."""
    assert strip_sign_off(text, name=name) == kept


@pytest.mark.parametrize("name, text", [
    ("Иван Петров", "Не приходит код.\n\nСпасибо!\nС уважением,\nИван Петров\nООО «Ромашка»"),
    ("Jan Kowalski", "Nie mogę się zalogować.\nDziękuję\n\nPozdrawiam\nJan"),
])
def test_sign_offs_one_above_the_other_still_go_together(name, text):
    assert strip_sign_off(text, name=name) == text.split("\n")[0]
@pytest.mark.parametrize("own", [
    "Wiadomość napisana przez waszego konsultanta 5.12.2026 brzmiała tak:",  # not Apple Mail's "w dniu …, o godz."
    "Wiadomość napisana przez waszego konsultanta 5.12.2026 o 10:30:",  # a day and a time, but no "w dniu"
    "7.12.2026 в 10:00 пришло письмо от noreply@shop.example:",  # not Mail.ru's "10:00 +03:00 от …:"
    "Вчера, 7 декабря 2026 в 10:00, мне ответил оператор от support@example.com:",
])
def test_a_customers_sentence_like_an_attribution_is_kept(own):
    """The new Apple Mail (Polish) and Mail.ru attributions matched a customer's own sentence with a date and a
    colon, and the sentence with all below it was cut as quoted history."""
    text = f"Dzień dobry / Здравствуйте.\n{own}\n«Ваш заказ отменён»\nПочему?"
    assert strip_quoted(text) == text


def plain(body: str, content_type: str = "text/plain; charset=utf-8") -> email.message.Message:
    raw = f"From: a@example.com\r\nTo: support@example.com\r\nSubject: x\r\nContent-Type: {content_type}\r\n" \
          "Content-Transfer-Encoding: 8bit\r\n\r\n" + body.replace("\n", "\r\n")
    return email.message_from_bytes(raw.encode("utf-8"), policy=email.policy.default)


# ------------------------------------------------------------------ format=flowed (RFC 3676)

def test_a_quoted_line_is_never_joined_to_a_soft_line_above_it():
    assert unflow("my words \n> quoted\nmore") == "my words \n> quoted\nmore"


def test_a_quoted_line_ending_in_a_space_does_not_join_the_next_line():
    assert unflow("> quoted \nmine") == "> quoted \nmine"


def test_the_signature_separator_is_not_a_soft_break():
    """"-- " ends in a space but is a fixed line (RFC 3676 4.3): the name below it is no part of the separator."""
    assert unflow("Thanks\n-- \nJan Kowalski") == "Thanks\n-- \nJan Kowalski"


def test_delsp_takes_the_space_of_a_soft_break_out():
    assert unflow("Zam\u00f3wie \nnie 1234", delsp=True) == "Zam\u00f3wienie 1234"
    assert unflow("one \ntwo") == "one two"


def test_text_that_is_not_flowed_keeps_its_lines_however_they_end():
    """A line ending in a space in fixed text (most clients) is a line of its own: only format=flowed is joined."""
    msg = plain("Order 1234 \nhas not come.\n")
    assert customer_text(msg) == "Order 1234\nhas not come."


def test_flowed_text_with_delsp_is_joined_without_the_stuffed_space():
    msg = plain("Zam\u00f3wie \nnie 1234 nie dotar\u0142o.\n", "text/plain; charset=utf-8; format=flowed; delsp=yes")
    assert customer_text(msg) == "Zam\u00f3wienie 1234 nie dotar\u0142o."


# ------------------------------------------------------------------ sign-off phrases added today

@pytest.mark.parametrize("sign_off", ["Благодарю заранее!", "Have a nice day,", "Thanks and have a great day!"])
def test_more_sign_off_phrases_are_not_the_question(sign_off):
    assert strip_sign_off(f"Where is my order?\n{sign_off}\nAnna") == "Where is my order?"


# ------------------------------------------------------------------ initials and plain letters

@pytest.mark.parametrize("display_name", ["Смирнова О.С", "Kowalska A", "Petrov I. I"])
def test_an_initial_written_without_its_last_full_stop_is_still_no_given_name(display_name):
    from plugin_host.people import safe_first_name

    assert safe_first_name(display_name) == ""


def test_an_initial_followed_by_punctuation_is_still_an_initial():
    from plugin_host.people import given_name

    assert given_name(["Иванов", "И.И.,"]) == ""
    assert given_name(["Kowalska", "A.;"]) == ""


def test_capital_letters_with_a_stroke_lose_it_like_the_small_ones():
    from plugin_host.language import unmark
    from plugin_host.text import plain_letters

    assert plain_letters("ŁØĐ łøđ") == "LOD lod"
    assert unmark("Øre") == "Ore"
