"""Agents and customers in replies: safe first names, who wrote an agent reply, greetings, signatures,
handover. Shared by the acknowledgements (autoreply) and the side panel's prepared replies (kb_suggest).

Agents usually send as the shared address (send-as delegation), so a reply is attributed to an
agent by, in order: the sender address being a configured agent, the From display name holding an
agent's full name ("Anna Kowalska" or "Anna Kowalska via Support"), or the last lines of the text
holding an agent's full name (the sign-off).
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from functools import lru_cache

NAME_PART = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*$", re.UNICODE)
HONORIFICS = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "pan", "pani"}

SIGN_OFF = {
    "en": "Best regards,",
    "ru": "С уважением,",
    "pl": "Pozdrawiam serdecznie,",
}
GREETING = {  # as the acknowledgement templates greet (templates/<lang>/acknowledgement.txt.j2)
    "en": ("Hello {name},", "Hello,"),
    "ru": ("Здравствуйте, {name}!", "Здравствуйте!"),
    "pl": ("Dzień dobry, {name},", "Dzień dobry,"),
}
HANDOVER = {
    "en": "I'm {new}; I'm taking over your request from {old} and will see it through.",
    "ru": "Меня зовут {new}; я принимаю ваш запрос от коллеги {old} и доведу его до конца.",
    "pl": "Nazywam się {new}; przejmuję Twoje zgłoszenie od {old} i doprowadzę je do końca.",
}


def _is_honorific(word: str) -> bool:
    return word.strip(".,;:!?").lower() in HONORIFICS


# A company, shop or team in the display name ("ООО Ромашка", "Sklep XYZ sp. z o.o.", "ИП Иванов", "Acme Ltd"):
# no first name to greet. Words compared lower-cased without dots ("P.H.U." is "phu").
COMPANY_WORDS = {"ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "гк", "тд", "магазин", "интернет-магазин",
                 "компания", "служба", "sp", "oo", "sa", "sc", "spj", "spk", "phu", "fhu", "pphu", "ppuh", "sklep",
                 "firma", "hurtownia", "biuro", "serwis", "ltd", "llc", "inc", "gmbh", "plc", "corp", "shop", "store",
                 "support", "team", "sales", "service", "office", "info"}
# Surnames as Poles and Russians write them first in official lists and some clients ("Kowalska Anna",
# "Ivanova Mariya"); Latin-script endings only: Cyrillic names are looked up in natasha's first-name list.
LATIN_SURNAME = re.compile(r"(ski|cki|dzki|ska|cka|dzka|wicz|czyk|owa|ewa|ova|eva|ov|ev|sky|skiy|skaya)$", re.I)
NATASHA_FIRST_NAMES = "natasha/data/dict/first.txt"


def is_company(words: list[str]) -> bool:
    return any(w.lower().replace(".", "").strip(",;:()\"'«»„”") in COMPANY_WORDS for w in words)


@lru_cache(maxsize=1)
def russian_first_names() -> frozenset[str]:
    """Russian given names (7,658, lower-case) from the natasha wheel, a core dependency; empty without it."""
    from importlib import metadata

    try:
        found = next((f for f in metadata.files("natasha") or [] if str(f) == NATASHA_FIRST_NAMES), None)
        return frozenset(found.read_text(encoding="utf-8").split()) if found else frozenset()
    except (metadata.PackageNotFoundError, OSError):
        return frozenset()


# An initial ("J.", "О.С.", "A"): what stands for a given name in "Смирнова О.С." or "J. Kowalski", never one itself.
INITIAL = re.compile(r"^(([^\W\d_]\.)+[^\W\d_]?|[^\W\d_])$")


def given_name(words: list[str]) -> str:
    """Which of a person's name words is the given name: "Иванова Мария Петровна" → "Мария",
    "Kowalska Anna" → "Anna", "Anna Kowalska" → "Anna"; "" when it is written as an initial only ("Смирнова О.С.",
    "J. Kowalski", "Kowalska A.")."""
    initialled = [w for w in words if INITIAL.match(w.strip(",;:!?"))]
    if words[0] in initialled:
        return ""
    words = [w for w in words if w not in initialled]
    if any("\u0400" <= ch <= "\u04ff" for ch in words[0]):
        known = russian_first_names()
        return next((w for w in words[:3] if w.strip(".,;:!?").lower() in known), "" if initialled else words[0])
    if len(words) >= 2 and _surname_like(words[0]) and not _surname_like(words[1]):
        return words[1]
    return "" if initialled and _surname_like(words[0]) else words[0]


def _surname_like(word: str) -> bool:
    word = word.strip(".,")
    return len(word) >= 5 and bool(LATIN_SURNAME.search(word))  # "Eva", "Lev" are given names


def safe_first_name(display_name: str) -> str:
    """A first name fit to print in a greeting, or "" when the display name is not a plausible name."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in display_name or "")
    if "=?" in cleaned or "@" in cleaned or "<" in cleaned or ">" in cleaned:
        return ""
    words = cleaned.replace('"', " ").split()
    if "," in cleaned and len(words) >= 2:  # "Doe, Jane"
        words = cleaned.split(",", 1)[1].split()
    titled = bool(words) and _is_honorific(words[0])
    while words and _is_honorific(words[0]):
        words = words[1:]
    if not words or titled and len(words) == 1 and "," not in cleaned:  # "Mr Smith": a surname only
        return ""
    if is_company(words) or any(mark in cleaned for mark in "«»„"):
        return ""
    first = given_name(words).strip(".,;:!?")
    if len(first) > 40 or not NAME_PART.match(first):
        return ""
    if len(first) > 2 and all(w.isupper() for w in words if any(ch.isalpha() for ch in w)):
        # A name all in capitals (a directory's or a shop system's "JOHN SMITH"): greeted as a name, not shouted.
        # Two letters stay as written: initials ("AJ").
        return "-".join(part.capitalize() for part in first.split("-"))
    return first[:1].upper() + first[1:]


def mentions(text: str, words: str) -> bool:
    """Whether ``words`` (a name) stands in ``text`` as whole words: "Ann Lee" is not in "Joann Leeds"."""
    parts = [re.escape(w) for w in words.split()]
    if not parts:
        return False
    return re.search(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", text, re.IGNORECASE) is not None


def sign_off_lines(text: str, signature: str = "") -> str:
    """The last lines of a reply's words, and the signature below its "-- " line (Gmail's send-as signature)."""
    return "\n".join(text.strip().split("\n")[-6:] + ([signature] if signature else []))


def agent_for_message(message, agents: dict):
    """The configured agent who wrote an agent message, or None."""
    by_address = agents.get(message.sender.email)
    if by_address is not None:
        return by_address
    for agent in agents.values():
        if mentions(message.sender.name, agent.full_name):
            return agent
    tail = sign_off_lines(message.text, getattr(message, "signature", ""))
    for agent in agents.values():
        if mentions(tail, agent.full_name):
            return agent
    return None


def has_full_name_sign_off(text: str, agent, signature: str = "") -> bool:
    tail = sign_off_lines(text, signature)
    return mentions(tail, agent.first_name) and mentions(tail, agent.last_name)


def signature(agent, language: str) -> str:
    lines = [SIGN_OFF.get(language, SIGN_OFF["en"]), agent.full_name]
    if agent.title:
        lines.append(agent.title)
    return "\n".join(lines)


def greeting(display_name: str, language: str) -> str:
    """The reply's first line in the customer's language, with their first name when it is a plausible one."""
    named, plain = GREETING.get(language, GREETING["en"])
    first = safe_first_name(display_name)
    return named.format(name=first) if first else plain


def whole_reply(text: str, customer_name: str, agent, language: str) -> str:
    """``text`` as a reply of its own: greeting, the text, the agent's full-name signature."""
    parts = [greeting(customer_name, language), text.strip()]
    if agent is not None:
        parts.append(signature(agent, language))
    return "\n\n".join(parts)


def whole_reply_html(body_html: str, customer_name: str, agent, language: str) -> str:
    """``body_html`` (already safe HTML) as a reply of its own, like ``whole_reply``: the greeting and the
    signature escaped, each in its own paragraph."""
    def paragraph(text: str) -> str:
        return "<p>" + html.escape(text, quote=False).replace("\n", "<br>") + "</p>"

    parts = [paragraph(greeting(customer_name, language)), body_html.strip()]
    if agent is not None:
        parts.append(paragraph(signature(agent, language)))
    return "\n".join(parts)


def handover_line(new_agent, old_name: str, language: str) -> str:
    return HANDOVER.get(language, HANDOVER["en"]).format(new=new_agent.full_name, old=old_name)


def round_robin(thread_id: str, candidates: list):
    """Deterministic, stateless assignment: the thread id hashed over the on-duty agents."""
    if not candidates:
        return None
    index = int(hashlib.sha256(thread_id.encode()).hexdigest(), 16) % len(candidates)
    return candidates[index]
