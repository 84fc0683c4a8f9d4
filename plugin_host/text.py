"""The customer's words: plain text from any MIME, without quoted history, signatures or greetings."""
from __future__ import annotations

import re
import unicodedata
from email.message import Message
from urllib.parse import quote, unquote_to_bytes, urlsplit

from .language import UNMARKED
from .mailbox.mime import decode_text, html_to_text, own_parts

# Attribution lines ("On <date>, <name> wrote:", "<date>, <name> пишет:"): real ones carry a date or an
# address; a customer's own "сайт пишет:" / "kurier napisał:" / "it wrote:" does not.
# The customer's own words are kept up to this many characters (quoted lines skipped first): language, urgency
# and article suggestions each scan them, and a 5 MB pasted log took 9 s on every read of its thread.
MAX_TEXT = 20_000
MAX_HTML = 10 * MAX_TEXT  # markup is several times its text
# "Wrote" as the clients write it (Thunderbird's reply_header_* in its locales, Roundcube's mailreplyintro, K-9's
# reply_header_fmt: tests/data/localized_reply_headers.json names each source).
WROTE = (r"skrev|schreef|het volgende geschreven|ha scritto|escreveu|kirjoitti|đã viết|"
         r"пишет|пише|писала?|написала?|написав|написал\(а\)|pisze|napisała?|napisał\(a\)|napisał/a|"
         r"schrieb|a écrit|escribió|napsal\(a\)|napsala?|yazdı|写道|写于")
ATTRIBUTION_VERB = r"(skrev|schreef|het volgende geschreven|ha scritto|escreveu|kirjoitti|đã viết)"
ATTRIBUTION = re.compile(
    r"^\s*(On .{3,200}wrote:|Le .{3,200}a écrit\s*:|Am .{3,200}schrieb.*:|El .{3,200}escribió:|"
    r"W dniu .{3,200}(pisze|napisał|napisała|napisał\(a\))\s*:|"
    # Apple Mail in Polish: "Wiadomość napisana przez Name <address> w dniu 07.12.2026, o godz. 10:00:" (its day and
    # time: a customer's "Wiadomość napisana przez konsultanta 5.12.2026 brzmiała:" is the question)
    r"Wiadomo(ść|sc) napisana przez .{3,200} w dniu .{3,100}\d{1,2}:\d{2}\s*:|"
    # Gmail in Russian and Yandex/Mail.ru: "пн, 23 нояб. 2026 г. в 10:05, Name <address>:" (no verb); Mail.ru
    # quoting an address without a name: "Понедельник, 7 декабря 2026, 10:00 +03:00 от support@example.com:" (its
    # offset: a customer's "7.12.2026 в 10:00 пришло письмо от noreply@shop.ru:" is the question)
    r".{0,200}\d{1,2}:\d{2}(.{0,200}<[^<>\s@]+@[^<>\s]+>|\s+[+-]\d{2}:?\d{2}\s+от\s+[^<>\s@]+@[^<>\s]+)\s*:|"
    # Gmail and Apple Mail in Swedish, Danish, Norwegian, Dutch, Italian, Portuguese, Finnish, Vietnamese: the verb
    # last ("…, Name (address) skrev:") or followed only by the writer ("Op … schreef Name <address>:")
    rf".{{0,200}}\b{ATTRIBUTION_VERB}\s+[^:<>()]{{1,100}}(<[^<>\s@]+@[^<>\s]+>|\([^()\s@]+@[^()\s]+\))\s*:|"
    # the verb last in any of the clients' languages ("Anna <address> schrieb:", "… tarihinde Anna yazdı:")
    rf".{{0,200}}\b({WROTE})\s*:)\s*$", re.I)
# The verb before the date and time ("Anna пишет 07.12.2026 10:05:", "Anna a écrit le 07/12/2026 à 10:05 :",
# Roundcube's "Anna <address> писал 07.12.2026 10:05:"), or a time before the verb and the writer's name alone
# ("Op 07-12-2026 om 10:05 schreef Anna:", "Den 2026-12-07 kl. 10:05, skrev Anna:"), or no verb at all
# (Thunderbird's default in Ukrainian, "07.12.26 10:05, Anna:": a date, a time, a comma, the name). A customer's own
# "5.12.2026 o 10:05 kurier napisał SMS-a:" reads the same, so without an address these start quoted history only
# right above a ">" quote. Each "[^:]" run ends at the line's first colon: one way to read the line.
DATED_ATTRIBUTION = re.compile(
    rf"^\s*([^:]{{0,200}}\b({WROTE})\s+[^:<>]{{0,60}}\d{{1,2}}:\d{{2}}(:\d{{2}})?|"
    rf"[^:]{{0,200}}\d{{1,2}}:\d{{2}}[^:]{{0,100}}\b({WROTE})\s+[^:<>()]{{1,100}}|"
    r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\s+\d{1,2}:\d{2}(:\d{2})?,\s+[^:<>()]{1,100})\s*:\s*$", re.I)
# Separators that start quoted or forwarded mail wherever they appear.
# The words between the dashes are the clients' own (tests/data/localized_reply_headers.json names each source):
# Thunderbird's reply_header_originalmessage in its locales, Roundcube's and K-9's "originalmessage".
ORIGINAL_MESSAGE = (r"Original Message|Исходное сообщение|Oryginalna wiadomość|Wiadomość oryginalna|"
                    r"Treść oryginalnej wiadomości|Початкове повідомлення|Original-Nachricht|Ursprüngliche Nachricht|"
                    r"Message original|Mensaje original|Messaggio originale|Mensagem original|Oorspronkelijk bericht|"
                    r"Ursprungligt meddelande|Původní zpráva|Özgün İleti|原始消息")
QUOTE_HEADER = re.compile(
    rf"^\s*(-{{2,}}\s*({ORIGINAL_MESSAGE})\s*-{{2,}}|"
    r"-{2,}\s*Конец пересылаемого сообщения\s*-{2,}|_{10,}|"
    # Android's stock mail: "---- Name wrote ----", also "------On <date>, Name wrote-----"
    r"-{2,}\s*[^-].{0,200}\bwrote\s*:?\s*-{2,})\s*$", re.I)
# Outlook's header block, also as plain text converted from its HTML: "*Od:* Anna <…>", "*От:*Анна". Its
# first line starts quoted mail only with an address on it or header fields below it: a customer's own
# "Od: wczoraj nie działa" ("since: yesterday it fails") is the question.
# Outlook writes the block in its user's language: "Von:", "De :", "Från:", "Fra:", "Van:", "De:", and its 2003
# HTML as text puts "From:" alone on a line with the name below it.
# Japanese Outlook writes "差出人:" and "送信日時:" (from a public parser: tests/data/localized_reply_headers.json).
FROM_FIELD = r"(From|От|Od|Von|De|Från|Fra|Van|Da|差出人)"
OUTLOOK_FROM = re.compile(rf"^\s*(\*?{FROM_FIELD}\s?:\*?(\s.+)?|\*{FROM_FIELD}\s?:\*.+)\s*$", re.I)
# Hotmail's and some web mail's quoted header opens with the date: "Date: Thu, 26 Jun 2026 13:53:45 +0400".
DATE_FIELD = re.compile(r"^\s*\*?(Date|Datum|Dato|Fecha|Data|Дата)\s?:\*?\s.+$", re.I)
# Mobile and desktop clients' footers: "Отправлено из мобильной Почты Mail.ru", "Wysłano z iPhone'a",
# "Wysłane z aplikacji Poczta w systemie Windows" — named devices and apps only: a customer's own
# "Отправлено с опозданием…" or "Wysłane z Warszawy w poniedziałek…" is the question.
# Polish inflects the device ("z iPada", "z iPhone'a", "ze smartfonu"); Samsung writes "с устройства Galaxy".
DEVICE = (r"(моего\s+|mojego\s+)?((iPhone|iPad)a?|Android|Samsung|Galaxy|Huawei|Xiaomi|Honor|Outlook|Yandex|Яндекс|"
          r"Mail\.ru|мобильно\w+|телефона|смартфона|планшета|устройства|приложени\w+|Почты|aplikacji|telefonu|"
          r"smartfon[au]|urządzenia|tabletu|poczty|Onet|WP|Interia)\b")
SIGNATURE = re.compile(r"^(-- ?|__+|Sent from my .+|(Get|Получить) Outlook (for|для) .+|Pobierz (aplikację )?Outlook.*|"
                       r"Отправлено (с|из|со) " + DEVICE + r".*|Wysłan[eo] (z|ze) " + DEVICE + r".*)\s*$", re.I)
# Apple Mail's own words for "Begin forwarded message:" in Russian and Polish.
# Thunderbird's forward_header_originalmessage in its locales follows them.
FORWARDED = re.compile(r"^\s*(-{2,}\s*(Forwarded message|Пересылаемое сообщение|Przekazana wiadomość|"
                       r"Wiadomość przekazana dalej|Перенаправленное сообщение|Treść przekazanej wiadomości|"
                       r"Переслане повідомлення|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|"
                       r"Messaggio inoltrato|Mensagem encaminhada|Doorgestuurd bericht|Vidarebefordrat meddelande|"
                       r"Přeposlaná zpráva|İletilen İleti|转发的消息)\s*-{2,}|Begin forwarded message:|"
                       r"Начало переадресованного сообщения:|Początek przekazywanej wiadomości:)\s*$", re.I)
FORWARDED_FIELD = re.compile(r"^\s*\*?(From|Date|Sent|Subject|To|Cc|От|Дата|Отправлено|Тема|Кому|Копия|"
                             r"Od|Data|Wysłano|Temat|Do|DW|"
                             r"Von|Gesendet|An|Betreff|Datum|De|Envoyé|À|Objet|Från|Skickat|Till|Ämne|"
                             r"Fra|Sendt|Til|Emne|Dato|Van|Verzonden|Aan|Onderwerp|Enviado( el)?|Para|Asunto|Fecha|"
                             r"Inviato|Oggetto|Wysłane|送信日時|Pour|Від)\s?:\*?\s", re.I)
# A greeting and at most three words (a name, "team", "support") up to a comma, "!" or "." or the line's end;
# what follows on the same line is the question and stays.
GREETING_SOURCE = (
    r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|"
    r"zdravstvuyte|zdravstvuite|dobryi den|dobriy den|dobryy den|"
    r"здравствуйте|здравствуй|добрый (день|вечер)|доброе утро|доброго (времени суток|дня)|день добрый|привет|"
    r"приветствую|уважаемые?|"
    r"dzień dobry|dobry wieczór|witam( serdecznie)?|witajcie|cześć|hej|szanowni państwo|szanowny)\b(?P<words>([^\S\n]+[^\s,!.:;?]+){0,3}?)[^\S\n]*"
    r"(?P<end>[,:;][,!.:;]*|[!.]+|(?=\n)|\Z)[^\S\n]*")
# Without a comma after it, a greeting's words must look like an addressee ("Hello team", "Hi John!"),
# not the start of the question ("Hey site is down!", "Witam nie działa logowanie.").
ADDRESSEE = re.compile(r"^(team|all|there|everyone|everybody|folks|guys|support|again|serdecznie|всем|коллеги|"
                       r"друзья|wszystkim)$", re.I)


def plain_letters(text: str) -> str:
    """``text`` with its Latin letters' marks dropped, character for character ("Dzień" → "Dzien"; Cyrillic й and
    ё stay): Poles often type without diacritics, and a match on this text is at the same offsets in ``text``."""
    return "".join(_plain_letter(ch) for ch in text)


def _plain_letter(ch: str) -> str:
    if ch.isascii() or not ch.isalpha():
        return ch
    base = unicodedata.normalize("NFD", ch.translate(UNMARKED))[0]
    return base if base.isascii() else ch


# Greetings and sign-offs are matched on plain letters, so "Dzien dobry," and "Z powazaniem" count too.
GREETING = re.compile(plain_letters(GREETING_SOURCE), re.I)


def _part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = decode_text(data, charset)
    try:
        flowed = str(part.get_param("format") or "").lower() == "flowed"
        delsp = str(part.get_param("delsp") or "").lower() == "yes"
    except Exception:
        return text
    return unflow(text, delsp) if flowed else text


def unflow(text: str, delsp: bool = False) -> str:
    """RFC 3676 format=flowed text as its writer typed it: an unquoted line ending in a space goes on in the next
    (Thunderbird wraps at 72 columns so, also an attribution line), except the signature separator "-- ". Quoted
    lines stay as they are: they are skipped whole. By hand: no maintained library decodes it."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    soft = False  # the line before ended in a soft break
    for line in lines:
        if soft and not line.startswith(">"):
            out[-1] += line
        else:
            out.append(line)
        soft = not line.startswith(">") and line.endswith(" ") and line != "-- "  # this line's own end decides
        if soft and delsp:
            out[-1] = out[-1][:-1]
    return "\n".join(out)


def plain_text(msg: Message, quotes: bool = False) -> str:
    """The best plain text of a message: text/plain, else HTML converted (with ``quotes``, a mail client's quote
    markup as "> " lines); attachments ignored."""
    plain, html = [], []
    try:
        parts = list(own_parts(msg, keep_inline=True))
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
            html.append(_part_text(part))
    if any(p.strip() for p in plain):
        text = "\n".join(plain)
    else:  # converted only when needed, and only its start: a 2 MB page took a second on every read
        text = "\n".join(html_to_text(h[:MAX_HTML], quotes) for h in html)
    return text.replace("\r\n", "\n").replace("\r", "\n")


# An address in <…>, or a whole date (a day and a year: "15 ноября 2026", "Nov 23, 2026", 23.11.26):
# a customer's own "today at 14:30 the site says:" or "in 2025 the manager wrote:" has neither.
ADDRESS_EVIDENCE = re.compile(r"<[^<>\s@]+@[^<>\s]+>")
DATE_EVIDENCE = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b(19|20)\d\d[./-]\d{1,2}[./-]\d{1,2}\b|"
                           r"\b\d{1,2}\. \d{1,2}\. \d{2,4}\b|"  # Czech: "07. 12. 26"
                           r"\b\d{1,2}\b\D{1,20}\b(19|20)\d\d\b")


MAX_ATTRIBUTION = 2000  # longer is no attribution line; the pattern costs ~15 µs a leading space


def _is_attribution(text: str) -> bool:
    text = text.strip()
    if len(text) > MAX_ATTRIBUTION or not text.endswith(":"):  # every form ends in a colon: the rest is not tried
        return False
    return bool(ATTRIBUTION.match(text)) and bool(ADDRESS_EVIDENCE.search(text) or DATE_EVIDENCE.search(text))


def _dated_attribution(lines: list[str], i: int) -> bool:
    """Whether ``lines[i]`` is an attribution of :data:`DATED_ATTRIBUTION`'s forms: with an address on it, or with a
    date and a ">" quote right below it."""
    line = lines[i].strip()
    if len(line) > MAX_ATTRIBUTION or not line.endswith(":") or not DATED_ATTRIBUTION.match(line):
        return False
    return bool(ADDRESS_EVIDENCE.search(line)) or bool(DATE_EVIDENCE.search(line)) and _quoted_below(lines, i + 1)


def _outlook_header_block(lines: list[str], i: int) -> bool:
    """Whether ``lines[i]`` is the first line of a quoted message's header block: a "From:" line that names an
    address, or with another header field carrying an address or a date ("Sent: Friday, 27 June 2026 12:06",
    "Wysłano:", "Gesendet:") in the next two non-empty lines; or a "Date:" line with a date and a time followed by
    header fields, one of them with an address. A customer's own "De: mi hermano / Para: su cumpleaños" or
    "Дата: 05.12.2026 / Тема: возврат" is the question."""
    line = lines[i]
    if OUTLOOK_FROM.match(line):
        if "@" in line:
            return True
        below = [text for text in lines[i + 1:i + 6] if text.strip()][:2]
        return any(FORWARDED_FIELD.match(text) and ("@" in text or DATE_EVIDENCE.search(text)) for text in below)
    if DATE_FIELD.match(line) and DATE_EVIDENCE.search(line) and TIME_EVIDENCE.search(line):
        fields = []
        for text in lines[i + 1:i + 4]:
            if not FORWARDED_FIELD.match(text):
                break
            fields.append(text)
        return any("@" in text for text in fields)
    return False


def _quote_starts(lines: list[str], i: int) -> bool:
    """Whether quoted history starts at ``lines[i]``."""
    return bool(_quote_span(lines, i))


def _quote_span(lines: list[str], i: int) -> int:
    """How many lines the start of quoted history at ``lines[i]`` takes (0: none starts there): a separator, or an
    attribution line, also one wrapped over two lines (Gmail wraps its plain-text "On … <\naddress> wrote:" at
    78 columns)."""
    line = lines[i]
    if QUOTE_HEADER.match(line) or _is_attribution(line) or _outlook_header_block(lines, i) or \
            _dated_attribution(lines, i):
        return 1
    following = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if not (line.strip() and following):
        return 0
    if re.search(r"<[^<>@]*$", line):  # wrapped inside "<address>": the halves join without a space
        two = _is_attribution(line.rstrip() + following)
    elif following.startswith("<"):  # wrapped just before "<address>"
        two = "@" in following and _is_attribution(f"{line.rstrip()} {following}")
    else:  # wrapped in the words before "<address>" or before "wrote:": the two lines together are the attribution
        two = _wrapped_attribution(_joined(line, following), following)
    if two:
        return 2
    # wrapped twice (Apple Mail: "On …, Name <\naddress>\nwrote:")
    third = lines[i + 2].strip() if i + 2 < len(lines) else ""
    if not third or _is_attribution(_joined(following, third)):
        return 0
    return 3 * _wrapped_attribution(_joined(_joined(line, following), third), third)


TIME_EVIDENCE = re.compile(r"\b\d{1,2}:\d{2}\b")


def _joined(line: str, following: str) -> str:
    """Two lines of a wrapped attribution as one: inside "<address>" the halves join without a space."""
    return line.rstrip() + following if re.search(r"<[^<>@]*$", line) else f"{line.rstrip()} {following}"


def _wrapped_attribution(joined: str, last: str) -> bool:
    """Whether lines joined into ``joined`` are one attribution: an address in it, or a date and a time (Thunderbird
    wraps "On 26.06.2026 14:41, Anna Kowalska\nwrote:"), and its last line is no attribution of its own."""
    evidence = ADDRESS_EVIDENCE.search(joined) or (TIME_EVIDENCE.search(joined) and DATE_EVIDENCE.search(joined))
    return bool(evidence) and _is_attribution(joined) and not _is_attribution(last)


# The interactive Python prompt a customer pastes with a traceback (">>> import sdk"). A quote three replies deep
# starts the same way, but under its shallower quote levels (">", "> >"): a message with none of those is pasting.
PYTHON_PROMPT = re.compile(r"^\s*>>>( |$)")
SHALLOW_QUOTE = re.compile(r"^\s*>( ?>)?(?! ?>)")


def _prompts_pasted(lines: list[str]) -> bool:
    """Whether every ">" line of ``lines`` is a Python prompt and there is one at least."""
    prompts = False
    for line in lines:
        if line.lstrip().startswith(">"):
            if SHALLOW_QUOTE.match(line) or not PYTHON_PROMPT.match(line):
                return False
            prompts = True
    return prompts


def _quoted(line: str, prompts: bool) -> bool:
    return line.lstrip().startswith(">") and not (prompts and PYTHON_PROMPT.match(line))


# Attributions above '>' quotes (a bottom-posted reply's history) count towards no limit: each costs up to ~30 µs
# of patterns, so a message of nothing else (50,000 "Anna пишет 07.12.2026 10:05:" / "> q" pairs took 1.4 s) is
# read up to this many; a reply below more of them is taken for quoted history only.
MAX_QUOTED_ATTRIBUTIONS = 5000


def strip_quoted(text: str, limit: int | None = None) -> str:
    """Cut quoted history (``>`` lines, "On … wrote:" in several languages) and signatures; with ``limit``,
    stop once that many characters are kept (quoted lines above a bottom-posted reply do not count; after
    MAX_QUOTED_ATTRIBUTIONS attributions above quotes, nothing more is read). A pasted Python session (">>> "
    lines in a message quoting nothing else) is the customer's own."""
    kept, size = [], 0
    words = False  # whether ``kept`` holds a non-blank line (kept as a flag: hostile mail has 100k lines)
    lines = text.split("\n")
    prompts = _prompts_pasted(lines)
    forwarded = False  # in the header block of a message forwarded without a comment above it
    skip = 0  # lines of an attribution above a bottom-posted reply
    attributions = 0  # attributions above quotes read so far
    for i, line in enumerate(lines):
        if skip:
            skip -= 1
            continue
        if FORWARDED.match(line):
            if words:
                break  # the customer's own words are above the forwarded message
            forwarded = True
            continue
        if forwarded:
            if FORWARDED_FIELD.match(line) or _is_attribution(line) or not line.strip():
                continue
            forwarded = False
        if _quoted(line, prompts):
            continue  # quoted history; none starts inside it (its own attributions are history too)
        span = _quote_span(lines, i)
        if span and not words and _quoted_below(lines, i + span):
            attributions += 1
            if attributions > MAX_QUOTED_ATTRIBUTIONS:
                break
            skip = span - 1  # "On … wrote:", the quote, then the customer's words (bottom-posting)
            continue
        if span and kept:
            kept += _inline_answers(lines[i + span:], None if limit is None else limit - size)
            break
        if SIGNATURE.match(line):
            break
        kept.append(line)
        words = words or bool(line.strip())
        size += len(line) + 1
        if limit is not None and size >= limit:
            break
    return "\n".join(kept)


def _quoted_below(lines: list[str], i: int) -> bool:
    """Whether the first non-empty line from ``lines[i]`` on is a quoted (">") one."""
    for k in range(i, len(lines)):  # by index: a slice per attribution made 20k "On … wrote:" / ">" pairs quadratic
        if lines[k].strip():
            return lines[k].lstrip().startswith(">")
    return False


def _inline_answers(below: list[str], limit: int | None) -> list[str]:
    """The customer's lines between and below the ">" lines of the history that starts above ``below``: an inline
    reply ("> Which plan?" / "The Team plan") or a line under the quote ("Regards, Tom"). History without ">"
    marks (Outlook's) has no such lines: the first unmarked line before any ">" one ends the search, as do a
    signature and the next quoted message's header."""
    answers: list[str] = []
    size, marked = 0, False
    for i, line in enumerate(below):
        if line.lstrip().startswith(">"):
            marked = True
            continue
        if not line.strip():
            if answers:
                answers.append(line)
            continue
        if not marked or SIGNATURE.match(line) or FORWARDED.match(line) or _quote_starts(below, i):
            break
        answers.append(line)
        size += len(line) + 1
        if limit is not None and size >= limit:
            break
    return answers


# RFC 3676's signature delimiter: Gmail puts it above the send-as signature it inserts into a reply.
SIGNATURE_DELIMITER = re.compile(r"^-- ?\s*$")
SIGNATURE_LINES = 6


def signature_block(msg: Message) -> str:
    """The first lines of the writer's own signature below a "-- " line, "" without one: where the full-name
    signature Gmail inserts from the send-as settings stands (:func:`customer_text` drops it as a signature).
    A "-- " in quoted history is someone else's."""
    lines = plain_text(msg)[:MAX_TEXT].split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">") or (i and _quote_starts(lines, i)):
            return ""
        if SIGNATURE_DELIMITER.match(line):
            block = []
            for j in range(i + 1, len(lines)):
                if lines[j].lstrip().startswith(">") or _quote_starts(lines, j) or len(block) == SIGNATURE_LINES:
                    break
                if lines[j].strip():
                    block.append(lines[j].strip())
            return "\n".join(block)
    return ""


def normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


def customer_text(msg: Message) -> str:
    """The customer's own words in this message (from its first MAX_TEXT characters). In HTML-only mail, text in a
    client's quote markup is quoted history; when that leaves nothing (Apple Mail forwards a message in a quote
    too), the text is read as if unmarked."""
    words = normalise(strip_quoted(plain_text(msg, quotes=True), limit=MAX_TEXT))[:MAX_TEXT]
    return words or normalise(strip_quoted(plain_text(msg), limit=MAX_TEXT))[:MAX_TEXT]


# Whom a greeting addresses after its comma ("Здравствуйте, Анна!", "Добрый день, уважаемая служба поддержки!",
# "Dzień dobry, Panie Janie,"): up to four words to a "!" or "," or the line's end.
ADDRESSED = re.compile(r"(?P<who>[^\n,!.?:;]{1,60}?)[^\S\n]*([,!]+|(?=\n)|\Z)[^\S\n]*")
HONORIFIC = re.compile(r"^(уважаем|дорог|мил(ая|ый|ые)$|коллеги|друзья|szanown|drog[aiy]|pan(ie|i|owie)?$|"
                       r"państwo|dear|team)", re.I)


def strip_greeting(text: str) -> str:
    """Drop a leading greeting ("Hi team," / "Здравствуйте, Анна!" / "Dzień dobry Panie Janie,"); the rest of its
    line stays."""
    text = text.strip()
    found = GREETING.match(plain_letters(text))
    if not found:
        return text
    if not found.group("end").startswith((",", ":", ";")) and not all(
            word[:1].isupper() or ADDRESSEE.match(word) for word in found.group("words").split()):
        return text
    rest = text[found.end():]
    # "Здравствуйте, Анна!": a name on the greeting's own line, after its comma ("Hi,\nHelp" keeps "Help")
    addressed = found.group("end").startswith(",") and not found.group("words") and not rest.startswith("\n")
    return _strip_addressee(rest.strip()) if addressed else rest.strip()


def _strip_addressee(rest: str) -> str:
    """``rest`` without the name or "уважаемые коллеги" a greeting's comma led to; a question stays."""
    found = ADDRESSED.match(rest)
    words = found.group("who").split() if found else []
    if not words or len(words) > 4:
        return rest
    if HONORIFIC.match(words[0]) or all(word[:1].isupper() for word in words):
        return rest[found.end():].strip()
    return rest


# A sign-off line on its own ("Pozdrawiam", "С уважением,", "Спасибо!", "Best regards,") and, below it, at most
# SIGN_OFF_TAIL short lines (a name, a phone, a title): the customer's signature, not the question. Kept in a
# message's text, where agents' full-name sign-offs are read; dropped from the question the knowledge base reads.
# One line may join two of them ("Dziękuję i pozdrawiam", "Спасибо, с уважением,", "Заранее благодарю. С уважением").
SIGN_OFF_PHRASE = (
    r"((best|kind|warm)?\s*regards|best( wishes)?|cheers|thanks?( you)?( again| in advance)?|many thanks|"
    r"sincerely|yours( sincerely| truly)?|have a (nice|good|great) day|"
    r"pozdrawiam( serdecznie| ciepło)?|serdecznie pozdrawiam|(z )?pozdrowieniami|z poważaniem|"
    r"((łączę|przesyłam) )?(serdeczne |ciepłe )?pozdrowienia|miłego dnia|"
    r"z wyrazami szacunku|dziękuję( bardzo| z góry)?|z góry dziękuję|dzięki|"
    r"с уважением|с наилучшими пожеланиями|всего (доброго|хорошего)|хорошего дня|спасибо( большое| заранее)?|"
    r"заранее (спасибо|благодарю)|благодарю( заранее)?|с благодарностью|s uvazheniem|spasibo)")
SIGN_OFF_SOURCE = rf"^\s*{SIGN_OFF_PHRASE}([\s,.!]*(\s(i|и|and|&)\s)?[\s,.!]*{SIGN_OFF_PHRASE})?[\s,.!]*$"
SIGN_OFF = re.compile(plain_letters(SIGN_OFF_SOURCE), re.I)
SIGN_OFF_TAIL = 6


def strip_sign_off(text: str, name: str = "") -> str:
    """``text`` without its closing sign-off and the signature lines below it; with the writer's ``name``, also a
    signature without a sign-off that opens with that whole name ("Jane Baker\nCTO, Acme\n+1 555 0100"), and one
    word of it as the last line ("— Jane"). One word does not open a signature: it may be a word of the request
    on a line of its own ("Bill\n#4471 from March\nrefund the difference please")."""
    lines = text.rstrip().split("\n")
    whole, words = _name_forms(name)
    cut = None  # the line that opens the signature: a sign-off right above the name (blank lines between) goes with it
    for i in range(len(lines) - 1, 0, -1):
        if len(lines) - 1 - i > SIGN_OFF_TAIL or not _signature_line(lines[i]):
            break
        key = _name_key(lines[i])
        signed = SIGN_OFF.match(plain_letters(lines[i])) or key in whole or (key in words and i == len(lines) - 1)
        if signed and any(line.strip() for line in lines[:i]):
            cut = i
        elif cut is not None and lines[i].strip():
            break  # the customer's words ("P.S. …") above the signature: a "Спасибо!" higher up is no part of it
    return text if cut is None else "\n".join(lines[:cut]).rstrip()


def _name_key(line: str) -> str:
    """A name as a signature writes it: lower-cased, without dashes and punctuation ("— Jane Baker." → "jane baker")."""
    return " ".join(re.findall(r"[^\W\d_]+", plain_letters(line).lower()))


def _name_forms(name: str) -> tuple[set[str], set[str]]:
    """The lines a writer called ``name`` signs with: the whole name in either order ("jane baker", "baker jane";
    "Kowalska Anna" signs "Anna Kowalska"), and its words of two letters or more ("jane", "baker")."""
    words = _name_key(name).split()
    if not words:
        return set(), set()
    return {" ".join(words), " ".join(reversed(words))}, {word for word in words if len(word) > 1}


def _signature_line(line: str) -> bool:
    """A line a signature holds (a name, a title, a phone, a sign-off), not another question ("Спасибо!\n
    Ещё вопрос: как сменить пароль?")."""
    return len(line) <= 80 and "?" not in line and len(line.split()) <= 8


# A web form's contact fields ("Name: Bob", "E-mail: …", "Телефон: …", "Imię i nazwisko: …"): not the question.
FORM_FIELD = re.compile(
    r"^\s*(your\s+|first\s+|last\s+|full\s+|ваш[аеи]?\s+|контактн\w+\s+|adres\s+|numer\s+|nr\s+|nazwa\s+)?"
    r"(name|e-?mail(\s+address)?|phone(\s+number)?|tel(ephone)?|mobile|"
    r"company|organi[sz]ation|website|url|country|city|subject|ip(\s+address)?|user\s+agent|page(\s+url)?|"
    r"referr?er|date|time|consent|gdpr|"
    r"имя(\s+и\s+фамилия)?|фамилия|фио|e-?mail|почта|эл\.?\s*почта|(номер\s+)?телефона?|компания|организация|"
    r"сайт|город|страна|тема(\s+обращения)?|imi[eę](\s+i\s+nazwisko)?|nazwisko|telefonu?|kontaktowy|firm[ay]|strona|"
    r"miasto|kraj|temat)\s*[:：]", re.I)
FORM_MESSAGE = re.compile(r"^\s*(your\s+|ваш[аеи]?\s+|текст\s+|tre[sś][cć]\s+)?(message|comments?|question|details|"
                          r"inquiry|enquiry|сообщени[ея]|вопрос|комментарий|обращени[ея]|wiadomo[sś](ci|[cć])|pytani[ae]|"
                          r"zapytania|komentarz|tre[sś][cć])\s*[:：]\s*", re.I)


def strip_form_fields(text: str) -> str:
    """A web form's message without its contact-field lines and with its "Message:" label dropped,
    when at least two lines are such fields (one "Name:" line in a letter is the customer's text)."""
    lines = text.splitlines()
    if sum(1 for line in lines if FORM_FIELD.match(line) or FORM_MESSAGE.match(line)) < 2:
        return text
    kept = [FORM_MESSAGE.sub("", line) for line in lines if not FORM_FIELD.match(line)]
    return "\n".join(kept).strip()


def one_line(text: str) -> str:
    """Text for one line: whitespace collapsed and control characters (ESC, BEL, NUL…, which an encoded word
    can carry) gone, since they would act on the terminal or log that shows it. Emoji joiners stay."""
    return " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut between words with "…" when it is longer: a card line
    cut mid-word ("restored th") reads as a typo. A single word longer than the limit is cut where it must."""
    text = text or ""
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-–—") + "…"


ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
STAY_ENCODED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}  # controls, bidi/format marks, unassigned, spaces


def readable_url(url: str) -> str:
    """An http(s) URL as people read it (an IRI, RFC 3987 §3.2): percent-escapes in the path, query and fragment
    become the letters they encode; reserved and other ASCII characters (%2F, %3F, %23, %25, %26, %3D…), spaces,
    controls, bidi controls and bytes that are no UTF-8 stay encoded, so the text still names the same page and
    reads in one direction. The scheme and host stay exactly as written (a Unicode host can pass for another
    site). For showing only: links and stored URLs keep ``url``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    start = url.index(parts.netloc) + len(parts.netloc)
    return url[:start] + ESCAPES.sub(_readable_escapes, url[start:])


def _readable_escapes(run: re.Match) -> str:
    # surrogateescape: each byte that is no UTF-8 comes back as one lone surrogate, put back as its escape
    text = unquote_to_bytes(run.group()).decode("utf-8", "surrogateescape")
    return "".join(_readable_character(ch) for ch in text)


def _readable_character(ch: str) -> str:
    if "\udc80" <= ch <= "\udcff":
        return f"%{ord(ch) - 0xDC00:02X}"
    if ch.isascii() or unicodedata.category(ch) in STAY_ENCODED:
        return quote(ch, safe="")  # unreserved ASCII (letters, digits, -._~) reads the same either way
    return ch
