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
