"""Raw RFC 5322 messages to Gmail API structures (``format=full`` payloads) and back.

``parse_raw`` turns the bytes a client sent (``messages.send/insert/import``) into what Gmail
answers: a ``MessagePart`` tree with partIds ``""``, ``"0"``, ``"1.0"``…, headers in their original
order with their original (still RFC 2047-encoded, unfolded) values, bodies after
content-transfer decoding in their original charset as URL-safe base64 *with* padding (as in
the captured Gmail fixtures), and ``attachmentId`` instead of ``data`` for parts with a filename.
It also derives what the mailbox needs for threading and search (decoded subject and addresses,
Date, Message-ID, plain text) and Gmail's ``snippet``.

``payload_to_email`` is the inverse for host code: it rebuilds a stdlib ``email`` message from a
payload fetched with ``threads.get(format=full)``, so the same analysis runs on local and real mail.

Parsing uses the stdlib ``email`` package with the ``compat32`` policy, the one that never raises
on malformed headers; every derived value falls back to "absent" rather than crashing.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.parser
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.generator import BytesGenerator
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from io import BytesIO
from typing import Callable, Iterable

__all__ = ["ParsedMessage", "parse_raw", "payload_to_email", "payload_to_raw", "header",
           "decode_header_value", "decode_text", "html_to_text", "part_bytes", "b64url", "unb64url"]

SNIPPET_LENGTH = 200
# Characters of a header value decoded: the stdlib's decode_header is quadratic in its encoded words (a
# subject of 50,000 of them took 13 s per read), and no person writes a longer subject or name.
MAX_DECODED_HEADER = 10_000
# MIME parts nested deeper than this are read as one leaf: every tree walk here, in the host and in
# Python's email generator recurses, and a hostile message of 300 nested levels exhausted the stack.
MAX_PART_DEPTH = 100
# message/* types Gmail shows as a nested message; other message/* parts (delivery-status,
# feedback-report, ...) are leaves whose body is the text of their fields.
NESTED_MESSAGE_TYPES = {"message/rfc822", "message/global"}


def own_parts(msg, keep_inline: bool = False):
    """``msg.walk()`` without the insides of attached messages (message/rfc822 or message/global): a bounce or
    calendar reply a customer attaches is not theirs. With ``keep_inline``, a message forwarded inline (no
    attachment disposition) is walked as the sender's own text."""
    yield msg
    if not msg.is_multipart():
        return
    for part in msg.get_payload():
        try:
            nested = (part.get_content_type() or "").lower() in NESTED_MESSAGE_TYPES
        except Exception:  # a broken Content-Type: not an attached message
            nested = False
        if nested and (not keep_inline or "attachment" in str(part.get("Content-Disposition") or "").lower()):
            continue
        yield from own_parts(part, keep_inline)
UUENCODE = {"x-uuencode", "uuencode", "uue", "x-uue"}
# Labels seen in real mail that Python's codec registry does not know (or knows too narrowly).
CHARSET_ALIASES = {"unicode-1-1-utf-7": "utf-7", "uft-8": "utf-8", "utf8": "utf-8", "gb2312": "gb18030",
                   "gbk": "gb18030", "ks_c_5601-1987": "cp949", "iso-8859-8-i": "iso-8859-8",
                   "x-mac-cyrillic": "mac-cyrillic", "windows-874": "cp874"}
_COMPAT = email.policy.compat32
_SERIALISE = email.policy.compat32.clone(max_line_length=0)


@dataclass
class ParsedMessage:
    """One raw message as Gmail presents it, plus the decoded fields threading and search use."""

    payload: dict
    attachments: dict[str, bytes] = field(default_factory=dict)
    snippet: str = ""
    size_estimate: int = 0
    message_id: str | None = None
    subject: str | None = None
    from_: str | None = None
    to: str | None = None
    cc: str | None = None
    bcc: str | None = None
    date: datetime | None = None
    in_reply_to: str | None = None
    references: str | None = None
    text: str = ""

    @property
    def has_attachment(self) -> bool:
        return bool(self.attachments)


# ---------------------------------------------------------------- base64url and headers

def b64url(data: bytes) -> str:
    """URL-safe base64 with padding, as Gmail writes ``body.data`` and ``raw``."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def unb64url(data: str) -> bytes:
    """Decode URL-safe base64, tolerating missing padding and standard-alphabet input."""
    text = "".join((data or "").split()).rstrip("=").replace("+", "-").replace("/", "_")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def header(payload_or_headers: dict | Iterable[dict] | None, name: str) -> str | None:
    """First value of header ``name`` (case-insensitive) in a payload dict or a headers list."""
    if isinstance(payload_or_headers, dict):
        payload_or_headers = payload_or_headers.get("headers") or []
    wanted = name.lower()
    for item in payload_or_headers or []:
        if str(item.get("name", "")).lower() == wanted:
            return item.get("value", "")
    return None


def decode_header_value(value: str | None) -> str:
    """RFC 2047 encoded-words decoded to text, whitespace collapsed; the raw text when malformed."""
    if not value:
        return ""
    value = value[:MAX_DECODED_HEADER]
    try:
        text = str(make_header(decode_header(value)))
    except Exception:  # unknown charset or broken encoded-word: Gmail shows such headers raw
        text = value
    return " ".join(text.split())


def _decode_addresses(value: str | None) -> str | None:
    """An address header with display names decoded, still parseable by ``getaddresses``."""
    if value is None:
        return None
    try:
        pairs = getaddresses([value])
    except Exception:
        return decode_header_value(value)
    rendered = []
    for name, address in pairs:
        name = decode_header_value(name)
        if name and address:
            quoted = name.replace("\\", "\\\\").replace('"', '\\"')
            rendered.append(f'"{quoted}" <{address}>' if re.search(r'[()<>@,;:\\".\[\]]', name)
                            else f"{name} <{address}>")
        elif address or name:
            rendered.append(address or name)
    return ", ".join(rendered) if rendered else decode_header_value(value)


def _unfold(value: str) -> str:
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")
    return unfolded.strip(" \t")


def _header_text(value, fallback_charset: str | None) -> str:
    """A header value as stored by the parser (8-bit bytes are surrogate-escaped) as text: in the body's
    charset when they are, else guessed."""
    if not isinstance(value, str):
        value = str(value)
    try:
        value.encode("utf-8")
        return _unfold(value)
    except UnicodeEncodeError:
        data = value.encode("ascii", "surrogateescape")
    try:
        return _unfold(data.decode(_codec(fallback_charset) or "utf-8"))
    except (UnicodeDecodeError, LookupError):
        return _unfold(guess_text(data))


# What mail in the languages Labeldesk reads is written in when it is not UTF-8. Left to choose among all,
# charset-normalizer read a name of a few letters as Japanese: KOI8-R "Мария" became "暿ﾒﾉﾑ", "José" "Josﻠ".
LEGACY_CHARSETS = ["cp1251", "koi8_r", "koi8_u", "iso8859_5", "cp1250", "iso8859_2", "cp1252"]


GUESS_BYTES = 64 * 1024  # the charset of a long body is chosen from its start: a pasted 5 MB log need not be read twice
# Letters of our customers' languages (English names with marks, Polish, Russian, Ukrainian) and the typography
# they use: a decoding that turns bytes into these reads right; "³", "±", "¶" or "Ľ" in a Polish word does not.
OUR_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻéèàáâäëïîôöüçñßÉÈÀÁÖÜ«»„“”‘’–—…№€§°"
                  "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯіїєґІЇЄҐ\u00a0")


def _reads_right(text: str) -> int:
    """How many non-ASCII characters of ``text`` are our languages' letters, less those that are not and those
    of words in jumbled case. The Cyrillic code pages put the same letters at other bytes: KOI8-R "Мария" read
    as Windows-1251 is "нБТЙС", "Иван" as ISO 8859-5 "щзСЮ" — Cyrillic letters all, but no one writes so. A word is
    a run of letters: each part of "Kowalska-Wiśniewska" or "Жан-Поль" is Capitalised on its own."""
    return sum(_word_reads_right(word) for word in text.split() if not word.isascii())


LETTER_RUN = re.compile(r"[^\W\d_]+")


def _word_reads_right(word: str) -> int:
    jumbled = any(_jumbled_case(run) for run in LETTER_RUN.findall(word))
    return sum(1 if ch in OUR_LETTERS and not jumbled else -1 for ch in word if not ch.isascii())


def _jumbled_case(word: str) -> bool:
    """Whether ``word`` is neither lower case, Capitalised nor in CAPITALS ("нБТЙС", "фЭЩдвЩЪ")."""
    letters = [ch for ch in word if ch.isalpha()]
    rest = letters[1:]
    return any(ch.isupper() for ch in rest) and (letters[0].islower() or any(ch.islower() for ch in rest))


def guess_charset(data: bytes) -> str:
    """The likeliest of LEGACY_CHARSETS for 8-bit bytes that are not UTF-8, judged from their first
    GUESS_BYTES: charset-normalizer's candidates, the one whose text is our languages' letters first
    (alone it read ISO-8859-2 Polish as Windows-1252: "zap³aciæ")."""
    from charset_normalizer import from_bytes

    sample = data[:GUESS_BYTES]
    candidates = [match.encoding for match in from_bytes(sample, cp_isolation=LEGACY_CHARSETS)]
    if not candidates:
        return "cp1252"
    ranked = sorted(enumerate(candidates), key=lambda pair: (-_reads_right(sample.decode(pair[1], "replace")), pair[0]))
    return ranked[0][1]


def guess_text(data: bytes) -> str:
    """8-bit bytes in no declared charset (raw bytes in a header): UTF-8 when they are (RFC 6532), else the
    likeliest of LEGACY_CHARSETS."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if _mostly_utf8(data[:GUESS_BYTES]):
            return data.decode("utf-8", errors="replace")
        return data.decode(guess_charset(data), errors="replace")


def _mostly_utf8(sample: bytes) -> bool:
    """Whether 8-bit bytes are UTF-8 but for a stray byte or two (a cut last character, a pasted "caf\\xe9"):
    legacy Cyrillic and Central European text is almost never valid UTF-8 sequences."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if not ch.isascii()) - bad
    return good >= 4 * bad + 2


def _raw_headers(part: Message, charset: str | None) -> list[dict]:
    return [{"name": name, "value": _header_text(value, charset)} for name, value in part.raw_items()]


# ---------------------------------------------------------------- charsets and text

def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    charset = CHARSET_ALIASES.get(charset.strip().strip('"').lower(), charset.strip().strip('"').lower())
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):
        return None


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes of a text part as text: the declared charset, else UTF-8, else — for 8-bit mail that declares
    no charset or only US-ASCII (old Outlook, The Bat!, web forms) — the charset guessed from the body."""
    declared = _codec(charset)
    for candidate in [c for c in (declared, "utf-8") if c]:
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
    if declared in (None, "ascii", "utf-8"):
        return guess_text(data)
    try:
        return data.decode(declared, errors="replace")
    except Exception:  # a codec that fails even with errors="replace"
        return data.decode("latin-1")


class _TextExtractor(HTMLParser):
    """Visible text of an HTML body, one line per block element (stdlib only, by design)."""

    BLOCKS = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
              "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt"}
    HIDDEN = {"script", "style", "head", "title"}

    def __init__(self, quotes: bool = False):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.quoted: list[bool] = []  # per chunk: inside a mail client's quote
        self.hidden = 0
        self.pre = 0  # inside <pre>: its line breaks are the text's
        self.quotes = quotes
        self.open: list[tuple[str, bool]] = []  # open <blockquote>/<div> tags, and whether each is a quote
        # How many of ``open`` are quotes, and how many of each tag: kept as counts, so that text deep in 30k nested
        # <div>s, or a stray </blockquote> under them, costs one step and not a walk of the stack.
        self.open_quotes = 0
        self.open_tags = {"blockquote": 0, "div": 0}

    def _emit(self, text: str, quoted: bool = False) -> None:
        self.chunks.append(text)
        self.quoted.append(quoted)

    def _nest(self, tag, attrs) -> None:
        """Track quote containers: Apple Mail's and Thunderbird's <blockquote type="cite">, Gmail's
        <blockquote class="gmail_quote">, Yahoo's <div class="yahoo_quoted">. A plain <blockquote> (Gmail's
        "indent") is the writer's own text."""
        found = {name: (value or "").lower() for name, value in attrs}
        classes = found.get("class", "").split()
        quote = (tag == "blockquote" and (found.get("type") == "cite" or "gmail_quote" in classes)) or \
            (tag == "div" and "yahoo_quoted" in classes)
        self.open.append((tag, quote))
        self.open_quotes += quote
        self.open_tags[tag] += 1

    def _unnest(self, tag) -> None:
        if not self.open_tags[tag]:
            return  # a stray end tag: nothing it could close
        k = len(self.open) - 1
        while self.open[k][0] != tag:  # the tags above it were left open: it closes them too
            k -= 1
        for name, quote in self.open[k:]:
            self.open_quotes -= quote
            self.open_tags[name] -= 1
        del self.open[k:]

    def handle_starttag(self, tag, attrs):
        if self.quotes and tag in {"blockquote", "div"}:
            self._nest(tag, attrs)
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self._emit("\n")
            self.pre += tag == "pre"
        elif tag in {"td", "th"}:
            self._emit(" ")

    def handle_endtag(self, tag):
        if self.quotes and tag in {"blockquote", "div"}:
            self._unnest(tag)
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self._emit("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        # A line break in the source is a space to a reader (mail wraps its HTML at 76 columns, mid-sentence)
        if not self.hidden:
            self._emit(data if self.pre else re.sub(r"[\r\n]+", " ", data), self.open_quotes > 0)

    def quoted_lines(self) -> str:
        """The text with each line that holds quoted text marked "> ", as a plain-text reply quotes."""
        lines: list[tuple[list[str], bool]] = [([], False)]
        for chunk, quoted in zip(self.chunks, self.quoted):
            for k, piece in enumerate(re.split(r"\r\n|\r|\n", chunk)):
                if k:
                    lines.append(([], False))
                lines[-1][0].append(piece)
                if quoted and piece.strip():
                    lines[-1] = (lines[-1][0], True)
        joined = ((" ".join("".join(pieces).split()), quoted) for pieces, quoted in lines)
        return "\n".join(("> " if quoted else "") + line for line, quoted in joined if line)


def html_to_text(markup: str, quotes: bool = False) -> str:
    """Readable text of an HTML document: tags dropped, entities decoded, blocks on their own lines; with
    ``quotes``, the lines of a mail client's quote marked "> "."""
    extractor = _TextExtractor(quotes)
    try:
        extractor.feed(markup)
        extractor.close()
    except Exception:  # HTMLParser is lenient, but never let odd markup stop a parse
        return re.sub(r"<[^>]*>", " ", markup)
    if quotes:
        return extractor.quoted_lines()
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).splitlines())
    return "\n".join(line for line in lines if line)


def _snippet(text: str) -> str:
    """Gmail's snippet: whitespace collapsed, cut at a word within 200 characters, HTML-escaped."""
    words = " ".join(re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", " ", text).split())
    if len(words) > SNIPPET_LENGTH:
        cut = words[:SNIPPET_LENGTH + 1]
        words = cut.rsplit(" ", 1)[0] if " " in cut else words[:SNIPPET_LENGTH]
    # Gmail escapes like this (&#39; rather than Python's &#x27;).
    return (words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


# ---------------------------------------------------------------- raw bytes -> Gmail payload

def _content_type(part: Message) -> str:
    found = re.match(r"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+", part.get_content_type())
    return found.group(0) if found else "text/plain"


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # broken RFC 2231 parameters
        return ""
    if not name:
        return ""
    if not isinstance(name, str):
        name = str(name)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = decode_text(name.encode("ascii", "surrogateescape"), part.get_content_charset())
    return decode_header_value(name)


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _flatten(message: Message) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=_SERIALISE).flatten(message)
    return buffer.getvalue()


def part_bytes(part: Message) -> bytes:
    """The body of a leaf part after content-transfer decoding, in its original charset."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # The stdlib parsed a message/* body (delivery-status fields, feedback report) into
        # sub-messages; Gmail shows such a part as a leaf, so give back the text of its body.
        flat = _flatten(part)
        if not part.keys():
            return flat[1:]
        end = flat.find(b"\n\n")
        # Blank lines around the field blocks are layout, not content (the stdlib would re-read
        # them as empty blocks): keep the blocks and one final line break.
        fields = flat[end + 2:].strip(b"\r\n") if end >= 0 else b""
        fields = re.sub(rb"(?:\r?\n){3,}", b"\n\n", fields)
        return fields + b"\n" if fields else b""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # undecodable transfer encoding: keep the bytes as they came
        data = None
    if data is None:
        data = str(payload or "").encode("ascii", "surrogateescape")
    return data


def _child_id(parent: str, index: int) -> str:
    return f"{parent}.{index}" if parent else str(index)


def _attachment_id(part_id: str, data: bytes) -> str:
    digest = hashlib.sha256(part_id.encode() + b"\0" + data).digest()[:24]
    return "ANGjdJ" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class _PayloadBuilder:
    """Walks a stdlib message tree into Gmail ``MessagePart`` dicts, collecting attachments."""

    def __init__(self):
        self.attachments: dict[str, bytes] = {}

    def build(self, part: Message, part_id: str) -> dict:
        mime_type, filename = _content_type(part), _filename(part)
        node = {"partId": part_id, "mimeType": mime_type, "filename": filename,
                "headers": _raw_headers(part, _charset(part))}
        payload = part.get_payload()
        if isinstance(payload, list) and mime_type.startswith("multipart/"):
            node["body"] = {"size": 0}
            node["parts"] = [self.build(child, _child_id(part_id, i)) for i, child in enumerate(payload)]
        elif isinstance(payload, list) and payload and mime_type in NESTED_MESSAGE_TYPES:
            node["body"] = self.body(_flatten(payload[0]), part_id, filename, inline=False)
            node["parts"] = [self.build(payload[0], _child_id(part_id, 0))]
        else:
            node["body"] = self.body(part_bytes(part), part_id, filename, inline=True)
        return node

    def body(self, data: bytes, part_id: str, filename: str, inline: bool) -> dict:
        if filename:
            attachment_id = _attachment_id(part_id, data)
            self.attachments[attachment_id] = data
            return {"attachmentId": attachment_id, "size": len(data)}
        if inline and data:
            return {"size": len(data), "data": b64url(data)}
        return {"size": len(data)}


def _texts(part: Message, prefer: str) -> list[str]:
    """Readable text of the body: ``prefer`` ("plain"/"html") wins inside multipart/alternative."""
    mime_type, payload = _content_type(part), part.get_payload()
    if isinstance(payload, list):
        if mime_type in NESTED_MESSAGE_TYPES:
            return _texts(payload[0], prefer) if payload else []
        if not mime_type.startswith("multipart/"):
            return []
        if mime_type == "multipart/alternative":
            exact = [c for c in payload if _content_type(c) == f"text/{prefer}" and not _filename(c)]
            choices = exact or list(reversed(payload))
            for choice in choices:
                found = _texts(choice, prefer)
                if found:
                    return found
            return []
        return [text for child in payload for text in _texts(child, prefer)]
    if _filename(part) or mime_type not in {"text/plain", "text/html"}:
        return []
    text = decode_text(part_bytes(part), _charset(part))
    return [html_to_text(text) if mime_type == "text/html" else text]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        parsed.astimezone(timezone.utc)
    except OverflowError:  # "31 Dec 9999 23:59:59 -1200" is in year 10000 in UTC: no date
        return None
    return parsed


def _all(headers: list[dict], name: str) -> str | None:
    values = [h["value"] for h in headers if h["name"].lower() == name]
    return ", ".join(values) if values else None


def parse_raw(raw: bytes) -> ParsedMessage:
    """Parse one RFC 5322 message into Gmail's payload, attachments, snippet and search fields."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_raw expects the raw message as bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    message = _parse(raw, _COMPAT)
    builder = _PayloadBuilder()
    payload = builder.build(message, "")
    headers = payload["headers"]
    first = lambda name: (header(headers, name) or "").strip() or None  # noqa: E731
    subject = header(headers, "Subject")
    return ParsedMessage(
        payload=payload, attachments=builder.attachments,
        snippet=_snippet(" ".join(_texts(message, "html"))), size_estimate=len(raw),
        message_id=first("Message-ID"), subject=None if subject is None else decode_header_value(subject),
        from_=_decode_addresses(_all(headers, "from")), to=_decode_addresses(_all(headers, "to")),
        cc=_decode_addresses(_all(headers, "cc")), bcc=_decode_addresses(_all(headers, "bcc")),
        date=_date(first("Date")), in_reply_to=first("In-Reply-To"), references=first("References"),
        text="\n".join(_texts(message, "plain")).replace("\r\n", "\n"))


def _parse(raw: bytes, policy: email.policy.Policy) -> Message:
    """The stdlib's parse, its parts at most MAX_PART_DEPTH deep."""
    try:
        message = email.message_from_bytes(raw, policy=policy)
    except RecursionError:  # nested too deep even for the stdlib parser: the headers and one body
        message = email.parser.BytesParser(policy=policy).parsebytes(raw, headersonly=True)
    _flatten_deep_parts(message)
    return message


def _flatten_deep_parts(message: Message) -> None:
    """Parts nested more than MAX_PART_DEPTH levels deep become empty leaves (without recursion)."""
    stack = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        payload = part.get_payload()
        if not isinstance(payload, list):
            continue
        if depth >= MAX_PART_DEPTH:
            part.set_payload("")
        else:
            stack.extend((child, depth + 1) for child in payload)


# ---------------------------------------------------------------- Gmail payload -> stdlib message

AttachmentSource = Callable[[str], "bytes | None"]


def _boundary(headers: list[dict]) -> str | None:
    probe = Message()
    probe["Content-Type"] = header(headers, "Content-Type") or ""
    try:
        return probe.get_boundary()
    except Exception:
        return None


def _transfer_encode(data: bytes, encoding: str) -> bytes:
    """Body bytes encoded again with the part's declared Content-Transfer-Encoding."""
    if encoding == "base64":
        return base64.encodebytes(data).replace(b"\n", b"\r\n")
    if encoding == "quoted-printable":
        return binascii.b2a_qp(data, istext=False).replace(b"=\n", b"=\r\n")
    if encoding in UUENCODE:
        lines = [binascii.b2a_uu(data[i:i + 45]) for i in range(0, len(data), 45)]
        return b"begin 644 attachment\r\n" + b"".join(lines) + b"`\nend\n"
    return data


def _one_line(value) -> str:
    return re.sub(r"[\r\n]+", " ", str(value))


def _leaf_data(node: dict, attachments: AttachmentSource | None) -> bytes:
    body = node.get("body") or {}
    try:
        if body.get("data"):
            return unb64url(body["data"])
    except (binascii.Error, ValueError):
        raise ValueError(f"payload part {node.get('partId', '')!r} has invalid base64url body.data") from None
    if body.get("attachmentId") and attachments is not None:
        return attachments(body["attachmentId"]) or b""
    return b""


def _with_line_end(child: dict, attachments: AttachmentSource | None) -> bytes:
    """A multipart child followed by the line break that starts the next delimiter line.

    The stdlib parser strips that line break from the last message it created, except when that
    is a multipart it could not split (no boundary found): such a part keeps the line break as
    its last byte(s). Adding one only where it is missing makes parse -> serialise -> parse stable.
    """
    data = _serialise(child, attachments)
    innermost = child
    while str(innermost.get("mimeType") or "").lower() in NESTED_MESSAGE_TYPES and innermost.get("parts"):
        innermost = innermost["parts"][0]
    unsplit = str(innermost.get("mimeType") or "").lower().startswith("multipart/") and not innermost.get("parts")
    return data if unsplit and data.endswith(b"\n") else data + b"\r\n"


def _serialise(node: dict, attachments: AttachmentSource | None) -> bytes:
    if not isinstance(node, dict):
        raise ValueError(f"a Gmail message part must be an object, got {type(node).__name__}")
    headers = [h for h in node.get("headers") or [] if isinstance(h, dict)]
    mime_type = str(node.get("mimeType") or "").lower()
    parts = node.get("parts") or []
    if parts and mime_type.startswith("multipart/"):
        boundary = _boundary(headers)
        if not boundary:
            boundary = "labeldesk-" + hashlib.sha256(repr(node).encode()).hexdigest()[:24]
            headers = [h for h in headers if str(h.get("name", "")).lower() != "content-type"]
            headers.append({"name": "Content-Type", "value": f'{mime_type}; boundary="{boundary}"'})
        delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
        body = b"".join(delimiter + b"\r\n" + _with_line_end(child, attachments) for child in parts)
        body += delimiter + b"--\r\n"
    elif parts and mime_type in NESTED_MESSAGE_TYPES:
        body = _serialise(parts[0], attachments)
    else:
        encoding = (header(headers, "Content-Transfer-Encoding") or "").strip().lower()
        body = _transfer_encode(_leaf_data(node, attachments), encoding)
    # Line breaks inside a value would start a new header: flatten them.
    head = b"".join(f"{h.get('name', '')}: {_one_line(h.get('value', ''))}\r\n".encode("utf-8", "surrogateescape")
                    for h in headers)
    return head + b"\r\n" + body


def payload_to_raw(payload: dict, attachments: AttachmentSource | dict | None = None) -> bytes:
    """RFC 5322 bytes equivalent to a Gmail ``format=full`` payload (headers kept verbatim).

    ``attachments`` maps an attachmentId to its bytes (a dict or a callable, e.g. a closure
    around ``messages.attachments.get``); without it attachment bodies come back empty.
    """
    if not isinstance(payload, dict):
        raise ValueError(f"a Gmail payload must be an object, got {type(payload).__name__}")
    if isinstance(attachments, dict):
        attachments = attachments.get
    return _serialise(payload, attachments)


def payload_to_email(payload: dict, attachments: AttachmentSource | dict | None = None, *,
                     policy: email.policy.Policy = email.policy.default) -> Message:
    """A stdlib message rebuilt from a Gmail payload, for analysis with the ``email`` package.

    With the default policy this is an ``EmailMessage`` (``get_body``, ``iter_attachments``,
    decoded header values); pass ``policy=email.policy.compat32`` for the lenient legacy API.
    """
    return _parse(payload_to_raw(payload, attachments), policy)
