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


@pytest.mark.parametrize("text, language", [
    ("Η παραγγελία μου δεν έχει φτάσει ακόμα", "el"),  # the stop words took it for German
    ("لم يصل طلبي بعد، هل يمكنك المساعدة؟", "ar"),
    ("ההזמנה שלי עוד לא הגיעה", "he"),
    ("我的订单还没有到，请帮我查一下", "zh"),
    ("注文がまだ届いていません", "ja"),
    ("주문이 아직 도착하지 않았습니다", "ko"),
])
def test_text_in_another_script_is_not_taken_for_english_or_german(text, language):
    assert detect_language(text) == language


def test_a_few_foreign_characters_leave_an_english_text_english():
    assert detect_language("Hello, my order 注文 has not arrived yet") == "en"



def test_a_greek_customer_is_not_acknowledged_in_german(tmp_path):
    """With an admin's German templates, Greek mail (taken for German by its stop words) was answered in German."""
    import shutil

    from plugins.autoreply.templates import SHIPPED

    from .conftest import deliver, make_email
    from .test_autoreply import acks, setup

    shutil.copytree(SHIPPED / "en", tmp_path / "templates" / "de")
    (tmp_path / "templates" / "de" / "acknowledgement.txt.j2").write_text("Guten Tag! Wir melden uns.\n")
    local, host, feed = setup(tmp_path, {"templates_dir": str(tmp_path / "templates")})
    deliver(local.gmail(), make_email(sender="Nikos <nikos@example.gr>", subject="Παραγγελία",
                                      body="Η παραγγελία μου δεν έχει φτάσει ακόμα. Πού είναι;"))
    feed.sync()
    (ack,) = acks(local)
    assert "Guten Tag" not in ack.get_content()


@pytest.mark.parametrize("text, language", [
    ("パスワードのリセット\nパスワードをリセットできません。助けてください。", "ja"),
    ("API キーをリセットしたい、Slack 連携が動きません", "ja"),  # product names in Latin letters
    ("Hello, my order has not arrived yet. 山田 太郎", "en"),  # a name in another script
])
def test_mixed_scripts_go_by_most_letters(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text, language", [
    ("Hello, my order from Γιώργος Παπαδόπουλος is late, where is it?", "en"),  # a Greek name in English
    ("Zamówienie od Γιώργος Παπαδόπουλος nie dotarło, gdzie jest?", "pl"),  # ó, ł and ż are Latin letters
    ("my parcel to Санкт-Петербург", "en"),  # Cyrillic is no other script: its own rules apply
    ("zamówienie do Санкт-Петербург", "pl"),
    ("abcd αβγδ", "en"),  # half is not most
])
def test_only_a_text_mostly_in_another_script_goes_to_the_model_alone(text, language):
    """Most of all letters, not of the non-ASCII ones, decide; Latin and Cyrillic letters are not 'other'."""
    assert detect_language(text) == language


def test_a_pasted_log_does_not_decide_the_language():
    """An English request with a log pasted below it: every ISO 8601 timestamp ends in "Z" (and hex ids hold
    lone letters), which read as the Polish stop word "z" answered Kenji in Polish."""
    log = "".join(f"2026-12-07T06:{i % 60:02d}:00Z ERROR sync worker-{i % 8}: upstream timeout after 30000 ms "
                  f"(request id {i:08x})\n" for i in range(300))
    text = ("Sync keeps timing out - full log below\nHi, our nightly sync has been failing since Saturday. "
            "Full log below; could you check your side?\n\nKenji\n\n" + log)
    assert detect_language(text) == "en"


def test_letters_glued_to_digits_are_no_words():
    assert detect_language("Zamówienie nr 123 nie dotarło, 2026-12-07T10:00Z") == "pl"
    assert detect_language("Заказ 4471 не пришёл, трек RU123456789Z") == "ru"
