"""Agents and customers in replies: safe first names, who wrote an agent reply, signatures, handover.

Agents usually send as the shared address (send-as delegation), so a reply is attributed to an
agent by, in order: the sender address being a configured agent, the From display name holding an
agent's full name ("Anna Kowalska" or "Anna Kowalska via Support"), or the last lines of the text
holding an agent's full name (the sign-off).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

NAME_PART = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*$", re.UNICODE)

SIGN_OFF = {
    "en": "Best regards,",
    "ru": "С уважением,",
    "pl": "Pozdrawiam serdecznie,",
}
HANDOVER = {
    "en": "I'm {new}; I'm taking over your request from {old} and will see it through.",
    "ru": "Меня зовут {new}; я принимаю ваш запрос от коллеги {old} и доведу его до конца.",
    "pl": "Nazywam się {new}; przejmuję Twoje zgłoszenie od {old} i doprowadzę je do końca.",
}


def safe_first_name(display_name: str) -> str:
    """A first name fit to print in a greeting, or "" when the display name is not a plausible name."""
    cleaned = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in display_name or "")
    if "=?" in cleaned or "@" in cleaned or "<" in cleaned or ">" in cleaned:
        return ""
    words = cleaned.replace('"', " ").split()
    if "," in cleaned and len(words) >= 2:  # "Doe, Jane"
        words = cleaned.split(",", 1)[1].split()
    if not words:
        return ""
    first = words[0].strip(".,;:!?")
    if len(first) > 40 or not NAME_PART.match(first):
        return ""
    return first[:1].upper() + first[1:]


def agent_for_message(message, agents: dict):
    """The configured agent who wrote an agent message, or None."""
    by_address = agents.get(message.sender.email)
    if by_address is not None:
        return by_address
    display = message.sender.name.lower()
    for agent in agents.values():
        if agent.full_name.lower() in display:
            return agent
    tail = "\n".join(message.text.strip().split("\n")[-6:]).lower()
    for agent in agents.values():
        if agent.full_name.lower() in tail:
            return agent
    return None


def has_full_name_sign_off(text: str, agent) -> bool:
    tail = "\n".join(text.strip().split("\n")[-6:]).lower()
    return agent.first_name.lower() in tail and agent.last_name.lower() in tail


def signature(agent, language: str) -> str:
    lines = [SIGN_OFF.get(language, SIGN_OFF["en"]), agent.full_name]
    if agent.title:
        lines.append(agent.title)
    return "\n".join(lines)


def handover_line(new_agent, old_name: str, language: str) -> str:
    return HANDOVER.get(language, HANDOVER["en"]).format(new=new_agent.full_name, old=old_name)


def round_robin(thread_id: str, candidates: list):
    """Deterministic, stateless assignment: the thread id hashed over the on-duty agents."""
    if not candidates:
        return None
    index = int(hashlib.sha256(thread_id.encode()).hexdigest(), 16) % len(candidates)
    return candidates[index]
