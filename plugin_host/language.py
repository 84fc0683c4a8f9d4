"""Language of a customer's text: script detection plus stop-word scores (en, ru, pl, uk, de, fr, es),
with py3langid's character n-gram model deciding the ties.

Short support emails defeat statistical detectors; stop words and letters specific to a language
decide them reliably and deterministically. When they do not — a tie ("Ile idzie paczka do Gdanska?":
only "do", a stop word in English and Polish), or at most one stop word in three words or more
("zapomnialem hasla do konta") — the statistical model picks among the languages in the running.
Cyrillic text without і, ї, є or ґ is Russian unless Ukrainian words outnumber Russian ones, and Russian typed
in Latin letters is recognised by its transliterated words. Text mostly in another script (Greek, Arabic, Hebrew,
Chinese, Japanese, Korean, Thai…) is left to the statistical model alone. Measured on 3,000 English and 480 Russian
and Polish customer questions (benchmarks/RESULTS.md).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOP_WORDS = {
    "en": "the and to of a i is in it you that for my on with have be not this are can your was me please "
          "hi hello thanks thank order help we do but how what when why from at an there any will would",
    "pl": "i w z na nie się to że do jest jak co mam mi po o ale czy dla już jest moje mój moja proszę "
          "dzień dobry witam dziękuję pozdrawiam zamówienie nie działa jeszcze tak od przez oraz też są "
          "mnie bardzo może można kiedy gdzie",
    "ru": "и в не на я что с как по это но у меня мой моя вы за из от к для все так же уже или да нет "
          "здравствуйте добрый день спасибо пожалуйста заказ работает когда где почему до о об мне мы они его "
          "если бы ещё можно нужно хочу могу вас нас",
    "uk": "і в не на я що з як по це але у мене мій моя ви за із від до для все так вже або так ні "
          "доброго дня дякую будь ласка замовлення працює коли де чому чи можна мені",
    "de": "und der die das ist nicht ich sie es mit zu ein eine ich mein meine bitte danke hallo bestellung "
          "funktioniert wann wo warum auf für",
    "fr": "le la les et est pas je vous il de un une mon ma mes merci bonjour commande fonctionne quand où "
          "pourquoi pour avec sur",
    "es": "el la los las y es no yo usted de un una mi mis gracias hola pedido funciona cuando donde por "
          "qué para con",
}
LETTERS = {"pl": set("ąćęłńóśźż"), "uk": set("іїєґ"), "ru": set("ыэъё"), "de": set("äöüß"),
           "fr": set("àâçèéêëîïôûùœ"), "es": set("ñ¿¡áíóú")}
# Russian typed in Latin letters ("ne mogu zaiti v lichnyi kabinet"): a customer without a Cyrillic keyboard
# reads Cyrillic fine. Only words no English or Polish text uses ("na", "po", "tak", "no" are left out).
TRANSLITERATED_RU = set("v ya ne mogu menya mne moi moy moya vy chto eto kak gde kogda pochemu spasibo pozhaluysta "
                        "pozhaluista zdravstvuyte zdravstvuite dobryi dobriy dobryy den privet zakaz rabotaet uzhe ili "
                        "dlya iz vse vsyo tolko mozhno nuzhno khochu hochu oshibka pishet budet".split())
# A word is a run of letters standing alone: letters glued to digits ("2026-12-07T06:00:00Z", a hex id "00a3f")
# are no words ("Z" read as the Polish stop word "z" made a pasted log Polish).
WORD = re.compile(r"(?<!\w)[^\W\d_]+(?!\w)", re.UNICODE)
WEAK = 1.0  # a stop-word score this low decides nothing on its own (French "ma" in "Ile lat gwarancji ma ten laptop")


LATIN_MARKS = re.compile(r"(?<=[a-z])[\u0300-\u036f]+")
UNMARKED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i"})


@lru_cache(maxsize=200_000)
def unmark(word: str) -> str:
    """A Latin-script word without its diacritics ("zamówienie" → "zamowienie"): customers often type
    Polish, Czech or French without them. Cyrillic is left alone (й is not и)."""
    if word.isascii():
        return word
    return unicodedata.normalize("NFC", LATIN_MARKS.sub("", unicodedata.normalize("NFD", word.translate(UNMARKED))))


# Stop words also as typed without diacritics ("sie", "dziekuje"): customers often skip them.
STOP = {lang: set(words.split()) | {unmark(w) for w in words.split()} for lang, words in STOP_WORDS.items()}


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of ``text`` (``default`` when there is nothing to go on)."""
    words = [w.lower() for w in WORD.findall(text or "")]
    if not words:
        return default
    cyrillic = sum(1 for w in words if re.search(r"[\u0400-\u04ff]", w))
    if cyrillic > len(words) / 2:
        return _cyrillic_language(words)
    if _other_script(words):  # Greek, Arabic, Chinese…: the stop words below would call it English or German
        return _statistical(" ".join(words), [])
    if len(set(words) & TRANSLITERATED_RU) >= 2 and _score(words, "ru") > max(_score(words, lang) for lang in LATIN):
        return "ru"
    candidates = LATIN
    scores = {lang: _score(words, lang) for lang in candidates}
    top = max(scores.values())
    tied = [lang for lang in candidates if scores[lang] == top]
    if top <= WEAK and len(words) >= 3:  # one stop word or none: the character model weighs every word
        return _statistical(" ".join(words), [lang for lang in candidates if scores[lang] >= top - 1])
    if top > 0 and len(tied) > 1:
        return _statistical(" ".join(words), tied)
    if top == 0:
        return default
    return tied[0] if len(tied) == 1 else (default if default in tied else tied[0])


LATIN = ("en", "pl", "de", "fr", "es")


def _score(words: list[str], lang: str) -> float:
    """Stop words of ``lang`` among ``words``, and twice each letter only ``lang`` writes; Russian in a Latin-script
    text counts its transliterated words."""
    latin = not any("\u0400" <= ch <= "\u04ff" for w in words for ch in w)
    stop = TRANSLITERATED_RU if lang == "ru" and latin else STOP[lang]
    return sum(1.0 for w in words if w in stop) + 2.0 * len(set("".join(words)) & LETTERS.get(lang, set()))


def _cyrillic_language(words: list[str]) -> str:
    """Russian or Ukrainian. Ukrainian text writes і, ї, є or ґ in nearly every sentence; without them only
    Ukrainian words outscoring the Russian ones make it Ukrainian ("Як оплатити замовлення") — py3langid alone
    took "Не могу войти в аккаунт" for Ukrainian, and the customer was answered in English."""
    ru, uk = _score(words, "ru"), _score(words, "uk")
    if not set("".join(words)) & LETTERS["uk"]:
        return "uk" if uk > ru else "ru"
    if ru == uk or max(ru, uk) <= WEAK and len(words) >= 3:
        return _statistical(" ".join(words), ["ru", "uk"] if ru >= uk else ["uk", "ru"])
    return "ru" if ru > uk else "uk"


def _statistical(text: str, languages: list[str]) -> str:
    """The most likely of ``languages`` by py3langid's model (trained on 97 languages); of all 97 when
    ``languages`` is empty."""
    for language, _ in _identifier().rank(text):
        if language in languages or not languages:
            return language
    return languages[0]


def _other_script(words: list[str]) -> bool:
    """Whether most letters of ``words`` are neither Latin nor Cyrillic."""
    letters = [ch for w in words for ch in w if not ch.isascii()]
    other = sum(1 for ch in letters if not _latin_or_cyrillic(ch))
    return other > sum(len(w) for w in words) / 2


@lru_cache(maxsize=4096)
def _latin_or_cyrillic(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("LATIN", "CYRILLIC"))


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # loads a 4 MB model: only when needed

    return LanguageIdentifier.from_model_file(MODEL_FILE)


def language_code(value, text: str = "") -> str:
    """A language as the rankers key it: "EN", "en-US" and "pt_BR" become "en" and "pt", three-letter codes
    ("pol", "rus", "eng", as corpora write them) their two-letter ones; anything that is not an ISO 639 code
    (empty, "English", "123", "xx") or names no one language ("und", "mul", "zxx") → detected from ``text``."""
    code = _iso639(re.split(r"[-_]", str(value or "").strip().lower(), maxsplit=1)[0])
    return code or detect_language(text)


@lru_cache(maxsize=1024)
def _iso639(code: str) -> str:
    """The shortest ISO 639 code of the language ``code`` names ("pol" → "pl"), or "" when it names none."""
    if not re.fullmatch(r"[a-z]{2,3}", code):
        return ""
    import langcodes

    tag = langcodes.get(code)
    if not tag.is_valid() or not tag.language or tag.language in NO_LANGUAGE or "qaa" <= tag.language <= "qtz":
        return ""  # und, mul, zxx…, and qaa–qtz (reserved for local use): no one language
    return tag.language


NO_LANGUAGE = {"und", "mul", "mis", "zxx"}  # ISO 639's undetermined, several, uncoded, no linguistic content


# Where a customer's address is (its country-code domain) says what they likely read when their text says nothing.
COUNTRY_DOMAINS = {"ru": "ru", "su": "ru", "xn--p1ai": "ru", "рф": "ru", "by": "ru", "kz": "ru", "pl": "pl", "ua": "uk"}
POLISH_SURNAME = re.compile(r"(ski|cki|dzki|ska|cka|dzka|wicz|czyk)$", re.I)


def sender_language(name: str, address: str, default: str = "en") -> str:
    """The likeliest language of a customer whose words say nothing ("?", an empty message with an attachment):
    a Cyrillic or Polish-lettered name first ("Анна", "Łukasz"), then the address's country domain (.ru, .pl),
    then a Polish surname ("Jan Kowalski"); ``default`` otherwise."""
    words = [w.lower() for w in WORD.findall(name or "")]
    letters = set("".join(words))
    if any("\u0400" <= ch <= "\u04ff" for ch in letters):
        return "uk" if letters & LETTERS["uk"] and not letters & LETTERS["ru"] else "ru"
    if letters & (LETTERS["pl"] - {"ó"}):
        return "pl"
    domain = (address or "").rsplit("@", 1)[-1].rsplit(".", 1)[-1].lower()
    if domain in COUNTRY_DOMAINS:
        return COUNTRY_DOMAINS[domain]
    if any(POLISH_SURNAME.search(w) for w in words[1:]):
        return "pl"
    return default


def customer_language(text: str, name: str = "", address: str = "") -> str:
    """The language of a customer's ``text``; when it has nothing to go on, the sender's (:func:`sender_language`)."""
    return detect_language(text, default=sender_language(name, address))
