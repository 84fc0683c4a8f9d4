"""The customer's words: plain text from any MIME, without quoted history, signatures or greetings."""
from __future__ import annotations

import re
from email.message import Message

from .mailbox.mime import decode_text, html_to_text

QUOTE_HEADER = re.compile(
    r"^\s*(On .{3,200}wrote:|Le .{3,200}a écrit\s*:|Am .{3,200}schrieb.*:|El .{3,200}escribió:|"
    r".{0,200}(пишет|написал|написала|написал\(а\))\s*:|"
    r"W dniu .{3,200}(pisze|napisał|napisała|napisał\(a\))\s*:|.{0,200}(napisał|napisała|napisał\(a\))\s*:|"
    r"-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Исходное сообщение\s*-{2,}|-{2,}\s*Oryginalna wiadomość\s*-{2,}|"
    r"_{10,}|From:\s.+|От:\s.+|Od:\s.+)\s*$", re.I)
SIGNATURE = re.compile(r"^(-- ?|__+|Sent from my .+|Отправлено с .+|Wysłane z .+|Get Outlook for .+)\s*$", re.I)
GREETING = re.compile(
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|"
    r"здравствуйте|добрый (день|вечер)|доброе утро|привет|уважаемые?|"
    r"dzień dobry|witam|cześć|szanowni państwo|szanowny)\b[^\n]{0,40}[,!.]?\s*$", re.I)


def _part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_text(data, charset)


def plain_text(msg: Message) -> str:
    """The best plain text of a message: text/plain, else HTML converted; attachments ignored."""
    plain, html = [], []
    try:
        parts = list(msg.walk())
    except Exception:
        parts = [msg]
    for part in parts:
        try:
            if part.is_multipart():
                continue
            ctype = part.get_content_type()
            disposition = (part.get("Content-Disposition") or "").lower()
        except Exception:
            continue
        if "attachment" in disposition:
            continue
        if ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            html.append(html_to_text(_part_text(part)))
    text = "\n".join(plain) if any(p.strip() for p in plain) else "\n".join(html)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_quoted(text: str) -> str:
    """Cut quoted history (``>`` lines, "On … wrote:" in several languages) and signatures."""
    kept = []
    for line in text.split("\n"):
        if QUOTE_HEADER.match(line) and kept:
            break
        if SIGNATURE.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept)


def normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def customer_text(msg: Message) -> str:
    """The customer's own words in this message."""
    return normalise(strip_quoted(plain_text(msg)))


def strip_greeting(text: str) -> str:
    """Drop a leading greeting line ("Hi team," / "Здравствуйте," / "Dzień dobry,")."""
    lines = text.strip().split("\n")
    if lines and GREETING.match(lines[0]):
        lines = lines[1:]
    return "\n".join(lines).strip()
