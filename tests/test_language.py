"""Language detection of customers' short texts."""
import pytest

from plugin_host.language import detect_language


@pytest.mark.parametrize("text, language", [
    ("Ile idzie paczka do Gdanska?", "pl"),  # only "do", a stop word in English and Polish
    ("Kiedy dojdzie moja paczka", "pl"),
    ("nie moge sie zalogowac do konta", "pl"),
    ("Do you ship to Gdansk?", "en"),
    ("Where is my order", "en"),
    ("Не работает интернет", "ru"),
    ("Refund", "en"),  # nothing to go on: the default
    ("Ile lat gwarancji ma ten laptop Lenovo?", "pl"),  # "ma" alone is a French stop word
    ("wykorzystalem tylko czesc bonu, reszte moge wydac pozniej?", "pl"),  # no stop word, no Polish letter
    ("Card payment declined twice", "en"),
    ("Wrong exchange rate applied", "en"),
    # "la" and "de" are French and Spanish stop words alike: the tie is the character model's to break
    ("La factura de la tienda", "es"),
    ("La tarjeta de regalo", "es"),
    ("La cuenta de usuario bloqueada", "es"),
])
def test_short_texts(text, language):
    assert detect_language(text) == language


def test_nothing_to_go_on_keeps_the_default():
    assert detect_language("Gdansk Warszawa", default="pl") == "pl"
    assert detect_language("", default="ru") == "ru"


def test_polish_typed_without_diacritics():
    assert detect_language("Dziekuje, prosze sprawdzic status") == "pl"  # "dziękuję", "proszę" typed plainly
