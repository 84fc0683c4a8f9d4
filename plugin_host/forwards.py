"""An agent's forward of a customer's email into the support inbox: whose request it is.

Customers often write to an agent directly; the agent forwards the mail to support@ so the team takes it.
Help desks (Zendesk, Help Scout) open that ticket for the forwarded message's sender, with their words as
the request, and send them no acknowledgement (they did not write to us). Here the forward is found in a
message's text (Gmail's "---------- Forwarded message ---------", Apple Mail's "Begin forwarded message:",
Outlook's separator line under an "FW:" subject, each followed by a From/Date/Subject block) or as an
attached message (message/rfc822); :func:`plugin_host.tickets.build_ticket` decides when it counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from .mailbox.mime import NESTED_MESSAGE_TYPES
from .text import FORWARDED, FORWARDED_FIELD, MAX_TEXT, customer_text, normalise, plain_text, strip_quoted

FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|pd|rv|vs|пересл|переслано)\s*:", re.I)
OUTLOOK_SEPARATOR = re.compile(r"^\s*(_{10,}|-{2,}\s*(Original Message|Исходное сообщение|Oryginalna wiadomość)\s*-{2,})\s*$",
                               re.I)
# The value is stripped in code: a lazy ".+?" before "\s*$" backtracked over every space of a long line.
# A forward block's From line in the forwarding client's language (Thunderbird's and Outlook's labels).
FROM_FIELD = re.compile(r"^\s*\*?(From|От|Від|Od|Von|De|Da|Van|Från|Fra|Kimden|差出人|发件人)\s?[:：]\*?(?P<value>.*)$", re.I)
MAILTO = re.compile(r"\[mailto:([^\]\s]+)\]")  # Outlook's plain text: "From: Jane Cooper [mailto:jane@…]"


@dataclass(frozen=True)
class ForwardedMessage:
    """The message a forward carries: its From header as written, and its writer's words."""

    sender: str
    text: str


def forwarded_message(msg: Message, subject: str) -> ForwardedMessage | None:
    """The one message ``msg`` forwards (attached, or inline below the forwarder's note), or None."""
    attached = _attached(msg)
    if attached is not None:
        return ForwardedMessage(str(attached.get("From") or ""), customer_text(attached))
    return _inline(plain_text(msg), outlook=bool(FORWARD_SUBJECT.match(subject or "")))


def _attached(msg: Message) -> Message | None:
    try:
        parts = [p for p in msg.walk() if p.get_content_type() in NESTED_MESSAGE_TYPES]
        inner = parts[0].get_payload() if len(parts) == 1 else None
    except Exception:
        return None
    inner = inner[0] if isinstance(inner, list) and inner else inner
    return inner if isinstance(inner, Message) else None


def _inline(text: str, outlook: bool) -> ForwardedMessage | None:
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines)
                  if FORWARDED.match(line) or (outlook and OUTLOOK_SEPARATOR.match(line))), None)
    if start is None:
        return None
    sender, body = None, len(lines)  # the first From line decides, even a blank one
    for i in range(start + 1, len(lines)):
        found = FROM_FIELD.match(lines[i])
        if found and sender is None:
            sender = MAILTO.sub(r"<\1>", found.group("value")).replace("*", "").strip()
        elif not (FORWARDED_FIELD.match(lines[i]) or not lines[i].strip()):
            body = i
            break
    if not sender:
        return None
    return ForwardedMessage(sender, normalise(strip_quoted("\n".join(lines[body:]), limit=MAX_TEXT))[:MAX_TEXT])
