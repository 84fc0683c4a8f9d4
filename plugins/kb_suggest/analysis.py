"""Text analysis for ranking: words, stop words and Snowball stems (English, Russian, Polish and
more), plus character n-grams that survive typos and rich inflection."""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

from plugin_host.language import unmark

WORD = re.compile(r"[^\W_]+", re.UNICODE)
STEMMERS = {"en": "english", "ru": "russian", "pl": "polish", "uk": "russian", "de": "german", "fr": "french",
            "es": "spanish", "it": "italian", "pt": "portuguese", "nl": "dutch", "cs": "czech"}
STOP = {
    "en": set("""a about above after again against all am an and any are as at be because been before being below
        between both but by can could did do does doing down during each few for from further had has have having he
        her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
        now of off on once only or other our ours ourselves out over own same she should so some such than that the
        their theirs them themselves then there these they this those through to too under until up very was we were
        what when where which while who whom why will with would you your yours yourself yourselves hi hello hey
        please thanks thank regards dear team can could would im i'm ive i've dont don't cant can't get got""".split()),
    "ru": set("""и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было
        вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять
        уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без
        будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти
        мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше
        тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше
        чуть том нельзя такой им более всегда конечно всю между здравствуйте добрый день спасибо пожалуйста
        подскажите помогите""".split()),
    "pl": set("""a aby ale bardzo bez bo być był była było były będzie ci co czy dla do gdy gdzie go i ich im in
        inne iż ja jak jako je jego jej jest jestem jeszcze jeśli już ją każdy kiedy kto która które którego który
        ma mam mi mnie mną moje może mój na nad nam nas nawet nie nic nich nim niż o od on ona oni oraz po pod
        przez przy się są ta tak także tam te tego tej ten też to tu tylko tym u w we wszystko z za ze że żeby
        dzień dobry witam proszę dziękuję pozdrawiam cześć""".split()),
}


_stemmers = threading.local()  # snowballstemmer objects keep the word being stemmed in the object: one per thread


def stemmer(language: str):
    name = STEMMERS.get(language)
    if not name:
        return None
    mine = _stemmers.__dict__.setdefault("by_name", {})
    if name not in mine:
        mine[name] = snowballstemmer.stemmer(name)
    return mine[name]


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace("ё", "е")




for _language in ("pl",):  # the same stop words typed without diacritics ("sie", "juz", "prosze")
    STOP[_language] |= {unmark(w) for w in STOP[_language]}


FREQUENCY_LANGUAGES = ("en", "ru", "pl", "uk", "de", "fr", "es", "it", "pt", "nl", "cs")  # wordfreq's, among ours


@lru_cache(maxsize=100_000)
def zipf(word: str, language: str) -> float:
    """How common ``word`` is in ``language`` (wordfreq's Zipf scale: 0 unknown, 7 "the"); English
    frequencies for a language wordfreq does not know."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, language if language in FREQUENCY_LANGUAGES else "en")


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def content_words(text: str, language: str) -> list[str]:
    stop = STOP.get(language, set()) | STOP["en"]
    return [w for w in words(text) if w not in stop and (len(w) > 1 or w.isdigit())]


@lru_cache(maxsize=200_000)
def _stem(word: str, language: str) -> str:
    if word.isdigit():
        return word
    script = "ru" if re.search(r"[\u0400-\u04ff]", word) else language if language != "ru" else "en"
    found = stemmer(script)
    stem = found.stemWord(word) if found else word
    return stem if script == "ru" else unmark(stem)


def stems(text: str, language: str) -> list[str]:
    return [_stem(w, language) for w in content_words(text, language)]


def ngrams(text: str, language: str, n: int = 4) -> list[str]:
    grams: list[str] = []
    for word in content_words(text, language):
        grams.extend(_word_grams(word, n))
    return grams


@lru_cache(maxsize=200_000)
def _word_grams(word: str, n: int) -> tuple[str, ...]:
    if word.isdigit():
        return ()
    padded = f"^{unmark(word)}$"
    if len(padded) <= n:
        return (padded,)
    return tuple(padded[i:i + n] for i in range(len(padded) - n + 1))


def analyse(text: str, language: str, n: int = 4) -> tuple[list[str], list[str]]:
    """Stems and character n-grams of a text in one pass over its words."""
    words_ = content_words(text, language)
    grams: list[str] = []
    for word in words_:
        grams.extend(_word_grams(word, n))
    return [_stem(w, language) for w in words_], grams
