"""Customer messages that only say thank you: they close a conversation, they ask for nothing.

After an agent's answer the customer often writes "Thanks, that worked!" ("Спасибо за помощь!",
"Dziękuję, wszystko działa"). Such a message owes no answer: the ticket does not go back to
"Awaiting reply" and the next-response clock does not start (Freshdesk calls this its "thank you
detector"). The message itself stays in Gmail for the agents to read.

The rule is strict on purpose, since a missed question is worse than a needless label: the message
must hold a word of thanks, at most :data:`MAX_WORDS` words, no question mark, and every word must be
one of thanks, closing or politeness (below) or a name of somebody on the thread. "Thanks, but it
still fails" holds "but", "still" and "fails", so it stays a request; so does "Спасибо, но не
работает" and "Dzięki, ale nadal nie działa".
"""
from __future__ import annotations

import re

from .language import unmark

MAX_WORDS = 25

THANKS = set("""
    thanks thank thx ty tyvm cheers appreciate appreciated grateful kudos
    спасибо спасибки благодарю благодарим благодарна благодарен благодарны спс пасиб
    dziękuję dziękujemy dzięki dziękować dzieki dziekuje dziekujemy
""".split())

# Words that may stand beside the thanks without asking for anything.
CLOSING = set("""
    a all also amazing answer answers appreciate awesome brilliant clear did do does done everything excellent
    fantastic fine fixed for from got great guys have help helped helpful helping i is it it's its job just kind
    kindly lot many me much my nice now ok okay perfect problem quick quickly really reply resolved response
    sir madam so solved sorted super support swift team that that's the this time to very we well with wonderful
    work worked works you your yours again hi hello dear best regards kind wishes day weekend evening
    have good great lovely sorted understood noted all set everything's
    и а вам вас всё все вопрос вопросов да день дня доброго закрыт заработало за огромное ответ ответы
    отличная отлично очень помогли помогло помощь получилось понятно понял поняла работает решён решен
    решена решено снят большое быстрый быстро хорошего хорошо ясно ок окей супер здравствуйте добрый
    привет всего доброго уважением с
    a bardzo dnia działa dobry dzień fajnie już jasne ok okej pani panu panie państwu pomoc pomogło pozdrawiam
    pozdrowienia problem rozumiem rozwiązany serdecznie serdeczne sprawa szybka szybką szybko super świetnie
    wam wszystko za załatwiona zamknięta odpowiedź odpowiedzi witam miłego cześć tak i
""".split())

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
ASKING = re.compile(r"[?？]")
THANKS_FOLDED = {unmark(w) for w in THANKS}
CLOSING_FOLDED = {unmark(w) for w in CLOSING}


def says_only_thanks(text: str, names: tuple[str, ...] = ()) -> bool:
    """Whether ``text`` (a message's own words, quotes and signature already gone) only says thank you.

    ``names`` are the display names of the people on the thread: "Thanks Anna!" names the agent.
    """
    if not text or len(text) > 600 or ASKING.search(text) or re.search(r"\d", text):
        return False
    written = WORD.findall(text)
    words = [unmark(w.lower().replace("’", "'")) for w in written]
    if not words or len(words) > MAX_WORDS or not THANKS_FOLDED & set(words):
        return False
    # A name counts only as written with a capital ("Thanks Anna!"): display names are the sender's to choose,
    # and one made of ordinary words ("Still Broken") must not excuse "thanks, still broken".
    people = {unmark(part.lower()) for name in names for part in WORD.findall(name or "")}
    return all(w in THANKS_FOLDED or w in CLOSING_FOLDED or (w in people and original[:1].isupper())
               for w, original in zip(words, written))
