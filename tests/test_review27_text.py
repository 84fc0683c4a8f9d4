"""Review of today's customer-text rules (Russian and Polish clients): the customer's own words they must keep."""
from __future__ import annotations

import pytest

from plugin_host.text import strip_quoted, strip_sign_off


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
    "7.12.2026 в 10:00 пришло письмо от noreply@shop.example:",  # not Mail.ru's "10:00 +03:00 от …:"
    "Вчера, 7 декабря 2026 в 10:00, мне ответил оператор от support@example.com:",
])
def test_a_customers_sentence_like_an_attribution_is_kept(own):
    """The new Apple Mail (Polish) and Mail.ru attributions matched a customer's own sentence with a date and a
    colon, and the sentence with all below it was cut as quoted history."""
    text = f"Dzień dobry / Здравствуйте.\n{own}\n«Ваш заказ отменён»\nПочему?"
    assert strip_quoted(text) == text
